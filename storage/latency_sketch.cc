// LatencySketch implementation. Bucket i holds values in (gamma^(i-1), gamma^i] with
// gamma = (1 + a) / (1 - a); it reports 2 gamma^i / (gamma + 1), which is within a (relative) of
// every value in the bucket. Encoding (docs/format/storage.md): the sparse form, for each bucket
// in ascending order, varint((gap << 1) | (count > 1)) where gap = index - previous index - 1
// (previous = -1 at the start), then varint(count - 2) when the flag is set; or the dense form,
// varint kDenseMarker, varint first index, varint span - 1, then every count of the span as
// varint zigzag(count - previous count). Empty sketch: empty string.
#include "storage/latency_sketch.h"

#include <algorithm>
#include <cmath>

#include "storage/coding.h"

namespace ew::storage {
namespace {

constexpr double kGamma =
    (1 + LatencySketch::kRelativeAccuracy) / (1 - LatencySketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);

}  // namespace

const int32_t LatencySketch::kMaxIndex =
    static_cast<int32_t>(std::ceil(std::log(LatencySketch::kMaxMicros) / kLogGamma));

int32_t LatencySketch::BucketOf(double micros) {
  if (!(micros > 1.0)) return 0;  // also NaN
  if (micros >= kMaxMicros) return kMaxIndex;
  auto index = static_cast<int32_t>(std::ceil(std::log(micros) / kLogGamma));
  return std::clamp(index, 0, kMaxIndex);
}

namespace {

// Tables for BucketOfMicros. Values below kDirect index kSmall directly. Above, the octave e
// (floor log2) and the next kSubBits bits of a value pick the bucket of the smallest value with
// that prefix; a prefix spans at most 2^-kSubBits (0.78 %) of its value, less than one bucket
// (gamma - 1 ~ 2 %), so at most one bucket boundary lies inside it, found with kUpper (the
// largest whole value of each bucket).
constexpr int kSubBits = 7;
constexpr int kDirectBits = 10;
constexpr uint32_t kDirect = uint32_t{1} << kDirectBits;

struct MicrosTables {
  uint16_t small[kDirect];
  uint16_t start[32 - kDirectBits][1 << kSubBits];
  std::vector<uint32_t> upper;  // upper[i]: the largest uint32_t u with BucketOf(u) == i

  MicrosTables() {
    for (uint32_t u = 0; u < kDirect; ++u) {
      small[u] = static_cast<uint16_t>(LatencySketch::BucketOf(static_cast<double>(u)));
    }
    for (int e = kDirectBits; e < 32; ++e) {
      for (uint32_t m = 0; m < (1u << kSubBits); ++m) {
        const uint32_t u0 = (uint32_t{1} << e) | (m << (e - kSubBits));
        start[e - kDirectBits][m] =
            static_cast<uint16_t>(LatencySketch::BucketOf(static_cast<double>(u0)));
      }
    }
    const int32_t top = LatencySketch::BucketOf(static_cast<double>(UINT32_MAX));
    upper.assign(static_cast<size_t>(top) + 1, UINT32_MAX);
    // Walk the boundaries: for each bucket, search the largest member from its estimate
    // gamma^i (BucketOf is non-decreasing in its argument).
    for (int32_t i = 0; i < top; ++i) {
      double estimate = std::floor(std::exp(i * kLogGamma));
      uint64_t c = estimate >= static_cast<double>(UINT32_MAX) ? UINT32_MAX
                                                               : static_cast<uint64_t>(estimate);
      auto bucket = [](uint64_t u) { return LatencySketch::BucketOf(static_cast<double>(u)); };
      while (c > 0 && bucket(c) > i) --c;
      while (c < UINT32_MAX && bucket(c + 1) <= i) ++c;
      upper[static_cast<size_t>(i)] = static_cast<uint32_t>(c);
    }
  }
};

const MicrosTables& Tables() {
  static const MicrosTables tables;
  return tables;
}

}  // namespace

int32_t LatencySketch::BucketOfMicros(uint32_t micros) {
  const MicrosTables& t = Tables();
  if (micros < kDirect) return t.small[micros];
  const int e = 31 - __builtin_clz(micros);
  const uint32_t m = (micros >> (e - kSubBits)) & ((1u << kSubBits) - 1);
  int32_t i = t.start[e - kDirectBits][m];
  if (micros > t.upper[static_cast<size_t>(i)]) ++i;
  return i;
}

double LatencySketch::BucketValue(int32_t index) {
  if (index <= 0) return 1.0;
  return 2.0 * std::exp(index * kLogGamma) / (kGamma + 1.0);
}

void LatencySketch::AddToBucket(int32_t index, uint64_t count) {
  if (count == 0) return;
  // Branch-free lower bound: ingest adds every request to a sketch of a few hundred buckets,
  // and std::lower_bound's data-dependent branches mispredicted on most steps of the search.
  size_t at = 0;
  if (!buckets_.empty()) {
    const std::pair<int32_t, uint64_t>* base = buckets_.data();
    size_t n = buckets_.size();
    while (n > 1) {
      const size_t half = n / 2;
      base = base[half - 1].first < index ? base + half : base;
      n -= half;
    }
    at = static_cast<size_t>(base - buckets_.data()) + (base->first < index ? 1 : 0);
  }
  if (at < buckets_.size() && buckets_[at].first == index) {
    buckets_[at].second += count;
  } else {
    buckets_.insert(buckets_.begin() + static_cast<ptrdiff_t>(at), {index, count});
  }
  count_ += count;
}

void LatencySketch::Add(double micros, uint64_t count) { AddToBucket(BucketOf(micros), count); }

void LatencySketch::Merge(const LatencySketch& other) {
  if (other.buckets_.empty()) return;
  if (buckets_.empty()) {
    *this = other;
    return;
  }
  // Merge into a per-thread scratch vector and copy back: an accumulator that merges thousands of
  // sketches (a scan) reuses its own capacity and stops allocating, without taking over the
  // scratch's (possibly much larger) capacity.
  thread_local std::vector<std::pair<int32_t, uint64_t>> merged;
  merged.clear();
  merged.reserve(buckets_.size() + other.buckets_.size());
  size_t i = 0, j = 0;
  while (i < buckets_.size() || j < other.buckets_.size()) {
    if (j == other.buckets_.size() ||
        (i < buckets_.size() && buckets_[i].first < other.buckets_[j].first)) {
      merged.push_back(buckets_[i++]);
    } else if (i == buckets_.size() || other.buckets_[j].first < buckets_[i].first) {
      merged.push_back(other.buckets_[j++]);
    } else {
      merged.emplace_back(buckets_[i].first, buckets_[i].second + other.buckets_[j].second);
      ++i;
      ++j;
    }
  }
  buckets_.assign(merged.begin(), merged.end());
  count_ += other.count_;
}

void LatencySketch::Subtract(const LatencySketch& other) {
  size_t j = 0;
  size_t out = 0;
  count_ = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    auto [index, count] = buckets_[i];
    while (j < other.buckets_.size() && other.buckets_[j].first < index) ++j;
    if (j < other.buckets_.size() && other.buckets_[j].first == index) {
      count = count > other.buckets_[j].second ? count - other.buckets_[j].second : 0;
    }
    if (count > 0) {
      buckets_[out++] = {index, count};
      count_ += count;
    }
  }
  buckets_.resize(out);
}

