// MemoryGuard: the server's global memory budget (--memory-budget; docs/operations.md). A
// sampler thread reads the process's resident set size every 100 ms; while it is at or above the
// budget, Over() is true and ingest refuses new requests with 503 + Retry-After instead of
// growing its waiting and aggregation state until the kernel's OOM killer ends the process.
// Resident memory is what the OOM killer judges, so that is what is measured (the budget then
// also covers RocksDB's caches and memtables, which are bounded by their own settings).
//
// Thread-safety: Over(), LastRss() and SampleNow() from any thread; Start/Stop from one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "base/metrics.h"
#include "base/mutex.h"

namespace ew {

class MemoryGuard {
 public:
  // budget_bytes 0: no budget (Over() is always false; the sampler still reports RSS).
  MemoryGuard(uint64_t budget_bytes, MetricsRegistry* metrics);
  ~MemoryGuard();
  MemoryGuard(const MemoryGuard&) = delete;
  MemoryGuard& operator=(const MemoryGuard&) = delete;

  void Start() EXCLUDES(mu_);  // the sampler thread (idempotent)
  void Stop() EXCLUDES(mu_);   // joins it (idempotent)
  void SampleNow();

  bool Over() const { return over_.load(std::memory_order_relaxed); }
  uint64_t LastRss() const { return rss_.load(std::memory_order_relaxed); }
  uint64_t budget() const { return budget_; }

  // Resident set size of this process in bytes (/proc/self/statm); 0 if unreadable.
  static uint64_t ReadRss();
  // 75 % of the memory this process may use: the smaller of the machine's MemTotal and the
  // cgroup (v2) memory.max, when there is one.
  static uint64_t DefaultBudget();

 private:
  const uint64_t budget_;
  std::atomic<bool> over_{false};
  std::atomic<uint64_t> rss_{0};
  Gauge* rss_gauge_ = nullptr;
  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread sampler_;
};

}  // namespace ew
