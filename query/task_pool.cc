#include "query/task_pool.h"

#include <utility>

#include "base/log.h"
#include "base/thread_name.h"

namespace ew::query {

TaskPool::TaskPool(std::string name, int threads, size_t queue_limit, ThreadPriority priority)
    : name_(std::move(name)), queue_limit_(queue_limit) {
  if (threads < 1) threads = 1;
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i, priority] { Run(i, priority); });
  }
  MutexLock lock(&mu_);
  while (started_ < threads_.size()) started_cv_.Wait(mu_);
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

void TaskPool::Run(int index, ThreadPriority priority) {
  SetThreadName(name_ + "-" + std::to_string(index));
  if (Status st = LowerThreadPriority(priority); !st.ok()) {
    EW_LOG(kWarn) << "query: cannot lower the priority of " << name_
                  << " threads: " << st.ToString();
  }
  {
    MutexLock lock(&mu_);
    ++started_;
  }
  started_cv_.NotifyAll();
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
