#include "query/task_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "base/log.h"
#include "base/thread_name.h"

namespace ew::query {

TaskPool::TaskPool(std::string name, int threads, size_t queue_limit, int nice)
    : name_(std::move(name)), queue_limit_(queue_limit) {
  if (threads < 1) threads = 1;
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i, nice] { Run(i, nice); });
}

TaskPool::~TaskPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  for (auto& t : threads_) t.join();
}

bool TaskPool::TrySubmit(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (queue_limit_ != 0 && queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.NotifyOne();
  return true;
}

size_t TaskPool::Queued() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

void TaskPool::Run(int index, int nice) {
  SetThreadName(name_ + "-" + std::to_string(index));
  if (nice > 0) {
    // Linux applies PRIO_PROCESS with a thread id to that thread alone.
    const auto tid = static_cast<id_t>(syscall(SYS_gettid));
    if (setpriority(PRIO_PROCESS, tid, getpriority(PRIO_PROCESS, tid) + nice) != 0) {
      EW_LOG(kWarn) << "query: cannot lower the priority of " << name_ << " threads";
    }
  }
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) wake_.Wait(mu_);
      if (queue_.empty()) return;  // stopping, and every queued task has run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace ew::query
