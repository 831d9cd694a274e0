// EdgeStore::WriteTiers: bulk loading of history into chosen tiers (docs/format/storage.md,
// "Bulk loading"). The records are built by the same code as ApplyFlush's (AggregateRollups,
// WriteFamilyTiers), restricted to the tiers asked for; nothing else of a flush is written.
#include <rocksdb/write_batch.h>

#include <bit>
#include <map>

#include "storage/edge_store_impl.h"

namespace ew::storage {

Status EdgeStoreImpl::WriteTiers(const std::vector<MinuteRollup>& rollups, uint8_t tiers) {
  if (options_.read_only) return Status::FailedPrecondition("storage: opened read-only");
  if (tiers == 0 || tiers > kAllTiers) {
    return Status::InvalidArgument("write tiers: the tier set must name 1 to 3 tiers");
  }
  MutexLock lock(&flush_mu_);
  if (Status health = TryResume(); !health.ok()) {
    return Status::Unavailable("storage unavailable: " + health.message());
  }
  FamilyAggregates minute;
  EW_RETURN_IF_ERROR(AggregateRollups(rollups, &minute, /*exemplars=*/nullptr));
  // As ApplyFlush: an overestimate of the records' bytes (keys, framing, sketch varints) per
  // tier written, so the batch does not grow by doubling.
  const size_t tier_count = static_cast<size_t>(std::popcount(tiers));
  size_t reserve = 64;
  for (const MinuteRollup& r : rollups) {
    reserve += tier_count * (3 * 96 + 12 * (r.value.server_latency.Buckets().size() +
                                            r.value.client_latency.Buckets().size()));
  }
  rocksdb::WriteBatch wb(reserve);
  // Day records of closed days also go into their built day blocks, as in ApplyFlush.
  late_horizon_ = DayHorizon();
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    WriteFamilyTiers(f, minute[static_cast<size_t>(f)], &wb, tiers);
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) {
    Status st = FromRocks(s, "writing tiers");
    if (s.IsIOError()) listener_->SetError(st);
    return st;
  }
  return Status::Ok();
}

}  // namespace ew::storage
