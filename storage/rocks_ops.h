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

namespace ew::storage {

// Rollup tables: counts add, sketches merge (bucket-wise add).
std::shared_ptr<rocksdb::MergeOperator> NewRollupMergeOperator();
// ExemplarList tables: keep the holders of the exemplar roles (RollupValue::AddExemplar).
std::shared_ptr<rocksdb::MergeOperator> NewExemplarMergeOperator();
// 8-byte little-endian unsigned counters: add.
std::shared_ptr<rocksdb::MergeOperator> NewCounterAddOperator();

// Drops every record (value or merge operand) whose time unit ended before now - retention.
// The time is a big-endian uint32 at time_offset in the key, in units of unit_ms.
class RetentionFilter : public rocksdb::CompactionFilter {
 public:
  // Keys of exactly key_size bytes carry their time (big-endian u32) at time_offset; keys of
  // any other size (a schema-1 key waiting for the upgrade) are kept.
  RetentionFilter(const char* name, size_t key_size, size_t time_offset, int64_t unit_ms,
                  int64_t retention_ms, int64_t fixed_now_ms)
      : name_(name),
        key_size_(key_size),
        time_offset_(time_offset),
        unit_ms_(unit_ms),
        retention_ms_(retention_ms),
        fixed_now_ms_(fixed_now_ms) {}

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
};

}  // namespace ew::storage
