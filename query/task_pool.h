// TaskPool: a fixed set of threads, created once, that run queued tasks in FIFO order. The query
// service runs every query API request on one (bounded queue: admission control) and the helper
// parts of a parallel map scan on another (so no query ever starts a thread of its own).
//
// Thread-safety: TrySubmit and the accessors may be called from any thread, tasks included. The
// destructor runs the tasks still queued, then joins the threads; no TrySubmit may race with it.
// The constructor returns once every thread has its name and priority.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "base/thread_priority.h"

namespace ew::query {

class TaskPool {
 public:
  // threads >= 1 named "<name>-<i>"; queue_limit: tasks that may wait for a thread (0: no
  // limit); priority: the threads' nice increment (0: as the process), policy (kIdle:
  // SCHED_IDLE) and time slice, so that they yield the CPU to the I/O and ingest threads.
  TaskPool(std::string name, int threads, size_t queue_limit, ThreadPriority priority = {});
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Queues the task. False (the task is dropped, not run) when queue_limit tasks already wait.
  [[nodiscard]] bool TrySubmit(std::function<void()> task) EXCLUDES(mu_);
  // Tasks waiting for a thread (not those running).
  size_t Queued() const EXCLUDES(mu_);
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Run(int index, ThreadPriority priority) EXCLUDES(mu_);

  const std::string name_;
  const size_t queue_limit_;
  mutable Mutex mu_;
  CondVar wake_;
  CondVar started_cv_;
  size_t started_ GUARDED_BY(mu_) = 0;  // threads named and at their priority
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace ew::query
