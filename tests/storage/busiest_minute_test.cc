// The busiest minute of hour and day rollups (docs/format/storage.md, "The busiest minute"):
// random traffic over three days whose minutes arrive split over several flushes, out of order,
// with compactions in between; every hour and day record of the edge and client families must
// report the peak, its minute and the minute counts of a brute-force ledger — also after a full
// compaction, after reopening, and (day records) once collapsed past the exactness window.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

using testing::MakeRollup;
using testing::TempDir;

constexpr int64_t kM0 = 20'000LL * 1440;  // a day-aligned minute
constexpr int64_t kMinutes = 3 * 1440;

// (family, tier, time, leading node, peer) -> minute -> requests
using Key = std::tuple<int, int, int64_t, NodeId, NodeId>;
using Ledger = std::map<Key, std::map<int64_t, uint64_t>>;

class BusiestMinuteTest : public ::testing::Test {
 protected:
  void Open(int64_t now_ms) {
    store_.reset();
    StoreOptions o;
    o.dir = dir_.Sub("db");
    o.fixed_now_ms = now_ms;
    auto s = EdgeStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  // Checks every hour and day record against the ledger; with collapsed, the day records keep
  // their peak only.
  void Check(bool days_collapsed) {
    for (Family f : {Family::kEdge, Family::kEdgeByClient}) {
      for (Tier t : {Tier::kHour, Tier::kDay}) {
        const int64_t unit = TierUnitMinutes(t);
        ScanSpec spec;
        spec.family = f;
        spec.tier = t;
        spec.start = kM0 / unit;
        spec.end = (kM0 + kMinutes) / unit;
        spec.need_minute_counts = true;
        size_t records = 0;
        Status s = store_->Scan(spec, [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
          const NodeId lead = f == Family::kEdge ? d.server : d.client;
          const NodeId peer = f == Family::kEdge ? d.client : d.server;
          const auto& minutes =
              ledger_.at({static_cast<int>(f), static_cast<int>(t), time, lead, peer});
          uint64_t peak = 0;
          int64_t peak_minute = 0;
          std::vector<std::pair<uint16_t, uint64_t>> counts;
          for (const auto& [m, n] : minutes) {
            if (n > peak) peak = n, peak_minute = m;
            counts.emplace_back(static_cast<uint16_t>(m - time * unit), n);
          }
          EXPECT_EQ(v.peak_requests, peak) << time;
          EXPECT_EQ(v.peak_minute, peak_minute) << time;
          if (t == Tier::kDay && days_collapsed) {
            EXPECT_TRUE(v.minute_counts.empty());
          } else {
            EXPECT_EQ(v.minute_counts, counts) << time;
          }
          ++records;
          return true;
        });
        ASSERT_TRUE(s.ok()) << s.ToString();
        size_t want = 0;
        for (const auto& [k, m] : ledger_) {
          want += std::get<0>(k) == static_cast<int>(f) && std::get<1>(k) == static_cast<int>(t);
        }
        EXPECT_EQ(records, want);
      }
    }
  }

  TempDir dir_;
  std::unique_ptr<EdgeStore> store_;
  Ledger ledger_;
};

TEST_F(BusiestMinuteTest, HourAndDayPeaksAreExactHoweverMinutesAreSplitAcrossFlushes) {
  Open((kM0 + kMinutes) * 60'000);
  std::vector<NodeId> nodes;
  for (int i = 0; i < 300; ++i) {  // ids past 255
    nodes.push_back(*store_->InternNode(NodeKind::kService, "ns", "svc-" + std::to_string(i)));
  }
  std::mt19937_64 rng(99);
  // 40 edges between nodes with ids past 255 and others; each busy minute's requests are split
  // into up to 4 parts that go into different, shuffled flushes.
  std::vector<std::pair<NodeId, NodeId>> edges;
  for (int e = 0; e < 40; ++e) edges.emplace_back(nodes[rng() % 300], nodes[250 + rng() % 50]);
  std::vector<MinuteRollup> parts;
  for (int64_t m = kM0; m < kM0 + kMinutes; m += 1 + static_cast<int64_t>(rng() % 7)) {
    for (const auto& [client, server] : edges) {
      if (rng() % 3 != 0) continue;
      const uint64_t n = 1 + rng() % 200;
      uint64_t left = n;
      for (int p = 0; left > 0; ++p) {
        const uint64_t part = p == 3 ? left : 1 + rng() % left;
        parts.push_back(
            MakeRollup(m, client, server, part, 0, 1000.0 + static_cast<double>(rng() % 9000)));
        left -= part;
      }
      for (Tier t : {Tier::kHour, Tier::kDay}) {
        const int64_t time = m / TierUnitMinutes(t);
        ledger_[{0, static_cast<int>(t), time, server, client}][m] += n;
        ledger_[{1, static_cast<int>(t), time, client, server}][m] += n;
      }
    }
  }
  std::shuffle(parts.begin(), parts.end(), rng);
  uint64_t position = 0;
  for (size_t i = 0; i < parts.size();) {
    FlushBatch b;
    for (size_t k = 0; k < 97 && i < parts.size(); ++k) b.rollups.push_back(parts[i++]);
    b.log_position = ++position;
    ASSERT_TRUE(store_->ApplyFlush(b).ok());
    if (position % 50 == 0) {
      ASSERT_TRUE(store_->CompactAll().ok());  // operands and merged values mix
    }
  }
  Check(false);
  ASSERT_TRUE(store_->CompactAll().ok());
  Check(false);
  // Reopened 20 days later: the days are past the minute retention (14 days), and a compaction
  // collapses the day records to their busiest minute; the hour records keep their counts.
  Open((kM0 + kMinutes + 20 * 1440) * 60'000);
  Check(false);
  ASSERT_TRUE(store_->CompactAll().ok());
  Check(true);
}

}  // namespace
}  // namespace ew::storage
