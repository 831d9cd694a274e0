// MemoryGuard: RSS is read, follows real allocations, and Over() flips at the budget.
#include "base/memory_guard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>

namespace ew {
namespace {

TEST(MemoryGuardTest, ReadsResidentMemoryAndSeesItGrow) {
  const uint64_t before = MemoryGuard::ReadRss();
  ASSERT_GT(before, 1u << 20);
  constexpr size_t kBytes = 256u << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);  // touch every page
  const uint64_t after = MemoryGuard::ReadRss();
  EXPECT_GE(after, before + kBytes / 2) << before << " -> " << after;
  EXPECT_EQ(block[kBytes - 1], 1);
}

TEST(MemoryGuardTest, OverAtTheBudgetAndNeverWithoutOne) {
  MetricsRegistry metrics;
  const uint64_t rss = MemoryGuard::ReadRss();
  MemoryGuard tight(rss / 2, &metrics);
  tight.SampleNow();
  EXPECT_TRUE(tight.Over());
  MemoryGuard roomy(rss * 64, nullptr);
  roomy.SampleNow();
  EXPECT_FALSE(roomy.Over());
  MemoryGuard none(0, nullptr);
  none.SampleNow();
  EXPECT_FALSE(none.Over());
  EXPECT_GT(none.LastRss(), 0u);
  EXPECT_NE(metrics.RenderPrometheus().find("ew_memory_budget_bytes"), std::string::npos);
}

TEST(MemoryGuardTest, TheSamplerNoticesGrowthPastTheBudget) {
  const uint64_t rss = MemoryGuard::ReadRss();
  MemoryGuard guard(rss + (128u << 20), nullptr);
  guard.Start();
  EXPECT_FALSE(guard.Over());
  constexpr size_t kBytes = 256u << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);
  for (int i = 0; i < 100 && !guard.Over(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(guard.Over());
  block.reset();
  guard.Stop();
  guard.Stop();  // idempotent
}

#if defined(__GLIBC__)
// The heap gauges follow malloc: a 64 MiB block counts as in use while held, as free or
// returned (not in use) once freed.
TEST(MemoryGuardTest, HeapGaugesFollowAllocations) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizers replace glibc's malloc (mallinfo2 reads 0)";
#endif
  MetricsRegistry metrics;
  MemoryGuard guard(0, &metrics);
  auto gauge = [&](const std::string& name) {
    const std::string text = metrics.RenderPrometheus();
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
  };
  const double before = gauge("ew_memory_heap_in_use_bytes");
  ASSERT_GT(before, 0);
  ASSERT_GE(gauge("ew_memory_heap_free_bytes"), 0);
  constexpr size_t kBytes = 64u << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);
  const double held = gauge("ew_memory_heap_in_use_bytes");
  EXPECT_GE(held, before + kBytes) << before << " -> " << held;
  block.reset();
  EXPECT_LT(gauge("ew_memory_heap_in_use_bytes"), held - kBytes / 2);
}
#endif

TEST(MemoryGuardTest, DefaultBudgetIsBelowTheMachine) {
  const uint64_t b = MemoryGuard::DefaultBudget();
  EXPECT_GT(b, 64u << 20);
  EXPECT_LT(b, static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE));
}

}  // namespace
}  // namespace ew
