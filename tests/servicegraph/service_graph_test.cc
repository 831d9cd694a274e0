// /metrics/servicegraph and /api/v1/map?format=nodegraph against brute force: a real store whose
// flushes feed EdgeTotals (as the server wires it), hundreds of nodes with hostile names (quotes,
// backslashes, line feeds, non-ASCII, names shared across kinds), random rollups across every
// tier, and models computed straight from the rollups that were applied.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "query/query_service.h"
#include "query/render.h"
#include "query/service_graph_metrics.h"
#include "storage/edge_store.h"
#include "storage/edge_totals.h"
#include "tests/common/gzip.h"
#include "tests/common/json.h"
#include "tests/common/temp_dir.h"

namespace ew::query {
namespace {

using ew::testing::Json;
using storage::LatencySketch;
using storage::NodeId;
using storage::NodeKind;
using storage::Protocol;

constexpr int64_t kT0 = 20000LL * 1440;  // minutes; a day boundary
const std::vector<double> kBounds = storage::EdgeTotals::TempoBoundsSeconds();

std::string Label(std::string_view v) {
  std::string out;
  AppendLabelValue(v, &out);
  return out;
}

TEST(ServiceGraphLabels, EscapesWhatTheFormatRequires) {
  EXPECT_EQ(Label("plain-name.svc"), "plain-name.svc");
  EXPECT_EQ(Label("a\"b"), "a\\\"b");
  EXPECT_EQ(Label("a\\b"), "a\\\\b");
  EXPECT_EQ(Label("a\nb"), "a\\nb");
  EXPECT_EQ(Label("\\n"), "\\\\n");  // a backslash and an n stay two characters
  EXPECT_EQ(Label("\"\\\n"), "\\\"\\\\\\n");
  EXPECT_EQ(Label("tab\tcr\r"), "tab\tcr\r");  // allowed as they are
  EXPECT_EQ(Label("ünïcödé 服务 🚀"), "ünïcödé 服务 🚀");
  EXPECT_EQ(Label(""), "");
}

TEST(ServiceGraphLabels, InvalidUtf8BecomesReplacementCharacters) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(Label("a\xff"
                  "b"),
            "a" + fffd + "b");
  EXPECT_EQ(Label("\xc0\x80"), fffd + fffd);                        // overlong NUL
  EXPECT_EQ(Label("\xed\xa0\x80"), fffd + fffd + fffd);             // a UTF-16 surrogate
  EXPECT_EQ(Label("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(Label("x\xe2\x82"), "x" + fffd + fffd);                 // truncated euro sign
  EXPECT_EQ(Label("\xe2\x82\xac\x80"), "\xe2\x82\xac" + fffd);      // stray continuation
  EXPECT_EQ(Label(std::string("nul\0in", 6)), std::string("nul\0in", 6));
}

TEST(ServiceGraphLabels, ConnectionTypes) {
  EXPECT_EQ(ConnectionType(NodeKind::kService, NodeKind::kService, Protocol::kHttp), "");
  EXPECT_EQ(ConnectionType(NodeKind::kService, NodeKind::kDatabase, Protocol::kDatabase),
            "database");
  EXPECT_EQ(ConnectionType(NodeKind::kService, NodeKind::kService, Protocol::kMessaging),
            "messaging_system");
  EXPECT_EQ(ConnectionType(NodeKind::kService, NodeKind::kMessaging, Protocol::kMessaging),
            "messaging_system");
  EXPECT_EQ(ConnectionType(NodeKind::kExternalClient, NodeKind::kService, Protocol::kHttp),
            "virtual_node");
  EXPECT_EQ(ConnectionType(NodeKind::kService, NodeKind::kExternalService, Protocol::kGrpc),
            "virtual_node");
}

// One sample of the exposition: metric name, labels (unescaped), value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// A strict reader of the exposition this code writes: comment lines, then
// name{k="v",...} value, with \\, \" and \n escapes; anything else fails the test.
std::vector<Sample> ParseExposition(const std::string& text) {
  std::vector<Sample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    EXPECT_NE(end, std::string::npos) << "the last line has no line feed";
    if (end == std::string::npos) break;
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    Sample s;
    size_t i = line.find('{');
    EXPECT_NE(i, std::string::npos) << line;
    if (i == std::string::npos) continue;
    s.name = line.substr(0, i);
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find("=\"", i);
      EXPECT_NE(eq, std::string::npos) << line;
      if (eq == std::string::npos) return out;
      std::string key = line.substr(i, eq - i), value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\') {
          ++j;
          EXPECT_TRUE(line[j] == '\\' || line[j] == '"' || line[j] == 'n') << line;
          value.push_back(line[j] == 'n' ? '\n' : line[j]);
        } else {
          value.push_back(line[j]);
        }
      }
      s.labels[key] = value;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    EXPECT_EQ(line.substr(i, 2), "} ") << line;
    s.value = std::stod(line.substr(i + 2));
    out.push_back(std::move(s));
  }
  return out;
}

