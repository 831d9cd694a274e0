// EdgeStore reads: tier scans (per-node seeks to the time range), exemplars, expiry sums and the
// pending-pair state. Values are decoded into one reused RollupValue per scan (no allocation per
// record once its sketches have grown); ScanSpec::need_sketches = false skips the sketches.
#include <rocksdb/iterator.h>

#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/keys.h"
#include "storage/rollup_codec.h"

namespace ew::storage {
namespace {

rocksdb::Slice ToSlice(const std::string& s) { return {s.data(), s.size()}; }

// The smallest byte string greater than every string with this prefix ("" when none exists).
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

}  // namespace

Status EdgeStoreImpl::Scan(const ScanSpec& spec, const ScanVisitor& visit) const {
  if (static_cast<uint8_t>(spec.family) > 2 || static_cast<uint8_t>(spec.tier) > 2) {
    return Status::InvalidArgument("scan: unknown family or tier");
  }
  if (spec.start >= spec.end || spec.end <= 0) return Status::Ok();
  const uint32_t start = keys::ClampTime(spec.start);
  const uint32_t end_incl = keys::ClampTime(spec.end - 1);
  std::string prefix;
  if (spec.node.has_value()) {
    prefix = keys::NodePrefix(spec.ns.value_or(NsOfNode(*spec.node)), *spec.node);
  } else if (spec.ns.has_value()) {
    prefix = keys::NodePrefix(*spec.ns, 0).substr(0, 4);
  }
  const std::string upper = PrefixSuccessor(prefix);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice = ToSlice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  const Family family = spec.family;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[TierCf(family, spec.tier)]));
  const size_t key_size = keys::TierKeySize(family);

  RollupValue value;
  keys::TierKey k;
  std::string seek = prefix;
  if (prefix.size() == keys::kNodePrefixSize) {
    seek.resize(keys::kNodePrefixSize + 4);
    coding::PutBE32(seek.data() + keys::kNodePrefixSize, start);
  }
  it->Seek(ToSlice(seek));
  while (it->Valid()) {
    rocksdb::Slice key = it->key();
    if (key.size() != key_size) return Status::Corruption("scan: malformed key");
    const uint32_t time = coding::GetBE32(key.data() + keys::kTimeOffset);
    if (time < start || time > end_incl) {
      // Jump to `start` within this node (time too early) or within the next node (too late).
      seek.assign(key.data(), keys::kNodePrefixSize);
      if (time > end_incl) {
        seek = PrefixSuccessor(std::move(seek));
        if (seek.size() != keys::kNodePrefixSize) break;  // the last possible node
      }
      seek.resize(keys::kNodePrefixSize + 4);
      coding::PutBE32(seek.data() + keys::kNodePrefixSize, start);
      it->Seek(ToSlice(seek));
      continue;
    }
    keys::DecodeTierKey(family, {key.data(), key.size()}, &k);
    rocksdb::Slice v = it->value();
    EW_RETURN_IF_ERROR(DecodeRollup({v.data(), v.size()}, &value, spec.need_sketches)
                           .WithContext(kCfNames[TierCf(family, spec.tier)]));
    if (!visit(time, keys::DimsOf(family, k), value)) return Status::Ok();
    it->Next();
  }
  return FromRocks(it->status(), "scanning");
}

Status EdgeStoreImpl::ScanExemplars(
    NodeId client, NodeId server, int64_t start_minute, int64_t end_minute,
    const std::function<bool(int64_t, const Exemplar&)>& visit) const {
  if (start_minute >= end_minute || end_minute <= 0) return Status::Ok();
  const std::string lower = keys::ExemplarKey(client, server, keys::ClampTime(start_minute));
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower_slice = ToSlice(lower);
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[kCfExemplars]));
  std::vector<Exemplar> list;
  it->SeekForPrev(keys::ExemplarKey(client, server, keys::ClampTime(end_minute - 1)));
  for (; it->Valid(); it->Prev()) {
    rocksdb::Slice key = it->key();
    if (key.size() != keys::kExemplarKeySize) return Status::Corruption("exemplars: bad key");
    if (coding::GetBE32(key.data()) != client || coding::GetBE32(key.data() + 4) != server) break;
    const int64_t minute = coding::GetBE32(key.data() + 8);
    EW_RETURN_IF_ERROR(DecodeExemplars({it->value().data(), it->value().size()}, &list));
    for (const auto& e : list) {
      if (!visit(minute, e)) return Status::Ok();
    }
  }
  return FromRocks(it->status(), "scanning exemplars");
}

Result<std::array<uint64_t, 3>> EdgeStoreImpl::SumExpiries(NodeId node, int64_t start_minute,
                                                           int64_t end_minute) const {
  std::array<uint64_t, 3> sums{};
  if (start_minute >= end_minute || end_minute <= 0) return sums;
  const std::string lower = keys::ExpiryKey(node, keys::ClampTime(start_minute), ExpiryKind{0});
  const std::string upper = end_minute > UINT32_MAX
                                ? PrefixSuccessor(keys::NodePrefix(node, 0).substr(0, 4))
                                : keys::ExpiryKey(node, keys::ClampTime(end_minute), ExpiryKind{0});
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice = ToSlice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[kCfExpiry]));
  for (it->Seek(ToSlice(lower)); it->Valid(); it->Next()) {
    if (it->key().size() != keys::kExpiryKeySize || it->value().size() != 8) {
      return Status::Corruption("expiry: malformed record");
    }
    const auto kind = static_cast<uint8_t>(it->key()[8]);
    if (kind < sums.size()) sums[kind] += coding::GetFixed64LE(it->value().data());
  }
  EW_RETURN_IF_ERROR(FromRocks(it->status(), "summing expiries"));
  return sums;
}

Status EdgeStoreImpl::LoadPending(
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handles_[kCfPending]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    fn({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()});
  }
  return FromRocks(it->status(), "loading pending state");
}

}  // namespace ew::storage
