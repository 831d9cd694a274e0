// Encoding of opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse, the body of a
// 200 answer to POST /v1/traces, in the request's content type:
//   ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
//   ExportTracePartialSuccess  { int64 rejected_spans = 1; string error_message = 2; }
// With nothing rejected and no message the response is empty (protobuf: zero bytes; JSON: {}).
// JSON follows the proto3 JSON mapping that OTLP uses: lowerCamelCase names, int64 as a decimal
// string ({"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}}).
//
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ew::ingest {

std::string EncodeExportResponseProtobuf(int64_t rejected_spans, std::string_view error_message);
std::string EncodeExportResponseJson(int64_t rejected_spans, std::string_view error_message);

// Appends `text` as a JSON string literal (quotes included), escaping quotes, backslashes and
// control characters. Bytes >= 0x80 are copied as they are (the caller passes UTF-8).
void AppendJsonString(std::string_view text, std::string* out);

// google.rpc.Status {code = 1, message = 2} as protobuf bytes: the OTLP error body of protobuf
// requests (and of gRPC answers).
std::string EncodeRpcStatusProtobuf(int code, std::string_view message);
// The OTLP/JSON error body: {"code":N,"message":"...","error":"..."}.
std::string EncodeRpcStatusJson(int code, std::string_view message);

}  // namespace ew::ingest
