// A tiny OTLP protobuf encoder for fault tests: builds ExportTraceServiceRequest bodies from the
// public opentelemetry-proto field numbers (no libprotobuf), and reads partial_success from an
// ExportTraceServiceResponse.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ew::testing {

enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };

struct OtlpAttr {
  std::string key;
  std::string str;                   // string_value, when int_value is unset
  std::optional<int64_t> int_value;  // int_value
};

struct OtlpSpan {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::optional<std::array<uint8_t, 8>> parent_span_id;
  std::string name = "op";
  SpanKind kind = SpanKind::kServer;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  std::vector<OtlpAttr> attributes;
  int status_code = 0;  // 0 unset, 1 ok, 2 error
};

struct OtlpResourceSpans {
  std::vector<OtlpAttr> resource;  // e.g. {"service.name", "frontend"}
  std::vector<OtlpSpan> spans;     // one ScopeSpans holds them all
};

// Encodes an ExportTraceServiceRequest.
std::string EncodeExportRequest(const std::vector<OtlpResourceSpans>& resources);

// Reads ExportTraceServiceResponse.partial_success.rejected_spans; nullopt when the body is not
// a well-formed response. An empty body is a full success (0).
std::optional<int64_t> RejectedSpans(std::string_view response_body);

// Ids from a 64-bit counter and a per-run seed (unique within a run, never all zero).
std::array<uint8_t, 16> MakeTraceId(uint64_t seed, uint64_t n);
std::array<uint8_t, 8> MakeSpanId(uint64_t seed, uint64_t n);

}  // namespace ew::testing
