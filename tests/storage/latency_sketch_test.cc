// LatencySketch: accuracy against exact nearest-rank quantiles on skewed data, exact merges,
// subtraction, and the sparse encoding (round trip and hostile input).
#include "storage/latency_sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
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

// The sparse form as every writer before the dense form produced it (stored values keep it).
std::string SparseEncoding(const LatencySketch& s) {
  std::string out;
  int64_t previous = -1;
  for (const auto& [index, count] : s.Buckets()) {
    const auto gap = static_cast<uint64_t>(index - previous - 1);
    coding::PutVarint64(&out, (gap << 1) | (count > 1 ? 1 : 0));
    if (count > 1) coding::PutVarint64(&out, count - 2);
    previous = index;
  }
  return out;
}

// Random sketches from sparse (a few draws) to dense (an hour of requests, huge counts): the
// encoding decodes to the same buckets through both decoders, the old sparse form of the same
// buckets too, and the dense form is chosen exactly when it is at most 85 % of the sparse one.
TEST(LatencySketchTest, BothFormsRoundTripAndOldSparseValuesStillDecode) {
  std::mt19937_64 rng(11);
  int dense_seen = 0, sparse_seen = 0;
  for (int round = 0; round < 2000; ++round) {
    LatencySketch s;
    const int draws = 1 + static_cast<int>(rng() % (round % 3 == 0 ? 40 : 5000));
    std::lognormal_distribution<double> dist(5 + static_cast<double>(rng() % 80) / 10,
                                             0.05 + static_cast<double>(rng() % 100) / 100);
    for (int i = 0; i < draws; ++i) s.Add(dist(rng), 1 + rng() % (round % 5 == 0 ? 1000 : 3));
    if (round % 7 == 0) s.AddToBucket(LatencySketch::kMaxIndex, UINT64_MAX / 4);
    if (round % 11 == 0) s.AddToBucket(0, 1);
    std::string enc;
    s.EncodeTo(&enc);
    const std::string sparse = SparseEncoding(s);
    const bool dense = LatencySketch::IsDense(enc);
    (dense ? dense_seen : sparse_seen)++;
    if (dense) {
      EXPECT_LE(enc.size() * 20, sparse.size() * 17) << round;
    } else {
      EXPECT_EQ(enc, sparse) << round;
    }
    for (const std::string& e : {enc, sparse}) {
      auto d = LatencySketch::Decode(e);
      ASSERT_TRUE(d.ok()) << round << " " << d.status().ToString();
      EXPECT_EQ(*d, s) << round;
      EXPECT_EQ(d->Count(), s.Count());
      std::vector<std::pair<int32_t, uint64_t>> seen;
      ASSERT_TRUE(LatencySketch::ForEachEncodedBucket(e, [&](int32_t i, uint64_t c) {
                    seen.emplace_back(i, c);
                  }).ok());
      EXPECT_EQ(seen, s.Buckets()) << round;
    }
  }
  EXPECT_GT(dense_seen, 100);
  EXPECT_GT(sparse_seen, 100);
}

TEST(LatencySketchTest, DenseFormRejectsHostileInput) {
  const auto dense = [](std::initializer_list<uint64_t> v) {
    std::string out;
    for (uint64_t x : v) coding::PutVarint64(&out, x);
    return out;
  };
  const uint64_t m = LatencySketch::kDenseMarker;
  const auto max = static_cast<uint64_t>(LatencySketch::kMaxIndex);
  // First 10, last 13 (span 3): counts 2, 2, 0, 1 (zigzag deltas 4, 0, 3, 2).
  auto ok = LatencySketch::Decode(dense({m, 10, 3, 4, 0, 3, 2}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->Buckets(), (std::vector<std::pair<int32_t, uint64_t>>{{10, 2}, {11, 2}, {13, 1}}));
  EXPECT_FALSE(LatencySketch::Decode(dense({m, 10, 3, 4, 0, 3})).ok());        // truncated
  EXPECT_FALSE(LatencySketch::Decode(dense({m, 10, 3, 4, 0, 3, 2, 0})).ok());  // trailing
  EXPECT_FALSE(LatencySketch::Decode(dense({m, 10, 1, 4, 3})).ok());           // last count 0
  EXPECT_FALSE(LatencySketch::Decode(dense({m, 10, 1, 0, 2})).ok());           // first count 0
  EXPECT_FALSE(LatencySketch::Decode(dense({m, max, 1, 2, 0})).ok());          // past kMaxIndex
  EXPECT_FALSE(LatencySketch::Decode(dense({m, max + 1, 0, 2})).ok());
  EXPECT_FALSE(LatencySketch::Decode(dense({m, 0, UINT64_MAX, 2})).ok());
  EXPECT_FALSE(LatencySketch::Decode(dense({m})).ok());
  EXPECT_TRUE(LatencySketch::Decode(dense({m, max, 0, 2}))->Buckets().back().first ==
              LatencySketch::kMaxIndex);
  // Counts past 2^64: one bucket's (2^63 - 1, then 2^64 - 2, then more), and a total.
  const uint64_t up = UINT64_MAX - 1;  // zigzag of +(2^63 - 1)
  EXPECT_FALSE(LatencySketch::Decode(dense({m, 0, 2, up, up, up})).ok());
  bool scanned =
      LatencySketch::ForEachEncodedBucket(dense({m, 0, 1, up, up}), [](int32_t, uint64_t) {}).ok();
  EXPECT_TRUE(scanned);
  EXPECT_FALSE(LatencySketch::Decode(dense({m, 0, 1, up, up})).ok());
}

}  // namespace
}  // namespace ew::storage
