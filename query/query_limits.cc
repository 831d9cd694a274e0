#include "query/query_limits.h"

#include <utility>

namespace ew::query {

QueryLimits::QueryLimits(Clock::time_point deadline, uint64_t max_edges, NowFn now)
    : deadline_(deadline), max_edges_(max_edges ? max_edges : UINT64_MAX), now_(std::move(now)) {}

Status QueryLimits::CheckDeadline() {
  checks_.fetch_add(1, std::memory_order_relaxed);
  if (hit_.load(std::memory_order_relaxed) == 0 && deadline_ != Clock::time_point::max()) {
    const Clock::time_point now = now_ ? now_() : Clock::now();
    if (now >= deadline_) return Fail(Hit::kDeadline);
  }
  if (hit_.load(std::memory_order_relaxed) == 0) return Status::Ok();
  return Fail(Hit::kNone);
}

Status QueryLimits::Fail(Hit hit) {
  int expected = 0;
  if (hit != Hit::kNone) {
    hit_.compare_exchange_strong(expected, static_cast<int>(hit), std::memory_order_relaxed);
  }
  if (this->hit() == Hit::kEdges) {
    return Status::ResourceExhausted("query holds more than " + std::to_string(max_edges_) +
                                     " edges");
  }
  return Status::Unavailable("query deadline passed");
}

}  // namespace ew::query
