// OTLP trace-request encoders for the load generator: protobuf (written directly from the
// opentelemetry-proto field numbers, no libprotobuf), OTLP JSON, and gzip.
//
// The encoders also report where each span's trace_id sits in the body, so a pre-encoded body can
// be replayed with fresh trace ids by patching bytes in place (PatchTraceIds).
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ew::tools {

struct Attr {
  enum class Type : uint8_t { kString, kInt, kBool };
  std::string key;
  Type type = Type::kString;
  std::string s;
  int64_t i = 0;
  bool b = false;
  static Attr Str(std::string k, std::string v) {
    return {std::move(k), Type::kString, std::move(v), 0, false};
  }
  static Attr Int(std::string k, int64_t v) { return {std::move(k), Type::kInt, {}, v, false}; }
  static Attr Bool(std::string k, bool v) { return {std::move(k), Type::kBool, {}, 0, v}; }
};

struct OtlpSpan {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::array<uint8_t, 8> parent_span_id{};
  bool has_parent = false;
  int kind = 0;         // OTLP SpanKind: 2 server, 3 client, 4 producer, 5 consumer
  int status_code = 0;  // OTLP Status.code: 0 unset, 1 ok, 2 error
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  std::string name;
  std::vector<Attr> attrs;
  uint32_t resource = 0;  // index into the resources passed to the encoder
};

enum class Encoding : uint8_t { kProtobuf, kJson, kGzipProtobuf, kGzipJson };
std::string_view EncodingName(Encoding e);
Result<Encoding> ParseEncoding(std::string_view text);  // proto|json|gzip|gzip-json
std::string_view ContentType(Encoding e);
bool IsGzip(Encoding e);
bool IsJson(Encoding e);

// Where one span's ids sit in an encoded (uncompressed) body: raw bytes (protobuf) or hex
// characters (JSON). parent_offset is 0 when the span has no parent.
struct TraceIdSlot {
  size_t offset = 0;         // trace_id (16 bytes / 32 hex characters)
  size_t span_offset = 0;    // span_id (8 / 16)
  size_t parent_offset = 0;  // parent_span_id (8 / 16)
};

// Encodes spans (grouped by resource, in first-seen order) as an ExportTraceServiceRequest.
// `slots`, when given, receives one entry per span (in `spans` order). Gzip encodings compress
// the result and leave slots empty, as compressed bytes cannot be patched.
std::string EncodeTraces(const std::vector<const OtlpSpan*>& spans,
                         const std::vector<std::vector<Attr>>& resources, Encoding encoding,
                         std::vector<TraceIdSlot>* slots = nullptr);

// XORs `tag` into the last 8 bytes of every trace id and into every span id and parent span id
// at `slots`, in the body's encoding (raw bytes for protobuf, hex for JSON). A replayed body then
// carries new ids for any keying of the pending table, and a client half and its server half
// patched with the same tag still pair.
void PatchTraceIds(std::string* body, const std::vector<TraceIdSlot>& slots, bool json,
                   uint64_t tag);

// gzip (zlib, default level).
std::string Gzip(std::string_view data);

// partial_success.rejected_spans of an ExportTraceServiceResponse (protobuf or JSON); 0 when
// absent or unreadable.
int64_t RejectedSpans(std::string_view body, bool json);

std::string Hex(const uint8_t* data, size_t n);

}  // namespace ew::tools
