// EdgeStore on a real RocksDB in a temp dir: dictionary, ApplyFlush then Scan on every tier and
// family with namespace/node narrowing and time ranges, merges across flushes, exemplars,
// expiry sums, pending state and the log position.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "base/metrics.h"
#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

using testing::MakeRollup;
using testing::TempDir;

constexpr int64_t kM0 = 20'000LL * 1440;  // a day-aligned minute
constexpr int64_t kH0 = kM0 / 60;
constexpr int64_t kD0 = kM0 / 1440;

// (time, client, server) -> (requests, errors)
using Seen = std::map<std::tuple<int64_t, NodeId, NodeId>, std::pair<uint64_t, uint64_t>>;

class EdgeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.dir = dir_.Sub("db");
    o.metrics = &metrics_;
    o.fixed_now_ms = (kM0 + 2 * 1440) * 60'000;  // the data is recent for the retention filter
    // Every minute of these tests is inside the per-minute exemplar window (the hour records
    // before it: ExemplarsBeforeTheWindowComeFromHourRecords).
    o.exemplar_minutes_retention_ms = 3 * 86'400'000LL;
    auto s = EdgeStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    a_ = *store_->InternNode(NodeKind::kService, "shop", "frontend");
    b_ = *store_->InternNode(NodeKind::kService, "shop", "cart");
    c_ = *store_->InternNode(NodeKind::kService, "pay", "payments");
    d_ = *store_->InternNode(NodeKind::kExternalService, "", "api.stripe.com");
    shop_ = *store_->FindString(StringKind::kNamespace, "shop");
    pay_ = *store_->FindString(StringKind::kNamespace, "pay");
    x_ = *store_->InternString(StringKind::kPath, "/x");
    y_ = *store_->InternString(StringKind::kPath, "/y");
  }

  FlushBatch StandardBatch(uint64_t log_position) {
    FlushBatch b;
    b.rollups.push_back(MakeRollup(kM0, a_, b_, 10, 0, 1000, x_, 200));
    b.rollups.push_back(MakeRollup(kM0, a_, b_, 3, 2, 90'000, y_, 500));
    b.rollups.push_back(MakeRollup(kM0 + 61, a_, b_, 5, 0, 2000, x_, 200));
    b.rollups.push_back(MakeRollup(kM0 + 5, a_, c_, 7, 1, 3000, 0, 0));
    b.rollups.push_back(MakeRollup(kM0 + 5, c_, d_, 4, 0, 150'000, 0, 0));
    b.rollups.push_back(MakeRollup(kM0 + 1440 + 3, b_, c_, 2, 0, 500, 0, 0));
    b.log_position = log_position;
    return b;
  }

  Seen ScanAll(ScanSpec spec) {
    Seen seen;
    Status s = store_->Scan(spec, [&](int64_t t, const EdgeDims& d, const RollupValue& v) {
      auto& e = seen[{t, d.client, d.server}];
      e.first += v.requests;
      e.second += v.errors;
      EXPECT_EQ(v.server_latency.Count(), spec.need_sketches ? v.requests : 0);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  }

  static ScanSpec Spec(Family f, Tier t, int64_t start, int64_t end) {
    ScanSpec s;
    s.family = f;
    s.tier = t;
    s.start = start;
    s.end = end;
    return s;
  }

  TempDir dir_;
  MetricsRegistry metrics_;
  std::unique_ptr<EdgeStore> store_;
  NodeId a_ = 0, b_ = 0, c_ = 0, d_ = 0;
  StringId shop_ = 0, pay_ = 0, x_ = 0, y_ = 0;
};

TEST_F(EdgeStoreTest, DictionaryInternsOnceAndFinds) {
  EXPECT_EQ(*store_->InternNode(NodeKind::kService, "shop", "frontend"), a_);
  EXPECT_NE(a_, b_);
  EXPECT_NE(a_, 0u);
  EXPECT_EQ(*store_->InternNode(NodeKind::kService, "", ""), 0u);
  EXPECT_EQ(*store_->InternString(StringKind::kPath, ""), 0u);
  EXPECT_EQ(*store_->FindString(StringKind::kPath, ""), 0u);
  // The same name in another namespace or of another kind is another node.
  NodeId other = *store_->InternNode(NodeKind::kService, "pay", "frontend");
  NodeId db = *store_->InternNode(NodeKind::kDatabase, "shop", "frontend");
  EXPECT_NE(other, a_);
  EXPECT_NE(db, a_);
  auto info = store_->GetNode(c_);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->name, "payments");
  EXPECT_EQ(info->ns, "pay");
  EXPECT_EQ(info->ns_id, pay_);
  EXPECT_EQ(info->kind, NodeKind::kService);
  EXPECT_EQ(store_->FindNode(NodeKind::kExternalService, "", "api.stripe.com"), d_);
  EXPECT_FALSE(store_->FindNode(NodeKind::kService, "", "api.stripe.com").has_value());
  EXPECT_FALSE(store_->FindNode(NodeKind::kService, "nope", "frontend").has_value());
  EXPECT_FALSE(store_->GetNode(0).has_value());
  EXPECT_FALSE(store_->GetNode(9999).has_value());
  EXPECT_EQ(store_->ListNodes().size(), 6u);
  EXPECT_EQ(*store_->GetString(StringKind::kPath, y_), "/y");
  EXPECT_EQ(*store_->GetString(StringKind::kPath, 0), "");
  EXPECT_FALSE(store_->GetString(StringKind::kMethod, y_).has_value());
  EXPECT_EQ(store_->ListStrings(StringKind::kPath).size(), 2u);
  EXPECT_FALSE(store_->InternString(StringKind::kPath, std::string(70'000, 'a')).ok());
}

TEST_F(EdgeStoreTest, MinuteTierOfEachFamily) {
  ASSERT_TRUE(store_->ApplyFlush(StandardBatch(100)).ok());
  Seen edge = ScanAll(Spec(Family::kEdge, Tier::kMinute, kM0, kM0 + 1440));
  Seen want = {{{kM0, a_, b_}, {13, 2}},
               {{kM0 + 61, a_, b_}, {5, 0}},
               {{kM0 + 5, a_, c_}, {7, 1}},
               {{kM0 + 5, c_, d_}, {4, 0}}};
  EXPECT_EQ(edge, want);
  EXPECT_EQ(ScanAll(Spec(Family::kEdgeByClient, Tier::kMinute, kM0, kM0 + 1440)), want);
  EXPECT_EQ(ScanAll(Spec(Family::kDetail, Tier::kMinute, kM0, kM0 + 1440)), want);

  // The detailed family keeps path and status apart; the edge family has them 0.
  std::set<std::tuple<StringId, uint16_t, uint64_t>> detail;
  ASSERT_TRUE(store_
                  ->Scan(Spec(Family::kDetail, Tier::kMinute, kM0, kM0 + 1),
                         [&](int64_t, const EdgeDims& d, const RollupValue& v) {
                           detail.insert({d.path, d.status, v.requests});
                           EXPECT_EQ(d.protocol, Protocol::kHttp);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(detail,
            (std::set<std::tuple<StringId, uint16_t, uint64_t>>{{x_, 200, 10}, {y_, 500, 3}}));
  ASSERT_TRUE(store_
                  ->Scan(Spec(Family::kEdge, Tier::kMinute, kM0, kM0 + 1),
                         [&](int64_t, const EdgeDims& d, const RollupValue& v) {
                           EXPECT_EQ(d.path, 0u);
                           EXPECT_EQ(d.status, 0);
                           // Sketches merged: the 500s were slow.
                           EXPECT_GT(v.server_latency.Quantile(1.0), 80'000);
                           EXPECT_LT(v.server_latency.Quantile(0.5), 1100);
                           return true;
                         })
                  .ok());
}

TEST_F(EdgeStoreTest, HourAndDayTiers) {
  ASSERT_TRUE(store_->ApplyFlush(StandardBatch(1)).ok());
  Seen hours = {{{kH0, a_, b_}, {13, 2}},
                {{kH0 + 1, a_, b_}, {5, 0}},
                {{kH0, a_, c_}, {7, 1}},
                {{kH0, c_, d_}, {4, 0}},
                {{kH0 + 24, b_, c_}, {2, 0}}};
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    EXPECT_EQ(ScanAll(Spec(f, Tier::kHour, kH0, kH0 + 48)), hours);
  }
  Seen days = {{{kD0, a_, b_}, {18, 2}},
               {{kD0, a_, c_}, {7, 1}},
               {{kD0, c_, d_}, {4, 0}},
               {{kD0 + 1, b_, c_}, {2, 0}}};
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    EXPECT_EQ(ScanAll(Spec(f, Tier::kDay, kD0, kD0 + 2)), days);
  }
  EXPECT_EQ(ScanAll(Spec(Family::kEdge, Tier::kDay, kD0 + 1, kD0 + 2)).size(), 1u);
}

TEST_F(EdgeStoreTest, SketchesPerFamily) {
  FlushBatch b = StandardBatch(1);
  MinuteRollup db_call = MakeRollup(kM0 + 7, a_, d_, 6, 0, 4000);
  db_call.value.server_latency.Clear();  // only the client half measured it (a database call)
  b.rollups.push_back(db_call);
  ASSERT_TRUE(store_->ApplyFlush(b).ok());
  using Key = std::tuple<int64_t, NodeId, NodeId>;
  using Sketches = std::map<Key, std::pair<LatencySketch, LatencySketch>>;
  auto collect = [&](Family f, Tier t, int64_t start, int64_t end) {
    Sketches out;
    EXPECT_TRUE(store_
                    ->Scan(Spec(f, t, start, end),
                           [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
                             auto& e = out[{time, d.client, d.server}];
                             e.first.Merge(v.server_latency);
                             e.second.Merge(v.client_latency);
                             return true;
                           })
                    .ok());
    return out;
  };
  for (Tier t : {Tier::kMinute, Tier::kHour, Tier::kDay}) {
    const int64_t u = TierUnitMinutes(t);
    Sketches edge = collect(Family::kEdge, t, kM0 / u, kM0 / u + 3000 / u);
    Sketches by_client = collect(Family::kEdgeByClient, t, kM0 / u, kM0 / u + 3000 / u);
    Sketches detail = collect(Family::kDetail, t, kM0 / u, kM0 / u + 3000 / u);
    ASSERT_EQ(edge.size(), by_client.size());
    // What was written, per edge and tier unit.
    Sketches written;
    for (const MinuteRollup& r : b.rollups) {
      auto& w = written[{r.minute / u, r.dims.client, r.dims.server}];
      w.first.Merge(r.value.server_latency);
      w.second.Merge(r.value.client_latency);
    }
    ASSERT_EQ(edge.size(), written.size());
    for (const auto& [key, w] : written) {
      // The edge family keeps the server sketch; the client sketch in the hour and day tiers
      // always, in the minute tier only where no server side measured.
      EXPECT_EQ(edge[key].first, w.first);
      if (t != Tier::kMinute || w.first.Empty()) {
        EXPECT_EQ(edge[key].second, w.second);
      } else {
        EXPECT_TRUE(edge[key].second.Empty());
      }
    }
    for (const auto& [key, sk] : edge) {
      // The client family joins both sketches from the edge family.
      EXPECT_EQ(by_client[key].first, sk.first);
      EXPECT_EQ(by_client[key].second, sk.second);
      // The detail family keeps the server sketch, and the client sketch only where no server
      // side measured.
      EXPECT_EQ(detail[key].first, sk.first);
      if (sk.first.Empty()) {
        EXPECT_EQ(detail[key].second, sk.second);
      } else {
        EXPECT_TRUE(detail[key].second.Empty());
      }
    }
  }
  auto db_edge = collect(Family::kEdgeByClient, Tier::kMinute, kM0 + 7, kM0 + 8);
  ASSERT_EQ(db_edge.size(), 1u);
  EXPECT_EQ(db_edge.begin()->second.second.Count(), 6u);
  EXPECT_TRUE(db_edge.begin()->second.first.Empty());
  // The join survives early stops and more records than one batch.
  FlushBatch many;
  for (int m = 0; m < 600; ++m) many.rollups.push_back(MakeRollup(kM0 + 100 + m, b_, a_, 1, 0, 9));
  ASSERT_TRUE(store_->ApplyFlush(many).ok());
  EXPECT_EQ(collect(Family::kEdgeByClient, Tier::kMinute, kM0 + 100, kM0 + 700).size(), 600u);
  int visits = 0;
  ASSERT_TRUE(store_
                  ->Scan(Spec(Family::kEdgeByClient, Tier::kMinute, kM0 + 100, kM0 + 700),
                         [&](int64_t, const EdgeDims&, const RollupValue& v) {
                           EXPECT_EQ(v.server_latency.Count(), 1u);
                           return ++visits < 300;
                         })
                  .ok());
  EXPECT_EQ(visits, 300);
}

TEST_F(EdgeStoreTest, NamespaceNodeAndTimeNarrowing) {
  ASSERT_TRUE(store_->ApplyFlush(StandardBatch(1)).ok());
  ScanSpec s = Spec(Family::kEdge, Tier::kMinute, kM0, kM0 + 3000);
  s.ns = shop_;  // servers in shop: only cart
  EXPECT_EQ(ScanAll(s), (Seen{{{kM0, a_, b_}, {13, 2}}, {{kM0 + 61, a_, b_}, {5, 0}}}));
  s.ns = pay_;
  EXPECT_EQ(ScanAll(s), (Seen{{{kM0 + 5, a_, c_}, {7, 1}}, {{kM0 + 1443, b_, c_}, {2, 0}}}));
  s.ns.reset();
  s.node = c_;  // without ns: the store finds the node's namespace
  EXPECT_EQ(ScanAll(s), (Seen{{{kM0 + 5, a_, c_}, {7, 1}}, {{kM0 + 1443, b_, c_}, {2, 0}}}));
  s.ns = shop_;  // a node that is not in that namespace: nothing
  EXPECT_TRUE(ScanAll(s).empty());

  ScanSpec c = Spec(Family::kEdgeByClient, Tier::kMinute, kM0, kM0 + 3000);
  c.ns = shop_;  // clients in shop: frontend and cart
  EXPECT_EQ(ScanAll(c).size(), 4u);
  c.node = a_;
  EXPECT_EQ(
      ScanAll(c),
      (Seen{{{kM0, a_, b_}, {13, 2}}, {{kM0 + 61, a_, b_}, {5, 0}}, {{kM0 + 5, a_, c_}, {7, 1}}}));
  c.ns = pay_;
  c.node = c_;
  EXPECT_EQ(ScanAll(c), (Seen{{{kM0 + 5, c_, d_}, {4, 0}}}));

  // Time ranges are half-open and seek per node.
  EXPECT_EQ(
      ScanAll(Spec(Family::kEdge, Tier::kMinute, kM0 + 1, kM0 + 62)),
      (Seen{
          {{kM0 + 61, a_, b_}, {5, 0}}, {{kM0 + 5, a_, c_}, {7, 1}}, {{kM0 + 5, c_, d_}, {4, 0}}}));
  EXPECT_TRUE(ScanAll(Spec(Family::kEdge, Tier::kMinute, kM0 + 6, kM0 + 61)).empty());
  EXPECT_TRUE(ScanAll(Spec(Family::kEdge, Tier::kMinute, kM0 + 5, kM0 + 5)).empty());
  EXPECT_EQ(ScanAll(Spec(Family::kEdge, Tier::kMinute, 0, int64_t{1} << 40)).size(), 5u);
}

TEST_F(EdgeStoreTest, SplitScansReadExactlyTheWholeBetweenThem) {
  ASSERT_TRUE(store_->ApplyFlush(StandardBatch(1)).ok());
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    ScanSpec whole = Spec(f, Tier::kMinute, kM0, kM0 + 3000);
    const Seen all = ScanAll(whole);
    ASSERT_FALSE(all.empty());
    auto parts = store_->SplitScan(whole, 2);  // 4 known nodes: two parts
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].lead_begin, 0u);
    EXPECT_EQ(parts[0].lead_end, parts[1].lead_begin);
    EXPECT_EQ(parts[1].lead_end, UINT64_MAX);
    Seen joined;
    for (const auto& p : parts) {
      for (const auto& [k, v] : ScanAll(p)) {
        EXPECT_TRUE(joined.emplace(k, v).second) << "a record read by two parts";
      }
    }
    EXPECT_EQ(joined, all);
  }
  ScanSpec one = Spec(Family::kEdge, Tier::kMinute, kM0, kM0 + 3000);
  one.node = c_;
  EXPECT_EQ(store_->SplitScan(one, 2).size(), 1u);  // one node: whole
  one.node.reset();
  EXPECT_EQ(store_->SplitScan(one, 3).size(), 1u);  // fewer than 2 nodes per part: whole
  one.ns = shop_;
  EXPECT_EQ(store_->SplitScan(one, 2).size(), 1u);  // two nodes in shop
  // A lead range reads only its leading nodes.
  ScanSpec none = Spec(Family::kEdge, Tier::kMinute, kM0, kM0 + 3000);
  none.lead_begin = UINT64_MAX - 1;
  EXPECT_TRUE(ScanAll(none).empty());
}

TEST_F(EdgeStoreTest, MergesAcrossFlushesAndCompaction) {
  ASSERT_TRUE(store_->ApplyFlush(StandardBatch(1)).ok());
  ASSERT_TRUE(store_->ApplyFlush(StandardBatch(2)).ok());
  auto check = [&] {
    Seen hours = ScanAll(Spec(Family::kEdge, Tier::kHour, kH0, kH0 + 1));
    EXPECT_EQ(hours[std::make_tuple(kH0, a_, b_)], std::make_pair(uint64_t{26}, uint64_t{4}));
    ScanSpec no_sketch = Spec(Family::kDetail, Tier::kDay, kD0, kD0 + 1);
    no_sketch.need_sketches = false;
    Seen days = ScanAll(no_sketch);
    EXPECT_EQ(days[std::make_tuple(kD0, a_, b_)], std::make_pair(uint64_t{36}, uint64_t{4}));
  };
  check();
  ASSERT_TRUE(store_->CompactAll().ok());
  check();
  int visits = 0;
  ASSERT_TRUE(store_
                  ->Scan(Spec(Family::kEdge, Tier::kMinute, 0, kM0 * 2),
                         [&](int64_t, const EdgeDims&, const RollupValue&) {
                           ++visits;
                           return false;
                         })
                  .ok());
  EXPECT_EQ(visits, 1);
  EXPECT_NE(metrics_.RenderPrometheus().find("ew_storage_flushes_total 2"), std::string::npos);
}

Exemplar Ex(uint8_t id, bool error, uint32_t dur) {
  Exemplar e;
  e.trace_id[15] = id;
  e.error = error;
  e.duration_us = dur;
  e.start_ms = kM0 * 60'000 + id;
  e.status = error ? 503 : 200;
  return e;
}

TEST_F(EdgeStoreTest, ExemplarsNewestMinuteFirstRoleHoldersNewestFirst) {
  FlushBatch b;
  auto r0 = MakeRollup(kM0, a_, b_, 10, 1, 1000, x_, 200);
  r0.value.exemplars = {Ex(1, false, 100), Ex(2, false, 900)};
  auto r0b = MakeRollup(kM0, a_, b_, 3, 1, 1000, y_, 500);  // same edge+minute, another path
  r0b.value.exemplars = {Ex(3, true, 5), Ex(4, false, 50), Ex(5, false, 10)};
  auto r1 = MakeRollup(kM0 + 1, a_, b_, 1, 0, 1000, x_, 200);
  r1.value.exemplars = {Ex(6, false, 7)};
  auto other = MakeRollup(kM0 + 1, a_, c_, 1, 0, 1000);
  other.value.exemplars = {Ex(7, false, 7)};
  b.rollups = {r0, r0b, r1, other};
  ASSERT_TRUE(store_->ApplyFlush(b).ok());
  FlushBatch later;  // a later flush merges into the same minute
  auto r0c = MakeRollup(kM0, a_, b_, 1, 1, 1000, x_, 500);
  r0c.value.exemplars = {Ex(8, true, 9999)};
  later.rollups = {r0c};
  ASSERT_TRUE(store_->ApplyFlush(later).ok());

  std::vector<std::pair<int64_t, int>> got;
  ASSERT_TRUE(store_
                  ->ScanExemplars(a_, b_, kM0, kM0 + 10,
                                  [&](int64_t minute, const Exemplar& e) {
                                    got.emplace_back(minute, e.trace_id[15]);
                                    return true;
                                  })
                  .ok());
  // kM0: newest and slowest error 8, newest success 5, slowest success 2.
  std::vector<std::pair<int64_t, int>> want = {{kM0 + 1, 6}, {kM0, 8}, {kM0, 5}, {kM0, 2}};
  EXPECT_EQ(got, want);
  got.clear();
  ASSERT_TRUE(store_
                  ->ScanExemplars(a_, b_, kM0, kM0 + 1,
                                  [&](int64_t minute, const Exemplar& e) {
                                    got.emplace_back(minute, e.trace_id[15]);
                                    return got.size() < 2;
                                  })
                  .ok());
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, int>>{{kM0, 8}, {kM0, 5}}));
  got.clear();
  ASSERT_TRUE(store_
                  ->ScanExemplars(b_, a_, 0, kM0 * 2,
                                  [&](int64_t, const Exemplar&) {
                                    got.emplace_back(0, 0);
                                    return true;
                                  })
                  .ok());
  EXPECT_TRUE(got.empty());
}

TEST_F(EdgeStoreTest, ExpirySumsPerKindAndRange) {
  FlushBatch b;
  b.expiries = {{a_, kM0, ExpiryKind::kClientHalf, 3},
                {a_, kM0, ExpiryKind::kClientHalf, 2},
                {a_, kM0 + 1, ExpiryKind::kServerHalf, 4},
                {a_, kM0 + 9, ExpiryKind::kEvicted, 1},
                {b_, kM0, ExpiryKind::kClientHalf, 100}};
  ASSERT_TRUE(store_->ApplyFlush(b).ok());
  b.expiries = {{a_, kM0, ExpiryKind::kClientHalf, 1}};
  ASSERT_TRUE(store_->ApplyFlush(b).ok());
  auto all = store_->SumExpiries(a_, kM0, kM0 + 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::array<uint64_t, 3>{6, 4, 1}));
  EXPECT_EQ(*store_->SumExpiries(a_, kM0 + 1, kM0 + 9), (std::array<uint64_t, 3>{0, 4, 0}));
  EXPECT_EQ(*store_->SumExpiries(c_, 0, kM0 * 2), (std::array<uint64_t, 3>{0, 0, 0}));
}

TEST_F(EdgeStoreTest, PendingStateAndLogPosition) {
  EXPECT_EQ(store_->FlushedLogPosition(), 0u);
  FlushBatch b;
  b.pending_puts = {{"k1", "v1"}, {"k2", "v2"}, {"k3", "v3"}};
  b.log_position = 4096;
  ASSERT_TRUE(store_->ApplyFlush(b).ok());
  EXPECT_EQ(store_->FlushedLogPosition(), 4096u);
  FlushBatch c;
  c.pending_puts = {{"k4", "v4"}, {"k5", "v5"}};
  c.pending_deletes = {"k1", "k5"};  // k5 added and removed since the last flush
  c.log_position = 9000;
  ASSERT_TRUE(store_->ApplyFlush(c).ok());
  std::map<std::string, std::string> pending;
  ASSERT_TRUE(store_
                  ->LoadPending([&](std::string_view k, std::string_view v) {
                    pending.emplace(std::string(k), std::string(v));
                  })
                  .ok());
  EXPECT_EQ(pending,
            (std::map<std::string, std::string>{{"k2", "v2"}, {"k3", "v3"}, {"k4", "v4"}}));
  EXPECT_EQ(store_->FlushedLogPosition(), 9000u);
  EXPECT_EQ(store_->Stats().flushed_log_position, 9000u);
}

}  // namespace
}  // namespace ew::storage
