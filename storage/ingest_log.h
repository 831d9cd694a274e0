// IngestLog: the write-ahead log of acknowledged OTLP requests (in ingest's compact form).
// A request is appended (and synced per the fsync mode) before its 200 is sent; every flush
// records the log position it covers; on start the log after that position is replayed.
// Format: docs/format/ingest-log.md. Positions are byte offsets in one logical stream that is
// split into segment files; a position never decreases.
//
// Thread-safety: Append/Sync one at a time, from any thread (the caller serializes them: ingest
// holds its log mutex); Replay before writing starts; TruncateBefore and EndPosition from any
// thread.
//
// Errors: Append fails with ResourceExhausted (ENOSPC, EFBIG, EDQUOT) or IOError (anything
// else); the bytes it wrote are cut off again, so the next Append can succeed once the cause
// clears. Replay returns Corruption when a record before the end of the log fails its checksum
// or segments leave a gap (it never skips over data it cannot read).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/metrics.h"
#include "base/status.h"

namespace ew::storage {

struct IngestLogOptions {
  std::string dir;                       // e.g. <data-dir>/ingest-log
  uint64_t segment_bytes = 64ULL << 20;  // roll to a new segment file past this size
  bool sync_each_append = false;         // fdatasync inside Append (--fsync always)
  MetricsRegistry* metrics = nullptr;    // optional: torn/corrupt tail counters
  // Positions never go below this: when the log ends before it (a new or wiped log directory,
  // or a log that lost unsynced bytes in a power failure while the store kept its flush), Open
  // starts a new segment here. Pass EdgeStore::FlushedLogPosition(), so that positions stay
  // monotonic across the two.
  uint64_t min_position = 0;
};

class IngestLog {
 public:
  // Opens the log, scanning the last segment: a torn or corrupt tail is cut off (logged and
  // counted), so appends continue after the last whole record.
  static Result<std::unique_ptr<IngestLog>> Open(const IngestLogOptions& options);
  virtual ~IngestLog() = default;

  // Appends the records with one write; returns the position after the last of them. When the
  // write fails nothing is acknowledged (the caller answers 503) and the log stays appendable.
  virtual Result<uint64_t> Append(const std::vector<std::string_view>& records) = 0;
  // The same for records given in pieces: record i's payload is head + body + each piece of
  // more, in order (the bytes on disk are identical). Written with one gathered write, without
  // copying them; more's pieces must stay valid for the call.
  struct RecordParts {
    std::string_view head;
    std::string_view body;
    std::span<const std::string_view> more = {};
  };
  virtual Result<uint64_t> AppendParts(const std::vector<RecordParts>& records) = 0;
  virtual Status Sync() = 0;
  // Calls fn(position_after_record, record) for each whole record that starts at or after
  // `from`. Stops at a corrupt record (reported) rather than guessing past it.
  virtual Status Replay(uint64_t from,
                        const std::function<Status(uint64_t end, std::string_view record)>& fn) = 0;
  // Deletes segments that lie wholly before `position` (already flushed).
  virtual Status TruncateBefore(uint64_t position) = 0;
  virtual uint64_t EndPosition() const = 0;
};

}  // namespace ew::storage
