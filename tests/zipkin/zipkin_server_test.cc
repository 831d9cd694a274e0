// Zipkin v2 JSON against the real edgewise binary: POST /api/v2/spans with a generated shop
// (B3 shared server spans, separate-id server spans, remoteEndpoint and host-tag naming, IP-only
// peers, namespaces from tags, errors from tags), spans shuffled across plain and gzip requests;
// the map must equal a model counted while generating. Hostile input gets its documented status
// and the server stays up.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "base/time.h"
#include "tests/common/gzip.h"
#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tools/http_client.h"

namespace ew::testing {
namespace {

using tools::HttpConnection;

struct EdgeCounts {
  int64_t requests = 0, errors = 0;
  bool operator==(const EdgeCounts&) const = default;
};
// (source "ns/name", target "ns/name") -> counts.
using Map = std::map<std::pair<std::string, std::string>, EdgeCounts>;

std::string Describe(const Map& map) {
  std::ostringstream out;
  for (const auto& [key, e] : map) {
    out << "  " << key.first << " -> " << key.second << " " << e.requests << "/" << e.errors
        << "\n";
  }
  return out.str();
}

Result<Map> FetchMap(HttpConnection& http) {
  auto response = http.Get("/api/v1/map?start=now-1h&end=now%2B5m");
  if (!response.ok()) return response.status();
  if (response->status != 200) return Status::Unavailable("map: " + response->body);
  auto doc = Json::Parse(response->body);
  if (!doc.ok()) return doc.status();
  std::map<std::string, std::string> names;  // id -> "ns/name"
  for (const Json& n : (*doc)["nodes"].Elements()) {
    names[n["id"].String()] = n["namespace"].String() + "/" + n["name"].String();
  }
  Map map;
  for (const Json& e : (*doc)["edges"].Elements()) {
    map[{names[e["source"].String()], names[e["target"].String()]}] = {e["requests"].Int(),
                                                                       e["errors"].Int()};
  }
  return map;
}

std::string Hex(uint64_t v, int digits) {
  std::string out(digits, '0');
  for (int i = digits - 1; i >= 0 && v != 0; --i, v >>= 4) out[i] = "0123456789abcdef"[v & 15];
  return out;
}

struct ZSpan {
  std::string trace, id, parent, kind, service, remote_service, remote_ip;
  bool shared = false;
  std::vector<std::pair<std::string, std::string>> tags;
};

std::string ToJson(const ZSpan& s, int64_t ts_us) {
  std::string j;
  auto add = [&j](std::string_view text) { j.append(text); };
  add("{\"traceId\":\"");
  add(s.trace);
  add("\",\"id\":\"");
  add(s.id);
  add("\"");
  if (!s.parent.empty()) {
    add(",\"parentId\":\"");
    add(s.parent);
    add("\"");
  }
  add(",\"kind\":\"");
  add(s.kind);
  add("\",\"name\":\"op\",\"timestamp\":");
  add(std::to_string(ts_us));
  add(",\"duration\":1500,\"localEndpoint\":{\"serviceName\":\"");
  add(s.service);
  add("\",\"ipv4\":\"10.0.0.9\"}");
  if (!s.remote_service.empty() || !s.remote_ip.empty()) {
    add(",\"remoteEndpoint\":{");
    if (!s.remote_service.empty()) {
      add("\"serviceName\":\"");
      add(s.remote_service);
      add("\",");
    }
    add("\"ipv4\":\"");
    add(s.remote_ip.empty() ? "10.1.1.1" : s.remote_ip);
    add("\",\"port\":443}");
  }
  if (s.shared) add(",\"shared\":true");
  add(",\"tags\":{");
  for (size_t i = 0; i < s.tags.size(); ++i) {
    if (i > 0) add(",");
    add("\"");
    add(s.tags[i].first);
    add("\":\"");
    add(s.tags[i].second);
    add("\"");
  }
  add("}}");
  return j;
}

using Tags = std::vector<std::pair<std::string, std::string>>;

// The generated shop and the map it must give.
struct Shop {
  std::vector<ZSpan> spans;
  Map model;
  uint64_t next_id = 0x1000;

