// TraceGenerator: the spans of one trace and the edge each request must yield.
#include <algorithm>

#include "tools/topology.h"

namespace ew::tools {
namespace {

constexpr uint64_t kNsPerMinute = 60'000'000'000ULL;
constexpr int kMaxDepth = 5;

const NodeRef kExternalClient{"external_client", "", "External Client"};

std::string ConcretePath(const std::string& route, uint64_t r) {
  std::string p = route;
  size_t at = p.find("{id}");
  if (at != std::string::npos) p.replace(at, 4, std::to_string(r % 100000));
  return p;
}

// HTTP or gRPC attributes. status < 0 (gRPC) or 0 (HTTP): none (the client saw no answer).
void ProtocolAttrs(OtlpSpan* s, const CallSpec& c, bool old, int status, const std::string& path,
                   bool server_side) {
  if (c.grpc) {
    s->attrs.push_back(Attr::Str("rpc.system", "grpc"));
    size_t slash = c.route.find('/');
    s->attrs.push_back(Attr::Str("rpc.service", c.route.substr(0, slash)));
    s->attrs.push_back(Attr::Str("rpc.method", c.route.substr(slash + 1)));
    if (status >= 0) s->attrs.push_back(Attr::Int("rpc.grpc.status_code", status));
    return;
  }
  s->attrs.push_back(Attr::Str(old ? "http.method" : "http.request.method", c.method));
  if (status > 0) {
    s->attrs.push_back(Attr::Int(old ? "http.status_code" : "http.response.status_code", status));
  }
  if (server_side) {
    s->attrs.push_back(Attr::Str("http.route", c.route));
    s->attrs.push_back(Attr::Str(old ? "http.target" : "url.path", path + (old ? "?page=2" : "")));
    s->attrs.push_back(Attr::Str(old ? "http.scheme" : "url.scheme", "http"));
  }
}

struct ClientTarget {
  NodeRef target;  // where the request goes when its halves pair (or for one half)
  NodeRef expiry;  // where an unpaired client half ends after the pair-wait
  std::string protocol;
};

// Fills the client half's name and attributes for the call and says where the request goes.
ClientTarget DescribeClient(const Topology& topo, const CallSpec& call, bool old, int status,
                            bool client_only_error, bool err, const std::string& path,
                            OtlpSpan* span) {
  OtlpSpan& cl = *span;
  const bool consumer = call.target == TargetKind::kMessaging && call.service >= 0;
  ClientTarget t;
  t.protocol = call.grpc ? "grpc" : "http";
  switch (call.target) {
    case TargetKind::kService: {
      const ServiceSpec& to = topo.services()[call.service];
      cl.name = call.grpc ? call.route : call.method;
      ProtocolAttrs(&cl, call, old, client_only_error ? -1 : status, path, false);
      std::string host = to.name + "." + to.ns + ".svc";
      cl.attrs.push_back(Attr::Str(old ? "net.peer.name" : "server.address", host));
      cl.attrs.push_back(Attr::Int(old ? "net.peer.port" : "server.port", 8080));
      if (!call.grpc) {
        cl.attrs.push_back(
            Attr::Str(old ? "http.url" : "url.full", "http://" + host + ":8080" + path));
      }
      t.target = topo.ServiceNode(call.service);
      t.expiry = ExternalNodeFor(host);
      break;
    }
    case TargetKind::kExternalHost:
    case TargetKind::kExternalIp:
      cl.name = call.method;
      ProtocolAttrs(&cl, call, old, status, path, false);
      if (call.host_attr == 1) {
        cl.attrs.push_back(Attr::Str("http.host", call.host));
      } else if (call.host_attr == 2) {
        cl.attrs.push_back(Attr::Str("peer.service", call.host));
        cl.attrs.push_back(Attr::Str("server.address", "api." + call.host + ".com"));
      } else {
        cl.attrs.push_back(Attr::Str(old ? "net.peer.name" : "server.address", call.host));
      }
      t.target = ExternalNodeFor(call.host);
      break;
    case TargetKind::kDatabase:
      cl.name = "SELECT " + (call.db_namespace.empty() ? call.system : call.db_namespace);
      cl.attrs.push_back(Attr::Str(old ? "db.system" : "db.system.name", call.system));
      if (!call.db_namespace.empty()) {
        cl.attrs.push_back(Attr::Str(old ? "db.name" : "db.namespace", call.db_namespace));
      }
      cl.attrs.push_back(Attr::Str(old ? "net.peer.name" : "server.address", call.system + "-db"));
      if (err) cl.status_code = 2;
      t.protocol = "database";
      t.target = {"database", "",
                  call.db_namespace.empty() ? call.system : call.system + "/" + call.db_namespace};
      break;
    case TargetKind::kMessaging: {
      cl.kind = 4;
      cl.name = call.destination + " publish";
      cl.attrs.push_back(Attr::Str("messaging.system", call.system));
      cl.attrs.push_back(Attr::Str(old ? "messaging.destination" : "messaging.destination.name",
                                   call.destination));
      if (err && !consumer) cl.status_code = 2;
      t.protocol = "messaging";
      NodeRef topic{"messaging", "", call.system + "/" + call.destination};
      t.target = consumer ? topo.ServiceNode(call.service) : topic;
      t.expiry = topic;
      break;
    }
  }
  return t;
}

}  // namespace

void TraceGenerator::Root(int service, uint64_t start_ns, std::vector<GenRequest>* out, double eb,
                          double lb) {
  const ServiceSpec& svc = topo_->services()[service];
  CallSpec c;
  c.route = "/api/" + svc.name;
  c.method = Uniform() < 0.8 ? "GET" : "POST";
  bool err = Uniform() < 0.01 * eb;
  OtlpSpan s;
  NewSpanId(&s);
  s.kind = 2;
  s.resource = static_cast<uint32_t>(service);
  s.start_ns = start_ns;
  s.end_ns = start_ns + LatencyUs(20000 * lb, 0.7) * 1000;
  s.name = c.method + " " + c.route;
  ProtocolAttrs(&s, c, svc.old_semconv, err ? 502 : 200, c.route, true);
  if (err) s.status_code = 2;
  GenRequest r;
  r.minute = static_cast<int64_t>(start_ns / kNsPerMinute);
  r.has_server = true;
  r.both = {true, kExternalClient, topo_->ServiceNode(service), "http", IsErrorHalf(s)};
  r.server_only = r.both;
  r.halves.push_back(s);
  out->push_back(std::move(r));
  Fanout(service, s, 0, out, eb, lb);
}

void TraceGenerator::Fanout(int service, const OtlpSpan& server_span, int depth,
                            std::vector<GenRequest>* out, double eb, double lb) {
  uint64_t t = server_span.start_ns + 20'000;
  for (const CallSpec& call : topo_->services()[service].calls) {
    if (depth < kMaxDepth && Uniform() < call.probability) {
      MakeCall(service, server_span, call, t, depth, out, eb, lb);
      t += 30'000;
    }
  }
}

void TraceGenerator::MakeCall(int caller, const OtlpSpan& caller_server, const CallSpec& call,
                              uint64_t start_ns, int depth, std::vector<GenRequest>* out, double eb,
                              double lb) {
  const ServiceSpec& from = topo_->services()[caller];
  const bool consumer = call.target == TargetKind::kMessaging && call.service >= 0;
  const bool two_halves = call.target == TargetKind::kService || consumer;
  const uint64_t minute_end = (start_ns / kNsPerMinute + 1) * kNsPerMinute;
  const bool err = Uniform() < call.error_rate * eb;
  const bool client_only_error = err && Uniform() < 0.15;  // e.g. the client gave up
  const uint64_t server_us = LatencyUs(call.median_us * lb, call.sigma);
  const std::string path = ConcretePath(call.route, rng_());
  const int status = call.grpc
                         ? (err ? 14 : (Uniform() < 0.05 ? 5 : 0))
                         : (err ? (Uniform() < 0.5 ? 500 : 503) : (Uniform() < 0.05 ? 404 : 200));
  const int server_status = client_only_error ? (call.grpc ? 0 : 200) : status;

  OtlpSpan cl;
  NewSpanId(&cl);
  cl.parent_span_id = caller_server.span_id;
  cl.has_parent = true;
  cl.resource = static_cast<uint32_t>(caller);
  cl.kind = 3;
  cl.start_ns = start_ns;
  cl.end_ns = start_ns + (server_us + 100 + rng_() % 1400) * 1000;
  GenRequest r;
  r.minute = static_cast<int64_t>(start_ns / kNsPerMinute);
  r.has_client = true;
  ClientTarget where =
      DescribeClient(*topo_, call, from.old_semconv, status, client_only_error, err, path, &cl);
  const NodeRef& target = where.target;
  const std::string& protocol = where.protocol;
  r.client_only.server = where.expiry;
  const bool http_like =
      call.target != TargetKind::kDatabase && call.target != TargetKind::kMessaging;
  if (client_only_error || (http_like && (call.grpc ? err : status >= 500))) cl.status_code = 2;
  r.halves.push_back(cl);
  if (!two_halves) {
    r.both = {true, topo_->ServiceNode(caller), target, protocol, IsErrorHalf(cl)};
    r.client_only = r.both;
    out->push_back(std::move(r));
    return;
  }
  const int callee = call.service;
  const ServiceSpec& to = topo_->services()[callee];
  OtlpSpan sv;
  NewSpanId(&sv);
  sv.parent_span_id = cl.span_id;
  sv.has_parent = true;
  sv.resource = static_cast<uint32_t>(callee);
  sv.start_ns = std::min(start_ns + 50'000, minute_end - 1);  // same minute as the client
  sv.end_ns = sv.start_ns + server_us * 1000;
  if (consumer) {
    sv.kind = 5;
    sv.name = call.destination + " process";
    sv.attrs.push_back(Attr::Str("messaging.system", call.system));
    sv.attrs.push_back(Attr::Str(
        to.old_semconv ? "messaging.destination" : "messaging.destination.name", call.destination));
    if (err && !client_only_error) sv.status_code = 2;
  } else {
    sv.kind = 2;
    sv.name = call.grpc ? call.route : call.method + " " + call.route;
    ProtocolAttrs(&sv, call, to.old_semconv, server_status, path, true);
    if (call.grpc ? (server_status != 0 && server_status != 5) : server_status >= 500) {
      sv.status_code = 2;
    }
  }
  r.has_server = true;
  r.halves.push_back(sv);
  r.both = {true, topo_->ServiceNode(caller), target, protocol, IsErrorHalf(cl) || IsErrorHalf(sv)};
  r.client_only.valid = true;
  r.client_only.client = topo_->ServiceNode(caller);
  r.client_only.protocol = protocol;
  r.client_only.error = IsErrorHalf(cl);
  r.server_only = {true, kExternalClient, target, protocol, IsErrorHalf(sv)};
  out->push_back(std::move(r));
  Fanout(callee, sv, depth + 1, out, eb, lb);
}

}  // namespace ew::tools
