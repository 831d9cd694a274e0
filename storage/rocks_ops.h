// The RocksDB extension points of EdgeStore (internal to storage/): merge operators for rollups,
// exemplar lists and counters, and the retention compaction filter.
//
// Thread-safety: all objects are immutable after construction and called concurrently by RocksDB
// flush/compaction and read threads; callbacks never throw (an exception becomes a failed merge).
#pragma once

#include <rocksdb/compaction_filter.h>
#include <rocksdb/merge_operator.h>

#include <cstdint>
#include <memory>

#include "storage/record_codec.h"

namespace ew::storage {

// Schema-2 tier records of one tier (RecordMerger: entries at an offset add, sketches merge,
// minute counts add). Keys of v1_key_size bytes (a schema-1 record waiting for the upgrade) hold
// schema-1 FlatBuffers `Rollup` values and merge by the schema-1 rule.
std::shared_ptr<rocksdb::MergeOperator> NewRecordMergeOperator(RecordLimits limits,
                                                               size_t v1_key_size);
// Exemplar lists keyed with their time (units of unit_ms) at time_offset: keep the holders of
// the exemplar roles (RollupValue::AddExemplar). Keys of v1_key_size bytes (0: none) hold
// schema-1 FlatBuffers `ExemplarList` values.
std::shared_ptr<rocksdb::MergeOperator> NewExemplarMergeOperator(size_t time_offset,
                                                                 int64_t unit_ms,
                                                                 size_t v1_key_size = 0);
// 8-byte little-endian unsigned counters: add.
std::shared_ptr<rocksdb::MergeOperator> NewCounterAddOperator();

// Drops every record (value or merge operand) whose time unit ended before now - retention.
// The time is a big-endian uint32 at time_offset in the key, in units of unit_ms (a day
// block's: its last day). With collapse_after_ms > 0 (the day tier), a fully merged record whose
// unit ended before now - collapse_after_ms keeps its busiest minute only (RecordMerger::Collapse).
class RetentionFilter : public rocksdb::CompactionFilter {
 public:
  // Keys of exactly key_size bytes carry their time (big-endian u32) at time_offset; keys of
  // any other size (a schema-1 key waiting for the upgrade) are kept.
  RetentionFilter(const char* name, size_t key_size, size_t time_offset, int64_t unit_ms,
                  int64_t retention_ms, int64_t fixed_now_ms, int64_t collapse_after_ms = 0,
                  RecordLimits limits = {}, bool block_time = false)
      : name_(name),
        key_size_(key_size),
        time_offset_(time_offset),
        unit_ms_(unit_ms),
        retention_ms_(retention_ms),
        fixed_now_ms_(fixed_now_ms),
        collapse_after_ms_(collapse_after_ms),
        limits_(limits),
        block_time_(block_time) {}

  Decision FilterV2(int level, const rocksdb::Slice& key, ValueType value_type,
                    const rocksdb::Slice& existing_value, std::string* new_value,
                    std::string* skip_until) const override;
  const char* Name() const override { return name_; }

 private:
  const char* name_;
  size_t key_size_;
  size_t time_offset_;
  int64_t unit_ms_;
  int64_t retention_ms_;
  int64_t fixed_now_ms_;
  int64_t collapse_after_ms_;
  RecordLimits limits_;
  // Day blocks (edge_blk): the key time is level << 24 | first day; the unit is the block's last
  // day, so a block goes once none of its days is left in the day tier.
  bool block_time_;
};

}  // namespace ew::storage
