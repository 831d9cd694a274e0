// EdgeStore reads: tier scans (per-node seeks to the time range), exemplars, expiry sums and the
// pending-pair state. Values are decoded into one reused RollupValue per scan (no allocation per
// record once its sketches have grown); ScanSpec::need_sketches = false skips the sketches.
#include <rocksdb/iterator.h>
#include <rocksdb/snapshot.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/keys.h"
#include "storage/rollup_codec.h"

namespace ew::storage {
namespace {

rocksdb::Slice ToSlice(const std::string& s) { return {s.data(), s.size()}; }

// kEdgeByClient records hold counts only (the family is an index by client): a scan that needs
// sketches buffers its records and fetches them from the kEdge record of the same edge and time
// with one MultiGet per batch, under the scan's snapshot.
class ClientSketchJoin {
 public:
  static constexpr size_t kBatch = 256;
  ClientSketchJoin(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* edge_cf,
                   const rocksdb::ReadOptions& ro, TenantId tenant,
                   std::function<StringId(NodeId)> ns_of, SketchDecode mode,
                   const ScanVisitor& visit)
      : db_(db),
        edge_cf_(edge_cf),
        ro_(ro),
        tenant_(tenant),
        ns_of_(std::move(ns_of)),
        mode_(mode),
        visit_(visit) {
    entries_.resize(kBatch);
  }

  // Buffers one record; false when the visitor asked to stop. *status reports read errors.
  bool Add(int64_t time, const EdgeDims& dims, const RollupValue& counts, Status* status) {
    Entry& e = entries_[size_++];
    e.time = time;
    e.dims = dims;
    e.value.requests = counts.requests;
    e.value.errors = counts.errors;
    e.value.request_bytes = counts.request_bytes;
    e.value.response_bytes = counts.response_bytes;
    return size_ < kBatch || Flush(status);
  }

  bool Flush(Status* status) {
    if (size_ == 0) return true;
    keys_.resize(size_);
    slices_.resize(size_);
    values_.resize(size_);
    statuses_.resize(size_);
    for (size_t i = 0; i < size_; ++i) {
      const Entry& e = entries_[i];
      keys_[i].clear();
      keys::EncodeTierKey(Family::kEdge,
                          {tenant_, ns_of_(e.dims.server), e.dims.server,
                           static_cast<uint32_t>(e.time), e.dims.client, e.dims.protocol, 0, 0, 0},
                          &keys_[i]);
      slices_[i] = rocksdb::Slice(keys_[i]);
    }
    db_->MultiGet(ro_, edge_cf_, size_, slices_.data(), values_.data(), statuses_.data());
    const size_t n = size_;
    size_ = 0;
    for (size_t i = 0; i < n; ++i) {
      Entry& e = entries_[i];
      e.value.server_latency.Clear();
      e.value.client_latency.Clear();
      e.value.encoded = {};
      if (statuses_[i].ok()) {
        // With kEncoded the views point into values_[i] (or this thread's aligned copy of it),
        // which stay put until after the visit.
        Status st = DecodeRollup({values_[i].data(), values_[i].size()}, &scratch_, mode_);
        if (!st.ok()) {
          *status = st.WithContext("client family join");
          return false;
        }
        std::swap(e.value.server_latency, scratch_.server_latency);
        std::swap(e.value.client_latency, scratch_.client_latency);
        e.value.encoded = scratch_.encoded;
      } else if (!statuses_[i].IsNotFound()) {
        *status = FromRocks(statuses_[i], "client family join");
        return false;
      }
      const bool go_on = visit_(e.time, e.dims, e.value);
      values_[i].Reset();
      if (!go_on) return false;
    }
    return true;
  }

