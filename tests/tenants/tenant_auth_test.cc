// Tokens and scopes against the real edgewise binary (docs/api.md "Tenants and tokens"): the
// 401/403 matrix over every route and protocol (OTLP/HTTP protobuf and JSON, Zipkin, OTLP/gRPC
// with a real gRPC client, every /api/ endpoint, /metrics/servicegraph, the admin endpoints),
// the error bodies, a malformed tokens file at start, SIGHUP reloading the file (a removed token
// is refused afterwards, a malformed file keeps the old tokens), the tenant header, and no token
// ever written to the log.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/server/server_test_util.h"

namespace ew::testing {
namespace {

using namespace std::chrono_literals;

// Distinctive tokens, so that the log can be searched for them.
constexpr char kIngest[] = "tok-ingest-5f0c2b9e";
constexpr char kQuery[] = "tok-query-91d7e4aa";
constexpr char kAdmin[] = "tok-admin-37bb0f61";
constexpr char kAll[] = "tok-all-c04e8d12";
constexpr char kUnknown[] = "tok-unknown-0000";

std::string TokensFile(const TempDir& dir, const std::string& text) {
  const std::string path = dir.Sub("tokens");
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

std::string StandardTokens() {
  return std::string("# scopes per token\n") + kIngest + " shop ingest\n" + kQuery +
         " shop query\n" + kAdmin + " ops admin   # backups\n\n" + kAll +
         " bank ingest,query,admin\n";
}

class GrpcClient {
 public:
  GrpcClient(const std::string& host, uint16_t port)
      : channel_(grpc::CreateChannel(host + ":" + std::to_string(port),
                                     grpc::InsecureChannelCredentials())),
        stub_(channel_) {}

  grpc::Status Export(const std::string& authorization) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 30s);
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    grpc::ByteBuffer request;  // an empty ExportTraceServiceRequest
    grpc::Slice slice("");
    request = grpc::ByteBuffer(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub_.UnaryCall(&context, "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                    grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
};

enum Needs { kNeedsIngest, kNeedsQuery, kNeedsAdmin };

struct Route {
  bool otlp_listener;
  std::string method, target, content_type, body;
  Needs needs;
};

std::vector<Route> Routes() {
  return {
      {true, "POST", "/v1/traces", "application/x-protobuf", "", kNeedsIngest},
      {true, "POST", "/v1/traces", "application/json", "{}", kNeedsIngest},
      {true, "POST", "/api/v2/spans", "application/json", "[]", kNeedsIngest},
      {false, "GET", "/api/v1/map", "", "", kNeedsQuery},
      {false, "GET", "/api/v1/map?format=nodegraph", "", "", kNeedsQuery},
      {false, "GET", "/api/v1/map?compare=1h&explain=true", "", "", kNeedsQuery},
      {false, "GET", "/api/v1/service?name=web", "", "", kNeedsQuery},
      {false, "GET", "/api/v1/edge/series?query=", "", "", kNeedsQuery},
      {false, "GET", "/api/v1/edge/traces?source=n1&target=n2", "", "", kNeedsQuery},
      {false, "GET", "/api/v1/edge/breakdown?source=n1&target=n2", "", "", kNeedsQuery},
      {false, "GET", "/api/v1/no-such-endpoint", "", "", kNeedsQuery},
      {false, "GET", "/metrics/servicegraph", "", "", kNeedsQuery},
      {false, "GET", "/api/v1/admin/stats", "", "", kNeedsAdmin},
      {false, "POST", "/api/v1/admin/compact", "", "", kNeedsAdmin},
  };
}

Result<HttpResponse> Call(const ServerProcess& s, const Route& r, const std::string& token) {
  HttpConnection c(s.host(), r.otlp_listener ? s.otlp_port() : s.http_port());
  tools::HttpHeaders headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  if (!r.content_type.empty()) headers.emplace_back("Content-Type", r.content_type);
  return c.Request(r.method, r.target, headers, r.body);
}

// Checks the refusal's body: OTLP requests get a google.rpc.Status in their content type, every
// other route JSON {"error"}; 401 carries WWW-Authenticate.
void ExpectRefusalBody(const Route& r, const HttpResponse& got, int status) {
  if (status == 401) {
    EXPECT_EQ(got.Header("WWW-Authenticate"), "Bearer") << r.target;
  }
  if (r.otlp_listener && r.content_type == "application/x-protobuf") {
    EXPECT_EQ(got.Header("Content-Type"), "application/x-protobuf") << r.target;
    ASSERT_GE(got.body.size(), 2u);
    EXPECT_EQ(got.body[0], '\x08');  // google.rpc.Status field 1 (code), varint
    EXPECT_EQ(got.body[1], status == 401 ? 16 : 7) << r.target;
    return;
  }
  auto doc = Json::Parse(got.body);
  ASSERT_TRUE(doc.ok()) << r.target << ": " << got.body;
  EXPECT_FALSE((*doc)["error"].String().empty()) << got.body;
  if (r.otlp_listener && r.target == "/v1/traces") {
    EXPECT_EQ((*doc)["code"].Uint(), status == 401 ? 16u : 7u) << got.body;
  }
}

TEST(TenantAuth, EveryRouteAndProtocolAnswers401And403) {
  TempDir dir;
  ServerOptions options;
  options.grpc = true;
  options.extra_args = {"--tokens-file", TokensFile(dir, StandardTokens())};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  struct Who {
    std::string token;
    int scopes;  // bit per Needs
  };
  const std::vector<Who> who = {{"", 0},     {kUnknown, 0}, {kIngest, 1},
                                {kQuery, 2}, {kAdmin, 4},   {kAll, 7}};
  for (const Route& r : Routes()) {
    for (const Who& w : who) {
      auto got = Call(server, r, w.token);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      const bool known = w.token != "" && w.token != kUnknown;
      const bool allowed = (w.scopes >> r.needs) & 1;
      const std::string what = r.method + " " + r.target + " with '" + w.token + "'";
      if (!known) {
        EXPECT_EQ(got->status, 401) << what << ": " << got->body;
        ExpectRefusalBody(r, *got, 401);
      } else if (!allowed) {
        EXPECT_EQ(got->status, 403) << what << ": " << got->body;
        ExpectRefusalBody(r, *got, 403);
      } else {
        EXPECT_NE(got->status, 401) << what;
        EXPECT_NE(got->status, 403) << what;
        EXPECT_LT(got->status, 500) << what << ": " << got->body;
      }
    }
  }
  GrpcClient grpc(server.host(), server.grpc_port());
  EXPECT_EQ(grpc.Export("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(grpc.Export(std::string("Bearer ") + kUnknown).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(grpc.Export(std::string("Bearer ") + kQuery).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(grpc.Export(std::string("Bearer ") + kAdmin).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(grpc.Export(std::string("Bearer ") + kIngest).ok());
  EXPECT_TRUE(grpc.Export(std::string("Bearer ") + kAll).ok());
  // The open paths stay open.
  HttpConnection c(server.host(), server.http_port());
  for (const char* open : {"/healthz", "/readyz", "/metrics", "/"}) {
    auto r = c.Get(open);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << open;
  }
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
  const std::string log = server.Stderr() + server.Stdout();
  for (const char* t : {kIngest, kQuery, kAdmin, kAll, kUnknown}) {
    EXPECT_EQ(log.find(t), std::string::npos) << "the log shows token " << t;
  }
}

TEST(TenantAuth, MalformedTokensFileStopsTheStartNamingTheLine) {
  TempDir dir;
  const std::string file =
      TokensFile(dir, std::string("# ok\n") + kIngest + " shop ingest\nsecret-xyz shop write\n");
  RunResult r =
      RunEdgewise({"--tokens-file", file, "--data-dir", dir.Sub("data"), "--otlp-grpc-addr", "off",
                   "--otlp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(file + ":3: unknown scope 'write'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("secret-xyz"), std::string::npos) << r.err;
  RunResult missing = RunEdgewise({"--tokens-file", dir.Sub("absent"), "--data-dir",
                                   dir.Sub("data"), "--otlp-grpc-addr", "off"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("cannot be read"), std::string::npos) << missing.err;
}

// Waits until the log holds `count` lines containing `text` (the server logs each SIGHUP's
// outcome); false after 30 s.
bool WaitForLog(const ServerProcess& s, const std::string& text, int count) {
  for (int i = 0; i < 300; ++i) {
    const std::string log = s.Stderr();
    int n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    if (n >= count) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

int MapStatus(const ServerProcess& s, const std::string& token) {
  HttpConnection c(s.host(), s.http_port());
  auto r = c.Get("/api/v1/map", {{"Authorization", "Bearer " + token}});
  return r.ok() ? r->status : -1;
}

TEST(TenantAuth, SighupReloadsTheTokensFile) {
  TempDir dir;
  const std::string file = TokensFile(dir, std::string(kQuery) + " shop query\n");
  ServerOptions options;
  options.extra_args = {"--tokens-file", file};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  EXPECT_EQ(MapStatus(server, kQuery), 200);
  EXPECT_EQ(MapStatus(server, kAll), 401);
  // kAll added, kQuery removed.
  TokensFile(dir, std::string(kAll) + " shop query,ingest\n");
  server.Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(server, "SIGHUP: re-read", 1)) << server.Stderr();
  EXPECT_EQ(MapStatus(server, kAll), 200);
  EXPECT_EQ(MapStatus(server, kQuery), 401);
  // A malformed file keeps the tokens in use; the log names the line.
  TokensFile(dir, std::string(kAll) + " shop query\n" + kQuery + " shop\n");
  server.Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(server, "the previous tokens stay in use", 1)) << server.Stderr();
  EXPECT_NE(server.Stderr().find(file + ":2: expected 'TOKEN TENANT SCOPES'"), std::string::npos)
      << server.Stderr();
  EXPECT_EQ(MapStatus(server, kAll), 200);
  EXPECT_EQ(MapStatus(server, kQuery), 401);
  // Fixed again: both.
  TokensFile(dir, std::string(kAll) + " shop query\n" + kQuery + " shop query\n");
  server.Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(server, "SIGHUP: re-read", 2)) << server.Stderr();
  EXPECT_EQ(MapStatus(server, kQuery), 200);
  EXPECT_EQ(MapStatus(server, kAll), 200);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
  const std::string log = server.Stderr();
  EXPECT_EQ(log.find(kQuery), std::string::npos) << log;
  EXPECT_EQ(log.find(kAll), std::string::npos) << log;
}

TEST(TenantAuth, TenantHeaderIsValidatedAndIgnoredWithATokensFile) {
  auto server = StartServer({"--tenant-header"});
  ASSERT_NE(server, nullptr);
  HttpConnection c(server->host(), server->http_port());
  auto bad = c.Get("/api/v1/map", {{"X-Scope-OrgID", "shop/../x"}});
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
  ExpectJsonError(*bad);
  auto good = c.Get("/api/v1/map", {{"X-Scope-OrgID", "shop"}});
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->status, 200) << good->body;
  HttpConnection o(server->host(), server->otlp_port());
  auto bad_ingest =
      o.Post("/v1/traces", "{}", "application/json", {{"X-Scope-OrgID", std::string(65, 'a')}});
  ASSERT_TRUE(bad_ingest.ok());
  EXPECT_EQ(bad_ingest->status, 400) << bad_ingest->body;
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();

  TempDir dir;
  auto with_file = StartServer(
      {"--tenant-header", "--tokens-file", TokensFile(dir, std::string(kQuery) + " shop query\n")});
  ASSERT_NE(with_file, nullptr);
  HttpConnection w(with_file->host(), with_file->http_port());
  auto ignored = w.Get("/api/v1/map", {{"Authorization", std::string("Bearer ") + kQuery},
                                       {"X-Scope-OrgID", "not a tenant"}});
  ASSERT_TRUE(ignored.ok());
  EXPECT_EQ(ignored->status, 200) << ignored->body;
  EXPECT_EQ(with_file->Stop(), 0) << with_file->Stderr();
}

}  // namespace
}  // namespace ew::testing
