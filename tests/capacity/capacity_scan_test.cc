// CapacityScan on hour- and day-tier records as storage hands them over (per-minute counts inside
// each record, several records per server, client and unit), in key order, against a brute-force
// model: requests, errors and every step's busiest minute. Independent of how the store keeps the
// busiest minutes, so it runs before the hour and day tiers hold them.
#include "query/capacity_scan.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "storage/edge_store.h"

namespace ew::query {
namespace {

struct Record {
  int64_t unit_start = 0;
  storage::EdgeDims dims;
  storage::RollupValue value;
};

// Records of `servers` servers with up to 6 clients each over `units` units of `unit` minutes
// from `start`, in the store's key order (server, unit, client, protocol); sparse minute counts.
std::vector<Record> MakeRecords(std::mt19937_64& rng, int servers, int64_t start, int64_t units,
                                int64_t unit) {
  std::vector<Record> out;
  for (int s = 0; s < servers; ++s) {
    for (int64_t u = 0; u < units; ++u) {
      if (rng() % 4 == 0) continue;  // a unit without traffic
      for (storage::NodeId c = 1; c <= 6; ++c) {
        if (rng() % 3 == 0) continue;
        for (uint8_t p = 0; p < (c == 1 ? 2 : 1); ++p) {  // client 1 also over a second protocol
          Record r;
          r.unit_start = start + u * unit;
          r.dims.server = 1000 + static_cast<storage::NodeId>(s) * 70000;  // ids past 65,535
          r.dims.client = c + 300;
          r.dims.protocol = static_cast<storage::Protocol>(p);
          for (int64_t m = 0; m < unit; ++m) {
            if (rng() % 5 != 0) continue;
            const uint64_t n = 1 + rng() % 40;
            r.value.minute_counts.emplace_back(static_cast<uint16_t>(m), n);
            r.value.requests += n;
          }
          if (r.value.requests == 0) continue;
          r.value.errors = rng() % 3 == 0 ? r.value.requests / 7 : 0;
          out.push_back(std::move(r));
        }
      }
    }
  }
  return out;
}

void ExpectMatchesModel(const std::vector<Record>& records, int64_t s, int64_t step, size_t steps,
                        int64_t unit) {
  CapacityScan scan(s, step, steps, std::max<int64_t>(60, unit), 1'000'000);
  for (const Record& r : records) {
    ASSERT_TRUE(scan.Add(r.unit_start, r.dims, r.value, r.value.requests, r.value.errors).ok());
  }
  scan.Finish();
  // The model: per group (client 0: the service) and minute, the summed requests.
  using Group = std::pair<storage::NodeId, storage::NodeId>;
  std::map<std::tuple<Group, int64_t>, uint64_t> minutes;
  std::map<Group, std::vector<std::pair<uint64_t, uint64_t>>> counts;  // per step: req, errors
  for (const Record& r : records) {
    for (Group g : {Group{0, r.dims.server}, Group{r.dims.client, r.dims.server}}) {
      auto& c = counts[g];
      c.resize(steps);
      c[static_cast<size_t>((r.unit_start - s) / step)].first += r.value.requests;
      c[static_cast<size_t>((r.unit_start - s) / step)].second += r.value.errors;
      for (const auto& [offset, n] : r.value.minute_counts) {
        minutes[{g, r.unit_start + offset}] += n;
      }
    }
  }
  std::map<Group, std::vector<MinutePeak>> peaks;
  for (const auto& [key, n] : minutes) {
    auto& p = peaks[std::get<0>(key)];
    p.resize(steps);
    const int64_t minute = std::get<1>(key);
    MinutePeak& cell = p[static_cast<size_t>((minute - s) / step)];
    if (n > cell.requests) cell = {n, minute};
  }
  ASSERT_EQ(scan.groups().size(), counts.size());
  for (const CapacityGroup& g : scan.groups()) {
    const Group key{g.client, g.server};
    ASSERT_EQ(counts.count(key), 1u);
    ASSERT_EQ(g.cells.size(), steps);
    for (size_t i = 0; i < steps; ++i) {
      EXPECT_EQ(g.cells[i].requests, counts[key][i].first) << g.client << " step " << i;
      EXPECT_EQ(g.cells[i].errors, counts[key][i].second) << g.client << " step " << i;
      EXPECT_EQ(g.cells[i].peak.requests, peaks[key][i].requests) << g.client << " step " << i;
      if (peaks[key][i].requests > 0) {
        EXPECT_EQ(g.cells[i].peak.minute, peaks[key][i].minute) << g.client << " step " << i;
      }
    }
  }
}

TEST(CapacityScanTest, HourRecordsInStepsOfHoursMatchTheModel) {
  std::mt19937_64 rng(11);
  const int64_t start = 20000LL * 1440;
  const auto records = MakeRecords(rng, 5, start, 48, 60);
  ASSERT_GT(records.size(), 200u);
  for (int64_t step : {60, 120, 360, 4 * 60 + 60}) {
    SCOPED_TRACE("step " + std::to_string(step));
    const size_t steps = static_cast<size_t>((48 * 60 + step - 1) / step);
    ExpectMatchesModel(records, start, step, steps, 60);
  }
}

TEST(CapacityScanTest, DayRecordsInStepsOfDaysMatchTheModel) {
  std::mt19937_64 rng(12);
  const int64_t start = 20000LL * 1440;
  const auto records = MakeRecords(rng, 3, start, 21, 1440);
  ASSERT_GT(records.size(), 100u);
  for (int64_t days : {1, 2, 7}) {
    SCOPED_TRACE("days " + std::to_string(days));
    const int64_t step = days * 1440;
    ExpectMatchesModel(records, start, step, static_cast<size_t>((21 + days - 1) / days), 1440);
  }
}

// A record without minute counts (a compacted old day record: only its own busiest minute) is
// exact alone in its group and unit; summed with another record its peak is unknown.
TEST(CapacityScanTest, RecordsWithoutMinuteCountsGiveTheirPeakOnlyAlone) {
  storage::RollupValue v;
  v.requests = 500;
  v.peak_requests = 40;
  v.peak_minute = 1440 + 77;
  storage::EdgeDims d;
  d.server = 9;
  d.client = 1;
  CapacityScan scan(0, 1440, 3, 1440, 1000);
  ASSERT_TRUE(scan.Add(1440, d, v, 500, 0).ok());
  d.client = 2;
  ASSERT_TRUE(scan.Add(1440, d, v, 500, 0).ok());
  scan.Finish();
  ASSERT_EQ(scan.groups().size(), 3u);  // the service and two edges
  for (const CapacityGroup& g : scan.groups()) {
    const CapacityCell& c = g.cells[1];
    EXPECT_EQ(c.requests, g.client == 0 ? 1000u : 500u);
    if (g.client == 0) {
      EXPECT_FALSE(c.peak_known);  // two callers: the busiest minute of the sum is unknown
    } else {
      EXPECT_TRUE(c.peak_known);
      EXPECT_EQ(c.peak.requests, 40u);
      EXPECT_EQ(c.peak.minute, 1440 + 77);
    }
    EXPECT_TRUE(g.cells[0].peak_known);
  }
}

TEST(CapacityScanTest, RecordsOutOfKeyOrderAreAnErrorNotAWrongFigure) {
  storage::RollupValue v;
  v.requests = 3;
  v.minute_counts = {{0, 3}};
  storage::EdgeDims a, b;
  a.server = 5;
  a.client = 1;
  b.server = 6;
  b.client = 1;
  CapacityScan scan(0, 60, 10, 60, 1000);
  ASSERT_TRUE(scan.Add(120, a, v, 3, 0).ok());
  EXPECT_EQ(scan.Add(60, a, v, 3, 0).code(), StatusCode::kInternal);  // back in time
  CapacityScan again(0, 60, 10, 60, 1000);
  ASSERT_TRUE(again.Add(0, a, v, 3, 0).ok());
  ASSERT_TRUE(again.Add(0, b, v, 3, 0).ok());
  EXPECT_EQ(again.Add(60, a, v, 3, 0).code(), StatusCode::kInternal);  // server a again
}

TEST(CapacityScanTest, MoreFiguresThanTheCapIsResourceExhausted) {
  storage::RollupValue v;
  v.requests = 1;
  v.minute_counts = {{0, 1}};
  CapacityScan scan(0, 1, 10, 60, 25);  // 10 steps: two groups fit, a third does not
  storage::EdgeDims d;
  d.server = 1;
  d.client = 2;
  ASSERT_TRUE(scan.Add(0, d, v, 1, 0).ok());  // the service and one edge
  d.client = 3;
  EXPECT_EQ(scan.Add(0, d, v, 1, 0).code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace ew::query
