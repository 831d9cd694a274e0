// The pipeline threads of IngestServiceImpl: log writer (group commit, dispatch, markers), shard
// workers (pairing, aggregation, expiry) and the flusher (one FlushBatch per marker).
#include <algorithm>
#include <chrono>
#include <thread>
#include <tuple>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "base/hash.h"
#include "base/log.h"
#include "base/time.h"
#include "ingest/pipeline/ingest_service_impl.h"

namespace ew::ingest {
namespace {

constexpr size_t kMaxGroupRequests = 512;
constexpr size_t kMaxGroupBytes = 16 << 20;
constexpr int64_t kMaxIdleWaitMs = 50;
constexpr int64_t kMaxSweepPeriodMs = 100;
constexpr uint32_t kShardWakeBacklog = 32;
constexpr int64_t kFlushRetryMaxMs = 5000;
constexpr int kShutdownFlushAttempts = 5;
constexpr size_t kPrefetchAhead = 8;
// A snapshot replaces the persisted pending chunks once they hold more than twice the pending
// halves plus this many records (or too many keys), so their size stays proportional to the
// pending state and a snapshot's cost is amortized over at least as many records as it writes.
constexpr uint64_t kSnapshotMinRecords = uint64_t{1} << 20;
constexpr size_t kSnapshotMaxKeys = 16384;
// A flush that writes at least this many bytes of pending chunks waits for them to leave
// RocksDB's memtable (ApplyFlushOf).
constexpr size_t kPendingBytesFlushedAtOnce = size_t{8} << 20;
// Free heap memory beyond this goes back to the kernel after a flush (ReleaseFreeMemory).
constexpr size_t kTrimFreeBytes = size_t{48} << 20;
// Less free heap than kTrimFreeBytes goes back at most every kTrimPeriodMs, and not below this.
constexpr size_t kTrimMinFreeBytes = size_t{4} << 20;
constexpr int64_t kTrimPeriodMs = 10'000;

int64_t MonoMs() { return MonoNowNs() / 1'000'000; }

auto DimsTuple(const storage::MinuteRollup& r) {
  const storage::EdgeDims& d = r.dims;
  return std::make_tuple(r.minute, d.client, d.server, static_cast<uint8_t>(d.protocol), d.path,
                         d.method, d.status);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Log writer.

void IngestServiceImpl::WriterLoop() {
  std::vector<PendingExport*> group;
  int64_t next_flush = MonoMs() + config_.flush_interval_ms;
  int64_t last_sync = MonoMs();
  bool unsynced = false;
  while (true) {
    group.clear();
    size_t bytes = 0;
    PendingExport* e = nullptr;
    while (group.size() < kMaxGroupRequests && bytes < kMaxGroupBytes && writer_queue_.TryPop(&e)) {
      group.push_back(e);
      bytes += e->records * kEncodedHalfRecordSize;
    }
    if (!group.empty()) {
      MutexLock lock(&log_mu_);
      CommitGroup(group);
    }
    // Requests committed by I/O threads (Export's fast path) need syncing too.
    if (config_.fsync == LogSync::kInterval && log_->EndPosition() != synced_position_) {
      unsynced = true;
    }
    int64_t now = MonoMs();
    if (unsynced && now - last_sync >= config_.fsync_interval_ms) {
      MutexLock lock(&log_mu_);
      synced_position_ = log_->EndPosition();
      Status st = log_->Sync();
      if (!st.ok()) {
        EW_LOG(kWarn) << "ingest: log sync failed: " << st.ToString();
      }
      last_sync = now;
      unsynced = false;
    }
    const bool wanted = flush_wanted_.load(std::memory_order_acquire);
    if (now >= next_flush || (wanted && writer_queue_.Empty())) {
      MutexLock lock(&log_mu_);
      EmitMarker();
      next_flush = now + config_.flush_interval_ms;
    }
    if (stop_writer_.load(std::memory_order_acquire) && writer_queue_.Empty()) break;
    if (group.empty()) {
      int64_t wait = std::clamp<int64_t>(next_flush - now, 1, kMaxIdleWaitMs);
      writer_waker_.Wait(std::chrono::milliseconds(wait), [this] {
        return !writer_queue_.Empty() || flush_wanted_.load(std::memory_order_acquire) ||
               stop_writer_.load(std::memory_order_acquire);
      });
    }
  }
  if (unsynced || log_->EndPosition() != synced_position_) {
    MutexLock lock(&log_mu_);
    (void)log_->Sync();
  }
}

void IngestServiceImpl::CommitGroup(std::vector<PendingExport*>& group) {
  // The encodings' buffers are kept for the next group (callers hold log_mu_); a burst's group
  // can be large, so buffers over 1 MiB, and slots past 64, are released afterwards.
  // Each request is written as its batch header plus its records' own memory (one gathered
  // write, no copy of the records on little-endian machines).
  std::vector<std::string>& encoded = commit_encoded_;
  if (encoded.size() < group.size()) encoded.resize(group.size());
  std::vector<storage::IngestLog::RecordParts>& parts = commit_parts_;
  std::vector<std::vector<std::string_view>>& bodies = commit_bodies_;
  parts.resize(group.size());
  if (bodies.size() < group.size()) bodies.resize(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    encoded[i].clear();
    EncodeHalfBatchGroups(group[i]->arrival_ms, group[i]->by_shard, &encoded[i], &bodies[i]);
    parts[i] = {encoded[i], {}, bodies[i]};
  }
  struct Release {
    std::vector<std::string>& v;
    std::vector<storage::IngestLog::RecordParts>& p;
    std::vector<std::vector<std::string_view>>& b;
    ~Release() {
      for (std::string& s : v) {
        if (s.capacity() > (size_t{1} << 20)) std::string().swap(s);
      }
      if (v.size() > 64) v.resize(64);
      if (p.capacity() > 64) std::vector<storage::IngestLog::RecordParts>().swap(p);
      if (b.size() > 64) b.resize(64);
    }
  } release{encoded, parts, bodies};
  Result<uint64_t> end = log_->AppendParts(parts);
  if (!end.ok()) {
    if (!log_failed_.exchange(true)) {
      EW_LOG(kError) << "ingest: log append failed, answering 503: " << end.status().ToString();
    }
    for (PendingExport* e : group) {
      std::unique_ptr<PendingExport> owned(e);
      Answer(*owned, ExportOutcome::kUnavailable, "ingest log: " + end.status().message(), 5);
    }
    return;
  }
  if (log_failed_.exchange(false)) {
    EW_LOG(kInfo) << "ingest: log appends recovered";
  }
  log_position_ = *end;
  // Records reach the shards in log order, before any later marker: the marker's position then
  // covers exactly what the shards applied before it.
  for (PendingExport* e : group) Dispatch(*e);
  for (PendingExport* e : group) {
    std::unique_ptr<PendingExport> owned(e);
    Answer(*owned, ExportOutcome::kOk, "", 0);
  }
}

void IngestServiceImpl::Dispatch(PendingExport& e) {
  // The request's records are already grouped by shard: each group moves into its item.
  for (size_t s = 0; s < e.by_shard.size(); ++s) {
    if (e.by_shard[s].empty()) continue;
    auto* item = new ShardItem;
    item->arrival_ms = e.arrival_ms;
    item->records = std::move(e.by_shard[s]);
    PushToShard(s, item);
  }
}

void IngestServiceImpl::PushToShard(size_t shard, ShardItem* item) {
  Shard& s = *shards_[shard];
  // Read before the push: once pushed, the shard may process and delete the item at any time.
  const bool marker = item->kind == ShardItem::Kind::kMarker;
  while (!s.queue.TryPush(item)) {  // backpressure: the shard is busy, wait for room
    s.waker.Notify();
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  // Shards are not on the acknowledgement path (the 200 follows the log append), so records
  // need no immediate wake-up: a sleeping shard is woken once kShardWakeBacklog items wait, or
  // by a marker, and otherwise finds them at its sweep timer (at most kMaxSweepPeriodMs). One
  // futex wake and context switch per request and shard was ~3 % of the server's CPU.
  if (marker || ++shard_unnotified_[shard] >= kShardWakeBacklog) {
    shard_unnotified_[shard] = 0;
    s.waker.Notify();
  }
}

void IngestServiceImpl::EmitMarker() {
  const bool full = snapshot_wanted_.exchange(false);
  uint64_t id = 0;
  {
    MutexLock lock(&flush_mu_);
    id = ++markers_emitted_;
    flush_wanted_.store(false, std::memory_order_release);
    flushes_[id].position = log_position_;
    flushes_[id].full = full;
  }
  for (size_t s = 0; s < shards_.size(); ++s) {
    auto* item = new ShardItem;
    item->kind = ShardItem::Kind::kMarker;
    item->marker_id = id;
    item->position = log_position_;
    item->full = full;
    PushToShard(s, item);
  }
}

// ---------------------------------------------------------------------------------------------
// Shard workers.

void IngestServiceImpl::ShardLoop(size_t index) {
  Shard& s = *shards_[index];
  const int64_t period = std::clamp<int64_t>(s.state.tick_ms(), 1, kMaxSweepPeriodMs);
  int64_t next_sweep = MonoMs() + period;
  while (true) {
    bool did = false;
    ShardItem* item = nullptr;
    for (int n = 0; n < 64 && s.queue.TryPop(&item); ++n) {
      ProcessShardItem(index, item);
      did = true;
    }
    int64_t now = MonoMs();
    if (now >= next_sweep) {
      s.state.Expire(WallNowMs(), s.state.SweepSlotsPerTick(period));
      next_sweep = now + period;
      did = true;
    }
    if (did) ReportShardCounters(s);
    if (!did) {
      if (stop_shards_.load(std::memory_order_acquire) && s.queue.Empty()) break;
      s.waker.Wait(std::chrono::milliseconds(std::max<int64_t>(1, next_sweep - now)), [&] {
        return !s.queue.Empty() || stop_shards_.load(std::memory_order_acquire);
      });
    }
  }
}

void IngestServiceImpl::ProcessShardItem(size_t index, ShardItem* raw) {
  std::unique_ptr<ShardItem> item(raw);
  Shard& s = *shards_[index];
  if (item->kind == ShardItem::Kind::kRecords) {
    // The pending table is far larger than the caches: start each probe's miss a few halves
    // ahead.
    const std::vector<HalfRecord>& rs = item->records;
    for (size_t i = 0; i < rs.size(); ++i) {
      if (i + kPrefetchAhead < rs.size()) s.state.Prefetch(rs[i + kPrefetchAhead]);
      s.state.Apply(rs[i], item->arrival_ms);
    }
    return;
  }
  if (item->kind == ShardItem::Kind::kDropTenant) {
    const size_t dropped = s.state.DropTenant(item->tenant);
    if (dropped > 0) {
      EW_LOG(kInfo) << "ingest: shard " << index << " dropped " << dropped
                    << " waiting halves of a deleted tenant";
    }
    ReportShardCounters(s);
    return;
  }
  ShardFlush part;
  s.state.TakeFlush(&part, item->full);
  // The metrics cover everything before the marker by the time its flush completes (a FlushNow
  // caller reads them right after).
  ReportShardCounters(s);
  MutexLock lock(&flush_mu_);
  FlushInProgress& f = flushes_[item->marker_id];
  f.shard_parts.push_back(std::move(part));
  if (++f.parts == shards_.size()) flush_cv_.NotifyAll();
}

void IngestServiceImpl::ReportShardCounters(Shard& s) {
  const ShardCounters& c = s.state.counters();
  metrics_.pairs->Add(c.pairs_completed - s.reported.pairs_completed);
  for (int k = 0; k < 3; ++k) metrics_.expired[k]->Add(c.expired[k] - s.reported.expired[k]);
  s.reported = c;
  const uint64_t grows = s.state.table().grows();
  if (grows != s.reported_grows) {  // rare: no shared-counter write on every report
    metrics_.table_grows->Add(grows - s.reported_grows);
    s.reported_grows = grows;
  }
  // Each shard adds the change of its own count. Summing every shard's count and Setting the
  // total raced: a shard's Set of a sum read before another shard's last change could land after
  // that shard's Set, and the gauge stayed wrong once traffic stopped (no report fixes it).
  const uint64_t now = s.state.pending();
  const uint64_t before = s.pending.exchange(now, std::memory_order_relaxed);
  if (now != before) {
    metrics_.pending->Add(static_cast<double>(now) - static_cast<double>(before));
  }
  if (s.state.tenant_refusals_total() != s.reported_refusals_total) ReportTenantRefusals(s);
}

void IngestServiceImpl::ReportTenantRefusals(Shard& s) {
  const std::vector<TenantRefusals>& now = s.state.tenant_refusals();
  s.reported_refusals.resize(now.size());
  for (storage::TenantId t = 0; t < now.size(); ++t) {
    TenantRefusals& before = s.reported_refusals[t];
    std::string name;
    for (size_t r = 0; r < static_cast<size_t>(TenantRefusal::kCount); ++r) {
      if (now[t].n[r] == before.n[r]) continue;
      if (name.empty()) name = tenants_->NameOf(t);
      limiter_->CountRefusal(name, TenantRefusalReason(static_cast<TenantRefusal>(r)),
                             now[t].n[r] - before.n[r]);
    }
    before = now[t];
  }
  s.reported_refusals_total = s.state.tenant_refusals_total();
}

// ---------------------------------------------------------------------------------------------
// Flusher.

storage::FlushBatch IngestServiceImpl::MergeParts(FlushInProgress& f) {
  storage::FlushBatch batch;
  batch.log_position = f.position;
  // Pending state: this flush's chunks go under a new sequence number, after every earlier one
  // (docs/format/storage.md, "Pending state"). A full flush (snapshot) deletes all earlier keys
  // in the same batch.
  const uint64_t seq = next_pending_seq_++;
  if (f.full) {
    batch.pending_deletes = std::move(pending_keys_);
    pending_keys_.clear();
    pending_records_ = 0;
  }
  uint32_t chunk_no = 0;
  auto add_chunk = [&](PendingChunkKind kind, std::string&& value, size_t records) {
    std::string key = PendingChunkKey(seq, kind, chunk_no++);
    pending_keys_.push_back(key);
    pending_records_ += records;
    batch.pending_puts.emplace_back(std::move(key), std::move(value));
  };
  std::string drops;
  for (ShardFlush& p : f.shard_parts) {
    std::move(p.rollups.begin(), p.rollups.end(), std::back_inserter(batch.rollups));
    std::move(p.expiries.begin(), p.expiries.end(), std::back_inserter(batch.expiries));
    for (std::string& chunk : p.pending_adds) {
      const size_t n = (chunk.size() - 1) / kPendingRecordBytes;
      add_chunk(PendingChunkKind::kAdds, std::move(chunk), n);
    }
    p.pending_adds.clear();
    for (size_t off = 0; off < p.pending_drops.size();) {
      if (drops.empty()) {
        drops.reserve(1 + kPendingChunkDrops * kPendingKeyBytes);
        drops.push_back(static_cast<char>(kPendingChunkVersion));
      }
      const size_t room = (kPendingChunkDrops * kPendingKeyBytes + 1) - drops.size();
      const size_t take = std::min(room, p.pending_drops.size() - off);
      drops.append(p.pending_drops, off, take);
      off += take;
      if (drops.size() == 1 + kPendingChunkDrops * kPendingKeyBytes) {
        add_chunk(PendingChunkKind::kDrops, std::move(drops), kPendingChunkDrops);
        drops.clear();
      }
    }
    std::string().swap(p.pending_drops);
  }
  if (!drops.empty()) {
    const size_t n = (drops.size() - 1) / kPendingKeyBytes;
    add_chunk(PendingChunkKind::kDrops, std::move(drops), n);
  }
  // Shards own disjoint traces but may share (minute, dims): merge those into one rollup.
  auto& rs = batch.rollups;
  std::sort(rs.begin(), rs.end(),
            [](const auto& a, const auto& b) { return DimsTuple(a) < DimsTuple(b); });
  size_t out = 0;
  for (size_t i = 0; i < rs.size(); ++i) {
    if (out > 0 && DimsTuple(rs[out - 1]) == DimsTuple(rs[i])) {
      rs[out - 1].value.Merge(rs[i].value);
    } else {
      if (out != i) rs[out] = std::move(rs[i]);
      ++out;
    }
  }
  rs.resize(out);
  return batch;
}

Status IngestServiceImpl::ApplyWithRetry(const storage::FlushBatch& batch) {
  int64_t backoff_ms = 100;
  for (int attempt = 1;; ++attempt) {
    Status st = store_->ApplyFlush(batch);
    if (st.ok()) {
      if (flush_failed_.exchange(false)) {
        EW_LOG(kInfo) << "ingest: flushes recovered";
      }
      return st;
    }
    if (!flush_failed_.exchange(true) || attempt % 20 == 0) {
      EW_LOG(kError) << "ingest: flush failed (attempt " << attempt
                     << "; data kept, retrying): " << st.ToString();
    }
    {
      MutexLock lock(&flush_mu_);
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms);
      while (!stop_flusher_ && flush_cv_.WaitUntil(flush_mu_, deadline)) {
      }
      if (stop_flusher_) return st;
    }
    if (shut_down_.load() && attempt >= kShutdownFlushAttempts) return st;
    backoff_ms = std::min(backoff_ms * 2, kFlushRetryMaxMs);
  }
}

void IngestServiceImpl::FlusherLoop() {
  while (true) {
    FlushInProgress f;
    uint64_t id = 0;
    {
      MutexLock lock(&flush_mu_);
      while (!stop_flusher_ &&
             (flushes_.empty() || flushes_.begin()->second.parts != shards_.size())) {
        flush_cv_.Wait(flush_mu_);
      }
      if (flushes_.empty() || flushes_.begin()->second.parts != shards_.size()) break;  // stop
      id = flushes_.begin()->first;
      f = std::move(flushes_.begin()->second);
      flushes_.erase(flushes_.begin());
    }
    const int64_t t0 = MonoNowNs();
    Status st = ApplyFlushOf(f);
    f = FlushInProgress();
    metrics_.flush_duration->Set(static_cast<double>(MonoNowNs() - t0) / 1e9);
    {
      MutexLock lock(&flush_mu_);
      flushes_done_ = id;
      last_flush_status_ = st;
    }
    flush_cv_.NotifyAll();
    ReleaseFreeMemory();
  }
}

Status IngestServiceImpl::ApplyFlushOf(FlushInProgress& f) {
  size_t pending_now = 0;
  for (const ShardFlush& p : f.shard_parts) pending_now += p.pending_now;
  storage::FlushBatch batch = MergeParts(f);
  size_t pending_bytes = 0;
  for (const auto& [key, value] : batch.pending_puts) pending_bytes += value.size();
  Status st = ApplyWithRetry(batch);
  if (st.ok()) {
    if (pending_bytes >= kPendingBytesFlushedAtOnce) {
      // A burst of unpaired halves: its records sit in RocksDB's memtable (as much again as
      // the halves' table entries) until a background flush writes them out, and that memory
      // goes back to the kernel only at the malloc_trim after the next ingest flush. Writing
      // them out now makes the memtable's memory free for this flush's malloc_trim.
      Status m = store_->FlushPendingMemtables();
      if (!m.ok()) {
        EW_LOG(kWarn) << "ingest: " << m.ToString();
      }
    }
    NotePendingWritten(pending_now);
    Status t = log_->TruncateBefore(batch.log_position);
    if (!t.ok()) {
      EW_LOG(kWarn) << "ingest: log truncation failed: " << t.ToString();
    }
    metrics_.rollups_flushed->Add(batch.rollups.size());
  }
  return st;
}

void IngestServiceImpl::ReleaseFreeMemory() {
#if defined(__GLIBC__)
  // A flush allocates and frees its batch, the shards' parts and (inside RocksDB) the WriteBatch
  // and memtables, on several threads; glibc keeps such freed memory in its per-thread arenas
  // for good. Handing free pages back once per flush keeps RSS at what is in use (measured:
  // 2 M pending halves cost ~125 B of RSS each without this, mostly free arena memory).
  // mallinfo2 walks the bins of the one arena (base/malloc_policy.h): microseconds.
  // At once past 48 MiB of free heap (a burst: pending halves, big groups); otherwise at most
  // every 10 s. Steady ingest frees 10-30 MiB per flush and allocates it again right after, and
  // trimming that every flush (madvise, TLB shootdowns, page faults to get it back) cost ~7 %
  // of protobuf ingest CPU; never trimming it would leave up to 48 MiB of free heap resident.
  static int64_t last_trim_ms = 0;  // the flusher thread only
  const size_t free_bytes = mallinfo2().fordblks;
  const int64_t now = MonoMs();
  if (free_bytes >= kTrimFreeBytes ||
      (free_bytes >= kTrimMinFreeBytes && now - last_trim_ms >= kTrimPeriodMs)) {
    malloc_trim(0);
    last_trim_ms = now;
  }
#endif
}

void IngestServiceImpl::NotePendingWritten(size_t pending_now) {
  if (pending_records_ > 2 * static_cast<uint64_t>(pending_now) + kSnapshotMinRecords ||
      pending_keys_.size() > kSnapshotMaxKeys) {
    snapshot_wanted_.store(true);
  }
}

void IngestServiceImpl::StopThreads() {
  if (!started_.load() || stopped_.exchange(true)) return;
  stop_writer_.store(true, std::memory_order_release);
  writer_waker_.Notify();
  if (writer_.joinable()) writer_.join();
  stop_shards_.store(true, std::memory_order_release);
  for (auto& s : shards_) s->waker.Notify();
  for (auto& s : shards_) {
    if (s->thread.joinable()) s->thread.join();
  }
  {
    MutexLock lock(&flush_mu_);
    stop_flusher_ = true;
  }
  flush_cv_.NotifyAll();
  if (flusher_.joinable()) flusher_.join();
  for (auto& s : shards_) {  // items a crash left behind (the log has them)
    ShardItem* item = nullptr;
    while (s->queue.TryPop(&item)) delete item;
  }
}

}  // namespace ew::ingest
