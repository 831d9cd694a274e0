// QueryLimits: the bounds of one query — a deadline (--query-timeout) and a cap on the edges one
// scan table may hold (--query-max-edges, the per-query memory bound). The scans check them as
// they read (the deadline every kCheckEvery records, the edge count at every new edge), so a
// query past its deadline stops reading instead of finishing first.
//
// Thread-safety: the Check functions may be called from several scan threads of one query at
// once; the first limit hit is kept (an atomic) and every later check fails too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "base/status.h"

namespace ew::query {

class QueryLimits {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;
  enum class Hit { kNone = 0, kDeadline = 1, kEdges = 2 };
  // Records a scan reads between two deadline checks (a clock read each).
  static constexpr uint32_t kCheckEvery = 256;

  // No limits.
  QueryLimits() = default;
  // max_edges 0: no edge cap. now: the clock (empty: steady_clock; tests pass a fake one).
  QueryLimits(Clock::time_point deadline, uint64_t max_edges, NowFn now = {});
  QueryLimits(const QueryLimits&) = delete;
  QueryLimits& operator=(const QueryLimits&) = delete;

  // Unavailable once the deadline has passed (or another limit was hit).
  Status CheckDeadline();
  // ResourceExhausted when a table holds more than max_edges (or another limit was hit).
  Status CheckEdges(size_t edges) {
    if (edges <= max_edges_ && hit_.load(std::memory_order_relaxed) == 0) return Status::Ok();
    return Fail(edges > max_edges_ ? Hit::kEdges : Hit::kNone);
  }
  // The first limit hit (kNone while none is).
  Hit hit() const { return static_cast<Hit>(hit_.load(std::memory_order_relaxed)); }
  uint64_t max_edges() const { return max_edges_; }
  // Deadline checks made so far (tests check that a scan stopped early).
  uint64_t deadline_checks() const { return checks_.load(std::memory_order_relaxed); }

 private:
  Status Fail(Hit hit);

  Clock::time_point deadline_ = Clock::time_point::max();
  uint64_t max_edges_ = UINT64_MAX;
  NowFn now_;
  // Relaxed: hit_ is a flag that only ever goes from 0 to one value; the query's result is read
  // after the scan threads were joined (which orders everything they wrote).
  std::atomic<int> hit_{0};
  std::atomic<uint64_t> checks_{0};
};

}  // namespace ew::query
