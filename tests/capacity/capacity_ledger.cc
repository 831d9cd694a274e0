#include "tests/capacity/capacity_ledger.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "base/time.h"
#include "query/render.h"

namespace ew::query::testing {

namespace {

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : T{};
}

struct LedgerEdge {
  NodeId client = 0;
  NodeId server = 0;
  double base = 0;   // requests per active minute on day 0
  double trend = 0;  // growth per day (fraction)
  double mu = 0;     // log of the median latency (µs)
  bool two_protocols = false;
};

// About 4 calls per service (the first of each service's also over gRPC) and a database.
std::vector<LedgerEdge> MakeEdges(const std::vector<NodeId>& services, NodeId db,
                                  std::mt19937_64& rng) {
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng); };
  std::vector<LedgerEdge> edges;
  std::set<std::pair<NodeId, NodeId>> seen;
  for (size_t i = 0; i < services.size(); ++i) {
    for (int c = 0; c < 4; ++c) {
      NodeId server = services[(i + 1 + static_cast<size_t>(c) * 7 + rng() % 5) % services.size()];
      if (server == services[i] || !seen.emplace(services[i], server).second) continue;
      edges.push_back({services[i], server, uni(2, 40), uni(-0.005, 0.03), uni(7, 11), c == 0});
    }
    if (i % 3 == 0) edges.push_back({services[i], db, uni(5, 30), uni(0, 0.02), uni(6, 8)});
  }
  return edges;
}

}  // namespace

void CapacityLedgerTest::SetUp() {
  storage::StoreOptions o;
  o.dir = dir_.Sub("store");
  o.fixed_now_ms = kNowMs;
  auto s = storage::EdgeStore::Open(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(s).value();
  // Node ids past 255 (and string ids past 255): filler nodes first.
  for (int i = 0; i < 300; ++i) {
    Must(store_->InternNode(storage::NodeKind::kService, "filler", "f-" + std::to_string(i)));
  }
  for (int i = 0; i < 30; ++i) {
    services_.push_back(Must(store_->InternNode(
        storage::NodeKind::kService, "ns-" + std::to_string(i % 3), "svc-" + std::to_string(i))));
  }
  db_ = Must(store_->InternNode(storage::NodeKind::kDatabase, "", "postgresql/orders"));
  QueryServiceOptions qo;
  qo.scan_threads = 1;
  service_ = QueryService::Create(store_.get(), nullptr, qo);
}

void CapacityLedgerTest::Fill(const std::vector<TrafficWindow>& windows) {
  std::mt19937_64 rng(2026);
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng); };
  const std::vector<LedgerEdge> edges = MakeEdges(services_, db_, rng);
  static const char* const kPaths[] = {"/a/orders", "/a/users", "/b/carts"};
  std::normal_distribution<> normal(0, 0.6);
  for (const TrafficWindow& w : windows) {
    for (int64_t m = w.start; m < w.end; ++m) {
      const double day = static_cast<double>(m - (kNowMinute - 200 * 1440)) / 1440.0;
      for (const LedgerEdge& e : edges) {
        if (uni(0, 1) >= w.active) continue;
        double rate = e.base * std::max(0.05, 1 + e.trend * day) * uni(0.5, 1.5);
        if (uni(0, 1) < 0.01) rate *= 5;  // a burst
        const int parts = 1 + static_cast<int>(rng() % 3);
        for (int p = 0; p < parts; ++p) {
          LedgerRec r;
          r.minute = m;
          r.client = e.client;
          r.server = e.server;
          const bool db = e.server == db_;
          r.protocol = db                          ? storage::Protocol::kDatabase
                       : e.two_protocols && p == 1 ? storage::Protocol::kGrpc
                                                   : storage::Protocol::kHttp;
          r.path = r.protocol == storage::Protocol::kHttp ? kPaths[rng() % 3] : "";
          r.status = r.protocol == storage::Protocol::kHttp ? (uni(0, 1) < 0.05 ? 503 : 200) : 0;
          r.requests = 1 + static_cast<uint64_t>(rate / parts);
          r.errors = r.status >= 500 ? r.requests : 0;
          r.server_us = static_cast<uint32_t>(std::exp(e.mu + normal(rng)));
          recs_.push_back(std::move(r));
        }
      }
    }
  }
  WriteLedger(rng);
}

