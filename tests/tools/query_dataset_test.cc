// The query benchmark's data set (tools/query_dataset.h) at a small size with all four ages of
// history (minute tier, hour + day, day only, past every retention): each tier holds exactly the
// days a store of that age keeps, the bulk-loaded store compacts into the store that ApplyFlush
// of everything leaves (every record of every tier and family, and the exemplars), and the
// generator is deterministic in its seed.
#include "tools/query_dataset.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/storage/store_test_util.h"

namespace ew::tools {
namespace {

using storage::Family;
using storage::Tier;
using storage::testing::DumpTier;
using storage::testing::TempDir;

constexpr Family kFamilies[] = {Family::kEdge, Family::kEdgeByClient, Family::kDetail};
constexpr Tier kTiers[] = {Tier::kMinute, Tier::kHour, Tier::kDay};
constexpr int64_t kDayMs = 86'400'000;

QueryDatasetOptions Small(uint64_t seed, bool bulk) {
  QueryDatasetOptions o;
  o.services = 30;
  o.namespaces = 3;
  o.hot_edges = 15;  // 300 edges
  o.dense_minutes = 60;
  o.history_days = 2;
  o.archive_days = 200;
  o.sampled_requests = 100;
  o.seed = seed;
  o.bulk_history = bulk;
  return o;
}

struct Generated {
  std::unique_ptr<storage::EdgeStore> store;
  QueryDatasetInfo info;
};

// Retention: minutes 14 days, hours 180 days (the defaults), days 190 days (so the archive's
// oldest 10 days are past every retention).
Generated Generate(const std::string& dir, const QueryDatasetOptions& o) {
  storage::StoreOptions so;
  so.dir = dir;
  so.fixed_now_ms = o.now_minute * 60'000;
  so.retention_ms[2] = 190 * kDayMs;
  auto store = storage::EdgeStore::Open(so);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  Generated g;
  g.store = std::move(*store);
  auto info = GenerateQueryDataset(g.store.get(), o);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  g.info = *info;
  return g;
}

std::vector<std::string> Dump(const storage::EdgeStore& store, Family f, Tier t) {
  return DumpTier(store, f, t, QueryDatasetOptions().now_minute);
}

// The oldest and newest time (minutes) of a tier's records.
std::pair<int64_t, int64_t> TimeRange(const storage::EdgeStore& store, Family f, Tier t) {
  storage::ScanSpec spec;
  spec.family = f;
  spec.tier = t;
  spec.end = INT32_MAX;
  spec.need_sketches = false;
  std::pair<int64_t, int64_t> range{INT64_MAX, INT64_MIN};
  EXPECT_TRUE(store
                  .Scan(spec,
                        [&](int64_t time, const storage::EdgeDims&, const storage::RollupValue&) {
                          const int64_t minute = time * storage::TierUnitMinutes(t);
                          range = {std::min(range.first, minute), std::max(range.second, minute)};
                          return true;
                        })
                  .ok());
  return range;
}

TEST(QueryDataset, EachTierHoldsTheDaysAStoreOfThatAgeKeeps) {
  TempDir dir;
  const QueryDatasetOptions o = Small(1, true);
  Generated g = Generate(dir.Sub("bulk"), o);  // not compacted: what was written
  const int64_t now = o.now_minute;
  for (Family f : kFamilies) {
    SCOPED_TRACE(static_cast<int>(f));
    // Minute tier: the history, and archive days back to 14 days (whole hours).
    auto [m_first, m_last] = TimeRange(*g.store, f, Tier::kMinute);
    EXPECT_GE(m_first, (now - 14 * 1440) / 60 * 60);
    EXPECT_LT(m_first, now - 13 * 1440);
    EXPECT_EQ(m_last, now - 1);
    // Hour tier: back to 180 days, not further.
    auto [h_first, h_last] = TimeRange(*g.store, f, Tier::kHour);
    EXPECT_GE(h_first, (now - 180 * 1440) / 60 * 60);
    EXPECT_LT(h_first, now - 179 * 1440);
    EXPECT_EQ(h_last, (now - 1) / 60 * 60);
    // Day tier: back to 190 days, not further.
    auto [d_first, d_last] = TimeRange(*g.store, f, Tier::kDay);
    EXPECT_GE(d_first, (now - 190 * 1440) / 1440 * 1440);
    EXPECT_LT(d_first, now - 189 * 1440);
    EXPECT_EQ(d_last, now / 1440 * 1440);
  }
  EXPECT_EQ(g.info.edges, 300u);
}

TEST(QueryDataset, BulkHistoryCompactsIntoTheStoreApplyFlushOfEverythingLeaves) {
  TempDir dir;
  Generated bulk = Generate(dir.Sub("bulk"), Small(1, true));
  Generated all = Generate(dir.Sub("all"), Small(1, false));
  EXPECT_LT(bulk.info.rollups, all.info.rollups);  // the days past every retention are skipped
  // Twice: a day record past the minute retention keeps its minute counts until a compaction
  // finds it fully merged (docs/format/storage.md "Exactness window"), which depends on the
  // compactions before; after the first CompactAll every record is.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(bulk.store->CompactAll().ok());
    ASSERT_TRUE(all.store->CompactAll().ok());
  }
  for (Family f : kFamilies) {
    for (Tier t : kTiers) {
      SCOPED_TRACE(std::to_string(static_cast<int>(f)) + "/" + std::to_string(static_cast<int>(t)));
      const auto want = Dump(*all.store, f, t);
      EXPECT_GT(want.size(), 1000u);
      EXPECT_EQ(Dump(*bulk.store, f, t), want);
    }
  }
  // Exemplars: the same on every edge (only the last 14 days keep any).
  const int64_t now = QueryDatasetOptions().now_minute;
  size_t exemplars = 0;
  using Seen = std::vector<std::pair<int64_t, storage::Exemplar>>;
  auto exemplars_of = [&](const storage::EdgeStore& store, storage::NodeId client,
                          storage::NodeId server) {
    Seen out;
    EXPECT_TRUE(store
                    .ScanExemplars(client, server, 0, now,
                                   [&](int64_t m, const storage::Exemplar& x) {
                                     out.emplace_back(m, x);
                                     return true;
                                   })
                    .ok());
    return out;
  };
  const auto nodes = all.store->ListNodes();
  for (const auto& client : nodes) {
    for (const auto& server : nodes) {
      const Seen want = exemplars_of(*all.store, client.first, server.first);
      EXPECT_EQ(exemplars_of(*bulk.store, client.first, server.first), want);
      exemplars += want.size();
    }
  }
  EXPECT_GT(exemplars, 300u);
}

TEST(QueryDataset, DeterministicInItsSeed) {
  TempDir dir;
  Generated a = Generate(dir.Sub("a"), Small(1, true));
  Generated b = Generate(dir.Sub("b"), Small(1, true));
  Generated c = Generate(dir.Sub("c"), Small(2, true));
  EXPECT_EQ(a.info.rollups, b.info.rollups);
  EXPECT_EQ(a.info.requests, b.info.requests);
  EXPECT_NE(a.info.requests, c.info.requests);
  for (Family f : kFamilies) {
    for (Tier t : kTiers) {
      const auto want = Dump(*a.store, f, t);
      EXPECT_EQ(Dump(*b.store, f, t), want);
      EXPECT_NE(Dump(*c.store, f, t), want);
    }
  }
}

}  // namespace
}  // namespace ew::tools
