// GrpcServer: the OTLP/gRPC listener. Serves
// opentelemetry.proto.collector.trace.v1.TraceService/Export with Debian's gRPC (libgrpc++),
// through the generated service's raw callback method: the request arrives as the serialized
// ExportTraceServiceRequest bytes (never parsed into protobuf message objects) and goes to
// IngestService::Export as a protobuf body, so it takes the same decoder, limits, ingest log and
// partial-success answer as POST /v1/traces.
//
// gRPC's own per-message decompression is turned off: a gzip message reaches the handler as it
// came off the wire and ingest inflates it with its bounded gunzip (--max-decompressed), so a
// decompression bomb costs no more than over HTTP. --max-body bounds the message on the wire
// (gRPC answers RESOURCE_EXHAUSTED above it). Only identity and gzip are enabled.
//
// Status codes: see server/grpc_status.h; UNAUTHENTICATED when tokens are required and the
// `authorization` metadata is not "Bearer TOKEN" of a known token, PERMISSION_DENIED when the
// token has no ingest scope, INVALID_ARGUMENT for a bad x-scope-orgid. Counts answers in
// ew_grpc_requests_total{method, code}.
//
// Threads: gRPC's own (its pollers and callback executor, created by libgrpc); the handler
// decodes on the gRPC thread that delivered the message and the answer is sent from the ingest
// log writer's thread once the spans are durable. No gRPC header is included here.
//
// Thread-safety: Start, Shutdown and the destructor from one control thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/metrics.h"
#include "base/status.h"
#include "ingest/ingest_service.h"

namespace ew::server {

struct GrpcServerOptions {
  std::string addr;  // HOST:PORT; port 0 binds a free port
  uint64_t max_message_bytes = 20ULL << 20;
  // Resolves each call's `authorization` (and `x-scope-orgid`) metadata to a tenant with the
  // ingest scope; must outlive the server.
  const class Authenticator* auth = nullptr;
  // TLS (PEM file paths) as for the HTTP listeners: empty tls_cert is plaintext; tls_client_ca
  // requires and verifies client certificates (mutual TLS).
  std::string tls_cert, tls_key, tls_client_ca;
};

class GrpcServer {
 public:
  // Binds and starts serving. `ingest` and `metrics` must outlive the server.
  static Result<std::unique_ptr<GrpcServer>> Start(const GrpcServerOptions& options,
                                                   ingest::IngestService* ingest,
                                                   MetricsRegistry* metrics);
  ~GrpcServer();  // Shutdown(0) if not done
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // "HOST:PORT" as bound.
  const std::string& bound() const;
  // Stops accepting calls and waits for the calls in flight to be answered, up to `timeout`;
  // after it they are cancelled. Idempotent.
  void Shutdown(std::chrono::milliseconds timeout);

  struct Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ew::server
