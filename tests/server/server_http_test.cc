// The HTTP surface of a running edgewise: health, metrics, routing errors, OTLP content
// negotiation, keep-alive and pipelining. One server is shared by the tests of this suite.
#include <gtest/gtest.h>

#include "tests/server/server_test_util.h"

namespace ew::testing {
namespace {

class ServerHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = StartServer().release(); }
  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Stderr();
    }
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  HttpConnection Http() { return HttpConnection(server_->host(), server_->http_port()); }
  HttpConnection Otlp() { return HttpConnection(server_->host(), server_->otlp_port()); }

  static ServerProcess* server_;
};
ServerProcess* ServerHttpTest::server_ = nullptr;

TEST_F(ServerHttpTest, HealthzAnswersOk) {
  auto c = Http();
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
}

TEST_F(ServerHttpTest, ReadyzIsReadyWhenStorageAndIngestAreHealthy) {
  auto c = Http();
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(ServerHttpTest, MetricsCountRequestsByListenerRouteAndCode) {
  auto c = Http();
  ASSERT_TRUE(c.Get("/healthz").ok());
  auto o = Otlp();
  auto bad = o.Post("/v1/traces", "x", "text/plain");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 415);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->Header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_GE(MetricValue(r->body, "ew_uptime_seconds"), 0.0) << r->body;
  EXPECT_GE(
      MetricValue(r->body,
                  "ew_http_requests_total{listener=\"http\",route=\"/healthz\",code=\"200\"}"),
      1.0)
      << r->body;
  EXPECT_GE(
      MetricValue(r->body,
                  "ew_http_requests_total{listener=\"otlp\",route=\"/v1/traces\",code=\"415\"}"),
      1.0)
      << r->body;
  EXPECT_GT(MetricValue(r->body, "ew_http_bytes_received_total{listener=\"http\"}"), 0.0);
  EXPECT_GT(MetricValue(r->body, "ew_http_bytes_received_total{listener=\"otlp\"}"), 0.0);
  EXPECT_NE(r->body.find("# TYPE ew_http_requests_total counter"), std::string::npos);
  // One registry: what ingest and storage register is scraped here too.
  EXPECT_NE(r->body.find("spans_received_total"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("_storage_"), std::string::npos) << r->body;
}

TEST_F(ServerHttpTest, UnknownPathsAre404Json) {
  auto c = Http();
  auto r = c.Get("/no/such/thing.txt");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  ExpectJsonError(*r);
  auto o = Otlp();
  auto r2 = o.Post("/v1/metrics", "", "application/x-protobuf");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 404);
  ExpectJsonError(*r2);
}

TEST_F(ServerHttpTest, UnknownApiPathIs404Json) {
  auto c = Http();
  auto r = c.Get("/api/v1/no-such-endpoint");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  ExpectJsonError(*r);
}

TEST_F(ServerHttpTest, ApiMapAnswersJson) {
  auto c = Http();
  auto r = c.Get("/api/v1/map?query=" + UrlEncode("") + "&start=now-1h&end=now");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  auto doc = Json::Parse(r->body);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_TRUE(doc->IsObject());
}

// A misspelt or repeated parameter is refused with a message naming it, never ignored.
TEST_F(ServerHttpTest, ApiRefusesUnknownAndRepeatedParameters) {
  auto c = Http();
  auto r = c.Get("/api/v1/map?querry=" + UrlEncode("server.namespace = shop"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  ExpectJsonError(*r);
  EXPECT_NE(r->body.find("unknown parameter 'querry'; parameters: query, start, end"),
            std::string::npos)
      << r->body;
  r = c.Get("/api/v1/map?query=" + UrlEncode("server.namespace = a") +
            "&start=now-1h&query=" + UrlEncode("server.namespace = b"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("parameter 'query' given more than once"), std::string::npos) << r->body;
  r = c.Get("/api/v1/map?focus=n99999");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404) << r->body;
  ExpectJsonError(*r);
}

TEST_F(ServerHttpTest, WrongMethodsAre405JsonWithAllow) {
  auto o = Otlp();
  auto r = o.Get("/v1/traces");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("Allow"), "POST");
  ExpectJsonError(*r);
  auto c = Http();
  auto r2 = c.Post("/healthz", "x", "text/plain");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 405);
  EXPECT_NE(r2->Header("Allow").find("GET"), std::string::npos);
  ExpectJsonError(*r2);
}

TEST_F(ServerHttpTest, HeadHasLengthButNoBody) {
  auto c = Http();
  HttpRequest req;
  req.method = "HEAD";
  req.target = "/healthz";
  auto r = c.Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Content-Length"), "2");
  EXPECT_TRUE(r->body.empty());
  auto again = c.Get("/healthz");  // the connection is still in sync
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->body, "ok");
}

TEST_F(ServerHttpTest, OtlpRefusesOtherContentTypesWith415) {
  auto o = Otlp();
  for (const char* type : {"text/plain", "application/xml", "application/x-www-form-urlencoded"}) {
    auto r = o.Post("/v1/traces", "{}", type);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 415) << type;
    ExpectJsonError(*r);
  }
  HttpRequest no_type;
  no_type.method = "POST";
  no_type.target = "/v1/traces";
  no_type.body = "{}";
  auto r = o.Send(no_type);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 415);
}

