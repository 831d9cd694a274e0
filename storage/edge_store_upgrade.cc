// Upgrade of a schema-1 store (before tenants) to schema 2, run by Open before the dictionary is
// loaded (docs/format/storage.md "Upgrades"). Every record becomes a record of tenant 0
// ("default") in the schema-2 value forms. The steps are safe to repeat after a crash:
//   1. the dictionary's string entries gain their tenant (one atomic batch, together with the
//      meta marker `upgrade_v2_dict`, so they are converted exactly once);
//   2. every tier, exemplar and expiry record is moved to its tenant-prefixed key, tier and
//      exemplar values converted to their schema-2 form (edge_store_convert.cc; a key is
//      recognised as schema 1 by its size, so a repeated pass moves only what is left);
//   3. `schema_version` becomes 2 (synced) and the marker is removed.
#include <rocksdb/iterator.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/write_batch.h>

#include "base/log.h"
#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/keys.h"

namespace ew::storage {
namespace {

constexpr char kMetaUpgradeDict[] = "upgrade_v2_dict";
constexpr size_t kBatchRecords = 16384;

// Moves every record of `cf` whose key has old_size bytes to 4 zero bytes (tenant 0) followed by
// the old key. Returns the number moved.
Result<uint64_t> MoveToTenantZero(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                  const char* name, std::initializer_list<size_t> old_sizes) {
  rocksdb::ManagedSnapshot snapshot(db);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  rocksdb::WriteBatch wb;
  uint64_t moved = 0;
  std::string key;
  auto write = [&]() -> Status {
    if (wb.Count() == 0) return Status::Ok();
    EW_RETURN_IF_ERROR(
        FromRocks(db->Write(rocksdb::WriteOptions(), &wb), std::string("upgrading ") + name));
    wb.Clear();
    return Status::Ok();
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    bool old = false;
    for (size_t size : old_sizes) old = old || k.size() == size;
    if (!old) continue;
    key.assign(keys::kTenantPrefixSize, '\0');
    key.append(k.data(), k.size());
    wb.Put(cf, key, it->value()).PermitUncheckedError();
    wb.Delete(cf, k).PermitUncheckedError();
    if (++moved % kBatchRecords == 0) EW_RETURN_IF_ERROR(write());
  }
  EW_RETURN_IF_ERROR(FromRocks(it->status(), std::string("upgrading ") + name));
  EW_RETURN_IF_ERROR(write());
  return moved;
}

}  // namespace

Status EdgeStoreImpl::UpgradeFromV1() {
  EW_LOG(kInfo) << "storage: upgrading " << options_.dir << " from schema 1 to schema "
                << kSchemaVersion << " (tenant \"default\")";
  std::string marker;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), handles_[kCfMeta], kMetaUpgradeDict, &marker);
  if (s.IsNotFound()) {
    // Step 1: string entries gain their tenant, in one batch with the marker.
    rocksdb::WriteBatch wb;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), handles_[kCfDict]));
    const std::string tag(1, keys::kDictStringTag);
    std::string value;
    for (it->Seek(tag); it->Valid() && it->key()[0] == keys::kDictStringTag; it->Next()) {
      value.assign(keys::kTenantPrefixSize, '\0');
      value.append(it->value().data(), it->value().size());
      wb.Put(handles_[kCfDict], it->key(), value).PermitUncheckedError();
    }
    EW_RETURN_IF_ERROR(FromRocks(it->status(), "upgrading the dictionary"));
    wb.Put(handles_[kCfMeta], kMetaUpgradeDict, "1").PermitUncheckedError();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    EW_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "upgrading the dictionary"));
  } else if (!s.ok()) {
    return FromRocks(s, "reading the upgrade marker");
  }
  // Step 2: records move to tenant 0's keys, their values converted (edge_store_convert.cc):
  // per family the minute tier first (the hour and day records take their minute counts from
  // it), exemplars per minute and per hour.
  uint64_t moved = 0;
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    EW_ASSIGN_OR_RETURN(uint64_t n, ConvertMinuteTierV1(f));
    moved += n;
    for (Tier t : {Tier::kHour, Tier::kDay}) {
      EW_ASSIGN_OR_RETURN(uint64_t c, ConvertCoarseTierV1(f, t));
      moved += c;
    }
  }
  EW_ASSIGN_OR_RETURN(uint64_t ex, ConvertExemplarsV1());
  EW_ASSIGN_OR_RETURN(
      uint64_t exp, MoveToTenantZero(db_, handles_[kCfExpiry], "expiry", {keys::kV1ExpiryKeySize}));
  moved += ex + exp;
  // Step 3: the new version, then the marker goes.
  EW_RETURN_IF_ERROR(WriteSchemaVersion());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  EW_RETURN_IF_ERROR(
      FromRocks(db_->Delete(wo, handles_[kCfMeta], kMetaUpgradeDict), "finishing the upgrade"));
  EW_LOG(kInfo) << "storage: upgrade done, " << moved << " records moved";
  return Status::Ok();
}

}  // namespace ew::storage
