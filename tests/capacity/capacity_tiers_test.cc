// /api/v1/capacity and the series' peak_rate_per_s over ranges of the hour and day tiers,
// against the ledger's model (capacity_ledger.h). Needs the busiest minute inside hour and day
// rollups (storage format v2): registered disabled until then (tests/capacity/CMakeLists.txt).
#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "tests/capacity/capacity_ledger.h"

namespace ew::query::testing {
namespace {

constexpr int64_t kNow = CapacityLedgerTest::kNowMinute;
constexpr int64_t kDay = 1440;

class CapacityTiersTest : public CapacityLedgerTest {
 protected:
  void SetUp() override {
    CapacityLedgerTest::SetUp();
    // Hours of the last 12 days (sparse), days of the 130 before (sparser).
    Fill({{kNow - 130 * kDay, kNow - 20 * kDay, 0.004}, {kNow - 12 * kDay, kNow - 2 * kDay, 0.03}});
  }
};

TEST_F(CapacityTiersTest, HourTierMatchesTheLedger) {
  auto all = [](const LedgerRec&) { return true; };
  ExpectCapacity("", all, kNow - 11 * kDay, kNow - 3 * kDay, "1h", 60);
  ExpectCapacity(
      "server.namespace = ns-0", [&](const LedgerRec& r) { return Ns(r.server) == "ns-0"; },
      kNow - 11 * kDay + 17, kNow - 3 * kDay, "6h", 360);
  ExpectSeriesPeaks({{"query", "protocol != other"}}, all, kNow - 5 * kDay, kNow - 3 * kDay, 60);
}

// Day records keep their minute counts while younger than the minute retention (14 days): every
// busiest minute is exact there.
TEST_F(CapacityTiersTest, DayTierInsideTheMinuteRetentionMatchesTheLedger) {
  auto all = [](const LedgerRec&) { return true; };
  ExpectCapacity("", all, kNow - 12 * kDay, kNow - 2 * kDay, "1d", kDay);
  ExpectCapacity(
      "server.namespace = ns-1", [&](const LedgerRec& r) { return Ns(r.server) == "ns-1"; },
      kNow - 12 * kDay, kNow - 2 * kDay, "2d", 2 * kDay);
  ExpectSeriesPeaks({{"query", "protocol != other"}}, all, kNow - 12 * kDay, kNow - 2 * kDay, kDay);
}

// Older day records hold only their own busiest minute once compacted (docs/format/storage.md),
// and detail-family hour and day records none: such a step's peak is null unless one record
// makes it, and every peak given is still exact.
TEST_F(CapacityTiersTest, OlderDaysAndDetailFiltersGiveExactOrNullPeaks) {
  ASSERT_TRUE(store_->CompactAll().ok());
  auto all = [](const LedgerRec&) { return true; };
  ExpectCapacity("", all, kNow - 125 * kDay, kNow - 21 * kDay, "1d", kDay, true);
  ExpectCapacity("", all, kNow - 125 * kDay, kNow - 21 * kDay, "7d", 7 * kDay, true);
  ExpectCapacity(
      "path =~ \"^/a\"", [](const LedgerRec& r) { return r.path.rfind("/a", 0) == 0; },
      kNow - 12 * kDay, kNow - 2 * kDay, "1d", kDay, true);
  // An edge with one protocol has one record per day: its old peaks stay exact.
  std::set<std::pair<NodeId, NodeId>> two;
  for (const LedgerRec& r : recs_) {
    if (r.protocol == storage::Protocol::kGrpc) two.emplace(r.client, r.server);
  }
  const LedgerRec* one = nullptr;
  for (const LedgerRec& r : recs_) {
    if (!two.count({r.client, r.server}) && r.protocol == storage::Protocol::kHttp) one = &r;
  }
  ASSERT_NE(one, nullptr);
  const NodeId c = one->client, s = one->server;
  ExpectSeriesPeaks(
      {{"source", Id(c)}, {"target", Id(s)}},
      [&](const LedgerRec& r) { return r.client == c && r.server == s; }, kNow - 125 * kDay,
      kNow - 21 * kDay, kDay);
}

}  // namespace
}  // namespace ew::query::testing
