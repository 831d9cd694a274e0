#include "base/time.h"

#include <gtest/gtest.h>

namespace ew {
namespace {

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(*ParseDurationMs("10s"), 10'000);
  EXPECT_EQ(*ParseDurationMs("5m"), 300'000);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5'400'000);
  EXPECT_EQ(*ParseDurationMs("7d"), 7 * kMsPerDay);
  EXPECT_EQ(*ParseDurationMs("2w"), 14 * kMsPerDay);
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
  EXPECT_EQ(*ParseDurationMs("-1d"), -kMsPerDay);
  EXPECT_EQ(*ParseDurationMs("0"), 0);
}

TEST(Duration, RejectsGarbage) {
  for (const char* bad : {"", "s", "10", "10x", "1.5h", "abc", "--1s", "99999999999999d"}) {
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
  }
  EXPECT_NE(ParseDurationMs("10x").status().message().find("unknown unit"), std::string::npos);
}

TEST(Duration, Formats) {
  EXPECT_EQ(FormatDurationMs(10'000), "10s");
  EXPECT_EQ(FormatDurationMs(3'600'000), "1h");
  EXPECT_EQ(FormatDurationMs(1500), "1500ms");
}

TEST(Timestamp, Rfc3339) {
  EXPECT_EQ(*ParseTimestampMs("1970-01-01T00:00:00Z", 0), 0);
  EXPECT_EQ(*ParseTimestampMs("2026-11-25T01:00:00Z", 0), 1795568400LL * 1000);
  EXPECT_EQ(*ParseTimestampMs("2026-11-25T02:00:00+01:00", 0), 1795568400LL * 1000);
  EXPECT_EQ(*ParseTimestampMs("2026-11-25T01:00:00.250Z", 0), 1795568400LL * 1000 + 250);
  EXPECT_FALSE(ParseTimestampMs("2026-11-25T01:00:00", 0).ok());
  EXPECT_FALSE(ParseTimestampMs("2026-13-25T01:00:00Z", 0).ok());
}

TEST(Timestamp, UnixAndRelative) {
  const int64_t now = 1795568400LL * 1000;
  EXPECT_EQ(*ParseTimestampMs("1795568400", now), now);
  EXPECT_EQ(*ParseTimestampMs("now", now), now);
  EXPECT_EQ(*ParseTimestampMs("now-15m", now), now - 15 * kMsPerMinute);
  EXPECT_EQ(*ParseTimestampMs("now+5m", now), now + 5 * kMsPerMinute);
  EXPECT_EQ(*ParseTimestampMs("now-7d", now), now - 7 * kMsPerDay);
  EXPECT_FALSE(ParseTimestampMs("now-", now).ok());
  EXPECT_FALSE(ParseTimestampMs("nowx", now).ok());
  EXPECT_FALSE(ParseTimestampMs("yesterday", now).ok());
}

TEST(Timestamp, FormatsRoundTrip) {
  EXPECT_EQ(FormatRfc3339(1795568400), "2026-11-25T01:00:00Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  for (int64_t s : {0LL, 951782400LL, 1795568400LL, 4102444799LL}) {
    EXPECT_EQ(*ParseTimestampMs(FormatRfc3339(s), 0), s * 1000);
  }
}

TEST(FloorDivTest, Negative) {
  EXPECT_EQ(FloorDiv(-1, 60), -1);
  EXPECT_EQ(FloorDiv(59, 60), 0);
  EXPECT_EQ(FloorDiv(-60, 60), -1);
}

}  // namespace
}  // namespace ew
