// EdgeStore reads: tier scans (per-node seeks to the time range), exemplars, expiry sums and the
// pending-pair state. Values are decoded into one reused RollupValue per scan (no allocation per
// record once its sketches have grown); ScanSpec::need_sketches = false skips the sketches.
#include <rocksdb/iterator.h>
#include <rocksdb/snapshot.h>

#include <algorithm>
#include <bit>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "base/time.h"
#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/rollup_codec.h"
#include "storage/tier_scan.h"

namespace ew::storage {
namespace {

rocksdb::Slice ToSlice(const std::string& s) { return {s.data(), s.size()}; }

// kEdgeByClient records hold counts only (the family is an index by client): an hour or day scan
// that needs sketches buffers its records and fetches them from the kEdge record of the same
// edge and time with one MultiGet per batch, under the scan's snapshot. (A minute scan joins
// from detail_1m: MinuteSketchJoin.)
class ClientSketchJoin {
 public:
  static constexpr size_t kBatch = 256;
  ClientSketchJoin(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* edge_cf,
                   const rocksdb::ReadOptions& ro, TenantId tenant,
                   std::function<StringId(NodeId)> ns_of, SketchDecode mode, RecordLimits limits,
                   const ScanVisitor& visit)
      : db_(db),
        edge_cf_(edge_cf),
        ro_(ro),
        tenant_(tenant),
        ns_of_(std::move(ns_of)),
        mode_(mode),
        limits_(limits),
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
    e.value.peak_requests = counts.peak_requests;
    e.value.peak_minute = counts.peak_minute;
    e.value.minute_counts = counts.minute_counts;
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
        // With kEncoded the views point into values_[i], which stays put until after the visit.
        Status st = ParseRecord({values_[i].data(), values_[i].size()}, limits_, &record_);
        if (st.ok()) st = FillFromEntry(record_.entries[0], mode_, &scratch_);
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
  RecordLimits limits_;
  const ScanVisitor& visit_;
  std::vector<Entry> entries_;
  size_t size_ = 0;
  std::vector<std::string> keys_;
  std::vector<rocksdb::Slice> slices_;
  std::vector<rocksdb::PinnableSlice> values_;
  std::vector<rocksdb::Status> statuses_;
  RollupValue scratch_;
  RecordView record_;
};

// Minute-tier sketches of one edge and hour from detail_1m (the edge and client families keep
// counts only in the minute tier): the detail records with the edge key as their prefix, added
// per minute.
class MinuteSketchJoin {
 public:
  // Under the scan's snapshot, without its bounds (the edge side may lie outside them).
  MinuteSketchJoin(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* detail_cf,
                   const rocksdb::ReadOptions& scan_ro)
      : ro_(scan_ro) {
    ro_.iterate_upper_bound = nullptr;
    ro_.iterate_lower_bound = nullptr;
    it_.reset(db->NewIterator(ro_, detail_cf));
  }

  // Sums the detail records of the edge whose (edge family) key is edge_key.
  Status Load(std::string_view edge_key, EdgeHourSums* sums) {
    sums->Clear();
    for (it_->Seek(rocksdb::Slice(edge_key.data(), edge_key.size())); it_->Valid(); it_->Next()) {
      rocksdb::Slice k = it_->key();
      if (k.size() != keys::kDetailKeySize) return Status::Corruption("scan: malformed key");
      if (std::string_view(k.data(), edge_key.size()) != edge_key) break;
      EW_RETURN_IF_ERROR(
          ParseRecord({it_->value().data(), it_->value().size()}, LimitsOf(Tier::kMinute), &rec_));
      EW_RETURN_IF_ERROR(sums->Add(rec_));
    }
    return FromRocks(it_->status(), "joining minute sketches");
  }