// Writes recs_: most records once; one in ten split in two, the second half in a later flush.
void CapacityLedgerTest::WriteLedger(std::mt19937_64& rng) {
  std::vector<storage::MinuteRollup> first, late;
  auto rollup = [&](const LedgerRec& r, uint64_t requests, uint64_t errors) {
    storage::MinuteRollup m;
    m.minute = r.minute;
    m.dims.client = r.client;
    m.dims.server = r.server;
    m.dims.protocol = r.protocol;
    if (!r.path.empty()) {
      m.dims.path = Must(store_->InternString(storage::StringKind::kPath, r.path));
      m.dims.method = Must(store_->InternString(storage::StringKind::kMethod, "GET"));
    }
    m.dims.status = r.status;
    m.value.requests = requests;
    m.value.errors = errors;
    m.value.server_latency.Add(r.server_us, requests);
    m.value.client_latency.Add(r.server_us * 1.2, requests);
    return m;
  };
  for (const LedgerRec& r : recs_) {
    if (r.requests >= 2 && rng() % 10 == 0) {
      const uint64_t half = r.requests / 2;
      const uint64_t half_err = r.errors ? half : 0;
      first.push_back(rollup(r, half, half_err));
      late.push_back(rollup(r, r.requests - half, r.errors - half_err));
    } else {
      first.push_back(rollup(r, r.requests, r.errors));
    }
  }
  uint64_t position = 0;
  for (auto* list : {&first, &late}) {
    for (size_t i = 0; i < list->size(); i += 20000) {
      storage::FlushBatch b;
      b.rollups.assign(list->begin() + static_cast<ptrdiff_t>(i),
                       list->begin() + static_cast<ptrdiff_t>(std::min(list->size(), i + 20000)));
      b.log_position = ++position;
      ASSERT_TRUE(store_->ApplyFlush(b).ok());
    }
  }
}

ApiResponse CapacityLedgerTest::Raw(const std::string& path,
                                    std::map<std::string, std::string> params) {
  ApiRequest req;
  req.path = path;
  req.params = std::move(params);
  req.now_ms = kNowMs;
  return service_->Handle(req);
}

Json CapacityLedgerTest::Get(const std::string& path, std::map<std::string, std::string> params) {
  ApiResponse r = Raw(path, params);
  EXPECT_EQ(r.http_status, 200) << r.body;
  auto j = Json::Parse(r.body);
  EXPECT_TRUE(j.ok()) << r.body.substr(0, 200);
  return j.ok() ? *j : Json();
}

std::string CapacityLedgerTest::Ns(NodeId n) const { return store_->GetNode(n)->ns; }
std::string CapacityLedgerTest::Name(NodeId n) const { return store_->GetNode(n)->name; }

CapacityLedgerTest::Model CapacityLedgerTest::Compute(
    const std::function<bool(const LedgerRec&)>& pred, int64_t s, int64_t e, int64_t step) const {
  Model model;
  std::map<std::pair<std::pair<NodeId, NodeId>, int64_t>, uint64_t> minutes;
  const size_t steps = static_cast<size_t>((e - s) / step);
  for (const LedgerRec& r : recs_) {
    if (r.minute < s || r.minute >= e || !pred(r)) continue;
    for (auto g : {std::pair<NodeId, NodeId>{0, r.server}, std::pair{r.client, r.server}}) {
      auto& cells = model[g];
      if (cells.empty()) cells.resize(steps);
      ModelCell& c = cells[static_cast<size_t>((r.minute - s) / step)];
      c.requests += r.requests;
      c.errors += r.errors;
      c.latencies.emplace_back(r.server_us, r.requests);
      minutes[{g, r.minute}] += r.requests;
    }
  }
  for (const auto& [key, count] : minutes) {  // ascending minutes: strictly greater is earliest
    ModelCell& c = model[key.first][static_cast<size_t>((key.second - s) / step)];
    if (count > c.peak) {
      c.peak = count;
      c.peak_minute = key.second;
    }
  }
  return model;
}

ModelGrowth ModelGrowthOf(const std::vector<double>& y, int64_t step_minutes) {
  ModelGrowth g;
  const double n = static_cast<double>(y.size());
  if (y.size() < 2) return g;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double x = static_cast<double>(i) * static_cast<double>(step_minutes) / 1440.0;
    sx += x;
    sy += y[i];
    sxx += x * x;
    sxy += x * y[i];
  }
  g.slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  if (sy > 0) g.pct = *g.slope / (sy / n) * 100;
  if (y.front() > 0) g.change = (y.back() - y.front()) / y.front() * 100;
  return g;
}

double NearestRank(std::vector<std::pair<uint32_t, uint64_t>> v, double q) {
  std::sort(v.begin(), v.end());
  uint64_t n = 0;
  for (const auto& [x, c] : v) n += c;
  if (n == 0) return 0;
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * n - 1e-9)));
  uint64_t seen = 0;
  for (const auto& [x, c] : v) {
    seen += c;
    if (seen >= rank) return x;
  }
  return v.back().first;
}

}  // namespace ew::query::testing
