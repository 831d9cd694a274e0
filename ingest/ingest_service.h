// IngestService: everything between an OTLP request body and durable rollups — decoding,
// validation, the ingest log, pairing, aggregation and flushing. The server owns the HTTP side
// and hands bodies here; this module knows nothing of HTTP beyond the outcome it reports.
//
// Thread-safety: Export may be called from any number of I/O threads at once; `done` is called
// exactly once, from an internal thread (or inline on early rejection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/metrics.h"
#include "base/status.h"
#include "storage/edge_store.h"

namespace ew::ingest {

enum class BodyType { kProtobuf, kJson };

struct ExportRequest {
  std::string body;  // as received (possibly gzip)
  BodyType type = BodyType::kProtobuf;
  bool gzip = false;
};

enum class ExportOutcome {
  kOk,           // 200: body is an ExportTraceServiceResponse (maybe with partial_success)
  kMalformed,    // 400: body is the message
  kTooLarge,     // 413 (also after decompression)
  kUnsupported,  // 415
  kOverloaded,   // 429 with Retry-After
  kUnavailable,  // 503 with Retry-After (storage or log failure, shutting down)
};

struct ExportResponse {
  ExportOutcome outcome = ExportOutcome::kOk;
  BodyType type = BodyType::kProtobuf;  // the content type of body for kOk
  std::string body;                     // response body (kOk) or error message
  int retry_after_s = 0;
  uint64_t accepted_spans = 0;
  uint64_t rejected_spans = 0;
};

class IngestService {
 public:
  // Does not start threads. The store must outlive the service.
  static Result<std::unique_ptr<IngestService>> Create(storage::EdgeStore* store,
                                                       const Config& config,
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
};

}  // namespace ew::ingest
