// IngestService: creation, start-up (load pending, replay), Export on the I/O threads, shutdown.
// The writer, shard and flusher threads are in ingest_pipeline.cc.
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <unordered_set>

#include "base/hash.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "base/time.h"
#include "ingest/pipeline/gzip.h"
#include "ingest/pipeline/ingest_service_impl.h"

namespace ew::ingest {
namespace {

constexpr int kRetryAfterOverloadedS = 1;
constexpr int kRetryAfterUnavailableS = 5;
// An I/O thread keeps the buffer of its last inflated body up to this size (typical OTLP bodies
// inflate to 100-300 KB).
constexpr size_t kKeepInflatedBytes = size_t{4} << 20;
// The size a request's record vectors are reserved for assumes spans of at least this many bytes.
constexpr size_t kMinSpanBytes = 150;

// Derives every decoded span of one request into the request's vector for its shard; the
// halves that wait for a partner get their tenant's pairing key (TenantSpanKey).
class DeriveSink final : public SpanSink {
 public:
  DeriveSink(HalfDeriver* deriver, int64_t now_ms, std::vector<std::vector<HalfRecord>>* out,
             storage::TenantId tenant)
      : deriver_(deriver), now_ms_(now_ms), out_(out), tenant_(tenant) {}

  Status OnSpan(const SpanView& span) override {
    ++spans;
    HalfRecord r;
    Result<DeriveResult> res = deriver_->Derive(span, now_ms_, &r);
    if (!res.ok()) {
      store_error = res.status();
      return Status::Unavailable("interning failed: " + res.status().message());
    }
    switch (*res) {
      case DeriveResult::kHalf:
        if (span.link_count > 0) {  // a consumer that pairs through its links
          if (const size_t n = LinkedHalves(span, r, linked_); n > 0) {
            for (size_t i = 0; i < n; ++i) Push(linked_[i]);
            records += n;
            break;
          }
        }
        Push(r);
        ++records;
        break;
      case DeriveResult::kNoEdge:
        break;
      case DeriveResult::kTooOld:
        ++too_old;
        break;
      case DeriveResult::kTooNew:
        ++too_new;
        break;
    }
    return Status::Ok();
  }

  uint64_t spans = 0;
  uint64_t records = 0;
  uint64_t too_old = 0;
  uint64_t too_new = 0;
  Status store_error;

 private:
  void Push(HalfRecord& r) {
    if (r.role == HalfRole::kClientPending || r.role == HalfRole::kServerPending) {
      r.span_key = TenantSpanKey(r.span_key, tenant_);
    }
    (*out_)[ShardIndexOf(r, out_->size())].push_back(r);
  }

