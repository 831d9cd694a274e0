// LatencySketch: a mergeable quantile sketch for request latencies (DDSketch-style logarithmic
// buckets). Any quantile is within 1 % (relative) of the exact nearest-rank value, from 1 µs to
// many hours; merging two sketches is exact (bucket counts add).
//
// Thread-safety: a value type; no internal synchronization.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/coding.h"

namespace ew::storage {

class LatencySketch {
 public:
  // Records `count` observations of `micros` microseconds (values < 1 µs count as 1 µs).
  void Add(double micros, uint64_t count = 1);
  void Merge(const LatencySketch& other);
  // Subtracts another sketch that was merged into this one earlier (bucket counts subtract).
  void Subtract(const LatencySketch& other);
  // Nearest-rank quantile in microseconds, q in [0, 1]. 0 when empty.
  double Quantile(double q) const;
  uint64_t Count() const { return count_; }
  bool Empty() const { return count_ == 0; }
  void Clear();

  // Sparse encoding: varint bucket-index deltas and counts (see docs/format/storage.md).
  void EncodeTo(std::string* out) const;
  static Result<LatencySketch> Decode(std::string_view data);
  // Decodes into *out, reusing its memory (no allocation once out has grown). On error *out is
  // left empty.
  static Status DecodeInto(std::string_view data, LatencySketch* out);
  // Calls f(index, count) for every bucket of an encoding, in ascending index order, without
  // materializing a sketch (for accumulators that merge encodings straight into their own
  // counters). Corruption (and no further calls) on a malformed encoding; f may have been called
  // for the buckets before the damage.
  template <typename F>
  static Status ForEachEncodedBucket(std::string_view data, F&& f);
  // Adds `count` to one bucket (for decoders and tests). REQUIRES: index in [0, kMaxIndex].
  void AddToBucket(int32_t index, uint64_t count);

  // Relative accuracy of every reported value (slightly under 1 % to absorb rounding), and the
  // range: values are clamped to [1 µs, kMaxMicros].
  static constexpr double kRelativeAccuracy = 0.0099;
  static constexpr double kMaxMicros = 1e12;  // ~11.6 days
  static const int32_t kMaxIndex;

  // (bucket index, count) pairs in ascending index order.
  const std::vector<std::pair<int32_t, uint64_t>>& Buckets() const { return buckets_; }

  // The bucket of a value and the value a bucket reports (its relative midpoint).
  static int32_t BucketOf(double micros);
  // BucketOf(micros) for a whole number of microseconds, from tables (no logarithm): the same
  // index for every uint32_t (tested against BucketOf at and around every bucket boundary).
  static int32_t BucketOfMicros(uint32_t micros);
  static double BucketValue(int32_t index);

  bool operator==(const LatencySketch& o) const { return buckets_ == o.buckets_; }

 private:
  std::vector<std::pair<int32_t, uint64_t>> buckets_;  // sorted by index, counts > 0
  uint64_t count_ = 0;
};

template <typename F>
Status LatencySketch::ForEachEncodedBucket(std::string_view data, F&& f) {
  size_t pos = 0;
  int64_t previous = -1;
  while (pos < data.size()) {
    uint64_t head = 0, count = 1;
    if (!coding::GetVarint64(data, &pos, &head)) {
      return Status::Corruption("latency sketch: truncated bucket");
    }
    if ((head & 1) != 0) {
      if (!coding::GetVarint64(data, &pos, &count) || count > UINT64_MAX - 2) {
        return Status::Corruption("latency sketch: bad count");
      }
      count += 2;
    }
    const uint64_t gap = head >> 1;
    if (gap > static_cast<uint64_t>(kMaxIndex) ||
        previous + 1 + static_cast<int64_t>(gap) > kMaxIndex) {
      return Status::Corruption("latency sketch: bucket index or count out of range");
    }
    previous += 1 + static_cast<int64_t>(gap);
    f(static_cast<int32_t>(previous), count);
  }
  return Status::Ok();
}

}  // namespace ew::storage
