// /api/v1/capacity and the series' peak_rate_per_s over ranges of the hour and day tiers,
// against the ledger's model (capacity_ledger.h). Needs the busiest minute inside hour and day
// rollups (storage format v2): registered disabled until then (tests/capacity/CMakeLists.txt).
#include <gtest/gtest.h>

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

TEST_F(CapacityTiersTest, DayTierMatchesTheLedger) {
  auto all = [](const LedgerRec&) { return true; };
  ExpectCapacity("", all, kNow - 125 * kDay, kNow - 21 * kDay, "1d", kDay);
  ExpectCapacity(
      "path =~ \"^/a\"", [](const LedgerRec& r) { return r.path.rfind("/a", 0) == 0; },
      kNow - 125 * kDay, kNow - 21 * kDay, "7d", 7 * kDay);
  ExpectSeriesPeaks({{"query", "protocol != other"}}, all, kNow - 100 * kDay, kNow - 21 * kDay,
                    kDay);
  const LedgerRec& r0 = recs_.front();
  ExpectSeriesPeaks(
      {{"source", Id(r0.client)}, {"target", Id(r0.server)}},
      [&](const LedgerRec& r) { return r.client == r0.client && r.server == r0.server; },
      kNow - 125 * kDay, kNow - 21 * kDay, kDay);
}

}  // namespace
}  // namespace ew::query::testing
