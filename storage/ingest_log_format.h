// Internal to storage: the on-disk record framing of the ingest log (docs/format/ingest-log.md)
// and a parser over one segment's bytes. Shared by ingest_log.cc and its tests.
//
// Thread-safety: pure functions over caller-owned memory.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ew::storage::ingest_log_format {

// [u32 length LE][u32 checksum LE][length bytes of payload]
constexpr uint64_t kHeaderBytes = 8;
// Larger lengths are treated as corruption (request bodies are capped far below this).
constexpr uint32_t kMaxRecordBytes = 1u << 30;
// The seed of the checksum hash ("ewingest" in ASCII).
constexpr uint64_t kChecksumSeed = 0x6577696e67657374ULL;
// Segment files: 20 decimal digits of the start position, then this suffix. Segments of the
// first format (checksums without the position) end in kLegacySegmentSuffix; they are read, and
// never written again. A segment kept for reuse ends in kFreeSuffix (its old start, no meaning).
constexpr std::string_view kSegmentSuffix = ".wal";
constexpr std::string_view kLegacySegmentSuffix = ".log";
constexpr std::string_view kFreeSuffix = ".free";
// An empty file beside a segment that is a reused file (its start, then this suffix): the bytes
// past the segment's records are the file's former contents, not a torn write.
constexpr std::string_view kReusedSuffix = ".reused";

// What a record's checksum covers besides its payload and length: 0 in legacy segments; in
// current ones PositionSeed(the record's start position), so the bytes of a reused segment's
// former life — valid records, at other positions — never check out as records of this one.
uint64_t PositionSeed(uint64_t position);

// XXH3-64 of the payload seeded with kChecksumSeed ^ length ^ position_seed, folded to 32 bits
// (high ^ low). The length is part of the seed, so a header whose length field changed fails the
// check too.
uint32_t RecordChecksum(std::string_view payload, uint64_t position_seed = 0);
// The same for the payload head + body (two pieces, not concatenated).
uint32_t RecordChecksum(std::string_view head, std::string_view body,
                        std::span<const std::string_view> more, uint64_t position_seed);
// The 8-byte header of the record whose payload is head + body (+ the pieces of more).
void FrameHeader(std::string_view head, std::string_view body, char out[8],
                 std::span<const std::string_view> more, uint64_t position_seed);

// Appends the framed record (header + payload) starting at `position` to out (legacy: the
// checksum without the position).
void AppendFramed(std::string_view payload, uint64_t position, std::string* out);
void AppendFramedLegacy(std::string_view payload, std::string* out);

// "00000000000000001234.wal" for 1234 (LegacySegmentFileName: ".log", FreeFileName: ".free").
std::string SegmentFileName(uint64_t start);
std::string LegacySegmentFileName(uint64_t start);
std::string FreeFileName(uint64_t start);
std::string ReusedMarkerName(uint64_t start);
// Parses a segment file name of either format (*legacy: which); false when name is not one.
bool ParseSegmentFileName(std::string_view name, uint64_t* start, bool* legacy = nullptr);
// Parses a free segment's name.
bool ParseFreeFileName(std::string_view name, uint64_t* start);
// Parses a reused-segment marker's name.
bool ParseReusedMarkerName(std::string_view name, uint64_t* start);

struct ParseOutcome {
  uint64_t valid_end = 0;  // offset just past the last whole, valid record
  std::string problem;     // empty when the records reach exactly to the end of the data
};

// How the records of one segment are checked: legacy (no position) or from its start position.
struct SegmentFraming {
  uint64_t start = 0;
  bool legacy = false;
  uint64_t SeedAt(uint64_t offset) const { return legacy ? 0 : PositionSeed(start + offset); }
};

// True when a whole record starting at `offset` of data checks out at its position.
bool RecordChecksOutAt(std::string_view data, uint64_t offset, SegmentFraming framing);
// For the record at `offset` that failed (ParseRecords stopped there): true when its length field
// leads to a record that checks out at its position — damage in the middle of valid records, not
// the end of the written ones.
bool ValidRecordFollows(std::string_view data, uint64_t offset, SegmentFraming framing);

// Walks the records in data (a segment's bytes from its start), calling fn(offset, end_offset,
// payload) for each valid one, in order, until the data ends, a record is torn or corrupt
// (outcome.problem says which), or fn returns an error (returned through *fn_status).
ParseOutcome ParseRecords(
    std::string_view data, SegmentFraming framing,
    const std::function<Status(uint64_t offset, uint64_t end, std::string_view payload)>& fn,
    Status* fn_status);

}  // namespace ew::storage::ingest_log_format
