// SpanView: what the decoders (OTLP, Zipkin) extract from one span — only the fields the service
// map needs. Both decoders (protobuf and JSON) produce identical views for the same input.
//
// Every string_view points into the request body or into decoder-owned scratch memory and is
// valid only during the SpanSink::OnSpan call. Attributes from the span override those from the
// resource where both are present (service.* and k8s.* come from the resource).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace ew::ingest {

// OTLP Span.SpanKind numbering.
enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5
};
// OTLP Status.StatusCode numbering.
enum class SpanStatus : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

// One span link (OTLP Span.Link): the ids of the linked span.
struct SpanLink {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
};
// The links a decoder keeps per span; further links are still read and validated, not kept.
inline constexpr uint32_t kMaxSpanLinks = 64;

struct SpanView {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::array<uint8_t, 8> parent_span_id{};  // all zero: no parent
  bool has_parent = false;
  SpanKind kind = SpanKind::kUnspecified;
  SpanStatus status = SpanStatus::kUnset;
  uint64_t start_ns = 0;         // start_time_unix_nano
  uint64_t end_ns = 0;           // end_time_unix_nano
  std::string_view trace_state;  // W3C tracestate, for the sampling threshold "ot=th:..."
  // Span links (messaging: a consumer's links to the producer spans of its messages), the first
  // kMaxSpanLinks in body order; decoder-owned memory, valid during OnSpan like the strings.
  // A link without trace_id or span_id is not kept.
  const SpanLink* links = nullptr;
  uint32_t link_count = 0;

  // Resource.
  std::string_view service_name;       // service.name
  std::string_view service_namespace;  // service.namespace
  std::string_view k8s_namespace;      // k8s.namespace.name

  // HTTP (old and stable semantic conventions, first present wins as listed).
  std::string_view http_method;  // http.request.method | http.method
  int64_t http_status = 0;       // http.response.status_code | http.status_code (0: absent)
  std::string_view http_route;   // http.route
  std::string_view url_path;     // url.path | http.target (may include a query string)
  std::string_view url_full;     // url.full | http.url
  std::string_view http_host;    // http.host (old; may include a port)
  int64_t request_bytes = 0;     // http.request.body.size | http.request_content_length
  int64_t response_bytes = 0;    // http.response.body.size | http.response_content_length

  // Peer naming for unpaired client spans.
  std::string_view peer_service;    // peer.service
  std::string_view server_address;  // server.address
  std::string_view net_peer_name;   // net.peer.name

  // RPC.
  std::string_view rpc_system;   // rpc.system ("grpc")
  std::string_view rpc_service;  // rpc.service
  std::string_view rpc_method;   // rpc.method
  int64_t grpc_status = -1;      // rpc.grpc.status_code (-1: absent)

  // Database.
  std::string_view db_system;     // db.system | db.system.name
  std::string_view db_namespace;  // db.namespace | db.name

  // Messaging.
  std::string_view messaging_system;       // messaging.system
  std::string_view messaging_destination;  // messaging.destination.name | messaging.destination
};

// Receives decoded spans. OnSpan is called once per span, in body order. Returning a non-ok
// Status stops decoding and is returned by the decoder.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual Status OnSpan(const SpanView& span) = 0;
};

// Decode an ExportTraceServiceRequest. Malformed input gives InvalidArgument with a message that
// says where ("resource_spans[2].scope_spans[0].spans[5]: truncated varint at byte 812").
// Nothing is allocated per span.
Status DecodeOtlpProtobuf(std::string_view body, SpanSink& sink);
// `body` must be padded as simdjson requires: the caller passes a buffer with at least 64 bytes
// of readable capacity past size() (see PaddedBody in otlp_json.h).
Status DecodeOtlpJson(std::string_view body, SpanSink& sink);
// A Zipkin v2 JSON list of spans (decoders/zipkin_json.cc), padded as DecodeOtlpJson's body.
// Messages say where: "spans[3].traceId: must be 16 or 32 hex digits at byte 412".
Status DecodeZipkinJson(std::string_view body, SpanSink& sink);

}  // namespace ew::ingest
