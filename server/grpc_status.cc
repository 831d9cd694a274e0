#include "server/grpc_status.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace ew::server {
namespace {

using ingest::ExportOutcome;

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// A length-delimited field (wire type 2).
void AppendBytesField(int field, std::string_view bytes, std::string* out) {
  AppendVarint(static_cast<uint64_t>(field) << 3 | 2, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

// Retry delay for an overload answer: at least a second, as over HTTP (Retry-After).
int RetryDelay(const ingest::ExportResponse& r) { return std::max(1, r.retry_after_s); }

}  // namespace

std::string EncodeRpcStatusWithRetryInfo(int code, std::string_view message, int retry_delay_s) {
  std::string out;
  if (code != 0) {
    out.push_back(0x08);  // field 1 (code), varint
    AppendVarint(static_cast<uint64_t>(code), &out);
  }
  if (!message.empty()) AppendBytesField(2, message, &out);
  if (retry_delay_s > 0) {
    std::string duration;
    duration.push_back(0x08);  // google.protobuf.Duration.seconds
    AppendVarint(static_cast<uint64_t>(retry_delay_s), &duration);
    std::string retry_info;
    AppendBytesField(1, duration, &retry_info);  // RetryInfo.retry_delay
    std::string any;
    AppendBytesField(1, "type.googleapis.com/google.rpc.RetryInfo", &any);  // Any.type_url
    AppendBytesField(2, retry_info, &any);                                  // Any.value
    AppendBytesField(3, any, &out);                                         // Status.details
  }
  return out;
}

GrpcAnswer ExportToGrpc(ingest::ExportResponse r) {
  GrpcAnswer a;
  int retry_s = 0;
  switch (r.outcome) {
    case ExportOutcome::kOk:
      a.code = kGrpcOk;
      a.body = std::move(r.body);
      return a;
    case ExportOutcome::kMalformed:
    case ExportOutcome::kUnsupported:
      a.code = kGrpcInvalidArgument;
      break;
    case ExportOutcome::kTooLarge:
      a.code = kGrpcResourceExhausted;
      break;
    case ExportOutcome::kOverloaded:
      a.code = kGrpcResourceExhausted;
      retry_s = RetryDelay(r);
      break;
    case ExportOutcome::kUnavailable:
      a.code = kGrpcUnavailable;
      retry_s = RetryDelay(r);
      break;
  }
  a.message = std::move(r.body);
  if (retry_s > 0) a.details = EncodeRpcStatusWithRetryInfo(a.code, a.message, retry_s);
  return a;
}

std::string_view GrpcCodeName(int code) {
  static constexpr std::array<std::string_view, 17> kNames = {"OK",
                                                              "CANCELLED",
                                                              "UNKNOWN",
                                                              "INVALID_ARGUMENT",
                                                              "DEADLINE_EXCEEDED",
                                                              "NOT_FOUND",
                                                              "ALREADY_EXISTS",
                                                              "PERMISSION_DENIED",
                                                              "RESOURCE_EXHAUSTED",
                                                              "FAILED_PRECONDITION",
                                                              "ABORTED",
                                                              "OUT_OF_RANGE",
                                                              "UNIMPLEMENTED",
                                                              "INTERNAL",
                                                              "UNAVAILABLE",
                                                              "DATA_LOSS",
                                                              "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(kNames.size())) return "UNKNOWN";
  return kNames[static_cast<size_t>(code)];
}

}  // namespace ew::server