  HalfDeriver* deriver_;
  int64_t now_ms_;
  std::vector<std::vector<HalfRecord>>* out_;
  storage::TenantId tenant_;
  HalfRecord linked_[kMaxSpanLinks];
};

std::string RejectMessage(uint64_t too_old, uint64_t too_new, const IngestOptions& config) {
  std::string msg;
  msg.append(std::to_string(too_old + too_new)).append(" spans refused:");
  if (too_old > 0) {
    msg.append(" ").append(std::to_string(too_old)).append(" started more than ");
    msg.append(FormatDurationMs(config.max_span_age_ms)).append(" ago (max-span-age)");
  }
  if (too_new > 0) {
    if (too_old > 0) msg.append(";");
    msg.append(" ").append(std::to_string(too_new)).append(" start more than ");
    msg.append(FormatDurationMs(config.max_span_future_ms)).append(" in the future");
  }
  return msg;
}

std::atomic<uint64_t> g_next_service_instance{1};

// The calling I/O thread's DeriveCache for the service numbered instance and one tenant (ids
// are a tenant's own: a thread that serves another service or tenant starts over).
DeriveCache& ThreadDeriveCache(uint64_t instance, storage::TenantId tenant) {
  thread_local std::unique_ptr<DeriveCache> cache = std::make_unique<DeriveCache>();
  const uint64_t owner = instance | static_cast<uint64_t>(tenant) << 32;
  if (cache->owner() != owner) cache->Reset(owner);
  return *cache;
}

ExportResponse ErrorResponse(ExportOutcome outcome, std::string message, int retry_after_s) {
  ExportResponse r;
  r.outcome = outcome;
  r.body = std::move(message);
  r.retry_after_s = retry_after_s;
  return r;
}

// The body to decode: the request's, or its inflation into *inflated (gzip); nullptr with *error
// set when it is corrupt or larger than max_bytes.
std::string* InflatedBody(ExportRequest& request, uint64_t max_bytes, std::string* inflated,
                          ExportResponse* error) {
  if (request.gzip) {
    Status st = GunzipBody(request.body, max_bytes, inflated);
    if (!st.ok()) {
      *error =
          ErrorResponse(st.code() == StatusCode::kResourceExhausted ? ExportOutcome::kTooLarge
                                                                    : ExportOutcome::kMalformed,
                        st.message(), 0);
      return nullptr;
    }
    return inflated;
  }
  if (request.body.size() > max_bytes) {
    *error = ErrorResponse(ExportOutcome::kTooLarge, "body larger than max-decompressed-bytes", 0);
    return nullptr;
  }
  return &request.body;
}

}  // namespace

Result<std::unique_ptr<IngestService>> IngestService::Create(storage::EdgeStore* store,
                                                             const IngestOptions& config,
                                                             MetricsRegistry* metrics) {
  if (store == nullptr) return Status::InvalidArgument("IngestService: no store");
  auto impl = std::make_unique<IngestServiceImpl>(store, config, metrics);
  EW_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<IngestService>(std::move(impl));
}

IngestServiceImpl::IngestServiceImpl(storage::EdgeStore* store, const IngestOptions& config,
                                     MetricsRegistry* metrics)
    : store_(store),
      config_(config),
      metrics_registry_(metrics),
      interner_(store),
      instance_(g_next_service_instance.fetch_add(1, std::memory_order_relaxed)) {
  if (config_.ingest_shards == 0) config_.ingest_shards = 1;
  if (config_.pair_wait_ms < 1) config_.pair_wait_ms = 1;
  if (config_.flush_interval_ms < 1) config_.flush_interval_ms = 1;
  shard_unnotified_.assign(config_.ingest_shards, 0);
  if (metrics_registry_ == nullptr) {
    own_metrics_ = std::make_unique<MetricsRegistry>();
    metrics_registry_ = own_metrics_.get();
  }
  limiter_ = std::make_unique<TenantLimiter>(config_.tenant_rates, metrics_registry_);
  MetricsRegistry& m = *metrics_registry_;
  metrics_.received = m.GetCounter("ew_spans_received_total", "Spans decoded from OTLP requests");
  const char* refused_help = "Spans refused through partial success, by reason";
  metrics_.refused_old =
      m.GetCounter("ew_spans_refused_total", refused_help, {{"reason", "too_old"}});
  metrics_.refused_new =
      m.GetCounter("ew_spans_refused_total", refused_help, {{"reason", "in_future"}});
  metrics_.pairs = m.GetCounter("ew_pairs_completed_total", "Client/server halves paired");
  const char* kinds[3] = {"client", "server", "evicted"};
  for (int k = 0; k < 3; ++k) {
    metrics_.expired[k] = m.GetCounter(
        "ew_halves_expired_total", "Halves that found no partner in time", {{"kind", kinds[k]}});
  }
  metrics_.rollups_flushed = m.GetCounter("ew_rollups_flushed_total", "Minute rollups flushed");
  metrics_.queue_full =
      m.GetCounter("ew_ingest_queue_full_total", "Export requests refused: writer queue full");
  metrics_.flush_duration =
      m.GetGauge("ew_flush_duration_seconds", "Duration of the last flush to storage");
  metrics_.pending = m.GetGauge("ew_pending_halves", "Halves waiting for their partner");
  metrics_.table_grows = m.GetCounter(
      "ew_pending_table_grows_total",
      "Pending-table arrays replaced by larger ones (growth, and the reservation before loading)");
}

IngestServiceImpl::~IngestServiceImpl() {
  // Without Shutdown this is a crash as far as durability goes: nothing more is flushed; the
  // ingest log holds every acknowledged request for the next start.
  accepting_.store(false);
  while (in_flight_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  StopThreads();
}

Status IngestServiceImpl::Init() {
  storage::IngestLogOptions opts;
  opts.dir = config_.data_dir + "/ingest-log";
  opts.sync_each_append = config_.fsync == LogSync::kAlways;
  opts.metrics = metrics_registry_;
  opts.min_position = store_->FlushedLogPosition();
  EW_ASSIGN_OR_RETURN(log_, storage::IngestLog::Open(opts));
  EW_ASSIGN_OR_RETURN(ids_, InternWellKnown(&interner_));
  tenants_ = std::make_unique<TenantRegistry>(store_, interner_, ids_);
  path_cap_ = std::make_unique<PathCap>(config_.max_paths_per_edge);
  ShardOptions so;
  so.max_pending = (config_.max_pending + config_.ingest_shards - 1) / config_.ingest_shards;
  so.pair_wait_ms = config_.pair_wait_ms;
  so.ids = ids_;
  so.ids_of_node = [tenants = tenants_.get()](storage::NodeId node) {
    return tenants->IdsOfNode(node);
  };
  so.path_cap = path_cap_.get();
  if (config_.tenant_max_pending != 0) {
    so.tenant_max_pending =
        (config_.tenant_max_pending + config_.ingest_shards - 1) / config_.ingest_shards;
  }
  if (config_.tenant_max_edges != 0) {
    edge_cap_ = std::make_unique<EdgeCap>(config_.tenant_max_edges);
    so.edge_cap = edge_cap_.get();
  }
  for (uint32_t i = 0; i < config_.ingest_shards; ++i) {
    shards_.push_back(std::make_unique<Shard>(so));
  }
  return Status::Ok();
}

Status IngestServiceImpl::Start() {
  if (started_.exchange(true)) return Status::FailedPrecondition("IngestService: started twice");
  const int64_t now = WallNowMs();
  for (auto& s : shards_) s->state.SetNow(now);
  // 0. The edges each tenant has (for --tenant-max-edges), before anything adds to them.
  EW_RETURN_IF_ERROR(SeedEdgeCap());
  // 1. Pending halves as of the last flush.
  const int64_t load_start_ns = MonoNowNs();
  EW_RETURN_IF_ERROR(LoadPendingState(now));
  size_t loaded = 0;
  for (auto& s : shards_) loaded += s->state.pending();
  NotePendingWritten(loaded);
  if (loaded > 0) {
    EW_LOG(kInfo) << "ingest: loaded " << loaded << " pending halves in "
                  << (MonoNowNs() - load_start_ns) / 1'000'000 << " ms";
  }
  // 2. Requests acknowledged after that flush, through the same shard path.
  uint64_t replayed = 0;
  HalfBatch batch;
  Status st = log_->Replay(store_->FlushedLogPosition(), [&](uint64_t, std::string_view record) {
    EW_RETURN_IF_ERROR(DecodeHalfBatch(record, &batch));
    for (const HalfRecord& r : batch.records) shards_[ShardOf(r)]->state.Apply(r, batch.arrival_ms);
    replayed += batch.records.size();
    return Status::Ok();
  });
  EW_RETURN_IF_ERROR(st.WithContext("replaying the ingest log"));
  {
    MutexLock lock(&log_mu_);
    log_position_ = log_->EndPosition();
  }
  if (replayed > 0) {
    EW_LOG(kInfo) << "ingest: replayed " << replayed << " halves from the log";
  }
  for (auto& s : shards_) ReportShardCounters(*s);
  // From here on the shards add changes to the gauge; start it from this service's own count
  // (a registry may outlive an earlier service).
  uint64_t pending_total = 0;
  for (auto& s : shards_) pending_total += s->pending.load(std::memory_order_relaxed);
  metrics_.pending->Set(static_cast<double>(pending_total));
  // 3. Threads.
  for (size_t i = 0; i < shards_.size(); ++i) {
    shards_[i]->thread = std::thread([this, i] {
      SetThreadName("ew-shard-" + std::to_string(i));
      ShardLoop(i);
    });
  }
  flusher_ = std::thread([this] {
    SetThreadName("ew-flusher");
    FlusherLoop();
  });
  writer_ = std::thread([this] {
    SetThreadName("ew-log-writer");
    WriterLoop();
  });
  accepting_.store(true);
  return Status::Ok();
}

bool IngestServiceImpl::DecodeInto(ExportRequest& request, PendingExport* out,
                                   ExportResponse* error) {
  // The inflated body is kept per I/O thread: a fresh 100 KB+ buffer per request cost a malloc,
  // a free and zero-filling it. Nothing decoded points into it once DecodeInto returns.
  thread_local std::string inflated;
  struct Release {  // past kKeepInflatedBytes, hand a rare huge body's buffer back
    ~Release() {
      if (buffer->capacity() > kKeepInflatedBytes) std::string().swap(*buffer);
    }
    std::string* buffer;
  } release{&inflated};
  std::string* body = InflatedBody(request, config_.max_decompressed_bytes, &inflated, error);
  if (body == nullptr) return false;
  const int64_t now = WallNowMs();
  out->arrival_ms = now;
  // Room for the records at once: OTLP protobuf spans take 150 bytes or more (JSON far more), so
  // growing past this is rare.
  out->by_shard.resize(shards_.size());
  for (std::vector<HalfRecord>& v : out->by_shard) {
    v.reserve(body->size() / (kMinSpanBytes * shards_.size()) + 8);
  }
  auto tenant = tenants_->ByName(request.tenant);
  if (!tenant.ok()) {
    *error = ErrorResponse(ExportOutcome::kUnavailable, "storage: " + tenant.status().message(),
                           kRetryAfterUnavailableS);
    return false;
  }
  StoreInterner interner = interner_.ForTenant(tenant->id);
  HalfDeriver deriver(&interner, *tenant->ids,
                      DeriveLimits{config_.max_span_age_ms, config_.max_span_future_ms},
                      &ThreadDeriveCache(instance_, tenant->id));
  DeriveSink sink(&deriver, now, &out->by_shard, tenant->id);
  const Status st = request.decoder->Decode(*body, sink);
  metrics_.received->Add(sink.spans);
  out->records = sink.records;
  if (!sink.store_error.ok()) {
    *error = ErrorResponse(ExportOutcome::kUnavailable, "storage: " + sink.store_error.message(),
                           kRetryAfterUnavailableS);
    return false;
  }
  if (!st.ok()) {
    *error = ErrorResponse(ExportOutcome::kMalformed, st.message(), 0);
    return false;
  }
  metrics_.refused_old->Add(sink.too_old);
  metrics_.refused_new->Add(sink.too_new);
  out->rejected = sink.too_old + sink.too_new;
  out->accepted = sink.spans - out->rejected;
  if (out->rejected > 0) out->reject_message = RejectMessage(sink.too_old, sink.too_new, config_);
  out->decoder = request.decoder;
  return true;
}

void IngestServiceImpl::Answer(PendingExport& e, ExportOutcome outcome, std::string message,
                               int retry_after_s) {
  ExportResponse r;
  r.outcome = outcome;
  r.decoder = e.decoder;
  r.retry_after_s = retry_after_s;
  if (outcome == ExportOutcome::kOk) {
    r.accepted_spans = e.accepted;
    r.rejected_spans = e.rejected;
    r.body = e.decoder->SuccessBody(e.rejected, e.reject_message);
  } else {
    r.body = std::move(message);
  }
  auto done = std::move(e.done);
  if (done) done(std::move(r));
}

bool IngestServiceImpl::Admit(const ExportRequest& request, std::string_view tenant,
                              ExportResponse* error) {
  if (const MemoryGuard* m = config_.memory_guard; m != nullptr && m->Over()) {
    limiter_->CountRefusal(tenant, "memory");
    *error = ErrorResponse(ExportOutcome::kUnavailable,
                           "memory budget: the server holds " + std::to_string(m->LastRss() >> 20) +
                               " MiB of its " + std::to_string(m->budget() >> 20) +
                               " MiB (--memory-budget); retry later",
                           kRetryAfterUnavailableS);
    return false;
  }
  if (const auto d = limiter_->AdmitBytes(tenant, request.body.size(), MonoNowNs()); !d.ok) {
    *error = ErrorResponse(
        ExportOutcome::kOverloaded,
        "tenant '" + std::string(tenant) + "' is over its bytes-per-second limit (" +
            std::to_string(static_cast<uint64_t>(config_.tenant_rates.bytes_per_s)) +
            ", --tenant-bytes-per-second); retry in " + std::to_string(d.retry_after_s) + " s",
        d.retry_after_s);
    return false;
  }
  return true;
}

void IngestServiceImpl::Export(ExportRequest request, std::function<void(ExportResponse)> done) {
  in_flight_.fetch_add(1);
  struct InFlight {
    std::atomic<int>& n;
    ~InFlight() { n.fetch_sub(1); }
  } guard{in_flight_};
  if (!accepting_.load()) {
    done(ErrorResponse(ExportOutcome::kUnavailable, "ingest is not accepting requests",
                       kRetryAfterUnavailableS));
    return;
  }
  // A failed log append does not gate here: the writer's next append is the probe that clears it
  // once space is back (each failed append answers 503 itself). A failing flush or a storage
  // background error does gate, since acknowledged data could not reach the store.
  if (flush_failed_.load(std::memory_order_relaxed) || !store_->Health().ok()) {
    done(ErrorResponse(ExportOutcome::kUnavailable, "storage is failing; retry later",
                       kRetryAfterUnavailableS));
    return;
  }
  const std::string tenant = request.tenant;  // the server checked the name
  ExportResponse error;
  if (!Admit(request, tenant, &error)) {
    done(std::move(error));
    return;
  }
  auto pending = std::make_unique<PendingExport>();
  if (!DecodeInto(request, pending.get(), &error)) {
    done(std::move(error));
    return;
  }
  if (const auto d = limiter_->AdmitSpans(tenant, pending->accepted, MonoNowNs()); !d.ok) {
    done(ErrorResponse(ExportOutcome::kOverloaded,
                       "tenant '" + std::string(tenant) + "' is over its spans-per-second limit (" +
                           std::to_string(static_cast<uint64_t>(config_.tenant_rates.spans_per_s)) +
                           ", --tenant-spans-per-second); retry in " +
                           std::to_string(d.retry_after_s) + " s",
                       d.retry_after_s));
    return;
  }
  pending->done = std::move(done);
  if (pending->records == 0) {  // nothing to make durable
    Answer(*pending, ExportOutcome::kOk, "", 0);
    return;
  }
  PendingExport* raw = pending.release();
  // Fast path: when the log is free and nothing is queued, this I/O thread appends and
  // dispatches the request itself (under log_mu_, exactly what the writer thread does), which
  // saves two thread hand-offs per request. With --fsync always the writer's group commit
  // (one fdatasync for many requests) is better, so those requests always queue.
  if (config_.fsync != LogSync::kAlways && writer_queue_.Empty()) {
    if (log_mu_.TryLock()) {
      MutexLock lock(&log_mu_, MutexLock::AdoptLock{});
      std::vector<PendingExport*> one{raw};
      CommitGroup(one);
      return;
    }
  }
  if (!writer_queue_.TryPush(raw)) {
    metrics_.queue_full->Add();
    std::unique_ptr<PendingExport> back(raw);
    Answer(*back, ExportOutcome::kOverloaded, "ingest queue full; retry later",
           kRetryAfterOverloadedS);
    return;
  }
  writer_waker_.Notify();
}

bool IngestServiceImpl::Healthy() const {
  return !log_failed_.load(std::memory_order_relaxed) &&
         !flush_failed_.load(std::memory_order_relaxed) && store_->Health().ok();
}

Status IngestServiceImpl::FlushNow() {
  if (!started_.load() || stopped_.load()) {
    return Status::FailedPrecondition("IngestService: not running");
  }
  MutexLock lock(&flush_mu_);
  const uint64_t want = markers_emitted_ + 1;
  flush_wanted_.store(true, std::memory_order_release);
  lock.Unlock();
  writer_waker_.Notify();
  lock.Lock();
  while (flushes_done_ < want && !stop_flusher_) flush_cv_.Wait(flush_mu_);
  if (flushes_done_ < want) return Status::Unavailable("IngestService: stopped before the flush");
  return last_flush_status_;
}

Status IngestServiceImpl::DeleteTenant(const std::string& name) {
  if (!started_.load() || stopped_.load()) {
    return Status::FailedPrecondition("IngestService: not running");
  }
  const auto tenant = store_->FindTenant(name);
  if (!tenant) return Status::NotFound("no tenant '" + name + "' in the store");
  {
    // After every request dispatched so far, before the flush's marker.
    MutexLock lock(&log_mu_);
    for (size_t s = 0; s < shards_.size(); ++s) {
      auto* item = new ShardItem;
      item->kind = ShardItem::Kind::kDropTenant;
      item->tenant = *tenant;
      PushToShard(s, item);
    }
  }
  // The drops of its persisted halves and every rollup acknowledged so far reach the store ...
  EW_RETURN_IF_ERROR(FlushNow().WithContext("deleting tenant '" + name + "'"));
  // ... and go with the tenant's range.
  EW_RETURN_IF_ERROR(store_->DeleteTenant(*tenant).WithContext("deleting tenant '" + name + "'"));
  if (edge_cap_ != nullptr) edge_cap_->Forget(*tenant);
  std::unordered_set<storage::NodeId> nodes;  // looked up first: no store lock under the cap's
  for (const auto& [id, info] : store_->ListNodes(*tenant)) nodes.insert(id);
  path_cap_->Forget([&](storage::NodeId server) { return nodes.count(server) != 0; });
  EW_LOG(kInfo) << "ingest: tenant '" << name << "' deleted";
  return Status::Ok();
}

void IngestServiceImpl::Shutdown() {
  if (shut_down_.exchange(true)) return;
  accepting_.store(false);
  while (in_flight_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (started_.load() && !stopped_.load()) {
    // The writer commits what is queued before it emits the marker, so this final flush
    // covers every acknowledged request; pending halves are persisted, not expired.
    Status st = FlushNow();
    if (!st.ok()) {
      EW_LOG(kError) << "ingest: final flush failed (the log keeps the data): " << st.ToString();
    }
  }
  StopThreads();
}

}  // namespace ew::ingest
