// /api/v1/edge/breakdown against a brute-force model: random detail rollups (300 services, ids
// past 255, four namespaces, 40 paths, 4 methods, 6 statuses) over three days, so ranges read
// the minute, hour and day tiers. For node and namespace edges, every `by`, several `top`s,
// ranges and filters, the answer must be the model's groups (requests, errors, order, top and
// the rest), with p99 within 1 % of the exact nearest-rank value; and the documented 4xx.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "query/query_service.h"
#include "storage/edge_store.h"
#include "tests/common/json.h"
#include "tests/common/temp_dir.h"

namespace ew::query {
namespace {

using ew::testing::Json;
using storage::NodeId;

constexpr int64_t kM0 = 20000LL * 1440;  // 2024-10-04T00:00Z, in minutes
constexpr int64_t kNow = kM0 + 4 * 1440;
const char* const kMethods[] = {"GET", "POST", "PUT", "DELETE"};
const uint16_t kStatuses[] = {0, 200, 204, 404, 500, 503};

struct Rec {
  int64_t minute;
  NodeId client, server;
  std::string path, method;
  uint16_t status;
  uint64_t requests, errors;
  double us;  // every request of the record took this long (server side)
};

struct Want {
  uint64_t requests = 0, errors = 0;
  std::vector<std::pair<double, uint64_t>> latencies;  // (us, count)
};

double NearestRankMs(std::vector<std::pair<double, uint64_t>> v, double q) {
  std::sort(v.begin(), v.end());
  uint64_t n = 0;
  for (const auto& [us, c] : v) n += c;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
  uint64_t seen = 0;
  for (const auto& [us, c] : v) {
    seen += c;
    if (seen >= std::max<uint64_t>(rank, 1)) return us / 1000.0;
  }
  return 0;
}

class EdgeBreakdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions o;
    o.dir = dir_.Sub("db");
    o.fixed_now_ms = kNow * 60'000;
    auto s = storage::EdgeStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    for (int i = 0; i < 300; ++i) {
      ns_.push_back("ns" + std::to_string(i % 4));
      nodes_.push_back(
          *store_->InternNode(storage::NodeKind::kService, ns_.back(), "svc" + std::to_string(i)));
    }
    Write();
    service_ = QueryService::Create(store_.get(), nullptr);
  }

  // Eight flushes of 400 random rollups over 60 edges among services 240..299 (ids past 255)
  // and a few low ones, spread over three days.
  void Write() {
    std::mt19937_64 rng(11);
    std::vector<std::pair<size_t, size_t>> edges;
    for (int i = 0; i < 60; ++i)
      edges.emplace_back(240 + rng() % 60, rng() % 2 ? 240 + rng() % 60 : rng() % 8);
    for (int flush = 0; flush < 8; ++flush) {
      storage::FlushBatch b;
      b.log_position = static_cast<uint64_t>(flush) + 1;
      for (int i = 0; i < 400; ++i) {
        auto [c, sv] = edges[rng() % edges.size()];
        Rec r{kM0 + static_cast<int64_t>(rng() % (3 * 1440)),
              nodes_[c],
              nodes_[sv],
              "/api/p" + std::to_string(rng() % 40),
              kMethods[rng() % 4],
              kStatuses[rng() % 6],
              1 + rng() % 50,
              0,
              static_cast<double>(500 + rng() % 200000)};
        if (r.status >= 500) r.errors = r.requests;
        storage::MinuteRollup m;
        m.minute = r.minute;
        m.dims.client = r.client;
        m.dims.server = r.server;
        m.dims.protocol = storage::Protocol::kHttp;
        m.dims.path = *store_->InternString(storage::StringKind::kPath, r.path);
        m.dims.method = *store_->InternString(storage::StringKind::kMethod, r.method);
        m.dims.status = r.status;
        m.value.requests = r.requests;
        m.value.errors = r.errors;
        m.value.server_latency.Add(r.us, r.requests);
        b.rollups.push_back(std::move(m));
        recs_.push_back(std::move(r));
      }
      ASSERT_TRUE(store_->ApplyFlush(b).ok());
    }
    edges_ = edges;
  }

