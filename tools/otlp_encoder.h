// OTLP trace-request encoders, the one encoder of the load generator and the tests: protobuf
// (written directly from the opentelemetry-proto field numbers, no libprotobuf), OTLP JSON (with
// the variations its mapping allows), gzip, and the protobuf wire pieces for hand-made (also
// malformed) bodies.
//
// The encoders also report where each span sits in the body and where its ids are, so a
// pre-encoded body can be replayed with fresh trace ids by patching bytes in place
// (PatchTraceIds), and a test knows which spans a truncated body still holds whole.
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ew::tools {

// A KeyValue: the key and an AnyValue of any OTLP type.
struct Attr {
  enum class Type : uint8_t { kString, kInt, kBool, kDouble, kBytes, kArray, kKvList };
  std::string key;
  Type type = Type::kString;
  std::string s;  // kString; the raw bytes of kBytes
  int64_t i = 0;
  bool b = false;
  double d = 0;
  std::vector<Attr> items = {};  // kArray: the values (keys unused); kKvList: the entries
  static Attr Str(std::string k, std::string v) {
    return {std::move(k), Type::kString, std::move(v), 0, false};
  }
  static Attr Int(std::string k, int64_t v) { return {std::move(k), Type::kInt, {}, v, false}; }
  static Attr Bool(std::string k, bool v) { return {std::move(k), Type::kBool, {}, 0, v}; }
  static Attr Double(std::string k, double v) {
    return {std::move(k), Type::kDouble, {}, 0, false, v};
  }
  static Attr Bytes(std::string k, std::string raw) {
    return {std::move(k), Type::kBytes, std::move(raw), 0, false};
  }
  static Attr Array(std::string k, std::vector<Attr> values) {
    return {std::move(k), Type::kArray, {}, 0, false, 0, std::move(values)};
  }
  static Attr KvList(std::string k, std::vector<Attr> entries) {
    return {std::move(k), Type::kKvList, {}, 0, false, 0, std::move(entries)};
  }
};

// Span.Event and Span.Link: carried for realism (decoders must skip them, including the ids in a
// link, which are not the span's).
struct OtlpEvent {
  uint64_t time_ns = 0;
  std::string name;
  std::vector<Attr> attrs;
};
struct OtlpLink {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::string trace_state;
  std::vector<Attr> attrs;
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
  uint32_t resource = 0;            // index into the resources passed to EncodeTraces
  std::string trace_state = {};     // W3C tracestate (written when not empty)
  std::string status_message = {};  // Status.message (written when not empty)
  std::vector<OtlpEvent> events = {};
  std::vector<OtlpLink> links = {};
};

// One ResourceSpans, for EncodeRequest: the resource's attributes and its ScopeSpans (one per
// inner vector). OtlpSpan::resource is not used.
struct OtlpResourceSpans {
  std::vector<Attr> resource;
  std::vector<std::vector<OtlpSpan>> scopes;
  bool resource_after_scopes = false;  // write the resource field after the scope spans
};

// Variations the OTLP JSON mapping allows (a decoder reads them all the same).
struct JsonStyle {
  bool numbers_as_strings = true;  // int64 and uint64 values as "123" (else bare numbers)
  bool enum_names = false;         // "SPAN_KIND_SERVER", "STATUS_CODE_ERROR" (else integers)
  bool upper_hex = false;          // ids in upper-case hex
  // Also what SDK exporters write and a decoder skips: "parentSpanId":"" on roots,
  // "droppedAttributesCount":0 and "schemaUrl":"".
  bool sdk_extras = false;
};

// kZipkin/kGzipZipkin: Zipkin v2 JSON (tools/zipkin_encoder.h, EncodeBody), not OTLP; IsJson is
// true for them (hex ids, JSON padding).
enum class Encoding : uint8_t { kProtobuf, kJson, kGzipProtobuf, kGzipJson, kZipkin, kGzipZipkin };
std::string_view EncodingName(Encoding e);
// proto|json|gzip|gzip-json|zipkin|gzip-zipkin
Result<Encoding> ParseEncoding(std::string_view text);
std::string_view ContentType(Encoding e);
bool IsGzip(Encoding e);
bool IsJson(Encoding e);
bool IsZipkin(Encoding e);
Encoding Uncompressed(Encoding e);        // the same without gzip
std::string_view IngestPath(Encoding e);  // /v1/traces or /api/v2/spans

// Where one span's ids sit in an encoded (uncompressed) body: raw bytes (protobuf) or hex
// characters (JSON). parent_offset is 0 when the span has no parent. The span itself takes the
// bytes [span_begin, span_end): its field in the ScopeSpans (tag, length, message) or its JSON
// object; the top-level resource_spans field (or JSON object) that holds it ends at resource_end.
struct TraceIdSlot {
  size_t offset = 0;         // trace_id (16 bytes / 32 hex characters)
  size_t span_offset = 0;    // span_id (8 / 16)
  size_t parent_offset = 0;  // parent_span_id (8 / 16)
  size_t span_begin = 0;
  size_t span_end = 0;
  size_t resource_end = 0;
};

// Encodes spans (grouped by resource, in first-seen order) as an ExportTraceServiceRequest.
// `slots`, when given, receives one entry per span (in `spans` order). Gzip encodings compress
// the result and leave slots empty, as compressed bytes cannot be patched.
std::string EncodeTraces(const std::vector<const OtlpSpan*>& spans,
                         const std::vector<std::vector<Attr>>& resources, Encoding encoding,
                         std::vector<TraceIdSlot>* slots = nullptr);

// Encodes the request as given: ResourceSpans, ScopeSpans and spans in this order. `slots` as for
// EncodeTraces, one per span in that order. `json` applies to the JSON encodings.
std::string EncodeRequest(const std::vector<OtlpResourceSpans>& request, Encoding encoding,
                          const JsonStyle& json = {}, std::vector<TraceIdSlot>* slots = nullptr);

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
// The same, strictly: nullopt when the body is not a well-formed response (a protobuf message,
// or a JSON object); 0 when the field is absent (an empty body is a full success).
std::optional<int64_t> ParseRejectedSpans(std::string_view body, bool json);

// Lower-case hex of n bytes; raw bytes from hex digits of either case (a character that is not a
// hex digit reads as 0, a trailing odd digit is ignored).
std::string Hex(const uint8_t* data, size_t n);
std::string FromHex(std::string_view hex);
// Ids from hex (32 and 16 digits; missing digits read as 0).
std::array<uint8_t, 16> TraceIdFromHex(std::string_view hex);
std::array<uint8_t, 8> SpanIdFromHex(std::string_view hex);
// Ids from a counter and a per-run seed: unique within a run, never all zero.
std::array<uint8_t, 16> MakeTraceId(uint64_t seed, uint64_t n);
std::array<uint8_t, 8> MakeSpanId(uint64_t seed, uint64_t n);

// Protobuf wire pieces, for hand-made (also deliberately malformed) bodies.
void PutVarint(uint64_t v, std::string* out);
void PutTag(uint32_t field, uint32_t wire, std::string* out);
void PutLen(uint32_t field, std::string_view payload, std::string* out);  // wire type 2
void PutFixed64(uint32_t field, uint64_t v, std::string* out);            // wire type 1

}  // namespace ew::tools