struct NodeDef {
  NodeKind kind;
  std::string ns, name;
};

struct Obs {
  double micros;
  uint64_t count;
};

// The brute-force model of one output series.
struct Model {
  uint64_t requests = 0, errors = 0;
  std::vector<Obs> server, client;
};

class ServiceGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions opts;
    opts.dir = dir_.Sub("store");
    opts.fixed_now_ms = (kT0 + 3 * 1440) * 60'000;
    opts.totals = &totals_;
    auto s = storage::EdgeStore::Open(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    QueryServiceOptions q;
    q.totals = &totals_;
    q.workers = 1;
    service_ = QueryService::Create(store_.get(), nullptr, std::move(q));
  }

  // n nodes of every kind with hostile names; some share a name with a node of another kind.
  void MakeNodes(size_t n) {
    const std::vector<std::string> tails = {
        "", "\"quoted\"", "back\\slash", "line\nfeed", "ünï 服务", "{le=\"0.1\"},", "\\n", "tab\t"};
    const std::vector<std::string> namespaces = {"", "shop", "p\"ay", "a\\b", "n\nl"};
    for (size_t i = 0; i < n; ++i) {
      NodeDef d;
      d.kind = static_cast<NodeKind>(rng_() % 5);
      d.name = "node-" + std::to_string(i % (n - 20)) + tails[rng_() % tails.size()];
      if (d.kind == NodeKind::kExternalClient) d.name = "External Client";
      if (d.kind == NodeKind::kService) d.ns = namespaces[rng_() % namespaces.size()];
      auto id = store_->InternNode(d.kind, d.ns, d.name);
      ASSERT_TRUE(id.ok());
      if (nodes_.count(*id)) continue;  // an External Client twice
      nodes_[*id] = d;
      ids_.push_back(*id);
    }
  }

  // Random rollups in `flushes` flushes, minutes across the minute, hour and day tiers.
  void ApplyRandomFlushes(int flushes, int rollups_per_flush) {
    std::vector<double> near_bounds;
    for (double b : kBounds) {
      for (double f : {0.97, 0.995, 1.0, 1.005, 1.03}) near_bounds.push_back(b * 1e6 * f);
    }
    for (int f = 0; f < flushes; ++f) {
      storage::FlushBatch fb;
      fb.log_position = static_cast<uint64_t>(f + 1);
      for (int k = 0; k < rollups_per_flush; ++k) {
        storage::MinuteRollup m;
        m.minute = kT0 - 1440 + static_cast<int64_t>(rng_() % (3 * 1440));
        m.dims.client = ids_[rng_() % ids_.size()];
        m.dims.server = ids_[rng_() % ids_.size()];
        m.dims.protocol = static_cast<Protocol>(rng_() % 5);
        m.value.requests = 1 + rng_() % 50;
        m.value.errors = rng_() % 3 == 0 ? rng_() % (m.value.requests + 1) : 0;
        Model& model = model_[SeriesKey(m.dims.client, m.dims.server, m.dims.protocol)];
        model.requests += m.value.requests;
        model.errors += m.value.errors;
        applied_.push_back({m.dims.client, m.dims.server, m.value.requests, m.value.errors});
        for (int side = 0; side < 2; ++side) {
          if (rng_() % 4 == 0) continue;  // this side saw nothing
          auto& sketch = side == 0 ? m.value.server_latency : m.value.client_latency;
          for (int o = 0; o < 3; ++o) {
            double us = rng_() % 2 ? near_bounds[rng_() % near_bounds.size()]
                                   : std::exp(std::uniform_real_distribution<>(0, 18)(rng_));
            uint64_t count = 1 + rng_() % 5;
            sketch.Add(us, count);
            (side == 0 ? model.server : model.client).push_back({us, count});
          }
        }
        fb.rollups.push_back(std::move(m));
      }
      ASSERT_TRUE(store_->ApplyFlush(fb).ok());
    }
  }

  std::tuple<std::string, std::string, std::string, std::string, std::string> SeriesKey(
      NodeId c, NodeId s, Protocol p) const {
    const NodeDef& a = nodes_.at(c);
    const NodeDef& b = nodes_.at(s);
    return {a.name, b.name, std::string(ConnectionType(a.kind, b.kind, p)), a.ns, b.ns};
  }

  ApiResponse Get(const std::string& path, std::map<std::string, std::string> params = {}) {
    ApiRequest r;
    r.path = path;
    r.params = std::move(params);
    r.now_ms = (kT0 + 3 * 1440) * 60'000;
    return service_->Handle(r);
  }

  std::map<std::string, std::string> MapRange() const {
    return {{"start", std::to_string((kT0 - 2 * 1440) * 60)},
            {"end", std::to_string((kT0 + 3 * 1440) * 60)}};
  }

  // Every applied rollup is in the map's range: each node frame's in/out figures straight from
  // them.
  void ExpectNodeTotalsFromRollups(const std::vector<Json>& frames) const {
    std::map<std::string, std::array<uint64_t, 4>> want;
    for (const Applied& a : applied_) {
      auto& c = want["n" + std::to_string(a.client)];
      auto& v = want["n" + std::to_string(a.server)];
      c[2] += a.requests;
      c[3] += a.errors;
      v[0] += a.requests;
      v[1] += a.errors;
    }
    ASSERT_EQ(frames.size(), want.size());
    for (const Json& f : frames) {
      const auto& w = want[f["id"].String()];
      EXPECT_EQ(f["detail__requests_in"].Uint(), w[0]);
      EXPECT_EQ(f["detail__errors_in"].Uint(), w[1]);
      EXPECT_EQ(f["detail__requests_out"].Uint(), w[2]);
      EXPECT_EQ(f["detail__errors_out"].Uint(), w[3]);
    }
  }

  ew::testing::TempDir dir_{"ew-servicegraph-test-"};
  storage::EdgeTotals totals_;
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<QueryService> service_;
  std::mt19937_64 rng_{20261207};
  std::map<NodeId, NodeDef> nodes_;
  std::vector<NodeId> ids_;
  struct Applied {
    NodeId client, server;
    uint64_t requests, errors;
  };
  std::vector<Applied> applied_;
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, Model>
      model_;
};

