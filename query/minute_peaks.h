// Busiest minutes (/api/v1/edge/series, /api/v1/capacity): the peak of several records is the
// highest one-minute SUM of their requests, so it is found from their per-minute counts
// (storage::RollupValue::minute_counts) added minute by minute — per-record peaks cannot be
// added. MinuteWindow holds those sums over a window of consecutive minutes.
//
// Thread-safety: value types; one per thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace ew::query {

struct MinutePeak {
  uint64_t requests = 0;  // the highest one-minute request count (0: no traffic)
  int64_t minute = 0;     // its minute since the epoch, the earliest on ties (when requests > 0)

  // Keeps the higher of the two (the earlier minute on ties).
  void Take(uint64_t r, int64_t m) {
    if (r > requests || (r == requests && r > 0 && m < minute)) {
      requests = r;
      minute = m;
    }
  }
  double RatePerSecond() const { return static_cast<double>(requests) / 60.0; }
};

// Per-minute request sums over [start, start + length) minutes. Reset reuses the memory and
// clears only what was touched.
class MinuteWindow {
 public:
  void Reset(int64_t start, int64_t length);
  int64_t start() const { return start_; }
  int64_t length() const { return static_cast<int64_t>(sums_.size()); }
  bool empty() const { return lo_ > hi_; }
  // Adds count at minute (ignored outside the window).
  void AddAt(int64_t minute, uint64_t count);
  // Adds a record's minute counts, offsets from unit_start (ascending).
  void AddCounts(int64_t unit_start, const std::vector<std::pair<uint16_t, uint64_t>>& counts);
  // Calls fn(minute, sum) for every minute with a non-zero sum, in ascending order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (int64_t i = lo_; i <= hi_; ++i) {
      if (sums_[i] != 0) fn(start_ + i, sums_[i]);
    }
  }
  MinutePeak Peak() const;

 private:
  int64_t start_ = 0;
  std::vector<uint64_t> sums_;
  int64_t lo_ = 1, hi_ = 0;  // the touched offsets (lo_ > hi_: none)
};

}  // namespace ew::query
