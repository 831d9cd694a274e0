// GrpcExporter: OTLP/gRPC TraceService/Export calls for the load generator's pre-encoded path
// (benchmarks): the request bytes as the tools' encoder wrote them, sent through a
// grpc::GenericStub on a channel of its own (one HTTP/2 connection per exporter); gzip is gRPC's
// message compression, done by the gRPC client. No gRPC header is included here.
// Thread-safety: one exporter per thread.
#pragma once

#include <memory>
#include <string_view>

#include "tools/http_client.h"
#include "tools/loadgen_post.h"

namespace ew::tools {

class GrpcExporter {
 public:
  explicit GrpcExporter(const HostPort& target);
  ~GrpcExporter();
  GrpcExporter(const GrpcExporter&) = delete;
  GrpcExporter& operator=(const GrpcExporter&) = delete;

  // One Export call (30 s deadline). kAcked for OK with nothing rejected, kPartial with rejected
  // spans, kUnreachable when the channel never connected, kRefused for any other status (its
  // code in http_status, its message in message).
  PostResult Export(std::string_view message, bool gzip);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ew::tools
