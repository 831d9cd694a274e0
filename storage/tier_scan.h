// Internal to storage/: turning schema-2 tier records into the RollupValues a scan yields
// (edge_store_tiers.cc). docs/format/storage.md, "Values: rollup records".
//
// Thread-safety: EdgeHourSums is single-threaded (one per scan).
#pragma once

#include <array>
#include <cstdint>

#include "storage/edge_store.h"
#include "storage/record_codec.h"
#include "storage/rollup_codec.h"

namespace ew::storage {

// Sets v's counts and sketches from a record entry: decoded (kDecode), as views of the entry's
// encodings (kEncoded) or left empty (kSkip). Corruption when a decoded sketch is damaged.
Status FillFromEntry(const RecordEntry& e, SketchDecode mode, RollupValue* v);

// Sets v's busiest-minute fields for a record of `tier` at key time `time` (tier units): in the
// minute tier the minute itself (pass minute and its requests); in the hour and day tiers the
// record's peak (0 when it has none) and, with need_counts, its minute counts.
void FillPeak(Tier tier, int64_t time, const RecordView& r, bool need_counts, RollupValue* v);
void FillMinutePeak(int64_t minute, bool need_counts, RollupValue* v);

// The per-minute sums of the detail records of one edge and hour: the edge-level figures of the
// minute tier (whose edge records keep counts only).
class EdgeHourSums {
 public:
  void Clear();
  Status Add(const RecordView& detail);
  // Minute offsets with data, ascending; the figures of one (sketches decoded, encoded empty).
  uint64_t used() const { return used_; }
  const RollupValue& at(int offset) const { return minutes_[static_cast<size_t>(offset)]; }

 private:
  uint64_t used_ = 0;  // bit i: offset i has data
  std::array<RollupValue, 60> minutes_;
  LatencySketch scratch_;  // a decoded series before it is merged
};

}  // namespace ew::storage
