// IngestServiceImpl: the implementation behind IngestService (ingest_service.h). Threads:
//  - I/O threads (the caller's) run Export: inflate, decode, derive HalfRecords, enqueue.
//  - one log writer: group-commits queued requests to the IngestLog, then dispatches their
//    records to the shard queues in log order and answers them; inserts flush markers. An I/O
//    thread that finds the log free and the queue empty commits its own request the same way.
//  - one worker per shard: pairing, aggregation, expiry (ShardState); at a marker hands its
//    flush part to the flusher.
//  - one flusher: merges the parts of a marker into one FlushBatch, EdgeStore::ApplyFlush (with
//    retries), then IngestLog::TruncateBefore.
// The whole design and its memory orders: docs/ingest.md.
//
// Thread-safety: as IngestService. log_mu_ serializes log appends, dispatch and markers (the
// writer or a committing I/O thread holds it); flush_mu_ guards the flush coordination and is
// taken after log_mu_. Both are annotated (base/mutex.h) and checked by the clang build.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "base/metrics.h"
#include "base/mutex.h"
#include "ingest/derivation/derive.h"
#include "ingest/derivation/half_record.h"
#include "ingest/derivation/interner.h"
#include "ingest/ingest_service.h"
#include "ingest/pipeline/shard_state.h"
#include "ingest/pipeline/tenant_registry.h"
#include "ingest/pipeline/work_queue.h"
#include "storage/edge_store.h"
#include "storage/ingest_log.h"

namespace ew::ingest {

// The shard of a record among n: by its trace, so that both halves of a request meet.
inline size_t ShardIndexOf(const HalfRecord& r, size_t n) {
  return ShardOfTraceKey(TraceKeyOf(r.TraceLow()), n);
}

class IngestServiceImpl final : public IngestService {
 public:
  IngestServiceImpl(storage::EdgeStore* store, const IngestOptions& config,
                    MetricsRegistry* metrics);
  ~IngestServiceImpl() override;

  Status Init();  // opens the log, interns the well-known ids
  Status Start() override;
  void Export(ExportRequest request, std::function<void(ExportResponse)> done) override;
  void Shutdown() override;
  bool Healthy() const override;
  Status FlushNow() override EXCLUDES(flush_mu_);
  Status DeleteTenant(const std::string& name) override EXCLUDES(log_mu_, flush_mu_);

  // Requests waiting in the writer queue at most (beyond: kOverloaded).
  static constexpr size_t kWriterQueueRequests = 4096;
  static constexpr size_t kShardQueueItems = 8192;

 private:
  // One accepted request on its way to the log. Its half records are derived straight into one
  // vector per shard (the shard each goes to, ShardIndexOf); the log gets the vectors' memory as
  // pieces of one batch record, and each vector then moves into its shard's item: no copy of a
  // record on the way.
  struct PendingExport {
    int64_t arrival_ms = 0;  // wall clock when the request was received (pair-wait expiry)
    std::vector<std::vector<HalfRecord>> by_shard;
    size_t records = 0;
    uint64_t accepted = 0;
    uint64_t rejected = 0;
    std::string reject_message;
    const Decoder* decoder = &OtlpProtobufDecoder();
    std::function<void(ExportResponse)> done;
  };
  // Scratch of CommitGroup and Dispatch, kept between groups.
  std::vector<std::string> commit_encoded_ GUARDED_BY(log_mu_);
  std::vector<storage::IngestLog::RecordParts> commit_parts_ GUARDED_BY(log_mu_);
  std::vector<std::vector<std::string_view>> commit_bodies_ GUARDED_BY(log_mu_);
  // Work for one shard: records of one request in log order, or a flush marker, or stop.
  struct ShardItem {
    // kDropTenant: forget the waiting halves and caches of `tenant` (DeleteTenant).
    enum class Kind { kRecords, kMarker, kDropTenant } kind = Kind::kRecords;
    storage::TenantId tenant = 0;
    int64_t arrival_ms = 0;
    std::vector<HalfRecord> records;
    uint64_t marker_id = 0;
    uint64_t position = 0;
    bool full = false;  // marker: hand over every pending half (a snapshot of the state)
  };
  struct Shard {
    explicit Shard(const ShardOptions& o) : state(o), queue(kShardQueueItems) {}
    ShardState state;
    BoundedQueue<ShardItem> queue;
    Waker waker;
    std::thread thread;
    std::atomic<uint64_t> pending{0};
    ShardCounters reported;       // what was already added to the metric counters
    uint64_t reported_grows = 0;  // the same for the pending table's growth steps
    // The same for the per-tenant refusals (ew_ingest_refused_total).
    std::vector<TenantRefusals> reported_refusals;
    uint64_t reported_refusals_total = 0;
  };
  struct FlushInProgress {
    uint64_t position = 0;
    bool full = false;
    size_t parts = 0;
    std::vector<ShardFlush> shard_parts;
  };
  struct Metrics {
    Counter* received = nullptr;
    Counter* refused_old = nullptr;
    Counter* refused_new = nullptr;
    Counter* pairs = nullptr;
    Counter* expired[3] = {nullptr, nullptr, nullptr};
    Counter* rollups_flushed = nullptr;
    Counter* queue_full = nullptr;
    Gauge* flush_duration = nullptr;
    Gauge* pending = nullptr;
    Counter* table_grows = nullptr;
  };

  // Export steps (I/O thread).
  bool DecodeInto(ExportRequest& request, PendingExport* out, ExportResponse* error);
  // The memory budget and the tenant's bytes-per-second limit, before decoding; false (and
  // *error set) when the request is refused.
  bool Admit(const ExportRequest& request, std::string_view tenant, ExportResponse* error);
  static void Answer(PendingExport& e, ExportOutcome outcome, std::string message,
                     int retry_after_s);

