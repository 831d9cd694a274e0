// Ingest's per-tenant rate limits and the memory budget, on a real store and log: refused
// requests are answered 429/503 with Retry-After and a message naming the limit, are counted by
// tenant and reason, and leave nothing behind; admitted requests are stored exactly once.
#include <gtest/gtest.h>

#include "tests/ingest/service_env.h"

namespace ew::ingest::testing {
namespace {

constexpr int kServer = 2;
constexpr int kClient = 3;

std::vector<tools::OtlpSpan> Pairs(uint64_t first_trace, int n, int64_t now) {
  std::vector<tools::OtlpSpan> spans;
  for (int i = 0; i < n; ++i) {
    const uint64_t t = first_trace + static_cast<uint64_t>(i);
    spans.push_back(OtlpHalf(kClient, t, 100 + t * 2, 0, now, 0));
    spans.push_back(OtlpHalf(kServer, t, 101 + t * 2, 100 + t * 2, now + 1, 1));
  }
  return spans;
}

TEST(IngestLimits, SpansPerSecondRefusesWith429AndStoresOnlyWhatWasAdmitted) {
  ServiceEnv env;
  // A bucket of 2 spans (2 s burst): the first request of 80 spans passes on the full bucket and
  // leaves a debt of 78 s, so every later one in this test is refused, however slow the machine.
  env.config.tenant_rates.spans_per_s = 1;
  env.Open();
  const int64_t now = WallNowMs();
  uint64_t admitted_pairs = 0;
  int refused = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = env.Export(Pairs(1000 + static_cast<uint64_t>(i) * 40, 40, now));  // 80 spans
    if (r.outcome == ExportOutcome::kOk) {
      admitted_pairs += 40;
    } else {
      ++refused;
      EXPECT_EQ(r.outcome, ExportOutcome::kOverloaded);
      EXPECT_GE(r.retry_after_s, 1);
      EXPECT_NE(r.body.find("spans-per-second"), std::string::npos) << r.body;
    }
  }
  EXPECT_EQ(admitted_pairs, 40u);
  EXPECT_EQ(refused, 4);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), admitted_pairs);
  EXPECT_NE(env.metrics.RenderPrometheus().find(
                "ew_ingest_refused_total{tenant=\"default\",reason=\"spans_per_second\"} 4"),
            std::string::npos)
      << env.metrics.RenderPrometheus();
}

TEST(IngestLimits, BytesPerSecondRefusesBeforeDecoding) {
  ServiceEnv env;
  env.config.tenant_rates.bytes_per_s = 1000;  // bucket: 2,000 bytes
  env.Open();
  const int64_t now = WallNowMs();
  auto first = env.Export(Pairs(1, 40, now));  // a few KB: passes on the full bucket, then owes
  EXPECT_EQ(first.outcome, ExportOutcome::kOk) << first.body;
  auto second = env.Export(Pairs(100, 1, now));
  ASSERT_EQ(second.outcome, ExportOutcome::kOverloaded);
  EXPECT_GE(second.retry_after_s, 2);  // the debt of the first request
  EXPECT_NE(second.body.find("bytes-per-second"), std::string::npos) << second.body;
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 40u);
}

TEST(IngestLimits, OverTheMemoryBudgetEveryRequestIs503UntilItIsNot) {
  const uint64_t rss = MemoryGuard::ReadRss();
  MemoryGuard tight(rss / 2, nullptr);  // the process is over it
  tight.SampleNow();
  ASSERT_TRUE(tight.Over());
  ServiceEnv env;
  env.config.memory_guard = &tight;
  env.Open();
  const int64_t now = WallNowMs();
  auto r = env.Export(Pairs(1, 3, now));
  ASSERT_EQ(r.outcome, ExportOutcome::kUnavailable);
  EXPECT_GE(r.retry_after_s, 1);
  EXPECT_NE(r.body.find("memory budget"), std::string::npos) << r.body;
  EXPECT_NE(env.metrics.RenderPrometheus().find(
                "ew_ingest_refused_total{tenant=\"default\",reason=\"memory\"} 1"),
            std::string::npos);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 0u);
  env.Stop();
  // With room again, the same request is taken.
  MemoryGuard roomy(rss * 64, nullptr);
  roomy.SampleNow();
  ServiceEnv env2;
  env2.config.memory_guard = &roomy;
  env2.Open();
  EXPECT_EQ(env2.Export(Pairs(1, 3, now)).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env2.service().FlushNow().ok());
  EXPECT_EQ(env2.Count("web", "api"), 3u);
}

}  // namespace
}  // namespace ew::ingest::testing
