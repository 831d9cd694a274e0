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

#include "base/config.h"
#include "base/metrics.h"
#include "base/status.h"
#include "ingest/decoders/decoder.h"
#include "storage/edge_store.h"

namespace ew::ingest {

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