// The value a sketch reports for an observation: what the histograms place and add.
double Reported(double micros) {
  return LatencySketch::BucketValue(LatencySketch::BucketOf(micros));
}

// Samples by their labels without le.
using SampleIndex = std::map<std::map<std::string, std::string>, std::vector<const Sample*>>;
SampleIndex IndexSamples(const std::vector<Sample>& samples) {
  SampleIndex index;
  for (const Sample& s : samples) {
    auto l = s.labels;
    l.erase("le");
    index[l].push_back(&s);
  }
  return index;
}

void ExpectHistogram(const SampleIndex& index, const std::string& family,
                     const std::map<std::string, std::string>& labels,
                     const std::vector<Obs>& model) {
  uint64_t total = 0;
  double sum = 0;
  for (const Obs& o : model) {
    total += o.count;
    sum += Reported(o.micros) * static_cast<double>(o.count) / 1e6;
  }
  std::map<std::string, double> buckets;
  double got_sum = -1, got_count = -1;
  auto it = index.find(labels);
  static const std::vector<const Sample*> kNone;
  for (const Sample* p : it == index.end() ? kNone : it->second) {
    const Sample& s = *p;
    if (s.name.rfind(family, 0) != 0) continue;
    std::string le = s.labels.count("le") ? s.labels.at("le") : "";
    if (s.name == family + "_bucket") buckets[le] = s.value;
    if (s.name == family + "_sum") got_sum = s.value;
    if (s.name == family + "_count") got_count = s.value;
  }
  if (total == 0) {
    EXPECT_TRUE(buckets.empty() && got_count < 0) << family << " written without observations";
    return;
  }
  ASSERT_EQ(buckets.size(), kBounds.size() + 1) << family;
  for (size_t i = 0; i <= kBounds.size(); ++i) {
    uint64_t want = 0;
    for (const Obs& o : model) {
      if (i == kBounds.size() || Reported(o.micros) <= kBounds[i] * 1e6) want += o.count;
    }
    std::string le = i == kBounds.size() ? "+Inf" : std::to_string(kBounds[i]);
    le = i == kBounds.size() ? le : le.substr(0, le.find_last_not_of('0') + 1);
    ASSERT_TRUE(buckets.count(le)) << family << " le=" << le;
    EXPECT_EQ(buckets[le], static_cast<double>(want)) << family << " le=" << le;
  }
  EXPECT_EQ(got_count, static_cast<double>(total));
  EXPECT_NEAR(got_sum, sum, sum * 1e-9);
}