  ApiResponse Raw(std::map<std::string, std::string> p) {
    ApiRequest req;
    req.path = "/api/v1/edge/breakdown";
    req.params = std::move(p);
    req.now_ms = kNow * 60'000;
    return service_->Handle(req);
  }

  // The model's answer: groups keyed by the text the endpoint shows.
  std::map<std::string, Want> Model(const std::function<bool(const Rec&)>& in_edge,
                                    const std::string& by, int64_t start, int64_t end,
                                    const std::function<bool(const Rec&)>& filter) {
    std::map<std::string, Want> out;
    for (const Rec& r : recs_) {
      if (r.minute < start || r.minute >= end || !in_edge(r) || !filter(r)) continue;
      std::string key = by == "path"     ? r.path
                        : by == "method" ? r.method
                                         : std::to_string(r.status);
      Want& w = out[key];
      w.requests += r.requests;
      w.errors += r.errors;
      w.latencies.emplace_back(r.us, r.requests);
    }
    return out;
  }

  void Expect(const std::string& source, const std::string& target,
              const std::function<bool(const Rec&)>& in_edge, const std::string& by, uint64_t top,
              int64_t start, int64_t end, const std::string& query,
              const std::function<bool(const Rec&)>& filter) {
    SCOPED_TRACE(source + " -> " + target + " by " + by + " top " + std::to_string(top) +
                 " range " + std::to_string(start - kM0) + ".." + std::to_string(end - kM0) +
                 " query '" + query + "'");
    auto want = Model(in_edge, by, start, end, filter);
    std::vector<std::pair<std::string, Want>> order(want.begin(), want.end());
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.second.requests > b.second.requests;  // stable: ties stay in key order
    });
    ApiResponse r = Raw({{"source", source},
                         {"target", target},
                         {"by", by},
                         {"top", std::to_string(top)},
                         {"start", std::to_string(start * 60)},
                         {"end", std::to_string(end * 60)},
                         {"query", query}});
    ASSERT_EQ(r.http_status, 200) << r.body;
    auto j = Json::Parse(r.body);
    ASSERT_TRUE(j.ok()) << r.body;
    uint64_t total = 0, total_errors = 0, other = 0, other_errors = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      total += order[i].second.requests;
      total_errors += order[i].second.errors;
      if (i >= top) {
        other += order[i].second.requests;
        other_errors += order[i].second.errors;
      }
    }
    EXPECT_EQ((*j)["requests"].Uint(), total);
    EXPECT_EQ((*j)["errors"].Uint(), total_errors);
    EXPECT_EQ((*j)["groups_total"].Uint(), order.size());
    EXPECT_EQ((*j)["other"]["requests"].Uint(), other);
    EXPECT_EQ((*j)["other"]["errors"].Uint(), other_errors);
    const auto groups = (*j)["groups"].Elements();
    ASSERT_EQ(groups.size(), std::min<size_t>(top, order.size()));
    for (size_t i = 0; i < groups.size(); ++i) {
      const auto& [key, w] = order[i];
      EXPECT_EQ(groups[i]["key"].String(), key) << i;
      EXPECT_EQ(groups[i]["requests"].Uint(), w.requests) << key;
      EXPECT_EQ(groups[i]["errors"].Uint(), w.errors) << key;
      double exact = NearestRankMs(w.latencies, 0.99);
      EXPECT_NEAR(groups[i]["latency_ms"]["p99"].Double(), exact, exact * 0.01 + 1e-3) << key;
    }
  }

  std::string Id(size_t i) const { return "n" + std::to_string(nodes_[i]); }

  ew::testing::TempDir dir_{"ew-breakdown-test-"};
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<QueryService> service_;
  std::vector<NodeId> nodes_;
  std::vector<std::string> ns_;
  std::vector<Rec> recs_;
  std::vector<std::pair<size_t, size_t>> edges_;
};

