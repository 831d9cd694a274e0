// Edgewise as Grafana sees it through a real Prometheus: the server gets OTLP traffic, Debian's
// `prometheus` binary scrapes its /metrics/servicegraph every second, and the PromQL that
// Grafana's service-graph view issues must agree with /api/v1/map for the same traffic.
//
// The traffic comes in two identical phases, and Prometheus starts between them (after the first
// phase is in the map), so every series exists from its first scrape: the counters' increase over
// the window is then exactly the second phase, and every series has the same sample times, so
// Prometheus's extrapolation scales every rate by one common factor K. Raw counters must equal
// the map's counts exactly; rates must equal K times the map's counts of one phase; and
// histogram_quantile (scale-free) must land in the bucket that holds the map's p90.
// promtool (Prometheus's linter) must accept the exposition as it is.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/integrations/integrations_util.h"
#include "tools/http_client.h"
#include "tools/otlp_encoder.h"

namespace ew::testing {
namespace {

using tools::Attr;
using tools::HttpConnection;
using tools::OtlpSpan;
using Pair = std::pair<std::string, std::string>;

const char* const kToken = "prom-s3cret";
const tools::HttpHeaders kAuth = {{"Authorization", std::string("Bearer ") + kToken}};
const char* const kHostile = "ship \"fast\"\\v2";  // a quote and a backslash in a node name
const std::vector<double> kBoundsS = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8};

// Builds one phase of traffic and the true durations per (client, server) side.
class Traffic {
 public:
  explicit Traffic(int phase) : phase_(phase) {
    start_ns_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()) -
                30'000'000'000ULL;
    resources_ = {
        {Attr::Str("service.name", "frontend")},
        {Attr::Str("service.name", "cart")},
        {Attr::Str("service.name", "payments")},
        {Attr::Str("service.name", kHostile), Attr::Str("k8s.namespace.name", "ops\"ns")}};
    // Each edge's durations are scaled so that the edges' p90s fall into different buckets.
    scale_ = 0.01;
    for (int i = 0; i < 13; ++i) Root(0, i);
    scale_ = 0.03;
    for (int i = 0; i < 23; ++i) {
      AddPair(0, 1, i, {Attr::Str("http.request.method", "GET")}, i % 8 == 3 ? 500 : 200);
    }
    scale_ = 0.1;
    for (int i = 0; i < 11; ++i) {
      AddPair(1, 2, i, {Attr::Str("rpc.system", "grpc"), Attr::Int("rpc.grpc.status_code", 0)}, 0);
    }
    scale_ = 0.5;
    for (int i = 0; i < 9; ++i) AddPair(1, 3, i, {Attr::Str("http.request.method", "POST")}, 200);
    for (int i = 0; i < 7; ++i) {
      Client(1, i, {Attr::Str("db.system", "postgresql"), Attr::Str("db.namespace", "orders")});
    }
    for (int i = 0; i < 5; ++i) Client(2, i, {Attr::Str("server.address", "api.stripe.com")});
  }

  std::string Body() const {
    std::vector<const OtlpSpan*> ptrs;
    for (const auto& s : spans_) ptrs.push_back(&s);
    return tools::EncodeTraces(ptrs, resources_, tools::Encoding::kProtobuf);
  }
  // True server-side seconds per (client name, server name).
  const std::map<Pair, double>& server_seconds() const { return server_s_; }

