// Upgrade of a schema-1 store, the value part (docs/format/storage.md "Upgrades"): the tier
// families' FlatBuffers rollups become schema-2 records under tenant-0 keys (minute tier: one
// record per key and hour; hour and day records get their minute counts from the converted
// minute tier), and exemplar lists are re-encoded per minute and merged per hour. Each batch
// puts the new keys and deletes the old ones of whole groups, so a repeated pass (after a crash)
// converts only what is left; schema-1 keys are recognised by their size.
#include <rocksdb/iterator.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <memory>

#include "base/time.h"
#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/rollup_codec.h"

namespace ew::storage {
namespace {

constexpr size_t kBatchBytes = 4 << 20;

// A WriteBatch written when it grows past kBatchBytes (only ever between whole groups).
class Batches {
 public:
  Batches(rocksdb::DB* db, const char* name) : db_(db), name_(name) {}
  rocksdb::WriteBatch& wb() { return wb_; }
  Status MaybeWrite(bool force) {
    if (wb_.Count() == 0 || (!force && wb_.GetDataSize() < kBatchBytes)) return Status::Ok();
    EW_RETURN_IF_ERROR(
        FromRocks(db_->Write(rocksdb::WriteOptions(), &wb_), std::string("upgrading ") + name_));
    wb_.Clear();
    return Status::Ok();
  }

 private:
  rocksdb::DB* db_;
  const char* name_;
  rocksdb::WriteBatch wb_;
};

// The schema-2 key of a schema-1 tier key (tenant 0), with time replaced by `time`.
std::string NewTierKey(std::string_view v1_key, uint32_t time) {
  std::string key(keys::kTenantPrefixSize, '\0');
  key.append(v1_key);
  coding::PutBE32(key.data() + keys::kTimeOffset, time);
  return key;
}

// The entry a family keeps of a schema-1 rollup (sketch encodings into *server, *client).
RecordEntry EntryOf(Family f, const RollupValue& v, uint16_t offset, std::string* server,
                    std::string* client) {
  server->clear();
  client->clear();
  if (f != Family::kEdgeByClient) {
    v.server_latency.EncodeTo(server);
    v.client_latency.EncodeTo(client);
  }
  return {offset, v.requests, v.errors, v.request_bytes, v.response_bytes, *server, *client};
}

// A column family read from a snapshot of its own, bypassing the block cache.
struct SnapshotScan {
  SnapshotScan(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : snapshot(db) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot.snapshot();
    ro.fill_cache = false;
    it.reset(db->NewIterator(ro, cf));
  }
  rocksdb::ManagedSnapshot snapshot;
  std::unique_ptr<rocksdb::Iterator> it;
};

constexpr size_t kV1TimeOffset = 8;  // ns(0..4) node(4..8) time(8..12)

}  // namespace

Result<uint64_t> EdgeStoreImpl::ConvertMinuteTierV1(Family f) {
  rocksdb::ColumnFamilyHandle* cf = handles_[TierCf(f, Tier::kMinute)];
  const size_t v1_size = f == Family::kDetail ? keys::kV1DetailKeySize : keys::kV1EdgeKeySize;
  SnapshotScan scan(db_, cf);
  rocksdb::Iterator* it = scan.it.get();
  Batches out(db_, kCfNames[TierCf(f, Tier::kMinute)]);
  // One leading node and hour at a time: its records are consecutive in schema-1 key order.
  struct Pending {
    std::vector<RecordEntry> entries;
    std::vector<std::unique_ptr<std::string>> bytes;
  };
  std::map<std::string, Pending> group;
  std::string group_prefix, value;
  uint64_t converted = 0;
  RollupValue v;
  const auto flush_group = [&]() -> Status {
    for (auto& [key, p] : group) {
      std::sort(p.entries.begin(), p.entries.end(),
                [](const RecordEntry& a, const RecordEntry& b) { return a.offset < b.offset; });
      EncodeRecord(p.entries, PeakForm::kNone, {}, 0, 0, &value);
      out.wb().Put(cf, key, value).PermitUncheckedError();
    }
    group.clear();
    return out.MaybeWrite(false);
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.size() != v1_size) continue;
    const uint32_t minute = coding::GetBE32(k.data() + kV1TimeOffset);
    std::string prefix(k.data(), kV1TimeOffset);  // ns | node, then the hour
    prefix.resize(kV1TimeOffset + 4);
    coding::PutBE32(prefix.data() + kV1TimeOffset, minute / 60);
    if (prefix != group_prefix) {
      EW_RETURN_IF_ERROR(flush_group());
      group_prefix = prefix;
    }
    EW_RETURN_IF_ERROR(DecodeRollup({it->value().data(), it->value().size()}, &v)
                           .WithContext("upgrading a schema-1 rollup"));
    Pending& p = group[NewTierKey({k.data(), k.size()}, minute / 60)];
    p.bytes.push_back(std::make_unique<std::string>());
    p.bytes.push_back(std::make_unique<std::string>());
    RecordEntry e = EntryOf(f, v, static_cast<uint16_t>(minute % 60),
                            p.bytes[p.bytes.size() - 2].get(), p.bytes.back().get());
    if (f != Family::kDetail) e.server = e.client = {};  // counts only in the minute tier
    p.entries.push_back(e);
    out.wb().Delete(cf, k).PermitUncheckedError();
    ++converted;
  }
  EW_RETURN_IF_ERROR(FromRocks(it->status(), "upgrading the minute tier"));
  EW_RETURN_IF_ERROR(flush_group());
  EW_RETURN_IF_ERROR(out.MaybeWrite(true));
  return converted;
}

