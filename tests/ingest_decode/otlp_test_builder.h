// Test helpers: build the same OTLP ExportTraceServiceRequest as protobuf bytes and as OTLP JSON
// from one description, and a SpanSink that keeps owned copies of the decoded views.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ingest/span_view.h"

namespace ew::ingest::testing {

struct TestAttr {
  enum Type { kString, kInt, kBool, kDouble };
  std::string key;
  Type type = kString;
  std::string s;
  int64_t i = 0;
  double d = 0;
  bool b = false;
};
TestAttr Str(std::string key, std::string value);
TestAttr Int(std::string key, int64_t value);
TestAttr Bool(std::string key, bool value);

struct TestSpan {
  std::string trace_id;        // raw bytes (16 normally)
  std::string span_id;         // raw bytes (8 normally)
  std::string parent_span_id;  // raw bytes (empty: root)
  std::string trace_state;
  std::string name = "span";
  int kind = 0;
  int status = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  std::vector<TestAttr> attrs;
};

struct TestResourceSpans {
  std::vector<TestAttr> resource;
  std::vector<std::vector<TestSpan>> scopes;
  bool resource_after_scopes = false;  // write the resource field last
};

std::string ToProtobuf(const std::vector<TestResourceSpans>& request);

// JSON variations the OTLP JSON mapping allows; the decoded view must not change.
struct JsonStyle {
  bool numbers_as_strings = true;  // int64 and uint64 values as "123" (else bare numbers)
  bool enum_names = false;         // "SPAN_KIND_SERVER" and "STATUS_CODE_ERROR" (else integers)
  bool upper_hex = false;          // ids in upper-case hex
};
std::string ToJson(const std::vector<TestResourceSpans>& request, JsonStyle style = {});

// Raw bytes from hex ("0102..."); for ids.
std::string Bytes(std::string_view hex);

// Protobuf encoding pieces for hand-made malformed bodies.
void PutVarint(uint64_t v, std::string* out);
void PutTag(uint32_t field, uint32_t wire, std::string* out);
void PutLen(uint32_t field, const std::string& payload, std::string* out);

// A SpanView with owned strings, comparable with ==.
struct OwnedSpan {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::array<uint8_t, 8> parent_span_id{};
  bool has_parent = false;
  SpanKind kind = SpanKind::kUnspecified;
  SpanStatus status = SpanStatus::kUnset;
  uint64_t start_ns = 0, end_ns = 0;
  std::string trace_state, service_name, service_namespace, k8s_namespace, http_method;
  int64_t http_status = 0;
  std::string http_route, url_path, url_full, http_host;
  int64_t request_bytes = 0, response_bytes = 0;
  std::string peer_service, server_address, net_peer_name, rpc_system, rpc_service, rpc_method;
  int64_t grpc_status = -1;
  std::string db_system, db_namespace, messaging_system, messaging_destination;

  bool operator==(const OwnedSpan&) const = default;
};
OwnedSpan Own(const SpanView& v);
std::string Describe(const OwnedSpan& s);
std::string HexOf(const uint8_t* bytes, size_t n);

class CollectingSink : public SpanSink {
 public:
  Status OnSpan(const SpanView& span) override {
    spans.push_back(Own(span));
    return Status::Ok();
  }
  std::vector<OwnedSpan> spans;
};

}  // namespace ew::ingest::testing