 private:
  uint64_t DurationNs(int i) const {
    static const double kMs[] = {30, 90, 150, 250, 500, 900, 2000, 5000, 9000, 15000, 120, 60};
    return static_cast<uint64_t>(kMs[i % 12] * scale_ * 1e6);
  }
  OtlpSpan Span(int resource, int kind, uint64_t duration_ns) {
    OtlpSpan s;
    ++n_;
    s.trace_id = tools::MakeTraceId(1000 + static_cast<uint64_t>(phase_), n_);
    s.span_id = tools::MakeSpanId(2000 + static_cast<uint64_t>(phase_), n_);
    s.kind = kind;
    s.start_ns = start_ns_ + n_ * 1000;
    s.end_ns = s.start_ns + duration_ns;
    s.name = "op";
    s.resource = static_cast<uint32_t>(resource);
    return s;
  }
  std::string NameOf(int resource) const { return resources_[resource][0].s; }
  void Root(int resource, int i) {
    OtlpSpan s = Span(resource, 2, DurationNs(i));
    s.attrs = {Attr::Int("http.response.status_code", 200)};
    server_s_[{"External Client", NameOf(resource)}] += DurationNs(i) / 1e9;
    spans_.push_back(s);
  }
  void AddPair(int client, int server, int i, std::vector<Attr> attrs, int status) {
    OtlpSpan c = Span(client, 3, DurationNs(i) + 2'000'000);
    OtlpSpan s = Span(server, 2, DurationNs(i));
    s.trace_id = c.trace_id;
    s.parent_span_id = c.span_id;
    s.has_parent = true;
    if (status >= 100) attrs.push_back(Attr::Int("http.response.status_code", status));
    c.attrs = attrs;
    s.attrs = attrs;
    server_s_[{NameOf(client), NameOf(server)}] += DurationNs(i) / 1e9;
    spans_.push_back(c);
    spans_.push_back(s);
  }
  void Client(int client, int i, std::vector<Attr> attrs) {
    OtlpSpan c = Span(client, 3, DurationNs(i));
    c.attrs = std::move(attrs);
    spans_.push_back(c);
  }

  int phase_;
  double scale_ = 1;
  uint64_t start_ns_ = 0;
  uint64_t n_ = 0;
  std::vector<std::vector<Attr>> resources_;
  std::vector<OtlpSpan> spans_;
  std::map<Pair, double> server_s_;
};

struct MapEdgeFigures {
  uint64_t requests = 0, errors = 0;
  double p90_ms = 0;
};

// The map's edges by (source name, target name).
std::map<Pair, MapEdgeFigures> MapByNames(HttpConnection& http) {
  std::map<Pair, MapEdgeFigures> out;
  auto r = http.Get("/api/v1/map?start=now-1h&end=now", kAuth);
  if (!r.ok() || r->status != 200) return out;
  auto doc = Json::Parse(r->body);
  if (!doc.ok()) return out;
  std::map<std::string, std::string> names;
  for (const auto& n : (*doc)["nodes"].Elements()) names[n["id"].String()] = n["name"].String();
  for (const auto& e : (*doc)["edges"].Elements()) {
    auto& f = out[{names[e["source"].String()], names[e["target"].String()]}];
    f.requests += e["requests"].Uint();
    f.errors += e["errors"].Uint();
    f.p90_ms = e["latency_ms"]["p90"].Double();
  }
  return out;
}

// The sum of traces_service_graph_request_total in Edgewise's own exposition.
uint64_t ScrapedRequests(HttpConnection& http) {
  auto r = http.Get("/metrics/servicegraph", kAuth);
  if (!r.ok() || r->status != 200) return 0;
  uint64_t n = 0;
  const std::string prefix = "traces_service_graph_request_total{";
  for (size_t pos = 0; pos < r->body.size();) {
    size_t end = r->body.find('\n', pos);
    if (end == std::string::npos) end = r->body.size();
    std::string line = r->body.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0) n += std::stoull(line.substr(line.rfind(' ') + 1));
    pos = end + 1;
  }
  return n;
}

uint64_t TotalRequests(const std::map<Pair, MapEdgeFigures>& m) {
  uint64_t n = 0;
  for (const auto& [k, f] : m) n += f.requests;
  return n;
}

