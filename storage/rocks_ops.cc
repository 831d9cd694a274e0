// Merge operators and the retention compaction filter (see rocks_ops.h). Merge rules are those
// of RollupValue::Merge / AddExemplar so that a value read back equals the in-memory merge.
#include "storage/rocks_ops.h"

#include <string>
#include <string_view>

#include "base/time.h"
#include "storage/coding.h"
#include "storage/rollup_codec.h"

namespace ew::storage {
namespace {

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

class RollupMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    try {
      thread_local RollupValue acc, operand;
      thread_local RollupEncoder encoder;
      acc = RollupValue();
      if (in.existing_value != nullptr) {
        if (!DecodeRollup(View(*in.existing_value), &acc).ok()) return false;
      }
      for (const auto& op : in.operand_list) {
        if (!DecodeRollup(View(op), &operand).ok()) return false;
        acc.Merge(operand);
      }
      encoder.Encode(acc, &out->new_value);
      return true;
    } catch (...) {
      return false;
    }
  }

  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    (void)key;
    (void)logger;
    try {
      thread_local RollupValue acc, operand;
      thread_local RollupEncoder encoder;
      acc = RollupValue();
      for (const auto& op : operands) {
        if (!DecodeRollup(View(op), &operand).ok()) return false;
        acc.Merge(operand);
      }
      encoder.Encode(acc, new_value);
      return true;
    } catch (...) {
      return false;
    }
  }

  const char* Name() const override { return "ew.RollupMerge"; }
};

class ExemplarMergeOperator : public rocksdb::MergeOperator {
 public:
  static bool MergeAll(const rocksdb::Slice* existing, const std::vector<rocksdb::Slice>& ops,
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

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    try {
      return MergeAll(in.existing_value, in.operand_list, &out->new_value);
    } catch (...) {
      return false;
    }
  }

  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    (void)key;
    (void)logger;
    try {
      std::vector<rocksdb::Slice> ops(operands.begin(), operands.end());
      return MergeAll(nullptr, ops, new_value);
    } catch (...) {
      return false;
    }
  }

  const char* Name() const override { return "ew.ExemplarMerge"; }
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

std::shared_ptr<rocksdb::MergeOperator> NewRollupMergeOperator() {
  return std::make_shared<RollupMergeOperator>();
}
std::shared_ptr<rocksdb::MergeOperator> NewExemplarMergeOperator() {
  return std::make_shared<ExemplarMergeOperator>();
}
std::shared_ptr<rocksdb::MergeOperator> NewCounterAddOperator() {
  return std::make_shared<CounterAddOperator>();
}

rocksdb::CompactionFilter::Decision RetentionFilter::FilterV2(
    int /*level*/, const rocksdb::Slice& key, ValueType value_type,
    const rocksdb::Slice& /*existing_value*/, std::string* /*new_value*/,
    std::string* /*skip_until*/) const {
  if (value_type == ValueType::kBlobIndex || key.size() != key_size_) return Decision::kKeep;
  const int64_t now_ms = fixed_now_ms_ != 0 ? fixed_now_ms_ : WallNowMs();
  const int64_t time = coding::GetBE32(key.data() + time_offset_);
  const int64_t unit_end_ms = (time + 1) * unit_ms_;
  return unit_end_ms <= now_ms - retention_ms_ ? Decision::kRemove : Decision::kKeep;
}

}  // namespace ew::storage
