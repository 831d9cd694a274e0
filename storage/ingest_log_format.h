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
// Segment files: 20 decimal digits of the start position, then this suffix.
constexpr std::string_view kSegmentSuffix = ".log";

// XXH3-64 of the payload seeded with kChecksumSeed ^ length, folded to 32 bits (high ^ low). The
// length is part of the seed, so a header whose length field changed fails the check too.
uint32_t RecordChecksum(std::string_view payload);
// The same for the payload head + body (two pieces, not concatenated).
uint32_t RecordChecksum(std::string_view head, std::string_view body,
                        std::span<const std::string_view> more = {});
// The 8-byte header of the record whose payload is head + body (+ the pieces of more).
void FrameHeader(std::string_view head, std::string_view body, char out[8],
                 std::span<const std::string_view> more = {});

// Appends the framed record (header + payload) to out.
void AppendFramed(std::string_view payload, std::string* out);

// "00000000000000001234.log" for 1234.
std::string SegmentFileName(uint64_t start);
// Parses a segment file name; false when name is not one.
bool ParseSegmentFileName(std::string_view name, uint64_t* start);

struct ParseOutcome {
  uint64_t valid_end = 0;  // offset just past the last whole, valid record
  std::string problem;     // empty when the records reach exactly to the end of the data
};

// Walks the records in data, calling fn(offset, end_offset, payload) for each valid one, in
// order, until the data ends, a record is torn or corrupt (outcome.problem says which), or fn
// returns an error (returned through *fn_status).
ParseOutcome ParseRecords(
    std::string_view data,
    const std::function<Status(uint64_t offset, uint64_t end, std::string_view payload)>& fn,
    Status* fn_status);

}  // namespace ew::storage::ingest_log_format
