// Merge operators and the retention compaction filter (see rocks_ops.h). Merge rules are those
// of RollupValue::Merge / AddExemplar so that a value read back equals the in-memory merge.
#include "storage/rocks_ops.h"

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "storage/coding.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/rollup_codec.h"

namespace ew::storage {
namespace {

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// Schema-1 FlatBuffers rollups (keys not yet upgraded): counts add, sketches merge.
bool MergeV1Rollups(const rocksdb::Slice* existing, const std::vector<std::string_view>& ops,
                    std::string* out) {
  thread_local RollupValue acc, operand;
  thread_local RollupEncoder encoder;
  acc = RollupValue();
  if (existing != nullptr && !DecodeRollup(View(*existing), &acc).ok()) return false;
  for (const auto& op : ops) {
    if (!DecodeRollup(op, &operand).ok()) return false;
    acc.Merge(operand);
  }
  encoder.Encode(acc, out);
  return true;
}

class RecordMergeOperator : public rocksdb::MergeOperator {
 public:
  RecordMergeOperator(RecordLimits limits, size_t v1_key_size)
      : limits_(limits), v1_key_size_(v1_key_size) {}

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    try {
      if (in.key.size() == v1_key_size_) {
        std::vector<std::string_view> ops;
        for (const auto& op : in.operand_list) ops.push_back(View(op));
        return MergeV1Rollups(in.existing_value, ops, &out->new_value);
      }
      thread_local std::vector<std::string_view> inputs;
      inputs.clear();
      if (in.existing_value != nullptr) inputs.push_back(View(*in.existing_value));
      for (const auto& op : in.operand_list) inputs.push_back(View(op));
      return Merger().Merge(inputs, limits_, &out->new_value).ok();
    } catch (...) {
      return false;
    }
  }

  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    (void)logger;
    try {
      thread_local std::vector<std::string_view> inputs;
      inputs.clear();
      for (const auto& op : operands) inputs.push_back(View(op));
      if (key.size() == v1_key_size_) return MergeV1Rollups(nullptr, inputs, new_value);
      return Merger().Merge(inputs, limits_, new_value).ok();
    } catch (...) {
      return false;
    }
  }

  const char* Name() const override { return "ew.RecordMerge"; }

 private:
  static RecordMerger& Merger() {
    thread_local RecordMerger merger;
    return merger;
  }
  RecordLimits limits_;
  size_t v1_key_size_;
};

class ExemplarMergeOperator : public rocksdb::MergeOperator {
 public:
  ExemplarMergeOperator(size_t time_offset, int64_t unit_ms, size_t v1_key_size)
      : time_offset_(time_offset), unit_ms_(unit_ms), v1_key_size_(v1_key_size) {}

  // Schema-1 FlatBuffers lists (keys not yet upgraded).
  static bool MergeV1(const rocksdb::Slice* existing, const std::vector<rocksdb::Slice>& ops,
                      std::string* out) {
    thread_local std::vector<Exemplar> list;
    RollupValue acc;
    if (existing != nullptr) {
      if (!DecodeExemplars(View(*existing), &list).ok()) return false;
      for (const auto& e : list) acc.AddExemplar(e);
    }
    for (const auto& op : ops) {
      if (!DecodeExemplars(View(op), &list).ok()) return false;
      for (const auto& e : list) acc.AddExemplar(e);
    }
    EncodeExemplars(acc.exemplars, out);
    return true;
  }

  bool MergeAll(const rocksdb::Slice& key, const rocksdb::Slice* existing,
                const std::vector<rocksdb::Slice>& ops, std::string* out) const {
    if (v1_key_size_ != 0 && key.size() == v1_key_size_) return MergeV1(existing, ops, out);
    if (key.size() < time_offset_ + 4) return false;
    const int64_t base_ms = int64_t{coding::GetBE32(key.data() + time_offset_)} * unit_ms_;
    thread_local std::vector<Exemplar> list;
    RollupValue acc;
    if (existing != nullptr) {
      if (!DecodeExemplarList(View(*existing), base_ms, &list).ok()) return false;
      for (const auto& e : list) acc.AddExemplar(e);
    }
    for (const auto& op : ops) {
      if (!DecodeExemplarList(View(op), base_ms, &list).ok()) return false;
      for (const auto& e : list) acc.AddExemplar(e);
    }
    EncodeExemplarList(acc.exemplars, base_ms, out);
    return true;
  }

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    try {
      return MergeAll(in.key, in.existing_value, in.operand_list, &out->new_value);
    } catch (...) {
      return false;
    }
  }

  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    (void)logger;
    try {
      std::vector<rocksdb::Slice> ops(operands.begin(), operands.end());
      return MergeAll(key, nullptr, ops, new_value);
    } catch (...) {
      return false;
    }
  }

  const char* Name() const override { return "ew.ExemplarMerge"; }

 private:
  size_t time_offset_;
  int64_t unit_ms_;
  size_t v1_key_size_;
};

class CounterAddOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override {
    (void)key;
    (void)logger;
    if (value.size() != 8 || (existing_value != nullptr && existing_value->size() != 8)) {
      return false;
    }
    uint64_t sum = coding::GetFixed64LE(value.data());
    if (existing_value != nullptr) sum += coding::GetFixed64LE(existing_value->data());
    new_value->clear();
    coding::PutFixed64LE(new_value, sum);
    return true;
  }
  const char* Name() const override { return "ew.CounterAdd"; }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewRecordMergeOperator(RecordLimits limits,
                                                               size_t v1_key_size) {
  return std::make_shared<RecordMergeOperator>(limits, v1_key_size);
}
std::shared_ptr<rocksdb::MergeOperator> NewExemplarMergeOperator(size_t time_offset,
                                                                 int64_t unit_ms,
                                                                 size_t v1_key_size) {
  return std::make_shared<ExemplarMergeOperator>(time_offset, unit_ms, v1_key_size);
}
std::shared_ptr<rocksdb::MergeOperator> NewCounterAddOperator() {
  return std::make_shared<CounterAddOperator>();
}

rocksdb::CompactionFilter::Decision RetentionFilter::FilterV2(int /*level*/,
                                                              const rocksdb::Slice& key,
                                                              ValueType value_type,
                                                              const rocksdb::Slice& existing_value,
                                                              std::string* new_value,
                                                              std::string* /*skip_until*/) const {
  if (value_type == ValueType::kBlobIndex || key.size() != key_size_) return Decision::kKeep;
  const int64_t now_ms = fixed_now_ms_ != 0 ? fixed_now_ms_ : WallNowMs();
  int64_t time = coding::GetBE32(key.data() + time_offset_);
  if (block_time_) {
    time = keys::BlockStartOf(static_cast<uint32_t>(time)) +
           (int64_t{1} << keys::BlockLevelOf(static_cast<uint32_t>(time))) - 1;
  }
  const int64_t unit_end_ms = (time + 1) * unit_ms_;
  if (unit_end_ms <= now_ms - retention_ms_) return Decision::kRemove;
  // Day records past the exactness window keep their busiest minute only. Operands are left
  // alone: collapsing one of several would lose how its minutes add to the others'.
  if (collapse_after_ms_ > 0 && value_type == ValueType::kValue &&
      unit_end_ms <= now_ms - collapse_after_ms_ &&
      RecordMerger::Collapse(View(existing_value), limits_, new_value)) {
    return Decision::kChangeValue;
  }
  return Decision::kKeep;
}

}  // namespace ew::storage