TEST_F(ServerHttpTest, OtlpRefusesOtherEncodingsWith415) {
  auto o = Otlp();
  for (const char* enc : {"br", "deflate", "zstd"}) {
    auto r = o.Post("/v1/traces", "{}", "application/json", {{"Content-Encoding", enc}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 415) << enc;
  }
}

TEST_F(ServerHttpTest, OtlpEmptyProtobufExportIs200Protobuf) {
  auto o = Otlp();
  auto r = o.Post("/v1/traces", "", "application/x-protobuf");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->Header("Content-Type"), "application/x-protobuf");
}

TEST_F(ServerHttpTest, OtlpJsonWithCharsetAndChunkedBodyIs200Json) {
  auto o = Otlp();
  HttpRequest req;
  req.method = "POST";
  req.target = "/v1/traces";
  req.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  req.body = R"({"resourceSpans":[]})";
  req.chunked = true;
  req.chunk_size = 3;
  auto r = o.Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->Header("Content-Type").find("application/json"), std::string::npos);
}

TEST_F(ServerHttpTest, OtlpMalformedBodyIs400NotServerError) {
  auto o = Otlp();
  auto r = o.Post("/v1/traces", "\x0a\xff\xff\xff\xff\xff\xff", "application/x-protobuf");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  auto j = o.Post("/v1/traces", "{\"resourceSpans\": [", "application/json");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->status, 400) << j->body;
}

TEST_F(ServerHttpTest, KeepAliveServesManyRequestsOnOneConnection) {
  auto c = Http();
  for (int i = 0; i < 10; ++i) {
    auto r = c.Get(i % 2 == 0 ? "/healthz" : "/readyz");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->keep_alive);
  }
  auto o = Otlp();
  for (int i = 0; i < 5; ++i) {
    auto r = o.Post("/v1/traces", "", "application/x-protobuf");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(c.connections_opened(), 1);
  EXPECT_EQ(o.connections_opened(), 1);
}

TEST_F(ServerHttpTest, PipelinedRequestsAreAnsweredInOrder) {
  auto c = Http();
  std::string wire;
  const char* targets[] = {"/healthz", "/nope", "/readyz", "/healthz", "/metrics", "/nope2"};
  for (const char* t : targets) {
    HttpRequest req;
    req.target = t;
    wire += c.Serialize(req);
  }
  ASSERT_TRUE(c.SendRaw(wire).ok());
  int expected[] = {200, 404, 200, 200, 200, 404};
  for (int code : expected) {
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, code);
  }
  EXPECT_EQ(c.connections_opened(), 1);
}

TEST_F(ServerHttpTest, PipelinedExportsAreAnsweredInOrder) {
  auto o = Otlp();
  std::string wire;
  for (int i = 0; i < 12; ++i) {
    HttpRequest req;
    req.method = "POST";
    req.target = "/v1/traces";
    req.headers = {{"Content-Type", i % 3 == 2 ? "text/plain" : "application/x-protobuf"}};
    wire += o.Serialize(req);
  }
  ASSERT_TRUE(o.SendRaw(wire).ok());
  for (int i = 0; i < 12; ++i) {
    auto r = o.ReadResponse();
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    EXPECT_EQ(r->status, i % 3 == 2 ? 415 : 200) << i;
  }
}

TEST_F(ServerHttpTest, ExpectContinueGetsInterimResponse) {
  auto o = Otlp();
  std::string head =
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
      "Content-Length: 0\r\nExpect: 100-continue\r\n\r\n";
  // With Content-Length 0 there is no body to wait for: the final answer comes at once.
  ASSERT_TRUE(o.SendRaw(head).ok());
  auto r = o.ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  std::string body = "{}";
  std::string head2 =
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n";
  ASSERT_TRUE(o.SendRaw(head2).ok());
  auto interim = o.ReadResponse();
  ASSERT_TRUE(interim.ok()) << interim.status().ToString();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(o.SendRaw(body).ok());
  auto final_response = o.ReadResponse();
  ASSERT_TRUE(final_response.ok()) << final_response.status().ToString();
  EXPECT_EQ(final_response->status, 200) << final_response->body;
}

// A header with Expect: 100-continue that arrives while an earlier response is still pending
// (pipelined here, so always) gets its 100 after that response, not never.
TEST_F(ServerHttpTest, ExpectContinueBehindAPendingResponse) {
  auto o = Otlp();
  std::string first =
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
      "Content-Length: 0\r\n\r\n";
  std::string second =
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n";
  ASSERT_TRUE(o.SendRaw(first + second).ok());
  auto r = o.ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  auto interim = o.ReadResponse();
  ASSERT_TRUE(interim.ok()) << interim.status().ToString();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(o.SendRaw("{}").ok());
  auto final_response = o.ReadResponse();
  ASSERT_TRUE(final_response.ok()) << final_response.status().ToString();
  EXPECT_EQ(final_response->status, 200) << final_response->body;
}

TEST_F(ServerHttpTest, ConnectionCloseIsHonored) {
  auto c = Http();
  auto r = c.Get("/healthz", {{"Connection", "close"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_FALSE(c.connected());
}

}  // namespace
}  // namespace ew::testing
