// The real-client test: frontend -> checkout -> payments -> api.payments-provider.invalid, three
// Node services instrumented with the OpenTelemetry JS SDK (tests/node/service.js) exporting to
// the real edgewise server — frontend with exporter-trace-otlp-proto, checkout with
// exporter-trace-otlp-http (OTLP JSON, old and stable HTTP conventions), payments with protobuf
// and gzip (stable conventions). A second run exports everything through
// exporter-trace-otlp-grpc to the OTLP/gRPC listener (payments with gzip), a third through
// @opentelemetry/exporter-zipkin (Zipkin v2 JSON to POST /api/v2/spans), a fourth over https
// (every listener on TLS with certificates made at test time, the SDK trusting the test CA
// through NODE_EXTRA_CA_CERTS, the map read with curl). An uninstrumented
// client drives frontend a known number of times; after the services flush and the pair-wait
// passes, GET /api/v1/map must show exactly the calls that happened.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/common/test_certs.h"
#include "tests/e2e_node/node_service.h"
#include "tools/http_client.h"

namespace ew::testing {
namespace {

constexpr int kGoodOrders = 5;  // GET /buy/{id}: frontend -> checkout -> payments -> provider
constexpr int kBroken = 2;      // GET /broken: checkout answers 500, frontend 502

struct NodeCounts {
  std::string kind, ns;
  int64_t requests_in = 0, errors_in = 0, requests_out = 0, errors_out = 0;
  bool operator==(const NodeCounts&) const = default;
};
struct EdgeCounts {
  std::string protocol;
  int64_t requests = 0, errors = 0;
  bool operator==(const EdgeCounts&) const = default;
};
struct Map {
  std::map<std::string, NodeCounts> nodes;                          // by name
  std::map<std::pair<std::string, std::string>, EdgeCounts> edges;  // by (source, target) name
  bool operator==(const Map&) const = default;
};

std::string Describe(const Map& map) {
  std::ostringstream out;
  for (const auto& [name, n] : map.nodes) {
    out << "  node " << n.kind << " " << n.ns << "/" << name << " in " << n.requests_in << "/"
        << n.errors_in << " out " << n.requests_out << "/" << n.errors_out << "\n";
  }
  for (const auto& [key, e] : map.edges) {
    out << "  edge " << key.first << " -> " << key.second << " " << e.protocol << " " << e.requests
        << " requests, " << e.errors << " errors\n";
  }
  return out.str();
}

void PrintTo(const Map& map, std::ostream* os) { *os << "\n" << Describe(map); }

Map Expected() {
  const int all = kGoodOrders + kBroken;
  Map m;
  m.nodes["External Client"] = {"external_client", "", 0, 0, all, kBroken};
  m.nodes["frontend"] = {"service", "shop", all, kBroken, all, kBroken};
  m.nodes["checkout"] = {"service", "shop", all, kBroken, kGoodOrders, 0};
  m.nodes["payments"] = {"service", "shop", kGoodOrders, 0, kGoodOrders, kGoodOrders};
  m.nodes["api.payments-provider.invalid"] = {"external_service", "", kGoodOrders,
                                              kGoodOrders,        0,  0};
  m.edges[{"External Client", "frontend"}] = {"http", all, kBroken};
  m.edges[{"frontend", "checkout"}] = {"http", all, kBroken};
  m.edges[{"checkout", "payments"}] = {"http", kGoodOrders, 0};
  // The provider's host does not resolve: every call fails (span status ERROR, no response).
  m.edges[{"payments", "api.payments-provider.invalid"}] = {"http", kGoodOrders, kGoodOrders};
  return m;
}

// GET path on the HTTP listener: plain, or over TLS with curl trusting ca (when not empty).
Result<std::string> HttpGetBody(uint16_t port, const std::string& path, const std::string& ca) {
  if (!ca.empty()) {
    Shell r = Sh("curl -sS --fail --cacert " + ca + " 'https://127.0.0.1:" + std::to_string(port) +
                 path + "'");
    if (r.code != 0) return Status::Unavailable("curl: " + r.out);
    return r.out;
  }
  tools::HttpConnection http("127.0.0.1", port);
  auto response = http.Get(path);
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return Status::Unavailable(path + ": HTTP " + std::to_string(response->status) + " " +
                               response->body);
  }
  return response->body;
}

Result<Map> FetchMap(uint16_t port, const std::string& ca) {
  auto body = HttpGetBody(port, "/api/v1/map?start=now-1h&end=now%2B5m", ca);
  if (!body.ok()) return body.status();
  auto doc = Json::Parse(*body);
  if (!doc.ok()) return doc.status();
  Map map;
  std::map<std::string, std::string> names;  // id -> name
  for (const Json& n : (*doc)["nodes"].Elements()) {
    names[n["id"].String()] = n["name"].String();
    map.nodes[n["name"].String()] = {n["kind"].String(),      n["namespace"].String(),
                                     n["requests_in"].Int(),  n["errors_in"].Int(),
                                     n["requests_out"].Int(), n["errors_out"].Int()};
  }
  for (const Json& e : (*doc)["edges"].Elements()) {
    map.edges[{names[e["source"].String()], names[e["target"].String()]}] = {
        e["protocol"].String(), e["requests"].Int(), e["errors"].Int()};
  }
  return map;
}

// How one service exports: the EXPORTER of tests/node/service.js and its environment.
struct Exporter {
  std::string kind;  // proto, json, grpc or zipkin
  bool gzip = false;
};

// Starts the server and the three services (each exporting as given), drives the shop and checks
// the map. certs: a directory of MakeTestCertificates: every listener on TLS, the exporters
// trusting the test CA through NODE_EXTRA_CA_CERTS (without it Node refuses the certificate
// — UNABLE_TO_VERIFY_LEAF_SIGNATURE — and closes the connection, which the server logs as
// "TLS handshake failed: stream truncated").
void RunShop(const Exporter& frontend_exporter, const Exporter& checkout_exporter,
             const Exporter& payments_exporter, const std::string& certs = "") {
  ASSERT_TRUE(NodeModulesInstalled())
      << "tests/node/node_modules is missing: run `tools/dev deps` (npm ci in tests/node)";
  ServerOptions options;
  options.extra_args = {"--pair-wait", "2s", "--flush-interval", "1s"};
  const std::string ca = certs.empty() ? "" : certs + "/ca.pem";
  if (!certs.empty()) {
    options.extra_args.insert(options.extra_args.end(), {"--tls-cert", certs + "/server.pem",
                                                         "--tls-key", certs + "/server.key"});
  }
  options.grpc = true;
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  auto env = [&server, &ca](const Exporter& e, std::map<std::string, std::string> more) {
    more["EXPORTER"] = e.kind;
    if (!ca.empty()) more["NODE_EXTRA_CA_CERTS"] = ca;
    const std::string http = (ca.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") +
                             std::to_string(server.otlp_port());
    more["OTLP_URL"] = e.kind == "grpc"
                           ? (ca.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") +
                                 std::to_string(server.grpc_port())
                       : e.kind == "zipkin" ? http + "/api/v2/spans"
                                            : http + "/v1/traces";
    if (e.gzip) more["COMPRESSION"] = "gzip";
    return more;
  };
  NodeService payments("payments",
                       env(payments_exporter, {{"OTEL_SEMCONV_STABILITY_OPT_IN", "http"}}));
  ASSERT_TRUE(payments.Start().ok()) << payments.Log();
  NodeService checkout("checkout",
                       env(checkout_exporter, {{"OTEL_SEMCONV_STABILITY_OPT_IN", "http/dup"},
                                               {"PAYMENTS_URL", payments.url()}}));
  ASSERT_TRUE(checkout.Start().ok()) << checkout.Log();
  NodeService frontend("frontend", env(frontend_exporter, {{"CHECKOUT_URL", checkout.url()}}));
  ASSERT_TRUE(frontend.Start().ok()) << frontend.Log();

  tools::HttpConnection driver("127.0.0.1", frontend.port());
  for (int i = 0; i < kGoodOrders; ++i) {
    auto r = driver.Get("/buy/" + std::to_string(1000 + i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200) << r->body;
  }
  for (int i = 0; i < kBroken; ++i) {
    auto r = driver.Get("/broken");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 502) << r->body;
  }
  // SIGTERM: each service flushes its spans to edgewise before it exits.
  EXPECT_EQ(frontend.Stop(), 0) << frontend.Log();
  EXPECT_EQ(checkout.Stop(), 0) << checkout.Log();
  EXPECT_EQ(payments.Stop(), 0) << payments.Log();

  // Pair-wait (2 s) for the unpaired provider calls, then a flush (1 s); poll up to 60 s.
  const Map expected = Expected();
  Map last;
  std::string last_error;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto map = FetchMap(server.http_port(), ca);
    if (map.ok()) {
      last = *map;
      if (last == expected) break;
    } else {
      last_error = map.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(last, expected) << last_error << "\nserver log:\n"
                            << server.Stderr() << "\npayments log:\n"
                            << payments.Log();
  // The spans came the way they were meant to: OTLP/gRPC calls answered OK iff a service used it.
  const bool grpc = frontend_exporter.kind == "grpc" || checkout_exporter.kind == "grpc" ||
                    payments_exporter.kind == "grpc";
  auto metrics = HttpGetBody(server.http_port(), "/metrics", ca);
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(
      metrics->find("ew_grpc_requests_total{method=\"Export\",code=\"OK\"}") != std::string::npos,
      grpc)
      << *metrics;
  if (!ca.empty()) {  // every exporter's handshake succeeded
    EXPECT_NE(metrics->find("ew_tls_handshake_failures_total{listener=\"otlp\"} 0\n"),
              std::string::npos)
        << *metrics;
  }
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(NodeSdkEndToEnd, ShopMapIsExact) {
  RunShop({"proto", false}, {"json", false}, {"proto", true});
}

// Every exporter over https (protobuf, JSON, protobuf with gzip) and the map read over https,
// with certificates made at test time.
TEST(NodeSdkEndToEnd, ShopMapIsExactOverHttps) {
  TempDir certs;
  ASSERT_TRUE(MakeTestCertificates(certs.path()));
  RunShop({"proto", false}, {"json", false}, {"proto", true}, certs.path());
}

TEST(NodeSdkEndToEnd, ShopMapIsExactOverGrpc) {
  RunShop({"grpc", false}, {"grpc", false}, {"grpc", true});
}

// @opentelemetry/exporter-zipkin: resource attributes as tags, status as otel.status_code and
// error tags, old and stable HTTP conventions.
TEST(NodeSdkEndToEnd, ShopMapIsExactThroughZipkin) {
  RunShop({"zipkin", false}, {"zipkin", false}, {"zipkin", false});
}

}  // namespace
}  // namespace ew::testing