TEST_F(ServiceGraphTest, ExpositionAgreesWithBruteForce) {
  MakeNodes(400);  // node ids past 255
  ApplyRandomFlushes(6, 700);
  ApiResponse r = Get("/metrics/servicegraph");
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  std::vector<Sample> samples = ParseExposition(r.body);
  const SampleIndex index = IndexSamples(samples);
  size_t series = 0;
  for (const auto& [key, m] : model_) {
    const auto& [client, server, type, client_ns, server_ns] = key;
    std::map<std::string, std::string> labels = {{"client", client},
                                                 {"server", server},
                                                 {"connection_type", type},
                                                 {"client_service_namespace", client_ns},
                                                 {"server_service_namespace", server_ns}};
    double requests = -1, failed = -1;
    auto it = index.find(labels);
    ASSERT_NE(it, index.end()) << client << " -> " << server;
    for (const Sample* s : it->second) {
      if (s->name == "traces_service_graph_request_total") requests = s->value;
      if (s->name == "traces_service_graph_request_failed_total") failed = s->value;
    }
    EXPECT_EQ(requests, static_cast<double>(m.requests)) << client << " -> " << server;
    EXPECT_EQ(failed, static_cast<double>(m.errors)) << client << " -> " << server;
    ExpectHistogram(index, "traces_service_graph_request_server_seconds", labels, m.server);
    ExpectHistogram(index, "traces_service_graph_request_client_seconds", labels, m.client);
    ++series;
  }
  size_t written = 0;
  for (const Sample& s : samples) written += s.name == "traces_service_graph_request_total";
  EXPECT_EQ(written, series) << "series beyond the model's";
  // Equal input, equal bytes.
  EXPECT_EQ(Get("/metrics/servicegraph").body, r.body);
  // Gzip when the scraper accepts it: the same text, compressed.
  ApiRequest gz;
  gz.path = "/metrics/servicegraph";
  gz.accept_gzip = true;
  ApiResponse zipped = service_->Handle(gz);
  EXPECT_EQ(zipped.content_encoding, "gzip");
  EXPECT_LT(zipped.body.size() * 5, r.body.size());
  std::string unzipped;
  ASSERT_TRUE(ew::testing::GzipDecompress(zipped.body, &unzipped));
  EXPECT_EQ(unzipped, r.body);
  EXPECT_EQ(r.content_encoding, "");
  EXPECT_EQ(Get("/metrics/servicegraph", {{"x", "1"}}).http_status, 400);
}

