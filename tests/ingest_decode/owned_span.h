// Test helpers for the OTLP decoders: a SpanView with owned strings (comparable with ==, printable)
// and a SpanSink that keeps one per decoded span. Bodies come from tools/otlp_encoder.h; the
// pieces of it every decoder test uses are named here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ingest/decoders/span_view.h"
#include "tools/otlp_encoder.h"

namespace ew::ingest::testing {

using tools::Attr;
using tools::FromHex;
using tools::PutLen;
using tools::PutTag;
using tools::PutVarint;

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
  std::vector<std::pair<std::array<uint8_t, 16>, std::array<uint8_t, 8>>> links;

  bool operator==(const OwnedSpan&) const = default;
};
OwnedSpan Own(const SpanView& v);
std::string Describe(const OwnedSpan& s);

class CollectingSink : public SpanSink {
 public:
  Status OnSpan(const SpanView& span) override {
    spans.push_back(Own(span));
    return Status::Ok();
  }
  std::vector<OwnedSpan> spans;
};

}  // namespace ew::ingest::testing
