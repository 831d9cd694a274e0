// base/mutex.h: the annotated lock types behave as the std types they wrap (exclusion, shared
// readers, relocking, adoption, condition-variable hand-off and timeouts). Labelled concurrency:
// the TSan build runs it too.
#include "base/mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace ew {
namespace {

struct Counter {
  Mutex mu;
  int64_t value GUARDED_BY(mu) = 0;
};

struct Table {
  SharedMutex mu;
  int data GUARDED_BY(mu) = 0;
};

struct Queue {
  Mutex mu;
  CondVar cv;
  std::vector<int> items GUARDED_BY(mu);
  bool done GUARDED_BY(mu) = false;
};

TEST(MutexTest, MutexLockExcludesOtherThreads) {
  Counter c;
  constexpr int kThreads = 4, kAdds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < kAdds; ++i) {
        MutexLock lock(&c.mu);
        ++c.value;  // a lost update shows as a smaller total (and as a race under TSan)
      }
    });
  }
  for (auto& t : threads) t.join();
  MutexLock lock(&c.mu);
  EXPECT_EQ(c.value, int64_t{kThreads} * kAdds);
}

TEST(MutexTest, TryLockFailsWhileHeldAndAdoptReleases) {
  Mutex mu;
  {
    MutexLock lock(&mu);
    bool got = true;
    std::thread([&] {
      got = false;
      if (mu.TryLock()) {
        got = true;
        mu.Unlock();
      }
    }).join();
    EXPECT_FALSE(got);
  }
  if (mu.TryLock()) {
    MutexLock adopted(&mu, MutexLock::AdoptLock{});  // releases on scope exit
  } else {
    ADD_FAILURE() << "TryLock failed on a free mutex";
  }
  if (mu.TryLock()) {
    mu.Unlock();
  } else {
    ADD_FAILURE() << "the adopted lock was not released";
  }
}

TEST(MutexTest, UnlockInsideScopeLetsOthersIn) {
  Counter c;
  MutexLock lock(&c.mu);
  c.value = 1;
  lock.Unlock();
  std::thread([&c] {
    MutexLock other(&c.mu);  // would deadlock if Unlock had not released
    c.value = 2;
  }).join();
  lock.Lock();
  EXPECT_EQ(c.value, 2);
}

TEST(MutexTest, ReadersShareWritersExclude) {
  Table t;
  std::atomic<int> readers_in{0};
  std::atomic<bool> release{false};
  std::thread r1([&] {
    ReaderLock lock(&t.mu);
    readers_in.fetch_add(1);
    while (!release.load()) std::this_thread::yield();
  });
  // A second reader gets in while the first holds the lock (a writer could not).
  while (readers_in.load() < 1) std::this_thread::yield();
  {
    ReaderLock lock(&t.mu);
    EXPECT_EQ(t.data, 0);
  }
  release.store(true);
  r1.join();
  {
    WriterLock lock(&t.mu);
    t.data = 5;
  }
  ReaderLock lock(&t.mu);
  EXPECT_EQ(t.data, 5);
}

TEST(MutexTest, CondVarHandsOffEveryItem) {
  Queue q;
  constexpr int kItems = 5000;
  int64_t sum = 0;
  std::thread consumer([&] {
    MutexLock lock(&q.mu);
    while (true) {
      while (q.items.empty() && !q.done) q.cv.Wait(q.mu);
      if (q.items.empty()) break;
      for (int v : q.items) sum += v;
      q.items.clear();
    }
  });
  for (int i = 1; i <= kItems; ++i) {
    MutexLock lock(&q.mu);
    q.items.push_back(i);
    q.cv.NotifyOne();
  }
  {
    MutexLock lock(&q.mu);
    q.done = true;
    q.cv.NotifyAll();
  }
  consumer.join();
  EXPECT_EQ(sum, int64_t{kItems} * (kItems + 1) / 2);
}

TEST(MutexTest, WaitUntilReturnsFalseAtTheDeadlineWithTheLockHeld) {
  Counter c;
  CondVar cv;
  MutexLock lock(&c.mu);
  EXPECT_FALSE(cv.WaitFor(c.mu, std::chrono::milliseconds(1)));
  c.value = 3;  // held again after the wait (TSan would see a race otherwise)
  bool got = true;
  std::thread([&] {
    got = false;
    if (c.mu.TryLock()) {
      got = true;
      c.mu.Unlock();
    }
  }).join();
  EXPECT_FALSE(got);
}

}  // namespace
}  // namespace ew
