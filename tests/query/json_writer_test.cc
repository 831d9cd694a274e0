// JsonWriter: numbers, strings and structure of the hand-written JSON every endpoint returns;
// LatencyAccumulator: the same percentiles as a merged LatencySketch, from sketches or from
// their stored encodings.
#include "query/json_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>

#include "query/map_builder.h"
#include "storage/latency_sketch.h"

namespace ew::query {
namespace {

std::string Num(double v) {
  JsonWriter w;
  w.Double(v);
  return w.Take();
}

TEST(JsonWriterTest, DoublesHaveAtMostSixDecimalsAndNoNegativeZero) {
  EXPECT_EQ(Num(0), "0");
  EXPECT_EQ(Num(1), "1");
  EXPECT_EQ(Num(0.5), "0.5");
  EXPECT_EQ(Num(12.1), "12.1");
  EXPECT_EQ(Num(1.0 / 3), "0.333333");
  EXPECT_EQ(Num(2.0 / 3), "0.666667");
  EXPECT_EQ(Num(0.000001), "0.000001");
  EXPECT_EQ(Num(0.0000004), "0");
  EXPECT_EQ(Num(-0.0000004), "0");
  EXPECT_EQ(Num(-2.25), "-2.25");
  EXPECT_EQ(Num(123456789.123456), "123456789.123456");
  EXPECT_EQ(std::stod(Num(1e12)), 1e12);  // large values: shortest form (may be exponent)
  EXPECT_EQ(Num(std::numeric_limits<double>::quiet_NaN()), "0");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "0");
}

TEST(JsonWriterTest, StructureAndEscaping) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a").Uint(1);
  w.Key(std::string_view("b\"")).String("x\ny");
  w.Key("c").BeginArray();
  w.Int(-1).Bool(true).Null();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(w.Take(), R"({"a":1,"b\"":"x\ny","c":[-1,true,null]})");
}

TEST(LatencyAccumulatorTest, QuantilesEqualThoseOfTheMergedSketch) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> lat(8, 1.5);
  storage::LatencySketch merged;
  LatencyAccumulator from_sketches, from_encodings;
  for (int record = 0; record < 200; ++record) {
    storage::LatencySketch s;
    int n = 1 + static_cast<int>(rng() % 50);
    for (int i = 0; i < n; ++i) s.Add(lat(rng) * (record % 7 == 0 ? 100 : 1));
    merged.Merge(s);
    from_sketches.Add(s);
    std::string enc;
    s.EncodeTo(&enc);
    ASSERT_TRUE(from_encodings.AddEncoded(enc).ok());
  }
  for (const LatencyAccumulator* acc : {&from_sketches, &from_encodings}) {
    LatencyQuantiles q = acc->Quantiles();
    EXPECT_EQ(q.p50, merged.Quantile(0.50));
    EXPECT_EQ(q.p90, merged.Quantile(0.90));
    EXPECT_EQ(q.p95, merged.Quantile(0.95));
    EXPECT_EQ(q.p99, merged.Quantile(0.99));
  }
  LatencyAccumulator both = from_sketches;
  both.Merge(from_encodings);
  storage::LatencySketch twice = merged;
  twice.Merge(merged);
  EXPECT_EQ(both.Quantiles().p99, twice.Quantile(0.99));
  EXPECT_EQ(LatencyAccumulator().Quantiles().p50, 0);
}

TEST(LatencyAccumulatorTest, MalformedEncodingIsCorruption) {
  LatencyAccumulator acc;
  EXPECT_FALSE(acc.AddEncoded(std::string("\x81", 1)).ok());
  EXPECT_FALSE(acc.AddEncoded(std::string("\xfe\xff\x03", 3)).ok());
}

// Encodings added into an existing window (the path that decodes straight into it): buckets
// below and far above the window grow it, multi-byte varints (wide gaps, counts past 127) and
// the last bucket index decode as LatencySketch does.
TEST(LatencyAccumulatorTest, EncodingsGrowAnExistingWindowExactly) {
  std::mt19937_64 rng(11);
  storage::LatencySketch merged;
  LatencyAccumulator acc;
  const int32_t max_index = storage::LatencySketch::kMaxIndex;
  for (int record = 0; record < 300; ++record) {
    storage::LatencySketch s;
    const int32_t centre = static_cast<int32_t>(rng() % static_cast<uint64_t>(max_index + 1));
    const int buckets = 1 + static_cast<int>(rng() % 40);
    for (int b = 0; b < buckets; ++b) {
      const int32_t spread = static_cast<int32_t>(rng() % 400) - 200;
      const int32_t index = std::clamp(centre + spread, 0, max_index);
      s.AddToBucket(index, 1 + rng() % (record % 3 == 0 ? 100000 : 3));
    }
    if (record % 50 == 7) s.AddToBucket(max_index, 5);
    if (record % 50 == 9) s.AddToBucket(0, 300);
    merged.Merge(s);
    std::string enc;
    s.EncodeTo(&enc);
    ASSERT_TRUE(acc.AddEncoded(enc).ok());
    if (record % 37 == 0) {
      const LatencyQuantiles q = acc.Quantiles();
      ASSERT_EQ(q.p50, merged.Quantile(0.50)) << record;
      ASSERT_EQ(q.p90, merged.Quantile(0.90)) << record;
      ASSERT_EQ(q.p95, merged.Quantile(0.95)) << record;
      ASSERT_EQ(q.p99, merged.Quantile(0.99)) << record;
    }
  }
  const LatencyQuantiles q = acc.Quantiles();
  EXPECT_EQ(q.p50, merged.Quantile(0.50));
  EXPECT_EQ(q.p99, merged.Quantile(0.99));
  // Damage after the window exists is still Corruption: a truncated varint, a truncated count,
  // an index past the maximum.
  for (const std::string& bad :
       {std::string("\x81", 1), std::string("\x03\x80", 2), std::string("\xfe\xff\x03", 3)}) {
    EXPECT_FALSE(acc.AddEncoded(bad).ok());
  }
}