// The minute counts of a converted hour or day record, read from the converted minute tier:
// complete only when they add up to the record's requests (else the minutes were lost).
bool EdgeStoreImpl::MinuteCountsV1(Family f, Tier tier, std::string_view new_key, uint64_t requests,
                                   MinuteCounts* counts) const {
  counts->clear();
  const uint32_t time = coding::GetBE32(new_key.data() + keys::kTimeOffset);
  const uint32_t hours = tier == Tier::kDay ? 24 : 1;
  const uint32_t first_hour = tier == Tier::kDay ? time * 24 : time;
  std::string key(new_key), value;
  RecordView rec;
  uint64_t sum = 0;
  for (uint32_t h = 0; h < hours; ++h) {
    coding::PutBE32(key.data() + keys::kTimeOffset, first_hour + h);
    if (!db_->Get(rocksdb::ReadOptions(), handles_[TierCf(f, Tier::kMinute)], key, &value).ok() ||
        !ParseRecord(value, LimitsOf(Tier::kMinute), &rec).ok()) {
      continue;
    }
    for (const RecordEntry& e : rec.entries) {
      if (e.requests == 0) continue;
      counts->emplace_back(static_cast<uint16_t>(h * 60 + e.offset), e.requests);
      sum += e.requests;
    }
  }
  return sum == requests;
}

Result<uint64_t> EdgeStoreImpl::ConvertCoarseTierV1(Family f, Tier tier) {
  rocksdb::ColumnFamilyHandle* cf = handles_[TierCf(f, tier)];
  const size_t v1_size = f == Family::kDetail ? keys::kV1DetailKeySize : keys::kV1EdgeKeySize;
  SnapshotScan scan(db_, cf);
  rocksdb::Iterator* it = scan.it.get();
  Batches out(db_, kCfNames[TierCf(f, tier)]);
  uint64_t converted = 0;
  RollupValue v;
  MinuteCounts counts;
  std::string server, client, value;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.size() != v1_size) continue;
    EW_RETURN_IF_ERROR(DecodeRollup({it->value().data(), it->value().size()}, &v)
                           .WithContext("upgrading a schema-1 rollup"));
    const std::string key =
        NewTierKey({k.data(), k.size()}, coding::GetBE32(k.data() + kV1TimeOffset));
    const RecordEntry e = EntryOf(f, v, 0, &server, &client);
    PeakForm form = PeakForm::kNone;
    if (f != Family::kDetail && MinuteCountsV1(f, tier, key, v.requests, &counts)) {
      form = PeakForm::kCounts;
    }
    EncodeRecord(std::span<const RecordEntry>(&e, 1), form, counts, 0, 0, &value);
    out.wb().Put(cf, key, value).PermitUncheckedError();
    out.wb().Delete(cf, k).PermitUncheckedError();
    ++converted;
    EW_RETURN_IF_ERROR(out.MaybeWrite(false));
  }
  EW_RETURN_IF_ERROR(FromRocks(it->status(), "upgrading a tier"));
  EW_RETURN_IF_ERROR(out.MaybeWrite(true));
  return converted;
}

Result<uint64_t> EdgeStoreImpl::ConvertExemplarsV1() {
  rocksdb::ColumnFamilyHandle* cf = handles_[kCfExemplars];
  rocksdb::ManagedSnapshot snapshot(db_);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));
  Batches out(db_, "exemplars");
  uint64_t converted = 0;
  std::vector<Exemplar> list;
  std::string value, hour_key;
  RollupValue hour;  // the role holders of the current edge and hour
  const auto flush_hour = [&]() {
    if (hour_key.empty()) return;
    const uint32_t h = coding::GetBE32(hour_key.data() + keys::kExemplarTimeOffset);
    EncodeExemplarList(hour.exemplars, int64_t{h} * kMsPerHour, &value);
    // A merge: a repeated pass may add an hour's remaining minutes to what an earlier one wrote.
    out.wb().Merge(handles_[kCfExemplarsHour], hour_key, value).PermitUncheckedError();
    hour = RollupValue();
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.size() != keys::kV1ExemplarKeySize) continue;
    EW_RETURN_IF_ERROR(DecodeExemplars({it->value().data(), it->value().size()}, &list)
                           .WithContext("upgrading a schema-1 exemplar list"));
    const uint32_t minute = coding::GetBE32(k.data() + 8);
    std::string key(keys::kTenantPrefixSize, '\0');
    key.append(k.data(), k.size());
    std::string this_hour = key;
    coding::PutBE32(this_hour.data() + keys::kExemplarTimeOffset, minute / 60);
    if (this_hour != hour_key) {
      // Between hours only: an hour's minutes and its hour record go into the same batch.
      flush_hour();
      EW_RETURN_IF_ERROR(out.MaybeWrite(false));
      hour_key = std::move(this_hour);
    }
    EncodeExemplarList(list, int64_t{minute} * kMsPerMinute, &value);
    out.wb().Put(cf, key, value).PermitUncheckedError();
    out.wb().Delete(cf, k).PermitUncheckedError();
    for (const Exemplar& e : list) hour.AddExemplar(e);
    ++converted;
  }
  EW_RETURN_IF_ERROR(FromRocks(it->status(), "upgrading exemplars"));
  flush_hour();
  EW_RETURN_IF_ERROR(out.MaybeWrite(true));
  return converted;
}

}  // namespace ew::storage
