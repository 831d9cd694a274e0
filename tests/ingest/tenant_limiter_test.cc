// Per-tenant token buckets: the long-run rate bound, Retry-After that is enough, tenants that do
// not affect each other, and refusals counted by tenant and reason.
#include "ingest/pipeline/tenant_limiter.h"

#include <gtest/gtest.h>

#include <random>

namespace ew::ingest {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(TenantLimiterTest, AdmittedNeverExceedsRateTimesTimePlusOneBurstAndOneRequest) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    const double rate = 100 + static_cast<double>(rng() % 10'000);
    TenantRateLimits limits{rate, 0, 0.5 + static_cast<double>(rng() % 4)};
    TenantLimiter limiter(limits, nullptr);
    int64_t now = 1000 * kSec;
    const int64_t start = now;
    double admitted = 0, largest = 0;
    uint64_t refused = 0;
    for (int i = 0; i < 20'000; ++i) {
      now += static_cast<int64_t>(rng() % (kSec / 50));
      const double n = 1 + static_cast<double>(rng() % static_cast<uint64_t>(rate));
      auto d = limiter.AdmitSpans("t", static_cast<uint64_t>(n), now);
      if (d.ok) {
        admitted += n;
        largest = std::max(largest, n);
      } else {
        ++refused;
        EXPECT_GE(d.retry_after_s, 1);
        EXPECT_EQ(d.reason, "spans_per_second");
      }
      const double elapsed = static_cast<double>(now - start) / kSec;
      ASSERT_LE(admitted, rate * elapsed + rate * limits.burst_s + largest + 1e-6)
          << "seed " << seed << " step " << i;
    }
    EXPECT_GT(refused, 0u) << "the offered load is above the rate: something must be refused";
    // And the limiter lets through most of what the rate allows (no over-refusal).
    const double elapsed = static_cast<double>(now - start) / kSec;
    EXPECT_GE(admitted, 0.7 * rate * elapsed) << "seed " << seed;
  }
}

TEST(TenantLimiterTest, WaitingRetryAfterIsEnough) {
  TenantLimiter limiter({1000, 0, 1}, nullptr);
  int64_t now = 5 * kSec;
  ASSERT_TRUE(limiter.AdmitSpans("a", 1000, now).ok);  // the full bucket
  auto d = limiter.AdmitSpans("a", 800, now);
  ASSERT_FALSE(d.ok);
  EXPECT_EQ(d.retry_after_s, 1);
  now += d.retry_after_s * kSec;
  EXPECT_TRUE(limiter.AdmitSpans("a", 800, now).ok);
  // A request larger than the whole bucket passes once the bucket is full, then owes.
  auto big = limiter.AdmitSpans("a", 5000, now);
  ASSERT_FALSE(big.ok);
  now += big.retry_after_s * kSec;
  EXPECT_TRUE(limiter.AdmitSpans("a", 5000, now).ok);
  auto after = limiter.AdmitSpans("a", 1, now);
  ASSERT_FALSE(after.ok);
  EXPECT_GE(after.retry_after_s, 4);  // the debt of 4,000 spans at 1,000 per second
}

TEST(TenantLimiterTest, TenantsAreIndependentAndRefusalsAreCounted) {
  MetricsRegistry metrics;
  TenantLimiter limiter({0, 1'000'000, 1}, &metrics);
  int64_t now = kSec;
  EXPECT_TRUE(limiter.AdmitSpans("a", 1'000'000'000, now).ok);  // spans unlimited
  ASSERT_TRUE(limiter.AdmitBytes("a", 1'000'000, now).ok);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.AdmitBytes("a", 10, now).ok);
  EXPECT_TRUE(limiter.AdmitBytes("b", 1'000'000, now).ok);  // b has its own bucket
  limiter.CountRefusal("b", "waiting_halves");
  const std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("ew_ingest_refused_total{tenant=\"a\",reason=\"bytes_per_second\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ew_ingest_refused_total{tenant=\"b\",reason=\"waiting_halves\"} 1"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace ew::ingest