 private:
  struct Entry {
    int64_t time = 0;
    EdgeDims dims;
    RollupValue value;
  };
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* edge_cf_;
  const rocksdb::ReadOptions& ro_;
  TenantId tenant_;
  std::function<StringId(NodeId)> ns_of_;
  SketchDecode mode_;
  const ScanVisitor& visit_;
  std::vector<Entry> entries_;
  size_t size_ = 0;
  std::vector<std::string> keys_;
  std::vector<rocksdb::Slice> slices_;
  std::vector<rocksdb::PinnableSlice> values_;
  std::vector<rocksdb::Status> statuses_;
  RollupValue scratch_;
};

}  // namespace

Status EdgeStoreImpl::Scan(const ScanSpec& spec, const ScanVisitor& visit) const {
  if (static_cast<uint8_t>(spec.family) > 2 || static_cast<uint8_t>(spec.tier) > 2) {
    return Status::InvalidArgument("scan: unknown family or tier");
  }
  if (spec.start >= spec.end || spec.end <= 0) return Status::Ok();
  const uint32_t start = keys::ClampTime(spec.start);
  const uint32_t end_incl = keys::ClampTime(spec.end - 1);
  // Every key of the scan starts with the tenant; a node or namespace narrows the prefix.
  std::string prefix;
  if (spec.node.has_value()) {
    prefix = keys::NodePrefix(spec.tenant, spec.ns.value_or(NsOfNode(*spec.node)), *spec.node);
  } else if (spec.ns.has_value()) {
    prefix = keys::NsPrefix(spec.tenant, *spec.ns);
  } else {
    prefix = keys::TenantPrefix(spec.tenant);
  }
  std::string upper = prefix;
  if (!keys::IncrementFixedWidth(&upper)) upper.clear();  // the last tenant: no upper bound
  // The leading-node range [lead_begin, lead_end) as 12-byte keys (tenant, ns, node): raise the
  // start, lower the upper bound.
  std::string lead_lower =
      keys::NodePrefix(spec.tenant, static_cast<uint32_t>(spec.lead_begin >> 32),
                       static_cast<uint32_t>(spec.lead_begin));
  if (spec.lead_end != UINT64_MAX) {
    std::string lead_upper =
        keys::NodePrefix(spec.tenant, static_cast<uint32_t>(spec.lead_end >> 32),
                         static_cast<uint32_t>(spec.lead_end));
    if (upper.empty() || lead_upper < upper) upper = lead_upper;
  }
  rocksdb::ManagedSnapshot snapshot(db_);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  // Scans read runs of consecutive blocks: read ahead in large chunks from the start. Block
  // checksums stay verified (a cached block is not re-verified anyway).
  ro.readahead_size = 1 << 20;
  rocksdb::Slice upper_slice = ToSlice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  const Family family = spec.family;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[TierCf(family, spec.tier)]));
  const size_t key_size = keys::TierKeySize(family);
  const SketchDecode mode = !spec.need_sketches     ? SketchDecode::kSkip
                            : spec.encoded_sketches ? SketchDecode::kEncoded
                                                    : SketchDecode::kDecode;
  std::optional<ClientSketchJoin> join;
  if (family == Family::kEdgeByClient && spec.need_sketches) {
    join.emplace(
        db_, handles_[TierCf(Family::kEdge, spec.tier)], ro, spec.tenant,
        [this](NodeId n) { return NsOfNode(n); }, mode, visit);
  }

  RollupValue value;
  keys::TierKey k;
  Status status;
  std::string seek = prefix;
  if (prefix.size() == keys::kNodePrefixSize) {
    seek.resize(keys::kNodePrefixSize + 4);
    coding::PutBE32(seek.data() + keys::kNodePrefixSize, start);
  }
  if (seek < lead_lower) seek = lead_lower;
  if (!upper.empty() && seek >= upper) return Status::Ok();
  it->Seek(ToSlice(seek));
  while (it->Valid()) {
    rocksdb::Slice key = it->key();
    if (key.size() != key_size) return Status::Corruption("scan: malformed key");
    const uint32_t time = coding::GetBE32(key.data() + keys::kTimeOffset);
    if (time < start || time > end_incl) {
      // Jump to `start` within this node (time too early) or within the next node (too late).
      seek.assign(key.data(), keys::kNodePrefixSize);
      if (time > end_incl && !keys::IncrementFixedWidth(&seek)) break;  // the last node
      seek.resize(keys::kNodePrefixSize + 4);
      coding::PutBE32(seek.data() + keys::kNodePrefixSize, start);
      it->Seek(ToSlice(seek));
      continue;
    }
    keys::DecodeTierKey(family, {key.data(), key.size()}, &k);
    rocksdb::Slice v = it->value();
    EW_RETURN_IF_ERROR(DecodeRollup({v.data(), v.size()}, &value, join ? SketchDecode::kSkip : mode)
                           .WithContext(kCfNames[TierCf(family, spec.tier)]));
    const bool go_on = join ? join->Add(time, keys::DimsOf(family, k), value, &status)
                            : visit(time, keys::DimsOf(family, k), value);
    if (!go_on) return status;
    it->Next();
  }
  EW_RETURN_IF_ERROR(FromRocks(it->status(), "scanning"));
  if (join) join->Flush(&status);
  return status;
}