 private:
  rocksdb::ReadOptions ro_;
  std::unique_ptr<rocksdb::Iterator> it_;
  RecordView rec_;
};

}  // namespace

// The key range of a scan: the prefix every key starts with (tenant, then namespace and node
// when the scan narrows to them), the exclusive upper bound ("" for none) and the lower bound
// of the leading-node range.
void EdgeStoreImpl::ScanBounds(const ScanSpec& spec, std::string* prefix, std::string* upper,
                               std::string* lead_lower) const {
  // Every key of the scan starts with the tenant; a node or namespace narrows the prefix.
  if (spec.node.has_value()) {
    *prefix = keys::NodePrefix(spec.tenant, spec.ns.value_or(NsOfNode(*spec.node)), *spec.node);
  } else if (spec.ns.has_value()) {
    *prefix = keys::NsPrefix(spec.tenant, *spec.ns);
  } else {
    *prefix = keys::TenantPrefix(spec.tenant);
  }
  *upper = *prefix;
  if (!keys::IncrementFixedWidth(upper)) upper->clear();  // the last tenant: no upper bound
  // The leading-node range [lead_begin, lead_end) as 12-byte keys (tenant, ns, node): raise the
  // start, lower the upper bound.
  *lead_lower = keys::NodePrefix(spec.tenant, static_cast<uint32_t>(spec.lead_begin >> 32),
                                 static_cast<uint32_t>(spec.lead_begin));
  if (spec.lead_end != UINT64_MAX) {
    std::string lead_upper =
        keys::NodePrefix(spec.tenant, static_cast<uint32_t>(spec.lead_end >> 32),
                         static_cast<uint32_t>(spec.lead_end));
    if (upper->empty() || lead_upper < *upper) *upper = lead_upper;
  }
}

Status EdgeStoreImpl::Scan(const ScanSpec& spec, const ScanVisitor& visit) const {
  if (static_cast<uint8_t>(spec.family) > 2 || static_cast<uint8_t>(spec.tier) > 2) {
    return Status::InvalidArgument("scan: unknown family or tier");
  }
  if (spec.start >= spec.end || spec.end <= 0) return Status::Ok();
  if (spec.coarse_days && spec.family == Family::kEdge && spec.tier == Tier::kDay &&
      !spec.need_minute_counts) {
    return ScanCoarseDays(spec, visit);
  }
  rocksdb::ManagedSnapshot snapshot(db_);
  return ScanTier(spec, snapshot.snapshot(), visit);
}

Status EdgeStoreImpl::ScanTier(const ScanSpec& spec, const rocksdb::Snapshot* snapshot,
                               const ScanVisitor& visit) const {
  if (spec.start >= spec.end || spec.end <= 0) return Status::Ok();
  const uint32_t start = keys::ClampTime(spec.start);
  const uint32_t end_incl = keys::ClampTime(spec.end - 1);
  const bool minute_tier = spec.tier == Tier::kMinute;
  // Minute-tier keys are per hour.
  const uint32_t key_start = minute_tier ? start / 60 : start;
  const uint32_t key_end = minute_tier ? end_incl / 60 : end_incl;
  std::string prefix, upper, lead_lower;
  ScanBounds(spec, &prefix, &upper, &lead_lower);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  // No fixed readahead: a scan seeks once per leading node (and again past its time range),
  // and reads only a block or two there in the hour and day tiers, so a fixed 1 MiB readahead
  // copied ~1 MiB per seek from the page cache (most of a 7-day map's kernel time). RocksDB's
  // automatic readahead still grows on runs of sequential block reads (a long minute range).
  rocksdb::Slice upper_slice = ToSlice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  const Family family = spec.family;
  const SketchDecode mode = !spec.need_sketches     ? SketchDecode::kSkip
                            : spec.encoded_sketches ? SketchDecode::kEncoded
                                                    : SketchDecode::kDecode;
  // An edge-family minute scan with sketches reads detail_1m and adds its series per edge and
  // minute; a client-family scan with sketches joins them from the edge side.
  const bool from_detail = family == Family::kEdge && minute_tier && spec.need_sketches;
  const Family read_family = from_detail ? Family::kDetail : family;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, handles_[TierCf(read_family, spec.tier)]));
  const size_t key_size = keys::TierKeySize(read_family);
  const bool join_sketches = family == Family::kEdgeByClient && spec.need_sketches;
  std::optional<ClientSketchJoin> join;
  std::optional<MinuteSketchJoin> minute_join;
  if (join_sketches && !minute_tier) {
    join.emplace(
        db_, handles_[TierCf(Family::kEdge, spec.tier)], ro, spec.tenant,
        [this](NodeId n) { return NsOfNode(n); }, mode, LimitsOf(spec.tier), visit);
  } else if (join_sketches || from_detail) {
    minute_join.emplace(db_, handles_[TierCf(Family::kDetail, Tier::kMinute)], ro);
  }
  const RecordLimits limits = LimitsOf(spec.tier);

  RollupValue value;
  RecordView rec;
  EdgeHourSums sums;
  keys::TierKey k;
  Status status;
  std::string seek = prefix, edge_key;
  if (prefix.size() == keys::kNodePrefixSize) {
    seek.resize(keys::kNodePrefixSize + 4);
    coding::PutBE32(seek.data() + keys::kNodePrefixSize, key_start);
  }
  if (seek < lead_lower) seek = lead_lower;
  if (!upper.empty() && seek >= upper) return Status::Ok();
  // Yields the minutes of one hour's record (or sums) that fall in [start, end_incl].
  const auto visit_minute = [&](uint32_t hour, int offset, const RollupValue& v) {
    const int64_t m = int64_t{hour} * 60 + offset;
    if (m < start || m > end_incl) return true;
    return visit(m, keys::DimsOf(family, k), v);
  };
  it->Seek(ToSlice(seek));
  while (it->Valid()) {
    rocksdb::Slice key = it->key();
    if (key.size() != key_size) return Status::Corruption("scan: malformed key");
    const uint32_t time = coding::GetBE32(key.data() + keys::kTimeOffset);
    if (time < key_start || time > key_end) {
      // Jump to `start` within this node (time too early) or within the next node (too late).
      seek.assign(key.data(), keys::kNodePrefixSize);
      if (time > key_end && !keys::IncrementFixedWidth(&seek)) break;  // the last node
      seek.resize(keys::kNodePrefixSize + 4);
      coding::PutBE32(seek.data() + keys::kNodePrefixSize, key_start);
      it->Seek(ToSlice(seek));
      continue;
    }
    if (from_detail) {
      // One edge's detail records are consecutive: sum them, then yield the edge's minutes.
      edge_key.assign(key.data(), keys::kEdgeKeySize);
      keys::DecodeTierKey(Family::kEdge, edge_key, &k);
      EW_RETURN_IF_ERROR(minute_join->Load(edge_key, &sums).WithContext("detail_1m"));
      for (uint64_t u = sums.used(); u != 0; u &= u - 1) {
        const int offset = std::countr_zero(u);
        value = sums.at(offset);
        FillMinutePeak(int64_t{time} * 60 + offset, spec.need_minute_counts, &value);
        if (!visit_minute(time, offset, value)) return Status::Ok();
      }
      // Past the edge's last detail record.
      edge_key.resize(keys::kEdgeKeySize);
      if (!keys::IncrementFixedWidth(&edge_key)) break;
      it->Seek(ToSlice(edge_key));
      continue;
    }
    keys::DecodeTierKey(family, {key.data(), key.size()}, &k);
    rocksdb::Slice v = it->value();
    EW_RETURN_IF_ERROR(ParseRecord({v.data(), v.size()}, limits, &rec)
                           .WithContext(kCfNames[TierCf(family, spec.tier)]));
    if (minute_tier) {
      if (join_sketches) {
        edge_key.clear();
        keys::EncodeTierKey(
            Family::kEdge,
            {spec.tenant, NsOfNode(k.peer), k.peer, time, k.node, k.protocol, 0, 0, 0}, &edge_key);
        EW_RETURN_IF_ERROR(minute_join->Load(edge_key, &sums).WithContext("client family join"));
      }
      for (const RecordEntry& e : rec.entries) {
        EW_RETURN_IF_ERROR(FillFromEntry(e, join_sketches ? SketchDecode::kSkip : mode, &value)
                               .WithContext(kCfNames[TierCf(family, spec.tier)]));
        if (join_sketches && (sums.used() >> e.offset & 1) != 0) {
          value.server_latency = sums.at(e.offset).server_latency;
          value.client_latency = sums.at(e.offset).client_latency;
        }
        FillMinutePeak(int64_t{time} * 60 + e.offset, spec.need_minute_counts, &value);
        if (!visit_minute(time, e.offset, value)) return Status::Ok();
      }
      it->Next();
      continue;
    }
    EW_RETURN_IF_ERROR(FillFromEntry(rec.entries[0], join ? SketchDecode::kSkip : mode, &value)
                           .WithContext(kCfNames[TierCf(family, spec.tier)]));
    FillPeak(spec.tier, time, rec, spec.need_minute_counts, &value);
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

int64_t EdgeStoreImpl::ExemplarBoundaryMinute() const {
  const int64_t now_ms = options_.fixed_now_ms != 0 ? options_.fixed_now_ms : WallNowMs();
  const int64_t oldest = (now_ms - options_.exemplar_minutes_retention_ms) / kMsPerMinute;
  return (oldest / 60 + 1) * 60;  // the start of the hour after the one holding `oldest`
}

// Exemplars of one edge from one exemplar column family, keys in [first, last] (the family's
// time units), newest first; an hour record's exemplars are reported at their own minute, and
// only those whose minute is in [min_minute, max_minute].
Status EdgeStoreImpl::ScanExemplarFamily(size_t cf, TenantId tenant, NodeId client, NodeId server,
                                         uint32_t first, uint32_t last, int64_t unit_minutes,
                                         int64_t min_minute, int64_t max_minute,
                                         const std::function<bool(int64_t, const Exemplar&)>& visit,
                                         bool* stopped) const {
  const std::string lower = keys::ExemplarKey(tenant, client, server, first);
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower_slice = ToSlice(lower);
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[cf]));
  std::vector<Exemplar> list;
  it->SeekForPrev(keys::ExemplarKey(tenant, client, server, last));
  for (; it->Valid(); it->Prev()) {
    rocksdb::Slice key = it->key();
    if (key.size() != keys::kExemplarKeySize) return Status::Corruption("exemplars: bad key");
    if (coding::GetBE32(key.data()) != tenant || coding::GetBE32(key.data() + 4) != client ||
        coding::GetBE32(key.data() + 8) != server) {
      break;
    }
    const int64_t unit_start =
        int64_t{coding::GetBE32(key.data() + keys::kExemplarTimeOffset)} * unit_minutes;
    EW_RETURN_IF_ERROR(DecodeExemplarList({it->value().data(), it->value().size()},
                                          unit_start * kMsPerMinute, &list));
    for (const auto& e : list) {
      const int64_t minute = unit_minutes == 1
                                 ? unit_start
                                 : std::clamp<int64_t>(e.start_ms / kMsPerMinute, unit_start,
                                                       unit_start + unit_minutes - 1);
      if (minute < min_minute || minute > max_minute) continue;
      if (!visit(minute, e)) {
        *stopped = true;
        return Status::Ok();
      }
    }
  }
  return FromRocks(it->status(), "scanning exemplars");
}

