// LowerThreadPriority: the calling thread (and only it) gets the nice increment and, with
// kIdle, SCHED_IDLE, and the time slice asked for; --query-sched's values parse.
#include "base/thread_priority.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace ew {
namespace {

struct Seen {
  int policy = -1;
  int nice = -100;
  uint32_t slice_us = 0;
  bool ok = false;
};

int ThreadNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

// Runs LowerThreadPriority on a fresh thread; what that thread then reads about itself.
Seen LowerOnNewThread(int nice, CpuPolicy policy, uint32_t slice_us = 0) {
  Seen seen;
  std::thread t([&] {
    seen.ok = LowerThreadPriority({.nice = nice, .policy = policy, .slice_us = slice_us}).ok();
    seen.policy = sched_getscheduler(0);
    seen.nice = ThreadNice();
    seen.slice_us = CurrentSliceUs();
  });
  t.join();
  return seen;
}

TEST(ThreadPriorityTest, IdleSetsSchedIdleAndTheNiceIncrement) {
  const int base = ThreadNice();
  const Seen s = LowerOnNewThread(5, CpuPolicy::kIdle);
  EXPECT_TRUE(s.ok);
  EXPECT_EQ(s.policy, SCHED_IDLE);
  EXPECT_EQ(s.nice, std::min(19, base + 5));
  // The caller's own thread is untouched.
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
  EXPECT_EQ(ThreadNice(), base);
}

TEST(ThreadPriorityTest, NormalKeepsTheDefaultPolicy) {
  const int base = ThreadNice();
  const Seen s = LowerOnNewThread(3, CpuPolicy::kNormal);
  EXPECT_TRUE(s.ok);
  EXPECT_EQ(s.policy, SCHED_OTHER);
  EXPECT_EQ(s.nice, std::min(19, base + 3));
  const Seen untouched = LowerOnNewThread(0, CpuPolicy::kNormal);
  EXPECT_EQ(untouched.policy, SCHED_OTHER);
  EXPECT_EQ(untouched.nice, base);
}

// The kernel reports the slice it uses (sched_getattr's sched_runtime, Linux >= 6.12); older
// kernels report 0 and ignore the request, which the test then cannot check.
TEST(ThreadPriorityTest, SliceReachesTheThreadAlone) {
  const uint32_t before = CurrentSliceUs();
  if (before == 0) GTEST_SKIP() << "this kernel reports no scheduler slice";
  const Seen s = LowerOnNewThread(2, CpuPolicy::kNormal, 100);
  EXPECT_TRUE(s.ok);
  EXPECT_EQ(s.slice_us, 100u);
  EXPECT_EQ(s.policy, SCHED_OTHER);
  EXPECT_EQ(s.nice, std::min(19, ThreadNice() + 2));
  const Seen other = LowerOnNewThread(0, CpuPolicy::kNormal, 2500);
  EXPECT_EQ(other.slice_us, 2500u);
  const Seen untouched = LowerOnNewThread(0, CpuPolicy::kNormal);
  EXPECT_EQ(untouched.slice_us, before);
  EXPECT_EQ(CurrentSliceUs(), before);
}

TEST(ThreadPriorityTest, ParsesPolicyNames) {
  EXPECT_EQ(*ParseCpuPolicy("idle"), CpuPolicy::kIdle);
  EXPECT_EQ(*ParseCpuPolicy("normal"), CpuPolicy::kNormal);
  EXPECT_FALSE(ParseCpuPolicy("IDLE").ok());
  EXPECT_FALSE(ParseCpuPolicy("").ok());
  EXPECT_STREQ(CpuPolicyName(CpuPolicy::kIdle), "idle");
  EXPECT_STREQ(CpuPolicyName(CpuPolicy::kNormal), "normal");
}

}  // namespace
}  // namespace ew
