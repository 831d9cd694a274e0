// LowerThreadPriority (thread_priority.h): setpriority on the thread id, then SCHED_IDLE.
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

Status LowerThreadPriority(int nice_increment, CpuPolicy policy) {
#if defined(__linux__)
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  if (nice_increment > 0) {
    errno = 0;
    const int now = getpriority(PRIO_PROCESS, tid);
    if (errno != 0 || setpriority(PRIO_PROCESS, tid, now + nice_increment) != 0) {
      return Status::Internal(std::string("setpriority: ") + std::strerror(errno));
    }
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
  (void)nice_increment;
  (void)policy;
#endif
  return Status::Ok();
}

}  // namespace ew
