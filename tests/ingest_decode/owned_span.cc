#include "tests/ingest_decode/owned_span.h"

#include "tools/otlp_encoder.h"

namespace ew::ingest::testing {

OwnedSpan Own(const SpanView& v) {
  OwnedSpan o;
  o.trace_id = v.trace_id;
  o.span_id = v.span_id;
  o.parent_span_id = v.parent_span_id;
  o.has_parent = v.has_parent;
  o.kind = v.kind;
  o.status = v.status;
  o.start_ns = v.start_ns;
  o.end_ns = v.end_ns;
  o.trace_state = v.trace_state;
  o.service_name = v.service_name;
  o.service_namespace = v.service_namespace;
  o.k8s_namespace = v.k8s_namespace;
  o.http_method = v.http_method;
  o.http_status = v.http_status;
  o.http_route = v.http_route;
  o.url_path = v.url_path;
  o.url_full = v.url_full;
  o.http_host = v.http_host;
  o.request_bytes = v.request_bytes;
  o.response_bytes = v.response_bytes;
  o.peer_service = v.peer_service;
  o.server_address = v.server_address;
  o.net_peer_name = v.net_peer_name;
  o.rpc_system = v.rpc_system;
  o.rpc_service = v.rpc_service;
  o.rpc_method = v.rpc_method;
  o.grpc_status = v.grpc_status;
  o.db_system = v.db_system;
  o.db_namespace = v.db_namespace;
  o.messaging_system = v.messaging_system;
  o.messaging_destination = v.messaging_destination;
  for (uint32_t i = 0; i < v.link_count; ++i) {
    o.links.emplace_back(v.links[i].trace_id, v.links[i].span_id);
  }
  return o;
}

std::string Describe(const OwnedSpan& s) {
  return "span " + tools::Hex(s.span_id.data(), 8) +
         " kind=" + std::to_string(static_cast<int>(s.kind)) +
         " status=" + std::to_string(static_cast<int>(s.status)) + " svc=" + s.service_name +
         " ns=" + s.service_namespace + "/" + s.k8s_namespace + " method=" + s.http_method +
         " http_status=" + std::to_string(s.http_status) + " route=" + s.http_route +
         " path=" + s.url_path + " full=" + s.url_full + " host=" + s.http_host +
         " peer=" + s.peer_service + "/" + s.server_address + "/" + s.net_peer_name +
         " rpc=" + s.rpc_system + "/" + s.rpc_service + "/" + s.rpc_method +
         " grpc=" + std::to_string(s.grpc_status) + " db=" + s.db_system + "/" + s.db_namespace +
         " msg=" + s.messaging_system + "/" + s.messaging_destination +
         " start=" + std::to_string(s.start_ns) + " end=" + std::to_string(s.end_ns) +
         " ts=" + s.trace_state + " links=" + std::to_string(s.links.size());
}

}  // namespace ew::ingest::testing
