// The gRPC side of an OTLP Export outcome, without gRPC itself (so it is unit-testable and the
// mapping sits next to the HTTP one in routes.h): the status code, message and
// grpc-status-details-bin payload the OTLP/gRPC listener answers with.
//
// Mapping (OTLP specification, "OTLP/gRPC Response"):
//   kOk          -> OK, ExportTraceServiceResponse (partial_success when spans were rejected)
//   kMalformed   -> INVALID_ARGUMENT (not retried by clients)
//   kUnsupported -> INVALID_ARGUMENT
//   kTooLarge    -> RESOURCE_EXHAUSTED without RetryInfo (not retried: it would fail again)
//   kOverloaded  -> RESOURCE_EXHAUSTED with google.rpc.RetryInfo (retried after the delay)
//   kUnavailable -> UNAVAILABLE with google.rpc.RetryInfo
// The details are a serialized google.rpc.Status {code, message, details: [Any(RetryInfo)]}.
//
// Thread-safety: plain functions.
#pragma once

#include <string>
#include <string_view>

#include "ingest/ingest_service.h"

namespace ew::server {

// The gRPC status codes this listener uses (grpc::StatusCode values).
enum GrpcCode : int {
  kGrpcOk = 0,
  kGrpcInvalidArgument = 3,
  kGrpcPermissionDenied = 7,
  kGrpcResourceExhausted = 8,
  kGrpcUnimplemented = 12,
  kGrpcUnavailable = 14,
  kGrpcUnauthenticated = 16,
};

struct GrpcAnswer {
  int code = kGrpcOk;
  std::string message;  // the grpc-message (empty for OK)
  std::string details;  // grpc-status-details-bin: google.rpc.Status bytes, or empty
  std::string body;     // for OK: the serialized ExportTraceServiceResponse
};

GrpcAnswer ExportToGrpc(ingest::ExportResponse r);

// google.rpc.Status {code, message, details: [Any{type.googleapis.com/google.rpc.RetryInfo,
// RetryInfo{retry_delay: Duration{seconds}}}]} as protobuf bytes; no details when
// retry_delay_s <= 0.
std::string EncodeRpcStatusWithRetryInfo(int code, std::string_view message, int retry_delay_s);

// "OK", "INVALID_ARGUMENT", ... (the metrics label); "UNKNOWN" for codes out of range.
std::string_view GrpcCodeName(int code);

}  // namespace ew::server