std::vector<ScanSpec> EdgeStoreImpl::SplitScan(const ScanSpec& spec, int parts) const {
  if (parts <= 1 || spec.node.has_value()) return {spec};
  std::vector<uint64_t> leads;
  {
    ReaderLock lock(&dict_mu_);
    leads.reserve(nodes_.size());
    for (size_t id = 1; id < nodes_.size(); ++id) {
      const StringId ns = nodes_[id].ns_id;
      if (spec.ns.has_value() && ns != *spec.ns) continue;
      const uint64_t lead = (static_cast<uint64_t>(ns) << 32) | id;
      if (lead >= spec.lead_begin && lead < spec.lead_end) leads.push_back(lead);
    }
  }
  const auto n = static_cast<size_t>(parts);
  if (leads.size() < 2 * n) return {spec};
  std::sort(leads.begin(), leads.end());
  std::vector<ScanSpec> out;
  ScanSpec part = spec;
  for (size_t k = 1; k < n; ++k) {
    const uint64_t split = leads[leads.size() * k / n];
    if (split <= part.lead_begin) continue;
    part.lead_end = split;
    out.push_back(part);
    part.lead_begin = split;
  }
  part.lead_end = spec.lead_end;
  out.push_back(part);
  return out;
}

Status EdgeStoreImpl::ScanExemplars(
    NodeId client, NodeId server, int64_t start_minute, int64_t end_minute,
    const std::function<bool(int64_t, const Exemplar&)>& visit) const {
  if (start_minute >= end_minute || end_minute <= 0) return Status::Ok();
  const auto owner = TenantNsOfNode(server != 0 ? server : client);
  if (!owner) return Status::Ok();  // an unknown node has no exemplars
  const TenantId tenant = owner->first;
  const std::string lower =
      keys::ExemplarKey(tenant, client, server, keys::ClampTime(start_minute));
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower_slice = ToSlice(lower);
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[kCfExemplars]));
  std::vector<Exemplar> list;
  it->SeekForPrev(keys::ExemplarKey(tenant, client, server, keys::ClampTime(end_minute - 1)));
  for (; it->Valid(); it->Prev()) {
    rocksdb::Slice key = it->key();
    if (key.size() != keys::kExemplarKeySize) return Status::Corruption("exemplars: bad key");
    if (coding::GetBE32(key.data()) != tenant || coding::GetBE32(key.data() + 4) != client ||
        coding::GetBE32(key.data() + 8) != server) {
      break;
    }
    const int64_t minute = coding::GetBE32(key.data() + keys::kExemplarTimeOffset);
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
  const auto owner = TenantNsOfNode(node);
  if (!owner) return sums;
  const TenantId tenant = owner->first;
  const std::string lower =
      keys::ExpiryKey(tenant, node, keys::ClampTime(start_minute), ExpiryKind{0});
  std::string upper;
  if (end_minute > UINT32_MAX) {
    upper = keys::NsPrefix(tenant, node);  // tenant | node: the same 8 bytes as an ns prefix
    if (!keys::IncrementFixedWidth(&upper)) upper.clear();
  } else {
    upper = keys::ExpiryKey(tenant, node, keys::ClampTime(end_minute), ExpiryKind{0});
  }
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice = ToSlice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[kCfExpiry]));
  for (it->Seek(ToSlice(lower)); it->Valid(); it->Next()) {
    if (it->key().size() != keys::kExpiryKeySize || it->value().size() != 8) {
      return Status::Corruption("expiry: malformed record");
    }
    const auto kind = static_cast<uint8_t>(it->key()[keys::kExpiryKeySize - 1]);
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
