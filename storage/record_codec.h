// Schema-2 values of the tier and exemplar column families (docs/format/storage.md, "Values:
// rollup records" and "Exemplars"): a compact binary record of entries at minute offsets with
// columns (counts as varints, LatencySketch encodings, minute counts), and exemplar lists.
// Parsing validates the whole record and returns Corruption on any damage; parsed entries view
// the caller's buffer.
//
// Thread-safety: pure functions; RecordMerger is single-threaded (one per thread).
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/edge_store.h"

namespace ew::storage {

constexpr uint8_t kRecordTag = 0xB2;
constexpr uint8_t kExemplarListTag = 0xE2;

// One entry of a record: the figures of one minute (minute tier) or of the whole unit (hour and
// day records, offset 0).
struct RecordEntry {
  uint16_t offset = 0;
  uint64_t requests = 0, errors = 0, request_bytes = 0, response_bytes = 0;
  std::string_view server, client;  // LatencySketch encodings; empty = empty sketch
};

// (minute offset inside the record's unit, requests), ascending offsets, counts > 0.
using MinuteCounts = std::vector<std::pair<uint16_t, uint64_t>>;

// How a record knows its busiest minute.
enum class PeakForm : uint8_t {
  kNone = 0,       // no minute counts (detail records; records whose minutes were lost)
  kCounts = 1,     // minute_counts holds every minute with requests
  kCollapsed = 2,  // only (peak, peak_offset) is kept
};

struct RecordView {
  std::vector<RecordEntry> entries;  // ascending offsets
  PeakForm peak_form = PeakForm::kNone;
  MinuteCounts minute_counts;  // with kCounts
  uint64_t peak = 0;           // with kCollapsed
  uint16_t peak_offset = 0;    // with kCollapsed
};

// Limits of a column family's records: entry offsets < entry_limit (60 in the minute tier, 1 in
// hour and day records), minute-count offsets < count_limit (60 hour, 1440 day, 0: none allowed).
struct RecordLimits {
  uint32_t entry_limit = 1;
  uint32_t count_limit = 0;
};
RecordLimits LimitsOf(Tier tier);

// Parses data into *out (entries view data). Corruption on any malformation.
Status ParseRecord(std::string_view data, RecordLimits limits, RecordView* out);

// Encodes a record into *out (replaced). Entries must have strictly ascending offsets.
void EncodeRecord(std::span<const RecordEntry> entries, PeakForm form, const MinuteCounts& counts,
                  uint64_t peak, uint16_t peak_offset, std::string* out);

// The busiest minute of a parsed record: (requests, offset) of its largest minute count (the
// earliest on ties), the collapsed peak, or (0, 0) with kNone.
std::pair<uint64_t, uint16_t> PeakOf(const RecordView& r);

// Merges records (the merge operator's rule, docs/format/storage.md "Merge rules"): entries at
// the same offset add (sketches bucket-wise), minute counts add per minute, a collapsed peak
// with anything keeps the larger peak; a record without minute counts makes the result have
// none. Reuses its buffers across calls.
class RecordMerger {
 public:
  Status Merge(std::span<const std::string_view> inputs, RecordLimits limits, std::string* out);
  // Collapses a record's minute counts into its (peak, offset); false if it has none.
  static bool Collapse(std::string_view data, RecordLimits limits, std::string* out);

 private:
  // Merges the entries collected in all_ (entries at one offset add) into merged_.
  Status MergeEntries();

  std::vector<RecordView> views_;
  std::vector<std::pair<uint16_t, const RecordEntry*>> all_;
  std::vector<RecordEntry> merged_;
  std::deque<std::string> owned_;
  LatencySketch server_, client_, scratch_;
};

// Exemplar lists: at most kMaxExemplars entries; start_ms relative to base_ms (the start of the
// key's time unit).
void EncodeExemplarList(const std::vector<Exemplar>& list, int64_t base_ms, std::string* out);
Status DecodeExemplarList(std::string_view data, int64_t base_ms, std::vector<Exemplar>* out);

}  // namespace ew::storage
