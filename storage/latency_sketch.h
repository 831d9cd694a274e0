// LatencySketch: a mergeable quantile sketch for request latencies (DDSketch-style logarithmic
// buckets). Any quantile is within 1 % (relative) of the exact nearest-rank value, from 1 µs to
// many hours; merging two sketches is exact (bucket counts add).
//
// Thread-safety: a value type; no internal synchronization.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
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

  // Encoding (docs/format/storage.md): the sparse form (varint bucket-index gaps and counts) or,
  // when it is shorter, the dense form (a marker, the first index and the span, then every
  // count of the span as a zigzag delta from the previous one). Decoders read both.
  void EncodeTo(std::string* out) const;
  // The first varint of a dense-form encoding; no sparse encoding starts with it (its gap would
  // be past kMaxIndex). Encoded as the two bytes 0xFF 0x7F.
  static constexpr uint64_t kDenseMarker = 0x3FFF;
  static bool IsDense(std::string_view data) {
    return data.size() >= 2 && static_cast<uint8_t>(data[0]) == 0xFF &&
           static_cast<uint8_t>(data[1]) == 0x7F;
  }
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
  void EncodeDenseTo(std::string* out) const;  // REQUIRES: not empty

  std::vector<std::pair<int32_t, uint64_t>> buckets_;  // sorted by index, counts > 0
  uint64_t count_ = 0;
};

namespace sketch_internal {
// The dense form after its marker: varint first index, varint last - first, then a varint
// zigzag(count - previous count) (modulo 2^64; previous = 0 before the first) for every bucket
// from the first to the last; the first and last counts are > 0.
template <typename F>
Status ForEachDenseBucket(std::string_view data, size_t pos, int32_t max_index, F&& f) {
  uint64_t first = 0, span = 0;
  if (!coding::GetVarint64(data, &pos, &first) || !coding::GetVarint64(data, &pos, &span) ||
      first > static_cast<uint64_t>(max_index) || span > static_cast<uint64_t>(max_index) - first) {
    return Status::Corruption("latency sketch: bad dense range");
  }
  uint64_t count = 0;
  for (uint64_t k = 0; k <= span; ++k) {
    uint64_t z = 0;
    if (!coding::GetVarint64(data, &pos, &z)) {
      return Status::Corruption("latency sketch: truncated dense count");
    }
    count += (z >> 1) ^ (0 - (z & 1));  // modulo 2^64
    if (count == 0 && (k == 0 || k == span)) {
      return Status::Corruption("latency sketch: empty dense end bucket");
    }
    if (count != 0) f(static_cast<int32_t>(first + k), count);
  }
  if (pos != data.size()) return Status::Corruption("latency sketch: trailing dense bytes");
  return Status::Ok();
}
}  // namespace sketch_internal

template <typename F>
Status LatencySketch::ForEachEncodedBucket(std::string_view data, F&& f) {
  if (IsDense(data)) {
    return sketch_internal::ForEachDenseBucket(data, 2, kMaxIndex, std::forward<F>(f));
  }
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
