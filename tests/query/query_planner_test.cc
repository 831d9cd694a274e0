// Planner tests: which tiers and ranges a time range gets (crossing minute, hour and day
// boundaries), the minute rounding of [start, end), and that every cover is exact and minimal.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "query/planner.h"

namespace ew::query {
namespace {

using storage::Tier;
constexpr int64_t kDay = 1440;

TEST(TierPlannerTest, RaggedMinutesOnly) {
  EXPECT_EQ(CoverMinutes(10, 50), (std::vector<TierRange>{{Tier::kMinute, 10, 50}}));
  EXPECT_EQ(CoverMinutes(50, 70), (std::vector<TierRange>{{Tier::kMinute, 50, 70}}));
  EXPECT_TRUE(CoverMinutes(5, 5).empty());
  EXPECT_TRUE(CoverMinutes(6, 5).empty());
}

TEST(TierPlannerTest, WholeHoursAndDays) {
  EXPECT_EQ(CoverMinutes(0, 60), (std::vector<TierRange>{{Tier::kHour, 0, 1}}));
  EXPECT_EQ(CoverMinutes(120, 300), (std::vector<TierRange>{{Tier::kHour, 2, 5}}));
  EXPECT_EQ(CoverMinutes(kDay, 8 * kDay), (std::vector<TierRange>{{Tier::kDay, 1, 8}}));
}

TEST(TierPlannerTest, CrossingHourBoundaries) {
  EXPECT_EQ(CoverMinutes(30, 150),
            (std::vector<TierRange>{
                {Tier::kMinute, 30, 60}, {Tier::kHour, 1, 2}, {Tier::kMinute, 120, 150}}));
  EXPECT_EQ(CoverMinutes(59, 121),
            (std::vector<TierRange>{
                {Tier::kMinute, 59, 60}, {Tier::kHour, 1, 2}, {Tier::kMinute, 120, 121}}));
}

TEST(TierPlannerTest, CrossingDayBoundaries) {
  EXPECT_EQ(CoverMinutes(kDay - 10, 2 * kDay + 90),
            (std::vector<TierRange>{{Tier::kMinute, kDay - 10, kDay},
                                    {Tier::kDay, 1, 2},
                                    {Tier::kHour, 48, 49},
                                    {Tier::kMinute, 2 * kDay + 60, 2 * kDay + 90}}));
  // 22:30 to 01:30 next day: no whole day, hours on both sides of midnight.
  EXPECT_EQ(CoverMinutes(kDay - 90, kDay + 90), (std::vector<TierRange>{
                                                    {Tier::kMinute, kDay - 90, kDay - 60},
                                                    {Tier::kHour, 23, 25},
                                                    {Tier::kMinute, kDay + 60, kDay + 90},
                                                }));
  // A 90-day range ending mid-hour.
  auto c = CoverMinutes(100 * kDay - 7, 190 * kDay + 61);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0], (TierRange{Tier::kMinute, 100 * kDay - 7, 100 * kDay}));
  EXPECT_EQ(c[1], (TierRange{Tier::kDay, 100, 190}));
  EXPECT_EQ(c[2], (TierRange{Tier::kHour, 190 * 24, 190 * 24 + 1}));
  EXPECT_EQ(c[3], (TierRange{Tier::kMinute, 190 * kDay + 60, 190 * kDay + 61}));
}

TEST(TierPlannerTest, EveryCoverIsExactAndMinimal) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    int64_t s = static_cast<int64_t>(rng() % (20 * kDay));
    int64_t e = s + 1 + static_cast<int64_t>(rng() % (10 * kDay));
    auto cover = CoverMinutes(s, e);
    int64_t at = s;
    int64_t records = 0;
    for (const auto& r : cover) {
      int64_t unit = storage::TierUnitMinutes(r.tier);
      ASSERT_LT(r.start, r.end);
      ASSERT_EQ(r.start * unit, at) << s << ".." << e;
      at = r.end * unit;
      records += r.end - r.start;
    }
    ASSERT_EQ(at, e);
    // Minimal: the greedy count equals the count from aligned boundaries.
    int64_t d0 = (s + kDay - 1) / kDay, d1 = e / kDay;
    if (d0 < d1) {
      int64_t left = d0 * kDay - s, right = e - d1 * kDay;
      int64_t expect = (d1 - d0) + left / 60 + left % 60 + right / 60 + right % 60;
      ASSERT_EQ(records, expect) << s << ".." << e;
    }
    ASSERT_LE(cover.size(), 5u);
  }
}

TEST(TierPlannerTest, MinuteRounding) {
  EXPECT_EQ(MinuteRange(60'000, 120'000), (std::pair<int64_t, int64_t>{1, 2}));
  EXPECT_EQ(MinuteRange(61'000, 119'000), (std::pair<int64_t, int64_t>{1, 2}));
  EXPECT_EQ(MinuteRange(60'000, 120'001), (std::pair<int64_t, int64_t>{1, 3}));
  EXPECT_EQ(MinuteRange(-1, 1), (std::pair<int64_t, int64_t>{-1, 1}));
}

}  // namespace
}  // namespace ew::query
