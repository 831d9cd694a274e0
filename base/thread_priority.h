// LowerThreadPriority: makes the calling thread give way to the process's other threads for the
// CPU, so that background work (queries) does not delay latency-critical work (ingest).
//   - nice_increment (0..19) is added to the thread's nice value (Linux applies setpriority with
//     a thread id to that thread alone): a nice-19 thread weighs 15 against a nice-0 thread's
//     1024 in the scheduler;
//   - CpuPolicy::kIdle also switches the thread to SCHED_IDLE (Linux): it runs only when no
//     SCHED_OTHER thread of the machine wants the core, at a weight of 3 (it is not starved
//     outright, so a lock it holds is released eventually). Needs no privilege.
// Where the platform has neither, a no-op.
//
// Thread-safety: affects only the calling thread.
#pragma once

#include <string>

#include "base/status.h"

namespace ew {

enum class CpuPolicy { kNormal, kIdle };

// Parses "idle" / "normal" (the --query-sched values).
Result<CpuPolicy> ParseCpuPolicy(const std::string& text);
const char* CpuPolicyName(CpuPolicy policy);

Status LowerThreadPriority(int nice_increment, CpuPolicy policy);

}  // namespace ew
