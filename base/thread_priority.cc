// LowerThreadPriority (thread_priority.h): setpriority on the thread id, the slice through
// sched_setattr, then SCHED_IDLE.
#include "base/thread_priority.h"

#if defined(__linux__)
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#endif

namespace ew {

Result<CpuPolicy> ParseCpuPolicy(const std::string& text) {
  if (text == "idle") return CpuPolicy::kIdle;
  if (text == "normal") return CpuPolicy::kNormal;
  return Status::InvalidArgument("expected idle or normal, got '" + text + "'");
}

const char* CpuPolicyName(CpuPolicy policy) {
  return policy == CpuPolicy::kIdle ? "idle" : "normal";
}

namespace {

#if defined(__linux__)
// struct sched_attr of sched_setattr(2) (glibc 2.36 has no wrapper or type).
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t sched_policy = 0;
  uint64_t sched_flags = 0;
  int32_t sched_nice = 0;
  uint32_t sched_priority = 0;
  uint64_t sched_runtime = 0;  // SCHED_OTHER on Linux >= 6.12: the custom slice, ns
  uint64_t sched_deadline = 0;
  uint64_t sched_period = 0;
};

Status SetSlice(id_t tid, uint32_t slice_us) {
  SchedAttr attr;
  if (syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0) != 0) {
    return Status::Internal(std::string("sched_getattr: ") + std::strerror(errno));
  }
  attr.size = sizeof(attr);
  attr.sched_flags = 0;
  attr.sched_runtime = static_cast<uint64_t>(slice_us) * 1000;
  if (syscall(SYS_sched_setattr, tid, &attr, 0) != 0) {
    return Status::Internal(std::string("sched_setattr(slice): ") + std::strerror(errno));
  }
  return Status::Ok();
}
#endif

}  // namespace

uint32_t CurrentSliceUs() {
#if defined(__linux__)
  SchedAttr attr;
  if (syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) != 0) return 0;
  return static_cast<uint32_t>(attr.sched_runtime / 1000);
#else
  return 0;
#endif
}

Status LowerThreadPriority(const ThreadPriority& priority) {
#if defined(__linux__)
  const int nice_increment = priority.nice;
  const CpuPolicy policy = priority.policy;
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  if (nice_increment > 0) {
    errno = 0;
    const int now = getpriority(PRIO_PROCESS, tid);
    if (errno != 0 || setpriority(PRIO_PROCESS, tid, now + nice_increment) != 0) {
      return Status::Internal(std::string("setpriority: ") + std::strerror(errno));
    }
  }
  // Before SCHED_IDLE: the slice is a SCHED_OTHER attribute (sched_setattr keeps the policy).
  if (priority.slice_us > 0 && policy == CpuPolicy::kNormal) {
    EW_RETURN_IF_ERROR(SetSlice(tid, priority.slice_us));
  }
  if (policy == CpuPolicy::kIdle) {
    sched_param param{};
    param.sched_priority = 0;
    if (sched_setscheduler(0, SCHED_IDLE, &param) != 0) {
      return Status::Internal(std::string("sched_setscheduler(SCHED_IDLE): ") +
                              std::strerror(errno));
    }
  }
#else
  (void)priority;
#endif
  return Status::Ok();
}

}  // namespace ew
