// LowerThreadPriority: the calling thread (and only it) gets the nice increment and, with
// kIdle, SCHED_IDLE; --query-sched's values parse.
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
  bool ok = false;
};

int ThreadNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

// Runs LowerThreadPriority on a fresh thread; what that thread then reads about itself.
Seen LowerOnNewThread(int nice, CpuPolicy policy) {
  Seen seen;
  std::thread t([&] {
    seen.ok = LowerThreadPriority(nice, policy).ok();
    seen.policy = sched_getscheduler(0);
    seen.nice = ThreadNice();
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