// Polls the map until it holds `want` requests on `edges` edges (the stripe calls come after the
// pair wait).
std::map<Pair, MapEdgeFigures> WaitForMap(HttpConnection& http, uint64_t want, size_t edges) {
  std::map<Pair, MapEdgeFigures> m;
  for (int i = 0; i < 300; ++i) {
    m = MapByNames(http);
    if (TotalRequests(m) >= want && m.size() >= edges) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return m;
}

constexpr uint64_t kPhaseRequests = 13 + 23 + 11 + 9 + 7 + 5;
constexpr size_t kEdges = 6;

using MapFigures = std::map<Pair, MapEdgeFigures>;

// Prometheus's own linter accepts the exposition (names, types, histogram series).
void ExpectPromtoolAccepts(HttpConnection& http) {
  auto scrape = http.Get("/metrics/servicegraph", kAuth);
  ASSERT_TRUE(scrape.ok());
  TempDir lint("ew-promtool-");
  std::ofstream(lint.Sub("scrape.txt")) << scrape->body;
  const std::string cmd = "/usr/bin/promtool check metrics < " + lint.Sub("scrape.txt") + " > " +
                          lint.Sub("out.txt") + " 2>&1";
  std::stringstream out;
  const int rc = std::system(cmd.c_str());
  out << std::ifstream(lint.Sub("out.txt")).rdbuf();
  EXPECT_EQ(rc, 0) << out.str();
}

// Raw counters at time t: exactly the map's counts (both phases), and the server-side sums within
// 1 % of the true durations.
void ExpectRawCounters(PrometheusProcess& prometheus, double t, MapFigures& map,
                       const Traffic& phase) {
  auto requests =
      prometheus.QueryPairs("sum by (client, server) (traces_service_graph_request_total)", t);
  auto failed = prometheus.QueryPairs(
      "sum by (client, server) (traces_service_graph_request_failed_total)", t);
  auto server_count = prometheus.QueryPairs(
      "sum by (client, server) (traces_service_graph_request_server_seconds_count)", t);
  auto server_sum = prometheus.QueryPairs(
      "sum by (client, server) (traces_service_graph_request_server_seconds_sum)", t);
  ASSERT_EQ(requests.size(), map.size());
  for (const auto& [pair, f] : map) {
    SCOPED_TRACE(pair.first + " -> " + pair.second);
    EXPECT_EQ(requests[pair], static_cast<double>(f.requests));
    EXPECT_EQ(failed[pair], static_cast<double>(f.errors));
    if (phase.server_seconds().count(pair)) {  // a server side: both phases' true durations
      EXPECT_EQ(server_count[pair], static_cast<double>(f.requests));
      const double truth = 2 * phase.server_seconds().at(pair);
      EXPECT_NEAR(server_sum[pair], truth, truth * 0.01);
    } else {
      EXPECT_EQ(server_count.count(pair), 0u);
    }
  }
  EXPECT_EQ(requests.count({"cart", kHostile}), 1u);
  EXPECT_EQ(failed[Pair("frontend", "cart")], 6.0);  // 3 of 23 per phase answered 500
  EXPECT_EQ(map.count({"cart", "postgresql/orders"}), 1u);
  EXPECT_EQ(map.count({"payments", "api.stripe.com"}), 1u);
}

// Grafana's rate queries: K times one phase's counts (half the map's), one K for all.
void ExpectRates(PrometheusProcess& prometheus, double t, MapFigures& map) {
  auto rate = prometheus.QueryPairs(
      "sum by (client, server) (rate(traces_service_graph_request_total[5m]))", t);
  auto rate_failed = prometheus.QueryPairs(
      "sum by (client, server) (rate(traces_service_graph_request_failed_total[5m]))", t);
  auto rate_sum = prometheus.QueryPairs(
      "sum by (client, server) (rate(traces_service_graph_request_server_seconds_sum[5m]))", t);
  auto server_sum = prometheus.QueryPairs(
      "sum by (client, server) (traces_service_graph_request_server_seconds_sum)", t);
  ASSERT_EQ(rate.size(), map.size());
  const double k = rate[{"frontend", "cart"}] / (map[{"frontend", "cart"}].requests / 2.0);
  EXPECT_GT(k, 0);
  for (const auto& [pair, f] : map) {
    SCOPED_TRACE(pair.first + " -> " + pair.second);
    EXPECT_NEAR(rate[pair], k * f.requests / 2.0, 1e-9 * k * f.requests);
    EXPECT_NEAR(rate_failed[pair], k * f.errors / 2.0, 1e-9 * k * (f.errors + 1));
    if (server_sum.count(pair)) {
      EXPECT_NEAR(rate_sum[pair], k * server_sum[pair] / 2.0, 1e-9 * k * (server_sum[pair] + 1));
    }
  }
}

// histogram_quantile over the server buckets lands in the bucket that holds the map's p90.
void ExpectQuantileBuckets(PrometheusProcess& prometheus, double t, MapFigures& map,
                           const Traffic& phase) {
  auto p90 = prometheus.QueryPairs(
      "histogram_quantile(0.9, sum by (le, client, server) "
      "(rate(traces_service_graph_request_server_seconds_bucket[5m])))",
      t);
  EXPECT_EQ(p90.size(), phase.server_seconds().size());
  std::set<double> buckets_seen;
  for (const auto& [pair, q] : p90) {
    SCOPED_TRACE(pair.first + " -> " + pair.second);
    ASSERT_TRUE(map.count(pair));
    double lower = 0, upper = kBoundsS.back();
    for (double b : kBoundsS) {
      if (q <= b) {
        upper = b;
        break;
      }
      lower = b;
    }
    const double map_p90_s = map[pair].p90_ms / 1000;
    EXPECT_GT(map_p90_s, lower) << "quantile " << q;
    EXPECT_LE(map_p90_s, upper) << "quantile " << q;
    buckets_seen.insert(upper);
  }
  EXPECT_EQ(buckets_seen.size(), p90.size()) << "the p90s should fall into different buckets";
  EXPECT_EQ(buckets_seen.count(kBoundsS.back()), 0u) << "no p90 in the last bucket";
}

TEST(PrometheusTest, GrafanaServiceGraphQueriesAgreeWithTheMap) {
  ServerOptions options;
  options.extra_args = {"--flush-interval", "200ms", "--pair-wait", "1s", "--auth-token", kToken};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  HttpConnection otlp(server.host(), server.otlp_port());
  HttpConnection http(server.host(), server.http_port());

  Traffic first(0), second(1);
  auto sent = otlp.Post("/v1/traces", first.Body(), "application/x-protobuf", kAuth);
  ASSERT_TRUE(sent.ok() && sent->status == 200);
  auto map_a = WaitForMap(http, kPhaseRequests, kEdges);
  ASSERT_EQ(TotalRequests(map_a), kPhaseRequests) << server.Stderr();
  ASSERT_EQ(map_a.size(), kEdges);
  // Every series is in the exposition before Prometheus first scrapes it.
  for (int i = 0; i < 100 && ScrapedRequests(http) != kPhaseRequests; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(ScrapedRequests(http), kPhaseRequests);
  ExpectPromtoolAccepts(http);
  auto no_token = http.Get("/metrics/servicegraph");
  ASSERT_TRUE(no_token.ok());
  EXPECT_EQ(no_token->status, 401);

  TempDir dir("ew-prometheus-test-");
  PrometheusProcess prometheus(dir.path(), server.host() + ":" + std::to_string(server.http_port()),
                               "/metrics/servicegraph", kToken);
  ASSERT_TRUE(prometheus.Start().ok()) << prometheus.Log();
  ASSERT_EQ(prometheus.WaitForValue("sum(traces_service_graph_request_total)", kPhaseRequests),
            kPhaseRequests)
      << prometheus.Log();

  sent = otlp.Post("/v1/traces", second.Body(), "application/x-protobuf", kAuth);
  ASSERT_TRUE(sent.ok() && sent->status == 200);
  auto map = WaitForMap(http, 2 * kPhaseRequests, kEdges);
  ASSERT_EQ(TotalRequests(map), 2 * kPhaseRequests) << server.Stderr();
  double t = 0;
  ASSERT_EQ(
      prometheus.WaitForValue("sum(traces_service_graph_request_total)", 2 * kPhaseRequests, &t),
      2 * kPhaseRequests)
      << prometheus.Log();
  auto up = prometheus.Query("up{job=\"edgewise\"}", t);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up.begin()->second, 1.0);

  ExpectRawCounters(prometheus, t, map, first);
  ExpectRates(prometheus, t, map);
  ExpectQuantileBuckets(prometheus, t, map, first);
  EXPECT_EQ(prometheus.Stop(), 0) << prometheus.Log();
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

}  // namespace
}  // namespace ew::testing