TEST_F(EdgeBreakdownTest, NodeEdgesMatchTheModel) {
  auto all = [](const Rec&) { return true; };
  const std::pair<int64_t, int64_t> ranges[] = {
      {kM0, kM0 + 3 * 1440}, {kM0 + 1000, kM0 + 1100}, {kM0 + 77, kM0 + 2 * 1440 + 13}};
  for (size_t e = 0; e < 6; ++e) {
    auto [c, s] = edges_[e];
    NodeId cn = nodes_[c], sn = nodes_[s];
    auto in_edge = [cn, sn](const Rec& r) { return r.client == cn && r.server == sn; };
    for (const char* by : {"path", "method", "status"}) {
      for (auto [start, end] : ranges) {
        Expect(Id(c), Id(s), in_edge, by, 5, start, end, "", all);
        Expect(Id(c), Id(s), in_edge, by, 1000, start, end, "", all);
      }
    }
    Expect(Id(c), Id(s), in_edge, "path", 3, kM0, kM0 + 3 * 1440, "method = \"POST\"",
           [](const Rec& r) { return r.method == "POST"; });
    Expect(Id(c), Id(s), in_edge, "method", 10, kM0, kM0 + 3 * 1440, "status >= 500",
           [](const Rec& r) { return r.status >= 500; });
  }
}

TEST_F(EdgeBreakdownTest, NamespaceIdsSumTheirMemberEdges) {
  auto all = [](const Rec&) { return true; };
  for (auto [c, s] : {edges_[0], edges_[1], edges_[2]}) {
    std::string cns = ns_[c], sns = ns_[s];
    auto ns_of = [this](NodeId n) {
      return ns_[static_cast<size_t>(std::find(nodes_.begin(), nodes_.end(), n) - nodes_.begin())];
    };
    auto in_ns = [&](const Rec& r) { return ns_of(r.client) == cns && ns_of(r.server) == sns; };
    auto in_half = [&](const Rec& r) { return r.client == nodes_[c] && ns_of(r.server) == sns; };
    for (const char* by : {"path", "status"}) {
      Expect("ns:" + cns, "ns:" + sns, in_ns, by, 7, kM0, kM0 + 3 * 1440, "", all);
      Expect(Id(c), "ns:" + sns, in_half, by, 7, kM0 + 500, kM0 + 2500, "", all);
    }
  }
}

TEST_F(EdgeBreakdownTest, BadRequestsAreDocumentedErrors) {
  const std::string a = Id(240), b = Id(241);
  struct Case {
    std::map<std::string, std::string> params;
    int status;
    std::string message;
  };
  const Case cases[] = {
      {{{"source", a}, {"target", b}, {"by", "host"}}, 400, "by must be path, method or status"},
      {{{"source", a}, {"target", b}, {"top", "0"}}, 400, "top"},
      {{{"source", a}, {"target", b}, {"top", "abc"}}, 400, "top"},
      {{{"source", a}}, 400, "source and target are required"},
      {{{"target", b}}, 400, "source and target are required"},
      {{{"source", a}, {"target", b}, {"bye", "path"}}, 400, "unknown parameter 'bye'"},
      {{{"source", "x1"}, {"target", b}}, 400, "source must be a node id"},
      {{{"source", a}, {"target", "n999999"}}, 404, "target: unknown node n999999"},
      {{{"source", "ns:nowhere"}, {"target", b}}, 404, "source: unknown node ns:nowhere"},
      {{{"source", a}, {"target", b}, {"query", "path = "}}, 400, ""},
  };
  for (const auto& c : cases) {
    ApiResponse r = Raw(c.params);
    EXPECT_EQ(r.http_status, c.status) << r.body;
    EXPECT_NE(r.body.find(c.message), std::string::npos) << r.body;
  }
  // An edge with no traffic in the range is an empty answer, not an error.
  ApiResponse r = Raw({{"source", a}, {"target", b}, {"start", std::to_string(kNow * 60 - 60)}});
  EXPECT_EQ(r.http_status, 200) << r.body;
  EXPECT_NE(r.body.find("\"groups\":[]"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace ew::query
