// IngestService: everything between a request body (OTLP, Zipkin: decoders/) and durable rollups —
// decoding, validation, the ingest log, pairing, aggregation and flushing. The server owns the HTTP
// side and hands bodies here; this module knows nothing of HTTP beyond the outcome it reports.
//
// Thread-safety: Export may be called from any number of I/O threads at once; `done` is called
// exactly once, from an internal thread (or inline on early rejection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/memory_guard.h"
#include "base/metrics.h"
#include "base/status.h"
#include "ingest/decoders/decoder.h"
#include "ingest/pipeline/tenant_limiter.h"
#include "storage/edge_store.h"

namespace ew::ingest {

// How the ingest log is synced (the server's --fsync): never, on an interval, or before every
// acknowledgement.
enum class LogSync { kNever, kInterval, kAlways };

// Ingest's options, assembled by the server from its configuration (docs/operations.md has the
// flags and their defaults).
struct IngestOptions {
  std::string data_dir = "./data";  // the ingest log lives in <data_dir>/ingest-log
  uint32_t ingest_shards = 2;
  int64_t pair_wait_ms = 10'000;
  int64_t flush_interval_ms = 5'000;
  int64_t max_span_age_ms = 24 * 3600'000LL;
  int64_t max_span_future_ms = 10 * 60'000LL;
  uint64_t max_pending = 4'000'000;
  LogSync fsync = LogSync::kInterval;
  int64_t fsync_interval_ms = 1'000;
  uint64_t max_decompressed_bytes = 64ULL << 20;
  uint32_t max_paths_per_edge = 200;
  // Per tenant: the most waiting halves (a share of it per shard: ceil(n / ingest_shards));
  // past it the tenant's own oldest halves expire early. 0: no limit.
  uint64_t tenant_max_pending = 0;
  // Per tenant: the most distinct edges (client, server); a request that would add one more is
  // not stored (counted). 0: no limit.
  uint64_t tenant_max_edges = 0;
  // Per-tenant spans and bytes per second (429 with Retry-After above them; 0: no limit).
  TenantRateLimits tenant_rates;
  // The global memory budget (must outlive the service; nullptr: none): while the process is
  // over it, requests are answered 503 with Retry-After instead of growing ingest's state.
  const MemoryGuard* memory_guard = nullptr;
};

struct ExportRequest {
  std::string body;  // as received (possibly gzip)
  // The body's format and how to answer it (decoders/decoder.h; FindDecoder picks one by HTTP
  // path and media type). OTLP protobuf, as gRPC and application/x-protobuf send it, is
  // &OtlpProtobufDecoder().
  const Decoder* decoder = &OtlpProtobufDecoder();
  bool gzip = false;
  // The tenant the spans are stored under (the server resolved it from the request's token or
  // header; a valid name, docs/api.md "Tenants and tokens").
  std::string tenant = "default";
};

struct ExportResponse {
  ExportOutcome outcome = ExportOutcome::kOk;
  // kOk: the decoder's SuccessBody (content type decoder->ContentType(), status
  // decoder->SuccessStatus()); otherwise the error message (decoder->ErrorBody makes the body).
  std::string body;
  const Decoder* decoder = &OtlpProtobufDecoder();
  int retry_after_s = 0;
  uint64_t accepted_spans = 0;
  uint64_t rejected_spans = 0;
};

class IngestService {
 public:
  // Does not start threads. The store must outlive the service.
  static Result<std::unique_ptr<IngestService>> Create(storage::EdgeStore* store,
                                                       const IngestOptions& options,
                                                       MetricsRegistry* metrics);
  virtual ~IngestService() = default;

  // Loads pending halves, replays the ingest log after the last flushed position, then starts
  // the log writer, shard workers and the flusher. Returns when replay is done.
  virtual Status Start() = 0;
  // Answers through `done` once the spans are durable in the ingest log (or refused).
  virtual void Export(ExportRequest request, std::function<void(ExportResponse)> done) = 0;
  // Stops accepting (new Exports answer kUnavailable), drains queued work, flushes everything
  // (pending halves are persisted, not expired) and stops the threads. Idempotent.
  virtual void Shutdown() = 0;
  // False while storage or the log reports an error (readyz turns red).
  virtual bool Healthy() const = 0;
  // Forces a flush now and waits for it (tests, admin).
  virtual Status FlushNow() = 0;
  // Deletes a tenant's data (admin): its waiting halves are dropped, everything acknowledged
  // before the call is flushed, then the store deletes the tenant's records, and its edge and
  // path counts start over. Requests of the tenant that arrive meanwhile may or may not be
  // deleted; later ones start a new map. NotFound for a tenant the store does not know.
  virtual Status DeleteTenant(const std::string& name) = 0;
};

}  // namespace ew::ingest
