// edgewise-loadgen against the real server: split, shuffled halves sent seconds apart, then
// `verify` must find exactly the ledger's counts in /api/v1/map — per minute, for each encoding.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/tools/tool_process.h"
#include "tools/http_client.h"

namespace ew::testing {
namespace {

std::string Addr(const ServerProcess& s, bool otlp) {
  return s.host() + ":" + std::to_string(otlp ? s.otlp_port() : s.http_port());
}

ServerOptions FastServer() {
  ServerOptions o;
  o.extra_args = {"--pair-wait", "4s", "--flush-interval", "1s"};
  return o;
}

// Sends `seconds` of traffic at `rate` spans/s and returns the loadgen result.
ToolResult Send(const ServerProcess& s, const std::string& encoding, const std::string& ledger,
                const std::string& seconds = "6s", const std::string& rate = "3000") {
  return RunTool("edgewise-loadgen",
                 {"--otlp", Addr(s, true), "--encoding", encoding, "--rate", rate, "--duration",
                  seconds, "--batch", "256", "--max-skew", "2s", "--connections", "3", "--seed",
                  "7", "--ledger", ledger, "--quiet"});
}

class LoadgenVerify : public ::testing::TestWithParam<std::string> {};

TEST_P(LoadgenVerify, LedgerMatchesTheMapWithSplitShuffledHalves) {
  ServerProcess server(FastServer());
  ASSERT_TRUE(server.Start().ok());
  TempDir dir;
  ToolResult lg = Send(server, GetParam(), dir.Sub("ledger.json"));
  ASSERT_EQ(lg.exit_code, 0) << lg.command << "\n" << lg.err;
  ToolResult v = RunTool("edgewise-loadgen", {"verify", "--ledger", dir.Sub("ledger.json"),
                                              "--http", Addr(server, false), "--timeout", "40s"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err << "\nserver log:\n" << server.Stderr();
  EXPECT_NE(v.out.find("verify: OK"), std::string::npos) << v.out;
  // Whole-range totals agree too.
  ToolResult total =
      RunTool("edgewise-loadgen", {"verify", "--ledger", dir.Sub("ledger.json"), "--http",
                                   Addr(server, false), "--total", "--timeout", "5s"});
  EXPECT_EQ(total.exit_code, 0) << total.out << total.err;
}

INSTANTIATE_TEST_SUITE_P(Encodings, LoadgenVerify,
                         ::testing::Values("proto", "json", "gzip", "gzip-json", "zipkin",
                                           "gzip-zipkin"));

TEST(LoadgenVerifyFails, OnATamperedLedger) {
  ServerProcess server(FastServer());
  ASSERT_TRUE(server.Start().ok());
  TempDir dir;
  ToolResult lg = Send(server, "proto", dir.Sub("ledger.json"), "3s", "1000");
  ASSERT_EQ(lg.exit_code, 0) << lg.err;
  ToolResult ok = RunTool("edgewise-loadgen", {"verify", "--ledger", dir.Sub("ledger.json"),
                                               "--http", Addr(server, false), "--timeout", "40s"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  // One more request on the first row than the server counted.
  std::string text = ReadFileOrEmpty(dir.Sub("ledger.json"));
  size_t at = text.find("\"requests\":");
  ASSERT_NE(at, std::string::npos);
  at += 11;
  size_t end = text.find_first_not_of("0123456789", at);
  long n = std::stol(text.substr(at, end - at));
  text.replace(at, end - at, std::to_string(n + 1));
  ASSERT_TRUE(WriteFile(dir.Sub("tampered.json"), text));
  ToolResult bad = RunTool("edgewise-loadgen", {"verify", "--ledger", dir.Sub("tampered.json"),
                                                "--http", Addr(server, false), "--timeout", "1s"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("expected requests=" + std::to_string(n + 1)), std::string::npos)
      << bad.out;
}

TEST(LoadgenVerifyFails, WithExitCode3WhenTheServerIsUnreachable) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Sub("l.json"),
                        R"({"version":1,"rows":[{"minute":1,"client":{"kind":"service",)"
                        R"("namespace":"a","name":"b"},"server":{"kind":"service","namespace":)"
                        R"("a","name":"c"},"protocol":"http","requests":1,"errors":0}]})"));
  ToolResult v = RunTool("edgewise-loadgen",
                         {"verify", "--ledger", dir.Sub("l.json"), "--http", "127.0.0.1:1"});
  EXPECT_EQ(v.exit_code, 3) << v.out << v.err;
  ToolResult lg = RunTool("edgewise-loadgen", {"--otlp", "127.0.0.1:1", "--requests", "1"});
  EXPECT_EQ(lg.exit_code, 3) << lg.err;
  ToolResult usage = RunTool("edgewise-loadgen", {"--no-such-flag"});
  EXPECT_EQ(usage.exit_code, 2);
}

TEST(LoadgenPreencoded, BlastsAcknowledgedSpans) {
  ServerProcess server(FastServer());
  ASSERT_TRUE(server.Start().ok());
  TempDir dir;
  for (std::string enc : {"proto", "json", "gzip", "zipkin", "gzip-zipkin"}) {
    ToolResult r = RunTool("edgewise-loadgen", {"--preencoded", "--encoding", enc, "--otlp",
                                                Addr(server, true), "--requests", "40", "--bodies",
                                                "8", "--quiet", "--summary", dir.Sub("s.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string s = ReadFileOrEmpty(dir.Sub("s.json"));
    EXPECT_NE(s.find("\"http_failures\":0"), std::string::npos) << s;
    EXPECT_EQ(s.find("\"spans_acked\":0,"), std::string::npos) << s;
  }
}

// --grpc: the same bodies over OTLP/gRPC; every call counted OK by the server, none over HTTP.
TEST(LoadgenPreencoded, BlastsAcknowledgedSpansOverGrpc) {
  ServerOptions options = FastServer();
  options.grpc = true;
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_NE(server.grpc_port(), 0);
  TempDir dir;
  const std::string grpc = server.host() + ":" + std::to_string(server.grpc_port());
  for (std::string enc : {"proto", "gzip"}) {
    ToolResult r = RunTool("edgewise-loadgen",
                           {"--preencoded", "--encoding", enc, "--grpc", grpc, "--requests", "40",
                            "--bodies", "8", "--quiet", "--summary", dir.Sub("s.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string s = ReadFileOrEmpty(dir.Sub("s.json"));
    EXPECT_NE(s.find("\"http_failures\":0"), std::string::npos) << s;
    EXPECT_NE(s.find("\"http_requests\":40,"), std::string::npos) << s;
    EXPECT_EQ(s.find("\"spans_acked\":0,"), std::string::npos) << s;
  }
  tools::HttpConnection http(server.host(), server.http_port());
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("ew_grpc_requests_total{method=\"Export\",code=\"OK\"} 80\n"),
            std::string::npos)
      << metrics->body;
  EXPECT_EQ(metrics->body.find("route=\"/v1/traces\""), std::string::npos) << metrics->body;
  ToolResult usage = RunTool("edgewise-loadgen", {"--grpc", grpc, "--requests", "1"});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;  // --grpc needs --preencoded
}

}  // namespace
}  // namespace ew::testing
