// OTLP/gRPC against the real edgewise binary, with a real gRPC client (grpc::GenericStub, the
// request bytes from the tools' OTLP encoder through the fault tests' TrafficLedger): the exact
// map for plain and gzip messages, partial success, malformed protobuf, oversize messages, a gzip
// bomb, authentication, the per-status metric and durability across kill -9.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/common/test_certs.h"
#include "tests/fault/traffic_ledger.h"
#include "tests/server/server_test_util.h"
#include "tools/otlp_encoder.h"

namespace ew::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kExport[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct Reply {
  grpc::Status status;
  std::string body;  // the ExportTraceServiceResponse bytes when OK
};

struct CallOptions {
  bool gzip = false;
  std::string authorization;  // metadata value; empty: none
  bool deflate = false;       // gRPC's deflate message compression instead
};

class OtlpGrpcClient {
 public:
  OtlpGrpcClient(
      const std::string& host, uint16_t port,
      std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials())
      : channel_(grpc::CreateChannel(host + ":" + std::to_string(port), credentials)),
        stub_(channel_) {}

  Reply Export(const std::string& message, const CallOptions& options = {}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 60s);
    if (options.gzip) context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    if (options.deflate) context.set_compression_algorithm(GRPC_COMPRESS_DEFLATE);
    if (!options.authorization.empty()) context.AddMetadata("authorization", options.authorization);
    grpc::Slice slice(message);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub_.UnaryCall(&context, kExport, grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status s) { done.set_value(std::move(s)); });
    Reply reply;
    reply.status = done.get_future().get();
    std::vector<grpc::Slice> slices;
    if (reply.status.ok() && response.Valid() && response.Dump(&slices).ok()) {
      for (const auto& s : slices)
        reply.body.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return reply;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
};

// A server with the OTLP/gRPC listener on a free port, or nullptr (after ADD_FAILURE).
std::unique_ptr<ServerProcess> StartGrpcServer(std::vector<std::string> extra_args = {}) {
  ServerOptions options;
  options.grpc = true;
  options.extra_args = std::move(extra_args);
  auto server = std::make_unique<ServerProcess>(options);
  Status st = server->Start();
  if (!st.ok()) {
    ADD_FAILURE() << st.ToString();
    return nullptr;
  }
  return server;
}

std::string Describe(const grpc::Status& s) {
  return "code " + std::to_string(s.error_code()) + ": " + s.error_message();
}

// Sends `count` ledger requests of `stream` over gRPC; every one must be answered OK with
// nothing rejected.
void SendLedgerRequests(OtlpGrpcClient* client, TrafficLedger* ledger, int stream, int count,
                        bool gzip) {
  for (int i = 0; i < count; ++i) {
    auto [id, body] = ledger->NextRequest(stream);
    Reply r = client->Export(body, {gzip, ""});
    ASSERT_TRUE(r.status.ok()) << Describe(r.status);
    EXPECT_EQ(tools::ParseRejectedSpans(r.body, false), std::optional<int64_t>(0));
    ledger->Record(id, Outcome::kAcked);
  }
}

// Stops the server cleanly (everything flushed), starts it again and checks the map.
void ExpectMapMatchesLedger(ServerProcess* server, const TrafficLedger& ledger) {
  ASSERT_EQ(server->Stop(), 0) << server->Stderr();
  ASSERT_TRUE(server->Start().ok()) << server->Stderr();
  HttpConnection http(server->host(), server->http_port(), 30s);
  auto edges = FetchMapEdges(&http);
  ASSERT_TRUE(edges.ok()) << edges.status().ToString();
  EXPECT_GT(edges->size(), 10u);
  std::vector<std::string> problems = ledger.Check(*edges);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front();
}

std::string Metrics(const ServerProcess& server) {
  HttpConnection http(server.host(), server.http_port());
  auto r = http.Get("/metrics");
  return r.ok() ? r->body : "";
}

double GrpcCount(const std::string& metrics, const std::string& code) {
  return MetricValue(metrics, "ew_grpc_requests_total{method=\"Export\",code=\"" + code + "\"}");
}

// A message the server accepts (one complete ledger request), to show it is still up.
void ExpectStillServing(OtlpGrpcClient* client) {
  TrafficLedger ledger(99, 1);
  Reply r = client->Export(ledger.NextRequest(0).second);
  EXPECT_TRUE(r.status.ok()) << Describe(r.status);
}

// The server's peak resident set (VmHWM) in bytes, or -1.
int64_t PeakRss(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

TEST(OtlpGrpcTest, PlainAndGzipMessagesGiveTheExactMap) {
  auto server = StartGrpcServer();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->grpc_port(), 0);
  TrafficLedger ledger(1234, 2);
  {
    OtlpGrpcClient client(server->host(), server->grpc_port());
    SendLedgerRequests(&client, &ledger, 0, 60, false);
    SendLedgerRequests(&client, &ledger, 1, 60, true);
  }
  EXPECT_EQ(GrpcCount(Metrics(*server), "OK"), 120.0);
  ExpectMapMatchesLedger(server.get(), ledger);
}

TEST(OtlpGrpcTest, RejectedSpanIsAPartialSuccess) {
  auto server = StartGrpcServer({"--max-span-age", "1h"});
  ASSERT_NE(server, nullptr);
  const uint64_t now_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  tools::OtlpSpan fresh, old;
  fresh.trace_id = tools::MakeTraceId(7, 1);
  fresh.span_id = tools::MakeSpanId(7, 1);
  fresh.kind = 2;
  fresh.start_ns = now_ns - 1'000'000'000;
  fresh.end_ns = now_ns;
  fresh.name = "GET /";
  old = fresh;
  old.trace_id = tools::MakeTraceId(7, 2);
  old.span_id = tools::MakeSpanId(7, 2);
  old.start_ns = now_ns - 3 * 3600ULL * 1'000'000'000;  // older than --max-span-age
  old.end_ns = old.start_ns + 1'000'000;
  std::string body = tools::EncodeTraces({&fresh, &old}, {{tools::Attr::Str("service.name", "a")}},
                                         tools::Encoding::kProtobuf);
  OtlpGrpcClient client(server->host(), server->grpc_port());
  for (bool gzip : {false, true}) {
    Reply r = client.Export(body, {gzip, ""});
    ASSERT_TRUE(r.status.ok()) << Describe(r.status);
    EXPECT_EQ(tools::ParseRejectedSpans(r.body, false), std::optional<int64_t>(1));
    // The same ExportTraceServiceResponse as OTLP/HTTP answers for this body.
    HttpConnection otlp(server->host(), server->otlp_port());
    auto http = otlp.Post("/v1/traces", body, "application/x-protobuf");
    ASSERT_TRUE(http.ok());
    EXPECT_EQ(http->status, 200);
    EXPECT_EQ(r.body, http->body);
  }
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(OtlpGrpcTest, MalformedProtobufIsInvalidArgumentAndTheServerStaysUp) {
  auto server = StartGrpcServer();
  ASSERT_NE(server, nullptr);
  OtlpGrpcClient client(server->host(), server->grpc_port());
  // resource_spans (field 1) announcing 100 bytes with only 3 present; then a bad wire type.
  for (const std::string& bad : {std::string("\x0a\x64\x01\x02\x03", 5), std::string("\x0f", 1)}) {
    for (bool gzip : {false, true}) {
      Reply r = client.Export(bad, {gzip, ""});
      EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(r.status);
      EXPECT_FALSE(r.status.error_message().empty());
      EXPECT_TRUE(r.status.error_details().empty());  // no RetryInfo: not to be retried
      // The message names the problem as the OTLP/HTTP 400 body does for the same bytes.
      HttpConnection otlp(server->host(), server->otlp_port());
      auto http = otlp.Post("/v1/traces", bad, "application/x-protobuf");
      ASSERT_TRUE(http.ok());
      EXPECT_EQ(http->status, 400);
      EXPECT_NE(http->body.find(r.status.error_message()), std::string::npos)
          << r.status.error_message();
    }
  }
  ExpectStillServing(&client);
  EXPECT_EQ(GrpcCount(Metrics(*server), "INVALID_ARGUMENT"), 4.0);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(OtlpGrpcTest, OversizeMessageIsResourceExhausted) {
  auto server = StartGrpcServer({"--max-body", "64KiB"});
  ASSERT_NE(server, nullptr);
  OtlpGrpcClient client(server->host(), server->grpc_port());
  std::string big(100 << 10, 'x');
  Reply r = client.Export(big);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(r.status);
  EXPECT_TRUE(r.status.error_details().empty());  // no RetryInfo: retrying cannot help
  ExpectStillServing(&client);
  // gRPC refuses it before the handler: not in the handler's per-status count.
  EXPECT_EQ(GrpcCount(Metrics(*server), "RESOURCE_EXHAUSTED"), -1.0);
  EXPECT_EQ(GrpcCount(Metrics(*server), "OK"), 1.0);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(OtlpGrpcTest, DeflateIsUnimplemented) {
  auto server = StartGrpcServer();
  ASSERT_NE(server, nullptr);
  OtlpGrpcClient client(server->host(), server->grpc_port());
  TrafficLedger ledger(3, 1);
  Reply r = client.Export(ledger.NextRequest(0).second, {false, "", true});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(r.status);
  ExpectStillServing(&client);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(OtlpGrpcTest, GzipBombIsRefusedWithoutInflatingIt) {
  // 256 MiB of zeros travel as ~256 KB of gzip, under --max-body; --max-decompressed stops the
  // inflation at 1 MiB, so the server's peak memory must not grow by anything near the bomb.
  auto server = StartGrpcServer({"--max-decompressed", "1MiB"});
  ASSERT_NE(server, nullptr);
  OtlpGrpcClient client(server->host(), server->grpc_port());
  ExpectStillServing(&client);
  const int64_t before = PeakRss(server->pid());
  ASSERT_GT(before, 0);
  Reply r;
  {
    std::string bomb(256 << 20, '\0');
    r = client.Export(bomb, {true, ""});
  }
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(r.status);
  const int64_t after = PeakRss(server->pid());
  EXPECT_LT(after - before, int64_t{64} << 20)
      << "peak RSS grew from " << before << " to " << after;
  ExpectStillServing(&client);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(OtlpGrpcTest, WrongOrMissingTokenIsUnauthenticated) {
  auto server = StartGrpcServer({"--auth-token", "s3cret"});
  ASSERT_NE(server, nullptr);
  OtlpGrpcClient client(server->host(), server->grpc_port());
  TrafficLedger ledger(5, 1);
  const std::string body = ledger.NextRequest(0).second;
  for (const char* auth : {"", "Bearer wrong", "Bearer s3cre", "Bearer s3cret2", "s3cret"}) {
    Reply r = client.Export(body, {false, auth});
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << "'" << auth << "': " << Describe(r.status);
  }
  Reply ok = client.Export(body, {false, "Bearer s3cret"});
  EXPECT_TRUE(ok.status.ok()) << Describe(ok.status);
  const std::string metrics = Metrics(*server);
  EXPECT_EQ(GrpcCount(metrics, "UNAUTHENTICATED"), 5.0) << metrics;
  EXPECT_EQ(GrpcCount(metrics, "OK"), 1.0) << metrics;
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(OtlpGrpcTest, AcknowledgedMessagesSurviveKill9) {
  auto server = StartGrpcServer({"--flush-interval", "1h"});
  ASSERT_NE(server, nullptr);
  TrafficLedger ledger(77, 2);
  {
    OtlpGrpcClient client(server->host(), server->grpc_port());
    SendLedgerRequests(&client, &ledger, 0, 40, false);
    SendLedgerRequests(&client, &ledger, 1, 40, true);
  }
  // Nothing was flushed to the store (flush interval 1 h): only the ingest log has the spans.
  EXPECT_EQ(server->Kill(), 128 + 9);
  ASSERT_TRUE(server->Start().ok()) << server->Stderr();
  ExpectMapMatchesLedger(server.get(), ledger);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// --tls-cert/--tls-key/--tls-client-ca apply to the gRPC listener too: a TLS client with a
// certificate from the CA gets the exact map; plaintext, and TLS without a client certificate,
// are refused (UNAVAILABLE) while the server stays up.
TEST(OtlpGrpcTest, MutualTlsWithCertificatesMadeAtTestTime) {
  TempDir dir("ew-grpc-tls-");
  ASSERT_TRUE(MakeTestCertificates(dir.path()));
  auto server = StartGrpcServer({"--tls-cert", dir.Sub("server.pem"), "--tls-key",
                                 dir.Sub("server.key"), "--tls-client-ca", dir.Sub("ca.pem")});
  ASSERT_NE(server, nullptr);
  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = ReadFile(dir.Sub("ca.pem"));
  grpc::SslCredentialsOptions without_cert = with_cert;
  with_cert.pem_private_key = ReadFile(dir.Sub("client.key"));
  with_cert.pem_cert_chain = ReadFile(dir.Sub("client.pem"));

  TrafficLedger ledger(4242, 1);
  auto [id, body] = ledger.NextRequest(0);
  OtlpGrpcClient plain(server->host(), server->grpc_port());
  Reply r = plain.Export(body);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(r.status);
  OtlpGrpcClient no_cert(server->host(), server->grpc_port(), grpc::SslCredentials(without_cert));
  r = no_cert.Export(body);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(r.status);
  ledger.Record(id, Outcome::kRefused);

  OtlpGrpcClient tls(server->host(), server->grpc_port(), grpc::SslCredentials(with_cert));
  SendLedgerRequests(&tls, &ledger, 0, 30, /*gzip=*/true);
  // The map, read from the same data directory by a server without TLS after a clean stop.
  ASSERT_EQ(server->Stop(), 0) << server->Stderr();
  ServerOptions plain_options;
  plain_options.data_dir = server->data_dir();
  ServerProcess reader(plain_options);
  ASSERT_TRUE(reader.Start().ok()) << reader.Stderr();
  HttpConnection http(reader.host(), reader.http_port(), 30s);
  auto edges = FetchMapEdges(&http);
  ASSERT_TRUE(edges.ok()) << edges.status().ToString();
  EXPECT_GT(edges->size(), 10u);
  const auto problems = ledger.Check(*edges);
  EXPECT_TRUE(problems.empty()) << problems.size() << " edges wrong, first: " << problems.front();
}

}  // namespace
}  // namespace ew::testing