  // Writer thread.
  void WriterLoop() EXCLUDES(log_mu_, flush_mu_);
  // Under log_mu_: the writer thread, or an I/O thread committing its own request (Export).
  void CommitGroup(std::vector<PendingExport*>& group) REQUIRES(log_mu_);
  void Dispatch(PendingExport& e) REQUIRES(log_mu_);
  void EmitMarker() REQUIRES(log_mu_) EXCLUDES(flush_mu_);
  void PushToShard(size_t shard, ShardItem* item) REQUIRES(log_mu_);

  // Shard worker threads.
  void ShardLoop(size_t index);
  void ProcessShardItem(size_t index, ShardItem* item) EXCLUDES(flush_mu_);
  void ReportShardCounters(Shard& shard);
  void ReportTenantRefusals(Shard& shard);

  // Flusher thread.
  void FlusherLoop() EXCLUDES(flush_mu_);
  Status ApplyWithRetry(const storage::FlushBatch& batch) EXCLUDES(flush_mu_);
  // Merges, applies (with retries) and truncates the log for one flush.
  Status ApplyFlushOf(FlushInProgress& f);
  static void ReleaseFreeMemory();
  storage::FlushBatch MergeParts(FlushInProgress& f);
  // After a successful flush: asks for a snapshot when the persisted chunks hold far more
  // records than there are pending halves.
  void NotePendingWritten(size_t pending_now);
  // Start-up (ingest_service_load.cc): loads the persisted pending state into the shards. The
  // scan checks one key/value of the pending column family (a chunk, or a record of the older
  // one-record-per-key form), notes it for the next snapshot and counts its adds and drops per
  // shard; LoadPendingItemInto applies the records of one shard.
  Status LoadPendingState(int64_t now_ms);
  // With --tenant-max-edges: counts every tenant's stored edges (the day tier holds every edge
  // within retention) into edge_cap_.
  Status SeedEdgeCap();
  Status ScanPendingItem(std::string_view key, std::string_view value, std::vector<int64_t>* adds,
                         std::vector<int64_t>* drops);
  Status LoadPendingItemInto(size_t shard, std::string_view key, std::string_view value,
                             int64_t now_ms);

  size_t ShardOf(const HalfRecord& r) const { return ShardIndexOf(r, shards_.size()); }
  void StopThreads() EXCLUDES(flush_mu_);

  storage::EdgeStore* store_;
  IngestOptions config_;
  MetricsRegistry* metrics_registry_;
  std::unique_ptr<MetricsRegistry> own_metrics_;  // when the caller passes none
  Metrics metrics_;
  std::unique_ptr<storage::IngestLog> log_;
  StoreInterner interner_;
  const uint64_t instance_;  // names this service's ids in the I/O threads' DeriveCaches
  WellKnownIds ids_;         // tenant 0's
  std::unique_ptr<TenantRegistry> tenants_;  // every tenant's id and well-known ids
  std::unique_ptr<PathCap> path_cap_;
  std::unique_ptr<EdgeCap> edge_cap_;  // with --tenant-max-edges
  std::unique_ptr<TenantLimiter> limiter_;
  std::vector<std::unique_ptr<Shard>> shards_;

  BoundedQueue<PendingExport> writer_queue_{kWriterQueueRequests};
  Waker writer_waker_;
  std::thread writer_;
  // Serializes log appends, dispatch to the shards and markers: held by the writer thread for
  // each group, marker and sync, and by an I/O thread committing its own request (Export).
  // Taken before flush_mu_ (EmitMarker).
  Mutex log_mu_ ACQUIRED_BEFORE(flush_mu_);
  uint64_t log_position_ GUARDED_BY(log_mu_) = 0;
  // Per shard: record items pushed since the shard's last Notify (PushToShard).
  std::vector<uint32_t> shard_unnotified_ GUARDED_BY(log_mu_);
  uint64_t synced_position_ = 0;  // writer thread: the log end at its last sync

  std::atomic<bool> accepting_{false};
  std::atomic<bool> stop_writer_{false};
  std::atomic<bool> stop_shards_{false};
  std::atomic<bool> log_failed_{false};
  std::atomic<bool> flush_failed_{false};
  std::atomic<bool> started_{false};
  std::atomic<bool> shut_down_{false};
  std::atomic<bool> stopped_{false};       // threads stopped
  std::atomic<int> in_flight_{0};          // Export calls running
  std::atomic<bool> flush_wanted_{false};  // FlushNow asked; the writer emits a marker

  // Flush coordination.
  Mutex flush_mu_;
  CondVar flush_cv_;  // flushes_ complete, flushes_done_ advanced, or stop_flusher_
  uint64_t markers_emitted_ GUARDED_BY(flush_mu_) = 0;
  uint64_t flushes_done_ GUARDED_BY(flush_mu_) = 0;
  Status last_flush_status_ GUARDED_BY(flush_mu_);
  std::map<uint64_t, FlushInProgress> flushes_ GUARDED_BY(flush_mu_);
  // The persisted pending state (docs/format/storage.md, "Pending state"): flusher thread only
  // (and Start before the threads).
  uint64_t next_pending_seq_ = 1;
  std::vector<std::string> pending_keys_;     // every key in the pending column family
  uint64_t pending_records_ = 0;              // records (adds and drops) in those keys
  std::atomic<bool> snapshot_wanted_{false};  // the next marker is a full one
  bool stop_flusher_ GUARDED_BY(flush_mu_) = false;
  std::thread flusher_;
};

}  // namespace ew::ingest