// The counters and the map over the whole stored range agree per (client name, server name), and
// the bucket in which histogram_quantile(0.9, ...) lands holds the map's p90.
TEST_F(ServiceGraphTest, CountersAndQuantileBucketsAgreeWithTheMap) {
  MakeNodes(300);
  ApplyRandomFlushes(4, 600);
  std::vector<Sample> samples = ParseExposition(Get("/metrics/servicegraph").body);
  auto map_response = Get("/api/v1/map", MapRange());
  ASSERT_EQ(map_response.http_status, 200) << map_response.body;
  auto map = Json::Parse(map_response.body);
  ASSERT_TRUE(map.ok());
  std::map<std::string, std::string> names;
  for (const Json& n : (*map)["nodes"].Elements()) names[n["id"].String()] = n["name"].String();
  struct Sums {
    uint64_t requests = 0, errors = 0, map_edges = 0;
    double p90_ms = 0;
    std::map<std::string, double> server_le, client_le;
  };
  std::map<std::pair<std::string, std::string>, Sums> by_pair;
  for (const Json& e : (*map)["edges"].Elements()) {
    Sums& s = by_pair[{names[e["source"].String()], names[e["target"].String()]}];
    s.requests += e["requests"].Uint();
    s.errors += e["errors"].Uint();
    s.p90_ms = e["latency_ms"]["p90"].Double();
    ++s.map_edges;
  }
  std::map<std::pair<std::string, std::string>, std::pair<double, double>> counters;
  for (const Sample& s : samples) {
    auto key = std::make_pair(s.labels.at("client"), s.labels.at("server"));
    if (s.name == "traces_service_graph_request_total") counters[key].first += s.value;
    if (s.name == "traces_service_graph_request_failed_total") counters[key].second += s.value;
    if (s.name == "traces_service_graph_request_server_seconds_bucket") {
      by_pair[key].server_le[s.labels.at("le")] += s.value;
    }
    if (s.name == "traces_service_graph_request_client_seconds_bucket") {
      by_pair[key].client_le[s.labels.at("le")] += s.value;
    }
  }
  size_t checked_quantiles = 0;
  for (const auto& [pair, s] : by_pair) {
    ASSERT_TRUE(counters.count(pair)) << pair.first << " -> " << pair.second;
    EXPECT_EQ(counters[pair].first, static_cast<double>(s.requests));
    EXPECT_EQ(counters[pair].second, static_cast<double>(s.errors));
    if (s.map_edges != 1) continue;  // names shared by nodes of several kinds
    // The map's latency is the server side where there is one.
    const auto& le = s.server_le.empty() ? s.client_le : s.server_le;
    if (le.empty()) continue;
    const double total = le.at("+Inf");
    double lower = 0, upper = INFINITY;
    for (double b : kBounds) {  // Prometheus: the first bucket whose count reaches q * total
      std::string text = std::to_string(b);
      text = text.substr(0, text.find_last_not_of('0') + 1);
      if (le.at(text) >= 0.9 * total) {
        upper = b * 1000;
        break;
      }
      lower = b * 1000;
    }
    EXPECT_GT(s.p90_ms, lower) << pair.first << " -> " << pair.second;
    EXPECT_LE(s.p90_ms, upper + 1e-6) << pair.first << " -> " << pair.second;
    ++checked_quantiles;
  }
  EXPECT_GT(checked_quantiles, 100u);
}

// Node frames against the JSON map of the same request and the documented formulas.
void ExpectNodeFrames(const std::vector<Json>& nodes, const std::vector<Json>& frames,
                      double seconds) {
  ASSERT_EQ(frames.size(), nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Json& n = nodes[i];
    const Json& f = frames[i];
    EXPECT_EQ(f["id"].String(), n["id"].String());
    EXPECT_EQ(f["title"].String(), n["name"].String());
    EXPECT_EQ(f["subtitle"].String(),
              n["namespace"].String().empty() ? n["kind"].String() : n["namespace"].String());
    const bool in = n["requests_in"].Uint() > 0;
    const uint64_t req = in ? n["requests_in"].Uint() : n["requests_out"].Uint();
    const uint64_t err = in ? n["errors_in"].Uint() : n["errors_out"].Uint();
    EXPECT_EQ(f["mainstat"].String(),
              NodeGraphRate(static_cast<double>(req) / seconds) + (in ? " req/s" : " req/s out"));
    const double failed = static_cast<double>(err) / static_cast<double>(req);
    EXPECT_NEAR(f["arc__failed"].Double(), failed, 5e-7 + 1e-12);
    // Exactly 1 in the decimals written: compare in millionths.
    EXPECT_EQ(std::llround(f["arc__failed"].Double() * 1e6) +
                  std::llround(f["arc__success"].Double() * 1e6),
              1'000'000);
    for (const char* k : {"requests_in", "errors_in", "requests_out", "errors_out"}) {
      EXPECT_EQ(f[std::string("detail__") + k].Uint(), n[k].Uint()) << k;
    }
    EXPECT_EQ(f["detail__kind"].String(), n["kind"].String());
  }
}

