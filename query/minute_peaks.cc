#include "query/minute_peaks.h"

#include <algorithm>

namespace ew::query {

void MinuteWindow::Reset(int64_t start, int64_t length) {
  if (static_cast<int64_t>(sums_.size()) == length) {
    if (lo_ <= hi_) std::fill(sums_.begin() + lo_, sums_.begin() + hi_ + 1, 0);
  } else {
    sums_.assign(static_cast<size_t>(length), 0);
  }
  start_ = start;
  lo_ = 1;
  hi_ = 0;
}

void MinuteWindow::AddAt(int64_t minute, uint64_t count) {
  const int64_t i = minute - start_;
  if (i < 0 || i >= static_cast<int64_t>(sums_.size()) || count == 0) return;
  sums_[i] += count;
  if (lo_ > hi_) {
    lo_ = hi_ = i;
  } else {
    lo_ = std::min(lo_, i);
    hi_ = std::max(hi_, i);
  }
}

void MinuteWindow::AddCounts(int64_t unit_start,
                             const std::vector<std::pair<uint16_t, uint64_t>>& counts) {
  for (const auto& [offset, count] : counts) AddAt(unit_start + offset, count);
}

MinutePeak MinuteWindow::Peak() const {
  MinutePeak p;
  ForEach([&](int64_t minute, uint64_t sum) { p.Take(sum, minute); });
  return p;
}

}  // namespace ew::query
