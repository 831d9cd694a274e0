// BoundedQueue: a fixed-capacity lock-free queue of pointers (Dmitry Vyukov's bounded MPMC
// algorithm), used as the I/O threads -> log writer MPSC queue and as the writer -> shard worker
// SPSC queues. Waker: lets a consumer sleep when its queue is empty without producers taking a
// lock unless the consumer is actually asleep.
//
// Memory orders (one place, as STYLE.md asks):
//  - Each cell carries a sequence number. A producer claims a cell by CAS on tail_ (relaxed: the
//    claim itself publishes nothing), writes the value, then stores seq = pos + 1 with release.
//    A consumer loads seq with acquire, so seeing pos + 1 makes the value visible; it claims by
//    CAS on head_ (relaxed), moves the value out, and frees the cell by storing
//    seq = pos + capacity with release, which the next producer's acquire load pairs with.
//  - Waker: the producer publishes, then bumps epoch_ and reads waiters_; the consumer bumps
//    waiters_, then reads epoch_ and checks the queue. All four are seq_cst, so in their single
//    total order either the producer's waiters_ read comes after the consumer's increment (it
//    notifies under the mutex, and the consumer's wait predicate sees the new epoch), or the
//    producer's epoch bump came before the consumer's epoch read (that read synchronizes with
//    the bump, so the consumer's queue check sees the item). No wake-up is lost, no fences.
//
// Thread-safety: TryPush/TryPop from any threads; Waker::Wait from the one consumer thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/mutex.h"

namespace ew::ingest {

template <typename T>
class BoundedQueue {
 public:
  // capacity is rounded up to a power of two (at least 2).
  explicit BoundedQueue(size_t capacity) {
    size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    cells_ = std::make_unique<Cell[]>(cap);
    for (size_t i = 0; i < cap; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }

  // False when full.
  bool TryPush(T* value) {
    size_t pos = tail_.load(std::memory_order_relaxed);
    while (true) {
      Cell& cell = cells_[pos & mask_];
      size_t seq = cell.seq.load(std::memory_order_acquire);
      auto dif = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
      if (dif == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          cell.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (dif < 0) {
        return false;
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // False when empty.
  bool TryPop(T** out) {
    size_t pos = head_.load(std::memory_order_relaxed);
    while (true) {
      Cell& cell = cells_[pos & mask_];
      size_t seq = cell.seq.load(std::memory_order_acquire);
      auto dif = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1);
      if (dif == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          *out = cell.value;
          cell.seq.store(pos + mask_ + 1, std::memory_order_release);
          return true;
        }
      } else if (dif < 0) {
        return false;
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // A hint (exact for the single consumer): true when the next TryPop would fail.
  bool Empty() const {
    size_t pos = head_.load(std::memory_order_relaxed);
    return cells_[pos & mask_].seq.load(std::memory_order_acquire) != pos + 1;
  }

 private:
  struct Cell {
    std::atomic<size_t> seq{0};
    T* value = nullptr;
  };
  size_t mask_ = 0;
  std::unique_ptr<Cell[]> cells_;
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

class Waker {
 public:
  // Producer side, after publishing work.
  void Notify() {
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_seq_cst) > 0) {
      MutexLock lock(&mu_);
      cv_.NotifyOne();
    }
  }
  // Consumer side: sleeps up to timeout unless has_work() or a Notify arrives.
  template <typename HasWork>
  void Wait(std::chrono::milliseconds timeout, HasWork has_work) {
    MutexLock lock(&mu_);
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    const uint64_t seen = epoch_.load(std::memory_order_seq_cst);
    if (!has_work()) {
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      while (epoch_.load(std::memory_order_seq_cst) == seen) {
        if (!cv_.WaitUntil(mu_, deadline)) break;
      }
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }

 private:
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint32_t> waiters_{0};
  Mutex mu_;  // guards no data: it orders a notify after the consumer's wait began
  CondVar cv_;
};

}  // namespace ew::ingest
