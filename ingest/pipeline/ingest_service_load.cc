// Start-up: loading the persisted pending state into the shards (docs/ingest.md, "Recovery").
// Two passes over the pending column family: the first (one thread) checks every key and chunk,
// remembers the keys for the next snapshot and counts each shard's adds and drops; then every
// shard reserves its table for what it will hold and loads its own records on its own thread
// (a key names its shard, so shards share nothing and the records of one key keep their order).
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/thread_name.h"
#include "ingest/pipeline/ingest_service_impl.h"

namespace ew::ingest {
namespace {

// How one key/value of the pending column family is laid out.
struct PendingItem {
  bool chunk = false;  // false: one record of the older one-record-per-key form
  PendingChunkKind kind = PendingChunkKind::kAdds;
  uint64_t seq = 0;
  bool seq_known = false;   // chunk: the key parsed (seq is its sequence number)
  size_t record_bytes = 0;  // chunk: bytes per record (an add with its value, or a drop's key)
  size_t key_bytes = 0;     // chunk: bytes of the key at the start of each record
  bool older_version = false;
};

// Parses the layout of one item; Corruption (and nothing loaded from it) when malformed.
Status ParsePendingItem(std::string_view key, std::string_view value, PendingItem* out) {
  if (key.size() == kPendingKeyBytesV2) {
    out->chunk = false;
    return Status::Ok();
  }
  out->chunk = true;
  if (!ParsePendingChunkKey(key, &out->seq, &out->kind)) {
    return Status::Corruption("pending state: malformed key of " + std::to_string(key.size()) +
                              " bytes");
  }
  out->seq_known = true;
  size_t add_bytes = 0;
  if (value.empty() ||
      !PendingChunkSizes(static_cast<uint8_t>(value[0]), &add_bytes, &out->key_bytes)) {
    return Status::Corruption("pending state: chunk of unknown version");
  }
  out->older_version = static_cast<uint8_t>(value[0]) != kPendingChunkVersion;
  out->record_bytes = out->kind == PendingChunkKind::kAdds ? add_bytes : out->key_bytes;
  if ((value.size() - 1) % out->record_bytes != 0) {
    return Status::Corruption("pending state: malformed chunk (size " +
                              std::to_string(value.size()) + ")");
  }
  return Status::Ok();
}

size_t ShardOfPendingKey(std::string_view key, size_t shards) {
  uint32_t trace_key = 0;
  uint64_t span = 0;
  DecodePendingKey(key, &trace_key, &span);  // key has a valid size: checked by the callers
  return ShardOfTraceKey(trace_key, shards);
}

}  // namespace

Status IngestServiceImpl::LoadPendingState(int64_t now_ms) {
  // Pass 1: check, remember the keys, count per shard.
  const size_t n = shards_.size();
  std::vector<int64_t> adds(n, 0), drops(n, 0);
  Status scan_error;
  Status st = store_->LoadPending([&](std::string_view key, std::string_view value) {
    Status s = ScanPendingItem(key, value, &adds, &drops);
    if (!s.ok() && scan_error.ok()) scan_error = s;
  });
  EW_RETURN_IF_ERROR(st.WithContext("loading pending halves"));
  // Each add inserts at most one half and each drop removes one: adds - drops is what a shard
  // holds after loading (more only when a resent half was persisted again without a drop).
  for (size_t i = 0; i < n; ++i) {
    shards_[i]->state.ReservePending(static_cast<size_t>(std::max<int64_t>(0, adds[i] - drops[i])));
  }
  // Pass 2: every shard loads its own records, in parallel.
  std::vector<Status> load_errors(n), read_errors(n);
  auto load_shard = [&](size_t i) {
    read_errors[i] = store_->LoadPending([&](std::string_view key, std::string_view value) {
      Status s = LoadPendingItemInto(i, key, value, now_ms);
      if (!s.ok() && load_errors[i].ok()) load_errors[i] = s;
    });
    shards_[i]->state.FinishLoad();
  };
  std::vector<std::thread> loaders;
  for (size_t i = 1; i < n; ++i) {
    loaders.emplace_back([&, i] {
      SetThreadName("ew-load-" + std::to_string(i));
      load_shard(i);
    });
  }
  if (n > 0) load_shard(0);
  for (std::thread& t : loaders) t.join();
  for (const Status& s : read_errors) EW_RETURN_IF_ERROR(s.WithContext("loading pending halves"));
  if (scan_error.ok()) {
    for (const Status& s : load_errors) {
      if (!s.ok()) {
        scan_error = s;
        break;
      }
    }
  }
  if (!scan_error.ok()) {
    EW_LOG(kWarn) << "ingest: skipped a bad pending entry: " << scan_error.ToString();
  }
  return Status::Ok();
}

Status IngestServiceImpl::SeedEdgeCap() {
  if (edge_cap_ == nullptr) return Status::Ok();
  for (const auto& [id, name] : store_->ListTenants()) {  // "default" (0) included
    const storage::TenantId tenant = id;
    storage::ScanSpec spec;
    spec.tenant = tenant;
    spec.family = storage::Family::kEdge;
    spec.tier = storage::Tier::kDay;
    spec.start = 0;
    spec.end = int64_t{UINT32_MAX};
    spec.need_sketches = false;
    Status st =
        store_->Scan(spec, [&](int64_t, const storage::EdgeDims& d, const storage::RollupValue&) {
          edge_cap_->Seed(tenant, d.client, d.server);
          return true;
        });
    EW_RETURN_IF_ERROR(
        st.WithContext("counting the stored edges of tenant '" + name + "' (--tenant-max-edges)"));
  }
  return Status::Ok();
}

Status IngestServiceImpl::ScanPendingItem(std::string_view key, std::string_view value,
                                          std::vector<int64_t>* adds, std::vector<int64_t>* drops) {
  pending_keys_.emplace_back(key);  // a snapshot deletes it, whatever it is
  PendingItem item;
  Status s = ParsePendingItem(key, value, &item);
  if (!s.ok()) {
    snapshot_wanted_.store(true);  // the snapshot drops the unreadable key
    if (item.seq_known) next_pending_seq_ = std::max(next_pending_seq_, item.seq + 1);
    return s;
  }
  const size_t n = adds->size();
  if (!item.chunk) {
    // The older form, one half per key: replaced by a snapshot at the first flush.
    snapshot_wanted_.store(true);
    ++pending_records_;
    ++(*adds)[ShardOfPendingKey(key, n)];
    return Status::Ok();
  }
  next_pending_seq_ = std::max(next_pending_seq_, item.seq + 1);
  // A chunk of the older version is rewritten in the current one by the first flush.
  if (item.older_version) snapshot_wanted_.store(true);
  auto& counts = item.kind == PendingChunkKind::kAdds ? *adds : *drops;
  for (size_t off = 1; off < value.size(); off += item.record_bytes) {
    ++pending_records_;
    ++counts[ShardOfPendingKey(value.substr(off, item.key_bytes), n)];
  }
  return Status::Ok();
}

Status IngestServiceImpl::LoadPendingItemInto(size_t shard, std::string_view key,
                                              std::string_view value, int64_t now_ms) {
  PendingItem item;
  if (!ParsePendingItem(key, value, &item).ok()) return Status::Ok();  // reported by the scan
  const size_t n = shards_.size();
  ShardState& state = shards_[shard]->state;
  if (!item.chunk) {
    if (ShardOfPendingKey(key, n) != shard) return Status::Ok();
    return state.LoadPending(key, value, now_ms);
  }
  // The homes of loaded keys are random in the table (its hash is seeded): each record's probe
  // starts loading kPrefetchAhead records early, so the cache misses overlap.
  constexpr size_t kPrefetchAhead = 8;
  const PendingTable& table = state.table();
  auto prefetch = [&](size_t off) {
    if (off >= value.size()) return;
    uint32_t trace_key = 0;
    uint64_t span = 0;
    DecodePendingKey(value.substr(off, item.key_bytes), &trace_key, &span);
    if (ShardOfTraceKey(trace_key, n) == shard) table.Prefetch(trace_key, span);
  };
  for (size_t i = 0; i < kPrefetchAhead; ++i) prefetch(1 + i * item.record_bytes);
  Status first_error;
  for (size_t off = 1; off < value.size(); off += item.record_bytes) {
    prefetch(off + kPrefetchAhead * item.record_bytes);
    std::string_view k = value.substr(off, item.key_bytes);
    if (ShardOfPendingKey(k, n) != shard) continue;
    if (item.kind == PendingChunkKind::kDrops) {
      state.DropPending(k);
      continue;
    }
    Status s = state.LoadPending(k, value.substr(off + item.key_bytes, kPendingValueBytes), now_ms);
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  return first_error;
}

}  // namespace ew::ingest
