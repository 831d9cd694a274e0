// LatencySketch: accuracy against exact nearest-rank quantiles on skewed data, exact merges,
// subtraction, and the sparse encoding (round trip and hostile input).
#include "storage/latency_sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

namespace ew::storage {
namespace {

double ExactNearestRank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double r = q * static_cast<double>(v.size());
  auto rank = static_cast<size_t>(std::ceil(r - r * 1e-12));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return std::max(1.0, v[rank - 1]);
}

void ExpectWithinOnePercent(const std::vector<double>& values, const char* what) {
  LatencySketch s;
  for (double v : values) s.Add(v);
  ASSERT_EQ(s.Count(), values.size());
  for (double q : {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    double exact = ExactNearestRank(values, q);
    double got = s.Quantile(q);
    EXPECT_LE(std::abs(got - exact) / exact, 0.01)
        << what << " q=" << q << " exact=" << exact << " got=" << got;
  }
}

TEST(LatencySketchTest, LognormalWithinOnePercent) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(std::log(20'000.0), 1.2);
  std::vector<double> v(50'000);
  for (auto& x : v) x = dist(rng);
  ExpectWithinOnePercent(v, "lognormal");
}

TEST(LatencySketchTest, ParetoWithinOnePercent) {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> v(50'000);
  for (auto& x : v) x = 100.0 / std::pow(1.0 - u(rng), 1.0 / 1.1);  // alpha 1.1: heavy tail
  ExpectWithinOnePercent(v, "pareto");
}

TEST(LatencySketchTest, BimodalWithinOnePercent) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> fast(800.0, 100.0);      // cache hits, ~0.8 ms
  std::normal_distribution<double> slow(2'500'000.0, 4e5);  // timeouts, ~2.5 s
  std::bernoulli_distribution pick_slow(0.07);
  std::vector<double> v(40'000);
  for (auto& x : v) x = std::max(1.0, pick_slow(rng) ? slow(rng) : fast(rng));
  ExpectWithinOnePercent(v, "bimodal");
}

TEST(LatencySketchTest, RangeFromOneMicrosecondToHours) {
  std::vector<double> v = {0.2, 1.0, 1.5, 37.0, 1e3, 1e6, 3.6e9, 8 * 3.6e9};
  ExpectWithinOnePercent(v, "wide");
  LatencySketch s;
  s.Add(0.0);
  s.Add(-5.0);
  s.Add(std::nan(""));
  EXPECT_EQ(s.Count(), 3u);
  EXPECT_DOUBLE_EQ(s.Quantile(1.0), 1.0);
  s.Add(1e300);
  EXPECT_LE(s.Quantile(1.0), LatencySketch::kMaxMicros * 1.01);
}

TEST(LatencySketchTest, EveryBucketValueIsWithinAccuracyOfItsRange) {
  const double a = LatencySketch::kRelativeAccuracy;
  const double log_gamma = std::log((1 + a) / (1 - a));
  for (int32_t i = 1; i <= LatencySketch::kMaxIndex; ++i) {
    const double upper = std::exp(i * log_gamma);
    const double lower = std::exp((i - 1) * log_gamma) * (1 + 1e-9);
    const double v = LatencySketch::BucketValue(i);
    EXPECT_EQ(LatencySketch::BucketOf(v), i);
    EXPECT_LE(std::abs(v - upper) / upper, 0.01) << i;
    EXPECT_LE(std::abs(v - lower) / lower, 0.01) << i;
  }
}

TEST(LatencySketchTest, BucketOfMicrosEqualsBucketOfForEveryWholeValue) {
  auto same = [](uint64_t u) {
    ASSERT_EQ(LatencySketch::BucketOfMicros(static_cast<uint32_t>(u)),
              LatencySketch::BucketOf(static_cast<double>(u)))
        << u;
  };
  for (uint64_t u = 0; u < (uint64_t{1} << 21); ++u) same(u);
  // Around every bucket boundary up to 2^32 (where the tables switch buckets).
  const double a = LatencySketch::kRelativeAccuracy;
  const double log_gamma = std::log((1 + a) / (1 - a));
  for (int32_t i = 1; std::exp((i - 1) * log_gamma) < 4294967296.0; ++i) {
    const auto b = static_cast<int64_t>(std::exp(i * log_gamma));
    for (int64_t u = b - 3; u <= b + 3; ++u) {
      if (u >= 0 && u <= static_cast<int64_t>(UINT32_MAX)) same(static_cast<uint64_t>(u));
    }
  }
  // And around every octave's prefix steps, the extremes and random values.
  for (int e = 10; e < 32; ++e) {
    for (uint64_t m = 0; m < 128; ++m) {
      const uint64_t u0 = (uint64_t{1} << e) | (m << (e - 7));
      same(u0);
      same(u0 - 1);
    }
  }
  same(UINT32_MAX);
  same(UINT32_MAX - 1);
  std::mt19937_64 rng(9);
  for (int k = 0; k < 1'000'000; ++k) same(rng() & 0xFFFFFFFF);
}

TEST(LatencySketchTest, MergeIsExact) {
  std::mt19937_64 rng(4);
  std::lognormal_distribution<double> dist(8.0, 1.0);
  LatencySketch a, b, all;
  for (int i = 0; i < 5000; ++i) {
    double x = dist(rng);
    (i % 3 == 0 ? a : b).Add(x);
    all.Add(x);
  }
  LatencySketch m = a;
  m.Merge(b);
  EXPECT_EQ(m, all);
  EXPECT_EQ(m.Count(), all.Count());
  LatencySketch m2 = b;
  m2.Merge(a);
  EXPECT_EQ(m2, all);
  m.Subtract(b);
  EXPECT_EQ(m, a);
  EXPECT_EQ(m.Count(), a.Count());
  m.Subtract(a);
  EXPECT_TRUE(m.Empty());
  EXPECT_TRUE(m.Buckets().empty());
}

TEST(LatencySketchTest, AddWithCountEqualsRepeatedAdds) {
  LatencySketch a, b;
  a.Add(1234.0, 5);
  for (int i = 0; i < 5; ++i) b.Add(1234.0);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Count(), 5u);
  EXPECT_EQ(LatencySketch().Quantile(0.5), 0.0);
}

// AddToBucket keeps the buckets sorted and exact whatever the order of indices (the search is
// branch-free; checked against a reference map on random and adversarial orders).
TEST(LatencySketchTest, AddToBucketMatchesAReferenceInAnyOrder) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    LatencySketch sketch;
    std::map<int32_t, uint64_t> want;
    const int adds = 1 + static_cast<int>(rng() % 600);
    const int32_t span =
        1 + static_cast<int32_t>(rng() % (round % 2 ? 40 : LatencySketch::kMaxIndex));
    for (int i = 0; i < adds; ++i) {
      int32_t index;
      switch (round % 4) {
        case 0:
          index = static_cast<int32_t>(rng() % span);
          break;
        case 1:
          index = i % span;
          break;  // ascending runs
        case 2:
          index = span - 1 - (i % span);
          break;  // descending runs
        default:
          index = (i % 2) ? 0 : span - 1;
          break;  // both ends
      }
      const uint64_t count = 1 + rng() % 3;
      sketch.AddToBucket(index, count);
      want[index] += count;
    }
    std::vector<std::pair<int32_t, uint64_t>> expected(want.begin(), want.end());
    ASSERT_EQ(sketch.Buckets(), expected) << "round " << round;
    uint64_t total = 0;
    for (const auto& [i, c] : expected) total += c;
    EXPECT_EQ(sketch.Count(), total);
  }
}

TEST(LatencySketchTest, EncodeDecodeRoundTripIsCompact) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> dist(10.0, 0.6);
  LatencySketch s;
  for (int i = 0; i < 30; ++i) s.Add(dist(rng));
  s.Add(500.0, 100'000);
  std::string enc;
  s.EncodeTo(&enc);
  auto d = LatencySketch::Decode(enc);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, s);
  EXPECT_EQ(d->Count(), s.Count());
  // About one byte per bucket with a count of 1: far below (index, count) pairs.
  EXPECT_LE(enc.size(), s.Buckets().size() + 10);
  std::string empty;
  LatencySketch().EncodeTo(&empty);
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(LatencySketch::Decode("")->Empty());
}

TEST(LatencySketchTest, DecodeRejectsHostileInput) {
  EXPECT_FALSE(LatencySketch::Decode(std::string("\x81", 1)).ok());          // truncated varint
  EXPECT_FALSE(LatencySketch::Decode(std::string("\x01", 1)).ok());          // count missing
  EXPECT_FALSE(LatencySketch::Decode(std::string("\xfe\xff\x03", 3)).ok());  // index too large
  std::string overflow = "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";     // count ~2^64
  EXPECT_FALSE(LatencySketch::Decode(overflow).ok());
  // Every truncation of a valid encoding decodes or fails cleanly.
  LatencySketch s;
  for (int i = 1; i < 200; ++i) s.Add(i * 37.0, i);
  std::string enc;
  s.EncodeTo(&enc);
  for (size_t n = 0; n < enc.size(); ++n) {
    auto r = LatencySketch::Decode(enc.substr(0, n));
    if (r.ok()) {
      EXPECT_LE(r->Count(), s.Count());
    }
  }
}

}  // namespace
}  // namespace ew::storage
