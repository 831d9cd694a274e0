#include "storage/edge_totals.h"

#include <algorithm>

#include "base/hash.h"

namespace ew::storage {

std::vector<double> EdgeTotals::TempoBoundsSeconds() {
  return {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8};
}

EdgeTotals::EdgeTotals(std::vector<double> bounds_seconds) : bounds_(std::move(bounds_seconds)) {
  limits_.reserve(bounds_.size());
  for (double b : bounds_) {
    // BucketValue grows with the index: the last index whose value is <= b (-1: none).
    const double micros = b * 1e6;
    int32_t lo = -1, hi = LatencySketch::kMaxIndex;  // answer in [lo, hi]
    while (lo < hi) {
      const int32_t mid = lo + (hi - lo + 1) / 2;
      if (LatencySketch::BucketValue(mid) <= micros) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    limits_.push_back(lo);
  }
  values_.resize(static_cast<size_t>(LatencySketch::kMaxIndex) + 1);
  slots_.resize(values_.size());
  for (int32_t i = 0; i <= LatencySketch::kMaxIndex; ++i) {
    values_[static_cast<size_t>(i)] = LatencySketch::BucketValue(i);
    slots_[static_cast<size_t>(i)] = static_cast<uint8_t>(SlotOf(i));
  }
}

size_t EdgeTotals::KeyHash::operator()(const Key& k) const {
  return static_cast<size_t>(MixHash((static_cast<uint64_t>(k.client) << 32 | k.server) ^
                                     (static_cast<uint64_t>(k.protocol) * 0x9e3779b97f4a7c15ULL)));
}

size_t EdgeTotals::SlotOf(int32_t sketch_index) const {
  return static_cast<size_t>(std::lower_bound(limits_.begin(), limits_.end(), sketch_index) -
                             limits_.begin());
}

void EdgeTotals::AddSketch(const LatencySketch& sketch, Histogram* h) const {
  if (sketch.Empty()) return;
  if (h->counts.empty()) h->counts.assign(bounds_.size() + 1, 0);
  double micros = 0;
  for (const auto& [index, count] : sketch.Buckets()) {
    const auto i = static_cast<size_t>(std::clamp(index, 0, LatencySketch::kMaxIndex));
    h->counts[slots_[i]] += count;
    micros += values_[i] * static_cast<double>(count);
  }
  h->sum_seconds += micros / 1e6;
  h->count += sketch.Count();
}

void EdgeTotals::Add(const std::vector<MinuteRollup>& rollups) {
  MutexLock lock(&mu_);
  for (const MinuteRollup& r : rollups) {
    const Key key{r.dims.client, r.dims.server, r.dims.protocol};
    auto [it, inserted] = entries_.try_emplace(key);
    Entry& e = it->second;
    if (inserted) {
      e.client = key.client;
      e.server = key.server;
      e.protocol = key.protocol;
    }
    e.requests += r.value.requests;
    e.errors += r.value.errors;
    AddSketch(r.value.server_latency, &e.server_latency);
    AddSketch(r.value.client_latency, &e.client_latency);
  }
}

void EdgeTotals::RemoveIf(const std::function<bool(NodeId server)>& drop) {
  MutexLock lock(&mu_);
  std::erase_if(entries_, [&](const auto& kv) { return drop(kv.first.server); });
}

std::vector<EdgeTotals::Entry> EdgeTotals::Snapshot() const {
  MutexLock lock(&mu_);
  std::vector<Entry> out;
  out.reserve(entries_.size());
  for (const auto& [key, e] : entries_) out.push_back(e);
  return out;
}

size_t EdgeTotals::size() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace ew::storage