// Dense-form encodings (hour and day sketches: most buckets of the span filled), mixed with
// sparse ones, into an empty and an existing window: the same quantiles as the merged sketch;
// a damaged dense encoding is Corruption.
TEST(LatencyAccumulatorTest, DenseEncodingsAddExactly) {
  std::mt19937_64 rng(12);
  storage::LatencySketch merged;
  LatencyAccumulator acc;
  const int32_t max_index = storage::LatencySketch::kMaxIndex;
  int dense = 0;
  for (int record = 0; record < 200; ++record) {
    storage::LatencySketch s;
    const auto first = static_cast<int32_t>(rng() % static_cast<uint64_t>(max_index - 150));
    const int32_t span = 1 + static_cast<int32_t>(rng() % 150);
    const bool sparse = record % 4 == 3;
    for (int32_t i = first; i <= first + span; ++i) {
      if (sparse ? rng() % 8 == 0 : rng() % 10 != 0) s.AddToBucket(i, 1 + rng() % 500);
    }
    if (s.Empty()) continue;
    merged.Merge(s);
    std::string enc;
    s.EncodeTo(&enc);
    dense += storage::LatencySketch::IsDense(enc) ? 1 : 0;
    ASSERT_TRUE(acc.AddEncoded(enc).ok()) << record;
    const LatencyQuantiles q = acc.Quantiles();
    ASSERT_EQ(q.p50, merged.Quantile(0.50)) << record;
    ASSERT_EQ(q.p99, merged.Quantile(0.99)) << record;
  }
  EXPECT_GT(dense, 100);
  for (const std::string& bad : {std::string("\xff\x7f", 2), std::string("\xff\x7f\x05\x01\x02", 5),
                                 std::string("\xff\x7f\x05\x00\x02\x00", 6)}) {
    LatencyAccumulator fresh;
    EXPECT_FALSE(fresh.AddEncoded(bad).ok());
    EXPECT_FALSE(acc.AddEncoded(bad).ok());
  }
}

TEST(EdgeStatsTest, ClientLatencyOnlyWhereNoServerSideExists) {
  storage::RollupValue client_only, paired;
  client_only.client_latency.Add(9000);
  paired.server_latency.Add(1000);
  paired.client_latency.Add(1500);
  EdgeStats s;
  ASSERT_TRUE(s.Add(client_only, storage::Protocol::kHttp, 1, 0).ok());
  EXPECT_NEAR(s.Latency().p50, 9000, 90);
  ASSERT_TRUE(s.Add(paired, storage::Protocol::kHttp, 1, 0).ok());
  ASSERT_TRUE(s.Add(client_only, storage::Protocol::kHttp, 1, 0).ok());
  EXPECT_NEAR(s.Latency().p99, 1000, 10);  // the server side wins once it exists
  EXPECT_EQ(s.requests, 3u);
  EdgeStats t;
  ASSERT_TRUE(t.Add(client_only, storage::Protocol::kGrpc, 5, 1).ok());
  t.Merge(s);
  EXPECT_NEAR(t.Latency().p50, 1000, 10);
  EXPECT_EQ(t.requests, 8u);
  EXPECT_EQ(t.Summarize().protocol, storage::Protocol::kGrpc);
}

}  // namespace
}  // namespace ew::query

namespace ew::query {
namespace {

TEST(EdgeTableTest, ClearedTablesAreReusedWithoutStaleCounts) {
  storage::RollupValue v;
  v.server_latency.Add(1000);
  v.server_latency.Add(200000);
  EdgeTablePool pool(2);
  for (int round = 0; round < 3; ++round) {
    EdgeTable t = pool.Take();
    EXPECT_TRUE(t.empty());
    const uint64_t first = 1000 * static_cast<uint64_t>(round);
    for (uint64_t k = first; k < first + 500; ++k) {
      ASSERT_TRUE(t[k].Add(v, storage::Protocol::kHttp, 2, round).ok());
    }
    ASSERT_TRUE(t[first].Add(v, storage::Protocol::kHttp, 2, 0).ok());
    EXPECT_EQ(t.size(), 500u);
    uint64_t seen = 0;
    for (const auto& [key, stats] : t) {
      EXPECT_GE(key, first);
      EXPECT_LT(key, first + 500);
      EXPECT_EQ(stats.requests, key == first ? 4u : 2u);
      EXPECT_EQ(stats.errors, static_cast<uint64_t>(round));
      EXPECT_NEAR(stats.Latency().p50, 1000, 10);
      EXPECT_NEAR(stats.Latency().p99, 200000, 2000);
      ++seen;
    }
    EXPECT_EQ(seen, 500u);
    pool.Give(std::move(t));
  }
}

}  // namespace
}  // namespace ew::query