Status EdgeStoreImpl::ScanExemplars(
    NodeId client, NodeId server, int64_t start_minute, int64_t end_minute,
    const std::function<bool(int64_t, const Exemplar&)>& visit) const {
  if (start_minute >= end_minute || end_minute <= 0) return Status::Ok();
  const auto owner = TenantNsOfNode(server != 0 ? server : client);
  if (!owner) return Status::Ok();  // an unknown node has no exemplars
  const TenantId tenant = owner->first;
  // Per minute at and after the boundary, per hour before it (docs/format/storage.md).
  const int64_t boundary = ExemplarBoundaryMinute();
  bool stopped = false;
  if (end_minute > boundary) {
    EW_RETURN_IF_ERROR(ScanExemplarFamily(
        kCfExemplars, tenant, client, server, keys::ClampTime(std::max(start_minute, boundary)),
        keys::ClampTime(end_minute - 1), 1, start_minute, end_minute - 1, visit, &stopped));
  }
  if (stopped || start_minute >= boundary) return Status::Ok();
  const int64_t last_minute = std::min(end_minute, boundary) - 1;
  return ScanExemplarFamily(kCfExemplarsHour, tenant, client, server,
                            keys::ClampTime(start_minute / 60), keys::ClampTime(last_minute / 60),
                            60, start_minute, last_minute, visit, &stopped);
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
