// edgewise-ctl against a server with a tokens file: every server command takes --token or
// $EDGEWISE_TOKEN; a token without the scope a command needs gets its 403 (exit 1); a query
// token shows its own tenant's map only.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/server/server_test_util.h"
#include "tests/tools/tool_process.h"
#include "tools/otlp_encoder.h"

namespace ew::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kAlpha[] = "tok-ctl-alpha-77aa";  // ingest, query
constexpr char kBeta[] = "tok-ctl-beta-88bb";    // ingest, query
constexpr char kOps[] = "tok-ctl-ops-99cc";      // admin

// One server span from External Client into `service`, sent with `token`.
void SendRoot(const ServerProcess& server, const std::string& token, const std::string& service) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  tools::OtlpSpan s;
  s.trace_id = tools::MakeTraceId(5, 1);
  s.span_id = tools::MakeSpanId(5, 1);
  s.kind = 2;
  s.start_ns = static_cast<uint64_t>(now_ms - 30'000) * 1'000'000;
  s.end_ns = s.start_ns + 1'000'000;
  s.name = "GET /";
  s.attrs = {tools::Attr::Int("http.response.status_code", 200)};
  const std::string body = tools::EncodeTraces({&s}, {{tools::Attr::Str("service.name", service)}},
                                               tools::Encoding::kProtobuf);
  HttpConnection c(server.host(), server.otlp_port());
  auto r =
      c.Post("/v1/traces", body, "application/x-protobuf", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
}

TEST(TenantCtl, EveryServerCommandTakesTheTokenAndSeesItsTenant) {
  TempDir dir;
  const std::string file = dir.Sub("tokens");
  std::ofstream(file) << kAlpha << " alpha ingest,query\n"
                      << kBeta << " beta ingest,query\n"
                      << kOps << " ops admin\n";
  ServerOptions options;
  options.extra_args = {"--tokens-file", file, "--flush-interval", "100ms", "--pair-wait", "1s"};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  const std::string url = "http://" + server.host() + ":" + std::to_string(server.http_port());
  SendRoot(server, kAlpha, "alpha-shop");
  SendRoot(server, kBeta, "beta-bank");
  auto map = [&](const std::string& token) {
    ToolResult r;
    for (int i = 0; i < 100; ++i) {
      std::vector<std::string> args = {"map", "--server", url};
      if (!token.empty()) args.insert(args.end(), {"--token", token});  // else $EDGEWISE_TOKEN
      r = RunTool("edgewise-ctl", args);
      if (r.out.find("External Client") != std::string::npos) break;
      std::this_thread::sleep_for(100ms);
    }
    return r;
  };
  ToolResult a = map(kAlpha);
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.out.find("alpha-shop"), std::string::npos) << a.out;
  EXPECT_EQ(a.out.find("beta-bank"), std::string::npos) << a.out;
  ::setenv("EDGEWISE_TOKEN", kBeta, 1);
  ToolResult b = map("");
  ::unsetenv("EDGEWISE_TOKEN");
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.out.find("beta-bank"), std::string::npos) << b.out;
  EXPECT_EQ(b.out.find("alpha-shop"), std::string::npos) << b.out;

  const std::vector<std::vector<std::string>> queries = {
      {"service", "--name", "alpha-shop"},
      {"series", "--query", "server.service.name = alpha-shop"},
      {"traces", "--source", "n1", "--target", "n2"},
  };
  for (std::vector<std::string> args : queries) {
    args.insert(args.end(), {"--server", url});
    ToolResult none = RunTool("edgewise-ctl", args);
    EXPECT_EQ(none.exit_code, 1) << none.command;
    EXPECT_NE(none.err.find("HTTP 401"), std::string::npos) << none.err;
    args.insert(args.end(), {"--token", kAlpha});
    ToolResult with = RunTool("edgewise-ctl", args);
    EXPECT_EQ(with.err.find("HTTP 401"), std::string::npos) << with.command << ": " << with.err;
    EXPECT_EQ(with.err.find("HTTP 403"), std::string::npos) << with.command << ": " << with.err;
  }
  ToolResult svc = RunTool("edgewise-ctl",
                           {"service", "--name", "alpha-shop", "--server", url, "--token", kAlpha});
  EXPECT_EQ(svc.exit_code, 0) << svc.err;
  ToolResult other = RunTool(
      "edgewise-ctl", {"service", "--name", "alpha-shop", "--server", url, "--token", kBeta});
  EXPECT_EQ(other.exit_code, 1) << other.out;
  EXPECT_NE(other.err.find("HTTP 404"), std::string::npos) << other.err;

  // Admin commands need the admin scope.
  ToolResult denied = RunTool("edgewise-ctl", {"compact", "--server", url, "--token", kAlpha});
  EXPECT_EQ(denied.exit_code, 1) << denied.out;
  EXPECT_NE(denied.err.find("HTTP 403"), std::string::npos) << denied.err;
  ToolResult compact = RunTool("edgewise-ctl", {"compact", "--server", url, "--token", kOps});
  EXPECT_EQ(compact.exit_code, 0) << compact.err;
  ::setenv("EDGEWISE_TOKEN", kOps, 1);
  ToolResult backup = RunTool("edgewise-ctl", {"backup", "--server", url, dir.Sub("backup")});
  ::unsetenv("EDGEWISE_TOKEN");
  EXPECT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

}  // namespace
}  // namespace ew::testing
