// /api/v1/capacity and the series' peak_rate_per_s over ranges of the minute tier, against the
// ledger's model (capacity_ledger.h); and the endpoint's 400s.
#include "tests/capacity/capacity_ledger.h"

#include <gtest/gtest.h>

#include "base/time.h"
#include "tools/ctl_capacity.h"
#include "tools/ctl_render.h"

namespace ew::query::testing {
namespace {

constexpr int64_t kNow = CapacityLedgerTest::kNowMinute;

auto All() {
  return [](const LedgerRec&) { return true; };
}

class CapacityMinuteTierTest : public CapacityLedgerTest {
 protected:
  void SetUp() override {
    CapacityLedgerTest::SetUp();
    Fill({{kNow - 6 * 60, kNow, 0.5}});
  }
};

TEST_F(CapacityMinuteTierTest, EveryFigureMatchesTheLedger) {
  ExpectCapacity("", All(), kNow - 6 * 60, kNow, "10m", 10);
  ExpectCapacity("", All(), kNow - 60, kNow, "1m", 1);
  // Steps of 7 minutes cross the hours (the scan's time blocks) and start off the range.
  ExpectCapacity("", All(), kNow - 6 * 60 + 13, kNow - 5, "7m", 7);
}

TEST_F(CapacityMinuteTierTest, FilteredFiguresMatchTheLedger) {
  ExpectCapacity(
      "server.namespace = ns-1", [&](const LedgerRec& r) { return Ns(r.server) == "ns-1"; },
      kNow - 3 * 60, kNow, "15m", 15);
  // A client-side filter still sums each service's incoming minutes (server-ordered family).
  ExpectCapacity(
      "client.service.name in (svc-3, svc-4)",
      [&](const LedgerRec& r) { return Name(r.client) == "svc-3" || Name(r.client) == "svc-4"; },
      kNow - 3 * 60, kNow, "20m", 20);
  // The detailed family: several records of one edge in one minute.
  ExpectCapacity(
      "path =~ \"^/a\"", [](const LedgerRec& r) { return r.path.rfind("/a", 0) == 0; },
      kNow - 2 * 60, kNow, "5m", 5);
  ExpectCapacity(
      "status >= 500", [](const LedgerRec& r) { return r.status >= 500; }, kNow - 2 * 60, kNow,
      "30m", 30);
}

TEST_F(CapacityMinuteTierTest, SeriesPeakRateMatchesTheLedger) {
  ExpectSeriesPeaks({{"query", "protocol != other"}}, All(), kNow - 6 * 60, kNow, 10);
  ExpectSeriesPeaks(
      {{"query", "server.namespace = ns-2"}},
      [&](const LedgerRec& r) { return Ns(r.server) == "ns-2"; }, kNow - 60, kNow, 1);
  // One edge with two protocols: two records in some minutes.
  const LedgerRec* grpc = nullptr;
  for (const LedgerRec& r : recs_) {
    if (r.protocol == storage::Protocol::kGrpc) grpc = &r;
  }
  ASSERT_NE(grpc, nullptr);
  const NodeId c = grpc->client, s = grpc->server;
  ExpectSeriesPeaks(
      {{"source", Id(c)}, {"target", Id(s)}},
      [&](const LedgerRec& r) { return r.client == c && r.server == s; }, kNow - 4 * 60, kNow, 5);
  // A filter on error selects part of the records: the minute tier still knows each minute.
  ExpectSeriesPeaks(
      {{"query", "error = true"}}, [](const LedgerRec& r) { return r.errors > 0; }, kNow - 2 * 60,
      kNow, 10);
}

TEST_F(CapacityMinuteTierTest, ErrorFilterInHourStepsHasNoKnownPeak) {
  // Hour records hold one busiest minute for all their requests: the errors' is unknown.
  Json j =
      Get("/api/v1/edge/series", {{"query", "error = true"}, {"start", "now-5h"}, {"step", "1h"}});
  ASSERT_GE(j["points"].Size(), 5u);
  size_t unknown = 0;
  for (const Json& p : j["points"].Elements()) {
    if (p["requests"].Uint() == 0) {
      EXPECT_EQ(p["peak_rate_per_s"].Double(-1), 0.0);
    } else {
      EXPECT_TRUE(p["peak_rate_per_s"].IsNull()) << p.Dump();
      ++unknown;
    }
  }
  EXPECT_GT(unknown, 0u);
}

TEST_F(CapacityLedgerTest, BadRequestsAreClear400s) {
  struct Case {
    std::map<std::string, std::string> params;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"step", "abc"}}, "step must be a whole number of minutes"},
      {{{"step", "30s"}}, "step must be a whole number of minutes"},
      {{{"step", "0m"}}, "step must be a whole number of minutes"},
      {{{"step", "-1d"}}, "step must be a whole number of minutes"},
      {{{"step", "10000d"}}, "step must be a whole number of minutes"},
      // The minute tier keeps 14 days, the hour tier 180.
      {{{"step", "1m"}, {"start", "now-20d"}}, "too many steps"},
      {{{"step", "5m"}, {"start", "now-20d"}},
       "step 5m reads the minute tier, which keeps data from"},
      {{{"step", "1h"}, {"start", "now-200d"}}, "reads the hour tier"},
      {{{"step", "1d"}, {"start", "now-2000d"}}, "reads the day tier"},
      {{{"query", "error = true"}}, "cannot filter on error"},
      {{{"top", "-1"}}, "top must be an integer"},
      {{{"stepp", "1d"}}, "unknown parameter 'stepp'"},
      {{{"query", "server.namespace = "}}, ""},
      {{{"start", "now"}, {"end", "now-1h"}}, "start must be before end"},
  };
  for (const Case& c : cases) {
    ApiResponse r = Raw("/api/v1/capacity", c.params);
    EXPECT_EQ(r.http_status, 400) << r.body;
    auto j = Json::Parse(r.body);
    ASSERT_TRUE(j.ok()) << r.body;
    EXPECT_NE((*j)["error"].String().find(c.message), std::string::npos) << r.body;
  }
}

TEST_F(CapacityLedgerTest, EmptyStoreAnswersEmptyLists) {
  Json j = Get("/api/v1/capacity", {{"start", "now-3d"}});
  EXPECT_EQ(j["step_s"].Int(), 86400);
  EXPECT_EQ(j["tier"].String(), "day");
  EXPECT_EQ(j["services"].Size(), 0u);
  EXPECT_EQ(j["edges"].Size(), 0u);
  // A client-side filter reads the server-ordered family: one range of the step's tier.
  Json plan = Get("/api/v1/capacity", {{"start", "now-2d"},
                                       {"step", "6h"},
                                       {"query", "client.service.name = svc-3"},
                                       {"explain", "true"}})["plan"];
  EXPECT_EQ(plan["family"].String(), "edge");
  ASSERT_EQ(plan["ranges"].Size(), 1u);
  EXPECT_EQ(plan["ranges"][0]["tier"].String(), "hour");
}

}  // namespace
}  // namespace ew::query::testing
