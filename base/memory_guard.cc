// MemoryGuard (memory_guard.h): RSS sampling against the memory budget.
#include "base/memory_guard.h"

#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <fstream>
#include <string>

#include "base/thread_name.h"

namespace ew {

MemoryGuard::MemoryGuard(uint64_t budget_bytes, MetricsRegistry* metrics) : budget_(budget_bytes) {
  if (metrics != nullptr) {
    rss_gauge_ = metrics->GetGauge("ew_memory_rss_bytes", "Resident memory of the server");
    metrics
        ->GetGauge("ew_memory_budget_bytes",
                   "Resident memory at which ingest answers 503 (--memory-budget; 0: none)")
        ->Set(static_cast<double>(budget_bytes));
#if defined(__GLIBC__)
    // glibc's heap (one arena, base/malloc_policy.h): what the server's own code holds, and the
    // freed memory malloc keeps for reuse until a trim. Read at scrape time (walks the bins).
    metrics->AddGaugeCallback("ew_memory_heap_in_use_bytes",
                              "glibc heap bytes allocated and not freed (mallinfo2)", [] {
                                const struct mallinfo2 mi = mallinfo2();
                                return static_cast<double>(mi.uordblks + mi.hblkhd);
                              });
    metrics->AddGaugeCallback("ew_memory_heap_free_bytes",
                              "glibc heap bytes freed but kept by malloc (mallinfo2)",
                              [] { return static_cast<double>(mallinfo2().fordblks); });
#endif
  }
}

MemoryGuard::~MemoryGuard() { Stop(); }

uint64_t MemoryGuard::ReadRss() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t MemoryGuard::DefaultBudget() {
  uint64_t limit =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::ifstream cg("/sys/fs/cgroup/memory.max");
  std::string v;
  if (cg >> v && v != "max") {
    try {
      const uint64_t c = std::stoull(v);
      if (c > 0 && c < limit) limit = c;
    } catch (...) {
    }
  }
  return limit / 4 * 3;
}

void MemoryGuard::SampleNow() {
  const uint64_t rss = ReadRss();
  rss_.store(rss, std::memory_order_relaxed);
  if (rss_gauge_ != nullptr) rss_gauge_->Set(static_cast<double>(rss));
  over_.store(budget_ > 0 && rss >= budget_, std::memory_order_relaxed);
}

void MemoryGuard::Start() {
  if (sampler_.joinable()) return;
  SampleNow();
  sampler_ = std::thread([this] {
    SetThreadName("ew-memguard");
    MutexLock lock(&mu_);
    while (!stop_) {
      cv_.WaitFor(mu_, std::chrono::milliseconds(100));
      if (!stop_) SampleNow();
    }
  });
}

void MemoryGuard::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (sampler_.joinable()) sampler_.join();
}

}  // namespace ew