// Edge frames against the JSON map of the same request and the documented formulas.
void ExpectEdgeFrames(const std::vector<Json>& edges, const std::vector<Json>& edge_frames,
                      double seconds) {
  ASSERT_EQ(edge_frames.size(), edges.size());
  uint64_t max_requests = 0;
  for (const Json& e : edges) max_requests = std::max(max_requests, e["requests"].Uint());
  std::set<std::string> ids;
  for (size_t i = 0; i < edges.size(); ++i) {
    const Json& e = edges[i];
    const Json& f = edge_frames[i];
    EXPECT_TRUE(ids.insert(f["id"].String()).second) << "duplicate edge id";
    EXPECT_EQ(f["source"].String(), e["source"].String());
    EXPECT_EQ(f["target"].String(), e["target"].String());
    const uint64_t req = e["requests"].Uint(), err = e["errors"].Uint();
    EXPECT_EQ(f["mainstat"].String(), NodeGraphRate(static_cast<double>(req) / seconds) + " req/s");
    char p90[64];
    std::snprintf(p90, sizeof p90, "p90 %.2f ms", e["latency_ms"]["p90"].Double());
    EXPECT_EQ(f["secondarystat"].String(), p90);
    // Brute force of the documented thickness: the smallest t in 1..5 nearest to the share.
    const double share = std::log1p(double(req)) / std::log1p(double(max_requests));
    int best = 1;
    for (int t = 1; t <= 5; ++t) {
      if (std::fabs(1 + 4 * share - t) < std::fabs(1 + 4 * share - best)) best = t;
    }
    EXPECT_EQ(f["thickness"].Int(), best);
    const double rate = double(err) / double(req);
    EXPECT_EQ(f["color"].String(), err == 0 ? "green" : rate < 0.05 ? "orange" : "red");
    EXPECT_EQ(f["detail__requests"].Uint(), req);
    EXPECT_EQ(f["detail__errors"].Uint(), err);
    EXPECT_EQ(f["detail__protocol"].String(), e["protocol"].String());
    EXPECT_DOUBLE_EQ(f["detail__p99_ms"].Double(), e["latency_ms"]["p99"].Double());
  }
}

TEST_F(ServiceGraphTest, NodeGraphFramesMatchBruteForce) {
  MakeNodes(300);
  ApplyRandomFlushes(3, 500);
  // The frames are checked against the JSON map of the same request plus the documented
  // formulas, for plain, filtered, grouped and pruned maps; the plain map's node figures also
  // straight against the applied rollups.
  for (auto extra : std::vector<std::map<std::string, std::string>>{
           {},
           {{"query", "protocol = http or error = true"}},
           {{"group", "namespace"}},
           {{"top", "50"}}}) {
    auto params = MapRange();
    params.insert(extra.begin(), extra.end());
    auto plain = Json::Parse(Get("/api/v1/map", params).body);
    params["format"] = "nodegraph";
    ApiResponse r = Get("/api/v1/map", params);
    ASSERT_EQ(r.http_status, 200) << r.body;
    auto graph = Json::Parse(r.body);
    ASSERT_TRUE(plain.ok() && graph.ok());
    const double seconds = 5.0 * 1440 * 60;
    const auto frames = (*graph)["nodes"].Elements();
    if (extra.empty()) ExpectNodeTotalsFromRollups(frames);
    ExpectNodeFrames((*plain)["nodes"].Elements(), frames, seconds);
    ExpectEdgeFrames((*plain)["edges"].Elements(), (*graph)["edges"].Elements(), seconds);
  }
  EXPECT_EQ(Get("/api/v1/map", {{"format", "graphviz"}}).http_status, 400);
}

TEST(NodeGraphRender, RatesAndThickness) {
  EXPECT_EQ(NodeGraphRate(0), "0");
  EXPECT_EQ(NodeGraphRate(1.0 / 3600), "0.000278");
  EXPECT_EQ(NodeGraphRate(12.5), "12.5");
  EXPECT_EQ(NodeGraphRate(123.456), "123");
  EXPECT_EQ(NodeGraphRate(98765.4), "98765");
  EXPECT_EQ(NodeGraphThickness(0, 0), 1u);
  EXPECT_EQ(NodeGraphThickness(1, 1), 5u);
  EXPECT_EQ(NodeGraphThickness(1000, 1000), 5u);
  EXPECT_EQ(NodeGraphThickness(1, 1000000), 1u);
}

}  // namespace
}  // namespace ew::query
