// Fuzz target: the latency sketch decoders (storage/latency_sketch.h: DecodeInto and
// ForEachEncodedBucket, which scans read stored sketches with), on any bytes.
//
// Relations checked: both decoders accept the same encodings (DecodeInto also rejects a total
// count past 2^64) and see the same buckets, ascending, in range, counts >= 1; a decoded sketch
// re-encodes canonically and decodes to itself; quantiles are bucket values, ascending in q;
// Merge and Subtract of two decoded sketches match a brute-force map of bucket counts.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "storage/latency_sketch.h"

namespace ew::storage {
namespace {

using Buckets = std::vector<std::pair<int32_t, uint64_t>>;

// Decodes `data` both ways; returns whether DecodeInto accepted it.
bool DecodeBothWays(std::string_view data, LatencySketch* out) {
  Buckets seen;
  const Status scan = LatencySketch::ForEachEncodedBucket(
      data, [&seen](int32_t index, uint64_t count) { seen.emplace_back(index, count); });
  const Status s = LatencySketch::DecodeInto(data, out);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == StatusCode::kCorruption && out->Empty() && out->Buckets().empty(),
               s.ToString());
    if (scan.ok()) {  // only a total count past 2^64 is rejected by DecodeInto alone
      uint64_t total = 0;
      bool overflow = false;
      for (const auto& [index, count] : seen) {
        overflow |= total > UINT64_MAX - count;
        total += count;
      }
      FUZZ_CHECK(overflow, "DecodeInto rejected what ForEachEncodedBucket accepted");
    }
    return false;
  }
  FUZZ_CHECK(scan.ok(), "ForEachEncodedBucket rejected what DecodeInto accepted");
  FUZZ_CHECK(seen == out->Buckets(), "the two decoders see other buckets");
  uint64_t total = 0;
  int64_t previous = -1;
  for (const auto& [index, count] : out->Buckets()) {
    FUZZ_CHECK(index > previous && index <= LatencySketch::kMaxIndex && count >= 1,
               "bucket " + std::to_string(index) + " count " + std::to_string(count));
    previous = index;
    total += count;
  }
  FUZZ_CHECK(total == out->Count(), "Count() is not the sum of the buckets");
  return true;
}

void CheckSketch(const LatencySketch& sketch) {
  std::string encoded;
  sketch.EncodeTo(&encoded);
  auto again = LatencySketch::Decode(encoded);
  FUZZ_CHECK(again.ok() && again.value() == sketch, "re-encoded sketch decodes to another");
  std::string encoded_again;
  again.value().EncodeTo(&encoded_again);
  FUZZ_CHECK(encoded_again == encoded, "encoding is not canonical");

  double last = 0;
  for (double q : {0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const double v = sketch.Quantile(q);
    FUZZ_CHECK(std::isfinite(v) && v >= last, "quantile " + std::to_string(q));
    last = v;
  }
}

void CheckMerge(const LatencySketch& a, const LatencySketch& b) {
  if (a.Count() > UINT64_MAX / 2 || b.Count() > UINT64_MAX / 2) return;  // sums would wrap
  std::map<int32_t, uint64_t> model;
  for (const auto& [index, count] : a.Buckets()) model[index] += count;
  for (const auto& [index, count] : b.Buckets()) model[index] += count;
  LatencySketch merged = a;
  merged.Merge(b);
  FUZZ_CHECK(merged.Buckets() == Buckets(model.begin(), model.end()), "Merge");
  FUZZ_CHECK(merged.Count() == a.Count() + b.Count(), "Merge count");
  merged.Subtract(b);
  FUZZ_CHECK(merged == a && merged.Count() == a.Count(), "Subtract after Merge");
}

}  // namespace
}  // namespace ew::storage

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ew::storage::LatencySketch;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  LatencySketch whole;
  if (ew::storage::DecodeBothWays(bytes, &whole)) ew::storage::CheckSketch(whole);
  // Two sketches from the input, split where its first byte says, for Merge and Subtract.
  if (size < 2) return 0;
  const size_t split = 1 + data[0] % (size - 1);
  LatencySketch a, b;
  if (ew::storage::DecodeBothWays(bytes.substr(1, split - 1), &a) &&
      ew::storage::DecodeBothWays(bytes.substr(split), &b)) {
    ew::storage::CheckMerge(a, b);
  }
  return 0;
}