  std::string NextId() { return Hex(next_id++, 16); }
  void Edge(const std::string& from, const std::string& to, bool error) {
    EdgeCounts& e = model[{from, to}];
    ++e.requests;
    e.errors += error;
  }
  // A client span with no partner: its edge goes to the external node named `to`.
  void External(const std::string& trace, const std::string& parent, const std::string& service,
                const std::string& remote_service, const std::string& remote_ip, Tags tags,
                const std::string& from, const std::string& to, bool error) {
    spans.push_back({trace, NextId(), parent, "CLIENT", service, remote_service, remote_ip, false,
                     std::move(tags)});
    Edge(from, to, error);
  }
};

// Trace t: External Client -> frontend -> checkout (own server id) -> payments (B3 shared id).
// Returns the span ids of checkout's server half and of the shared checkout/payments call.
std::pair<std::string, std::string> AddCalls(int t, const std::string& trace, Shop& shop) {
  const Tags shop_ns = {{"service.namespace", "shop"}};
  const std::string root = shop.NextId(), a = shop.NextId(), b = shop.NextId(), c = shop.NextId();
  shop.spans.push_back({trace, root, "", "SERVER", "frontend", "", "", false, shop_ns});
  shop.Edge("/External Client", "shop/frontend", false);
  // frontend -> checkout: client id a, server its own id b with parent a.
  const bool checkout_fails = t % 7 == 0;
  shop.spans.push_back({trace, a, root, "CLIENT", "frontend", "", "", false, shop_ns});
  Tags checkout_tags = shop_ns;
  checkout_tags.push_back({"http.status_code", checkout_fails ? "500" : "200"});
  checkout_tags.push_back({"http.method", "GET"});
  shop.spans.push_back({trace, b, a, "SERVER", "checkout", "", "", false, checkout_tags});
  shop.Edge("shop/frontend", "shop/checkout", checkout_fails);
  // checkout -> payments, B3 single-host: the server half shares the client's id c.
  const bool payment_error = t % 5 == 1;
  shop.spans.push_back({trace, c, b, "CLIENT", "checkout", "payments", "", false, shop_ns});
  Tags pay_tags = {{"k8s.namespace.name", "pay"}, {"service.namespace", "shop"}};
  if (payment_error) pay_tags.push_back({"error", "card declined"});
  shop.spans.push_back({trace, c, b, "SERVER", "payments", "", "", true, pay_tags});
  shop.Edge("shop/checkout", "pay/payments", payment_error);
  return {b, c};
}

Shop MakeShop(int traces) {
  Shop shop;
  for (int t = 0; t < traces; ++t) {
    // 16-digit trace ids on odd traces: the low half of a 128-bit id.
    const std::string trace = t % 2 ? Hex(0x5000 + t, 16) : Hex(0xabc, 16) + Hex(0x5000 + t, 16);
    const auto [b, c] = AddCalls(t, trace, shop);
    const Tags pay = {{"k8s.namespace.name", "pay"}};
    // Named by remoteEndpoint.serviceName.
    shop.External(trace, c, "payments", "stripe", "", pay, "pay/payments", "/stripe", false);
    if (t % 3 == 0) {  // an IP-only peer
      shop.External(trace, c, "payments", "", "10.9.8.7", pay, "pay/payments",
                    "/Unknown External Service", false);
    }
    if (t % 2 == 0) {  // named by a host tag (lower-cased, port dropped), remote IP ignored
      const bool error = t % 4 == 0;
      shop.External(trace, b, "checkout", "", "10.2.2.2",
                    {{"service.namespace", "shop"},
                     {"http.host", "Api.Example.com:443"},
                     {"otel.status_code", error ? "ERROR" : "OK"}},
                    "shop/checkout", "/api.example.com", error);
    }
    if (t % 5 == 0) {  // a host tag that is an IP: Unknown External Service
      shop.External(trace, b, "checkout", "", "",
                    {{"service.namespace", "shop"}, {"http.url", "http://10.0.0.5:8080/x"}},
                    "shop/checkout", "/Unknown External Service", false);
    }
  }
  return shop;
}

TEST(ZipkinServer, GeneratedShopMapIsExact) {
  ServerOptions options;
  options.extra_args = {"--pair-wait", "2s", "--flush-interval", "1s"};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  Shop shop = MakeShop(400);
  std::mt19937_64 rng(16);
  std::shuffle(shop.spans.begin(), shop.spans.end(), rng);  // either half may come first
  const int64_t now_us = WallNowMs() * 1000;
  HttpConnection o(server.host(), server.otlp_port());
  size_t sent = 0;
  for (int request = 0; sent < shop.spans.size(); ++request) {
    const size_t n = std::min<size_t>(shop.spans.size() - sent, 1 + (rng() % 120));
    std::string body = "[";
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) body.push_back(',');
      body.append(
          ToJson(shop.spans[sent + i], now_us - 1000 * static_cast<int64_t>(rng() % 60000)));
    }
    body += "]";
    sent += n;
    const bool gzip = request % 3 == 1;
    std::vector<std::pair<std::string, std::string>> headers;
    if (gzip) headers.push_back({"Content-Encoding", "gzip"});
    auto r = o.Post("/api/v2/spans", gzip ? GzipCompress(body) : body,
                    "application/json; charset=utf-8", headers);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 202) << r->body;
    EXPECT_TRUE(r->body.empty()) << r->body;
  }
  HttpConnection query(server.host(), server.http_port());
  Map last;
  std::string error;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto map = FetchMap(query);
    if (map.ok()) {
      last = *map;
      if (last == shop.model) break;
    } else {
      error = map.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_EQ(last, shop.model) << error << "\ngot:\n"
                              << Describe(last) << "want:\n"
                              << Describe(shop.model);
  auto metrics = query.Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("route=\"/api/v2/spans\",code=\"202\""), std::string::npos)
      << metrics->body.substr(0, 2000);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(ZipkinServer, HostileInputGetsItsStatusAndTheServerStaysUp) {
  ServerOptions options;
  options.extra_args = {"--max-body", "64KiB", "--max-decompressed", "1MiB"};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  HttpConnection o(server.host(), server.otlp_port());
  const std::string good =
      R"([{"traceId":"0000000000000001","id":"0000000000000002","kind":"SERVER",)"
      R"("timestamp":)" +
      std::to_string(WallNowMs() * 1000) + R"(,"localEndpoint":{"serviceName":"a"}}])";
  struct Case {
    std::string body, type, encoding;
    int status;
    std::string message;  // in the body
  };
  std::string bomb(8 << 20, ' ');  // inflates past --max-decompressed
  bomb.front() = '[';
  bomb.back() = ']';
  const std::vector<Case> cases = {
      {R"([{"traceId":"xyz","id":"0000000000000002"}])", "application/json", "", 400,
       "spans[0].traceId: must be 16 or 32 hex digits"},
      {"[{\"traceId\":", "application/json", "", 400, "not valid JSON"},
      {R"({"resourceSpans":[]})", "application/json", "", 400, "not a JSON array of spans"},
      {GzipCompress(good).substr(0, 20), "application/json", "gzip", 400, "gzip: "},
      {good, "application/x-protobuf", "", 415, "use application/json"},
      {good, "text/plain", "", 415, "unsupported Content-Type"},
      {good, "application/json", "br", 415, "unsupported Content-Encoding"},
      {std::string(128 << 10, '['), "application/json", "", 413, ""},
      {GzipCompress(bomb), "application/json", "gzip", 413, "decompressed body exceeds"},
  };
  for (const Case& c : cases) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!c.encoding.empty()) headers.push_back({"Content-Encoding", c.encoding});
    HttpConnection conn(server.host(), server.otlp_port());
    auto r = conn.Post("/api/v2/spans", c.body, c.type, headers);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, c.status) << c.message << ": " << r->body;
    EXPECT_NE(r->body.find(c.message), std::string::npos) << r->body;
  }
  auto get = o.Get("/api/v2/spans");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 405);
  // Another path on the ingest listener: 404 naming the paths it serves.
  auto other = o.Post("/api/v2/span", good, "application/json");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 404);
  EXPECT_NE(other->body.find("/v1/traces, /api/v2/spans"), std::string::npos) << other->body;
  auto ok = o.Post("/api/v2/spans", good, "application/json");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 202) << ok->body;
  HttpConnection http(server.host(), server.http_port());
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

// With --auth-token, Zipkin requests need the bearer token like OTLP ones.
TEST(ZipkinServer, AuthTokenIsRequired) {
  ServerOptions options;
  options.extra_args = {"--auth-token", "s3cret"};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  HttpConnection o(server.host(), server.otlp_port());
  auto missing = o.Post("/api/v2/spans", "[]", "application/json");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 401);
  auto ok = o.Post("/api/v2/spans", "[]", "application/json", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 202) << ok->body;
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

}  // namespace
}  // namespace ew::testing