double LatencySketch::Quantile(double q) const {
  if (count_ == 0) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank: the smallest rank r with r >= q * n (the epsilon absorbs q * n rounding up).
  double r = q * static_cast<double>(count_);
  auto rank = static_cast<uint64_t>(std::ceil(r - r * 1e-12));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (const auto& [index, count] : buckets_) {
    seen += count;
    if (seen >= rank) return BucketValue(index);
  }
  return BucketValue(buckets_.back().first);
}

void LatencySketch::Clear() {
  buckets_.clear();
  count_ = 0;
}

namespace {

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The zigzag code of to - from, modulo 2^64.
uint64_t ZigZag(uint64_t from, uint64_t to) {
  const uint64_t d = to - from;
  return (d << 1) ^ (0 - (d >> 63));
}

}  // namespace

// The dense form when it is at most 85 % of the sparse form's length: hour and day sketches
// fill most buckets of their span with counts close to their neighbours'. Minute sketches are
// sparse; the margin keeps the sparse form where the two are close in length, whose bytes
// compress better (measured, benchmarks/RESULTS.md).
void LatencySketch::EncodeTo(std::string* out) const {
  if (buckets_.empty()) return;
  const auto first = static_cast<uint64_t>(buckets_.front().first);
  const auto span = static_cast<uint64_t>(buckets_.back().first) - first;
  size_t sparse = 0, dense = 2 + VarintLength(first) + VarintLength(span) + (span + 1);
  int64_t previous = -1;
  uint64_t previous_count = 0;
  for (const auto& [index, count] : buckets_) {
    const auto gap = static_cast<uint64_t>(index - previous - 1);
    sparse += VarintLength((gap << 1) | 1) + (count > 1 ? VarintLength(count - 2) : 0);
    // Empty buckets inside the span cost one byte each (counted above); a filled one its delta
    // from the previous filled one's count when it follows directly, else from 0 (an empty
    // bucket before it).
    dense += VarintLength(ZigZag(gap == 0 ? previous_count : 0, count)) - 1;
    if (gap != 0 && previous >= 0) dense += VarintLength(ZigZag(previous_count, 0)) - 1;
    previous = index;
    previous_count = count;
  }
  if (dense * 20 <= sparse * 17) {
    EncodeDenseTo(out);
    return;
  }
  previous = -1;
  for (const auto& [index, count] : buckets_) {
    uint64_t gap = static_cast<uint64_t>(index - previous - 1);
    coding::PutVarint64(out, (gap << 1) | (count > 1 ? 1 : 0));
    if (count > 1) coding::PutVarint64(out, count - 2);
    previous = index;
  }
}

void LatencySketch::EncodeDenseTo(std::string* out) const {
  const int32_t first = buckets_.front().first;
  coding::PutVarint64(out, kDenseMarker);
  coding::PutVarint64(out, static_cast<uint64_t>(first));
  coding::PutVarint64(out, static_cast<uint64_t>(buckets_.back().first - first));
  uint64_t previous = 0;
  int32_t next = first;
  for (const auto& [index, count] : buckets_) {
    for (; next < index; ++next) {
      coding::PutVarint64(out, ZigZag(previous, 0));
      previous = 0;
    }
    coding::PutVarint64(out, ZigZag(previous, count));
    previous = count;
    next = index + 1;
  }
}

Status LatencySketch::DecodeInto(std::string_view data, LatencySketch* out) {
  out->Clear();
  bool overflow = false;
  Status s = ForEachEncodedBucket(data, [out, &overflow](int32_t index, uint64_t count) {
    if (out->count_ > UINT64_MAX - count) overflow = true;
    out->buckets_.emplace_back(index, count);
    out->count_ += count;
  });
  if (s.ok() && overflow)
    s = Status::Corruption("latency sketch: bucket index or count out of range");
  if (!s.ok()) out->Clear();
  return s;
}

Result<LatencySketch> LatencySketch::Decode(std::string_view data) {
  LatencySketch sketch;
  EW_RETURN_IF_ERROR(DecodeInto(data, &sketch));
  return sketch;
}

}  // namespace ew::storage
