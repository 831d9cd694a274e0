// The whole path through the real binary: OTLP JSON spans (plain and gzip) on the OTLP listener,
// paired by ingest, flushed to storage, read back from /api/v1/map on the HTTP listener.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "tests/common/gzip.h"
#include "tests/server/server_test_util.h"

namespace ew::testing {
namespace {

std::string Attr(const std::string& key, const std::string& value) {
  return R"({"key":")" + key + R"(","value":{"stringValue":")" + value + R"("}})";
}

// One request frontend -> backend as two halves in two resources.
std::string PairBody(const std::string& trace_id, const std::string& client_span,
                     const std::string& server_span, int64_t start_ns) {
  std::string start = std::to_string(start_ns);
  std::string end = std::to_string(start_ns + 5'000'000);
  std::string code = R"({"key":"http.response.status_code","value":{"intValue":"200"}})";
  return R"({"resourceSpans":[{"resource":{"attributes":[)" + Attr("service.name", "frontend") +
         R"(]},"scopeSpans":[{"spans":[{"traceId":")" + trace_id + R"(","spanId":")" + client_span +
         R"(","name":"GET","kind":3,"startTimeUnixNano":")" + start + R"(","endTimeUnixNano":")" +
         end + R"(","attributes":[)" + Attr("http.request.method", "GET") + "," + code +
         R"(]}]}]},{"resource":{"attributes":[)" + Attr("service.name", "backend") +
         R"(]},"scopeSpans":[{"spans":[{"traceId":")" + trace_id + R"(","spanId":")" + server_span +
         R"(","parentSpanId":")" + client_span +
         R"(","name":"GET /api","kind":2,"startTimeUnixNano":")" + start +
         R"(","endTimeUnixNano":")" + end + R"(","attributes":[)" + Attr("http.route", "/api") +
         "," + Attr("http.request.method", "GET") + "," + code + R"(]}]}]}]})";
}

// Requests on the frontend -> backend edge in the last hour, or -1 when the edge is absent.
int64_t EdgeRequests(HttpConnection& http) {
  auto r = http.Get("/api/v1/map?start=now-1h&end=now");
  if (!r.ok() || r->status != 200) return -1;
  auto doc = Json::Parse(r->body);
  if (!doc.ok()) return -1;
  std::map<std::string, std::string> names;
  for (const auto& n : (*doc)["nodes"].Elements()) names[n["id"].String()] = n["name"].String();
  for (const auto& e : (*doc)["edges"].Elements()) {
    if (names[e["source"].String()] == "frontend" && names[e["target"].String()] == "backend") {
      return e["requests"].Int(-1);
    }
  }
  return -1;
}

int64_t WaitForEdgeRequests(HttpConnection& http, int64_t want) {
  int64_t got = -1;
  for (int i = 0; i < 150; ++i) {
    got = EdgeRequests(http);
    if (got >= want) return got;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return got;
}

TEST(ServerEndToEndTest, OtlpJsonAndGzipSpansReachTheMap) {
  auto server = StartServer({"--flush-interval", "200ms"});
  ASSERT_NE(server, nullptr);
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  HttpConnection otlp(server->host(), server->otlp_port());
  auto first = otlp.Post(
      "/v1/traces",
      PairBody("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "eee19b7ec3c1b175", now_ns),
      "application/json");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_NE(first->Header("Content-Type").find("application/json"), std::string::npos);

  HttpConnection http(server->host(), server->http_port());
  EXPECT_EQ(WaitForEdgeRequests(http, 1), 1) << server->Stderr();

  auto second = otlp.Post("/v1/traces",
                          GzipCompress(PairBody("6c9f0008a9149214e37ac744924ad71d",
                                                "fff29c8fd4d2c285", "fff29c8fd4d2c286", now_ns)),
                          "application/json", {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(WaitForEdgeRequests(http, 2), 2) << server->Stderr();
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

}  // namespace
}  // namespace ew::testing
