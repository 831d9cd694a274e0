// Hostile and limited input: body limits (413), auth (401), header limits (431), slow-loris
// clients, garbage bytes. The server must answer or close, never hang or crash.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "tests/common/gzip.h"
#include "tests/server/server_test_util.h"

namespace ew::testing {
namespace {

TEST(ServerLimitsTest, OversizedBodyIs413ForContentLengthAndChunked) {
  auto server = StartServer({"--max-body", "1KiB"});
  ASSERT_NE(server, nullptr);
  std::string big(4096, 'x');
  {
    HttpConnection o(server->host(), server->otlp_port());
    auto r = o.Post("/v1/traces", big, "application/x-protobuf");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 413);
    ExpectJsonError(*r);
  }
  {
    HttpConnection o(server->host(), server->otlp_port());
    HttpRequest req;
    req.method = "POST";
    req.target = "/v1/traces";
    req.headers = {{"Content-Type", "application/x-protobuf"}};
    req.body = big;
    req.chunked = true;
    req.chunk_size = 512;
    auto r = o.Send(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 413);
  }
  {
    // A client that keeps sending a large body still gets the 413 (the server reads and drops
    // the rest for a moment before it closes, so the answer is not lost to a reset).
    HttpConnection o(server->host(), server->otlp_port());
    auto r = o.Post("/v1/traces", std::string(3 << 20, 'y'), "application/x-protobuf");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 413);
  }
  {
    // A body within the limit still works, also when gzip'd.
    HttpConnection o(server->host(), server->otlp_port());
    auto r = o.Post("/v1/traces", GzipCompress(""), "application/x-protobuf",
                    {{"Content-Encoding", "gzip"}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;
  }
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(ServerLimitsTest, AuthTokenIsRequiredOnOtlpAndApiButNotHealth) {
  auto server = StartServer({"--auth-token", "s3cret"});
  ASSERT_NE(server, nullptr);
  HttpConnection o(server->host(), server->otlp_port());
  auto none = o.Post("/v1/traces", "", "application/x-protobuf");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->Header("WWW-Authenticate"), "Bearer");
  // The OTLP error body: google.rpc.Status {code: 16 UNAUTHENTICATED} in the request's type.
  EXPECT_EQ(none->Header("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(none->body.substr(0, 2), std::string("\x08\x10"));
  auto json = o.Post("/v1/traces", "{}", "application/json");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->status, 401);
  ExpectJsonError(*json);
  auto wrong =
      o.Post("/v1/traces", "", "application/x-protobuf", {{"Authorization", "Bearer s3cres"}});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 401);
  auto prefix = o.Post("/v1/traces", "", "application/x-protobuf",
                       {{"Authorization", "Bearer s3cret-and-more"}});
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(prefix->status, 401);
  auto right =
      o.Post("/v1/traces", "", "application/x-protobuf", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(right.ok());
  EXPECT_EQ(right->status, 200) << right->body;

  HttpConnection c(server->host(), server->http_port());
  auto api = c.Get("/api/v1/map");
  ASSERT_TRUE(api.ok());
  EXPECT_EQ(api->status, 401);
  auto api_ok = c.Get("/api/v1/map", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(api_ok.ok());
  EXPECT_EQ(api_ok->status, 200) << api_ok->body;
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(ServerLimitsTest, HugeHeaderIs431AndServerStaysUp) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  HttpConnection c(server->host(), server->http_port());
  auto r = c.Get("/healthz", {{"X-Big", std::string(64 * 1024, 'a')}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 431);
  HttpConnection c2(server->host(), server->http_port());
  auto ok = c2.Get("/healthz");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

// A client that sends its header one byte a second must not hold the server: others are
// served meanwhile, and the server closes the slow connection after its header timeout.
TEST(ServerLimitsTest, SlowLorisIsCutOffAndDoesNotBlockOthers) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  std::atomic<bool> slow_closed{false};
  std::atomic<int> slow_seconds{0};
  std::thread slow([&] {
    HttpConnection s(server->host(), server->http_port(), std::chrono::seconds(2));
    ASSERT_TRUE(s.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n").ok());
    for (int i = 0; i < 40; ++i) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      slow_seconds = i + 1;
      if (!s.SendRaw("X").ok()) {  // the server closed the connection
        slow_closed = true;
        return;
      }
    }
  });
  for (int i = 0; i < 5; ++i) {
    HttpConnection c(server->host(), server->http_port(), std::chrono::seconds(5));
    auto r = c.Get("/healthz");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  slow.join();
  EXPECT_TRUE(slow_closed.load()) << "the slow connection was never closed";
  EXPECT_LE(slow_seconds.load(), 20);
  EXPECT_TRUE(server->Running());
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(ServerLimitsTest, GarbageBytesDoNotCrashTheServer) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  std::vector<std::string> inputs = {
      std::string("\x00\x01\x02\x03\xff\xfe\r\n\r\n", 10),
      "GET / HTTP/9.9\r\n\r\n",
      "GET\r\n\r\n",
      "POST /v1/traces HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "POST /v1/traces HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "POST /v1/traces HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
      "POST /v1/traces HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: "
      "3\r\n\r\n0\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
      "\r\n\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello start
  };
  std::mt19937 rng(42);
  for (int i = 0; i < 20; ++i) {
    std::string junk(1 + rng() % 2000, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    inputs.push_back(junk);
  }
  for (uint16_t port : {server->otlp_port(), server->http_port()}) {
    for (const auto& input : inputs) {
      HttpConnection raw(server->host(), port, std::chrono::seconds(15));
      if (!raw.SendRaw(input).ok()) continue;  // the server may close early: fine
      bool closed = false;
      std::string answer = raw.ReadUntilClose(&closed, std::chrono::seconds(15));
      if (!answer.empty()) {
        EXPECT_EQ(answer.rfind("HTTP/1.1 ", 0), 0u) << answer.substr(0, 100);
        EXPECT_EQ(answer.find("HTTP/1.1 500"), std::string::npos) << answer.substr(0, 200);
      }
    }
    ASSERT_TRUE(server->Running()) << server->Stderr();
  }
  HttpConnection c(server->host(), server->http_port());
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

}  // namespace
}  // namespace ew::testing
