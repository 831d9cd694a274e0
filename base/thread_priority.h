// LowerThreadPriority: makes the calling thread give way to the process's other threads for the
// CPU, so that background work (queries) does not delay latency-critical work (ingest).
//   - nice_increment (0..19) is added to the thread's nice value (Linux applies setpriority with
//     a thread id to that thread alone): a nice-19 thread weighs 15 against a nice-0 thread's
//     1024 in the scheduler;
//   - slice_us (> 0) asks for that scheduler time slice (Linux >= 6.12, EEVDF: sched_setattr's
//     sched_runtime of a SCHED_OTHER thread, 100..100,000 µs). A running thread keeps the core
//     until its slice is used even when a thread of higher weight wakes up (RUN_TO_PARITY), so
//     a short slice bounds how long a waking ingest thread waits behind a query thread. Older
//     kernels ignore it;
//   - CpuPolicy::kIdle also switches the thread to SCHED_IDLE (Linux): it runs only when no
//     SCHED_OTHER thread of the machine wants the core, at a weight of 3 (it is not starved
//     outright, so a lock it holds is released eventually). Needs no privilege.
// Where the platform has neither, a no-op.
//
// Thread-safety: affects only the calling thread.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace ew {

enum class CpuPolicy { kNormal, kIdle };

// Parses "idle" / "normal" (the --query-sched values).
Result<CpuPolicy> ParseCpuPolicy(const std::string& text);
const char* CpuPolicyName(CpuPolicy policy);

struct ThreadPriority {
  int nice = 0;  // increment, 0..19
  CpuPolicy policy = CpuPolicy::kNormal;
  uint32_t slice_us = 0;  // 0: the kernel's default slice
};

// The slice of the calling thread in µs as the kernel reports it (sched_getattr), or 0 where
// the kernel does not report one.
uint32_t CurrentSliceUs();

Status LowerThreadPriority(const ThreadPriority& priority);

}  // namespace ew
