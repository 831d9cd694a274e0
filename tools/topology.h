// Topology: the synthetic world of the load generator — namespaces, services that call each other
// (HTTP and gRPC, with fan-out), external hostnames and bare IP addresses, databases and
// messaging, per-call error rates and log-normal latencies, services on the old and on the stable
// semantic conventions — and the traces it produces, each request with the edge Edgewise must
// derive from it (DESIGN.md "What an edge is"), depending on which of its halves arrive.
//
// Thread-safety: a Topology is immutable after Build; a TraceGenerator is single-threaded.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tools/otlp_encoder.h"

namespace ew::tools {

// A node of the map as the API names it.
struct NodeRef {
  std::string kind;  // service, external_client, external_service, database, messaging
  std::string ns;
  std::string name;
  auto operator<=>(const NodeRef&) const = default;
  std::string Label() const;  // "service shop/frontend", "database postgresql/orders"
};

// The edge a request yields in one outcome.
struct EdgeOutcome {
  bool valid = false;
  NodeRef client;
  NodeRef server;
  std::string protocol;  // http, grpc, database, messaging, other
  bool error = false;
};

// One request (one would-be edge event) and its one or two halves.
struct GenRequest {
  int64_t minute = 0;            // of the request's start
  std::vector<OtlpSpan> halves;  // [client, server], [client] or [server]
  bool has_client = false;
  bool has_server = false;
  EdgeOutcome both;         // every half acknowledged
  EdgeOutcome client_only;  // only the client half: expires to an external/messaging node
  EdgeOutcome server_only;  // only the server half: from External Client
};

struct TopologyOptions {
  uint64_t seed = 1;
  int namespaces = 3;
  int services = 12;
  int fanout = 3;            // outgoing service calls per service (at most)
  double error_scale = 1.0;  // multiplies every call's error rate
  double old_semconv_share = 0.4;
  std::string namespace_prefix;  // put before every namespace name (disjoint edges per prefix)
};

enum class TargetKind : uint8_t { kService, kExternalHost, kExternalIp, kDatabase, kMessaging };

struct CallSpec {
  TargetKind target = TargetKind::kService;
  int service = -1;          // kService, or the consumer of kMessaging (-1: none)
  std::string host;          // kExternalHost / kExternalIp: the attribute value as sent
  int host_attr = 0;         // 0 server.address|net.peer.name, 1 http.host, 2 peer.service
  std::string system;        // database or messaging system
  std::string db_namespace;  // database
  std::string destination;   // messaging
  bool grpc = false;
  std::string route;  // HTTP route or gRPC "service/method"
  std::string method = "GET";
  double probability = 1.0;  // chance of the call per server span of the caller
  double error_rate = 0.01;
  double median_us = 5000;
  double sigma = 0.6;
};

struct ServiceSpec {
  std::string ns;
  std::string name;
  bool old_semconv = false;
  bool k8s_namespace = true;  // namespace from k8s.namespace.name (else service.namespace)
  bool entry = false;         // receives traffic from External Client
  std::vector<CallSpec> calls;
};

class Topology {
 public:
  static Topology Build(const TopologyOptions& options);
  const std::vector<ServiceSpec>& services() const { return services_; }
  // One resource (attribute list) per service, in the same order.
  const std::vector<std::vector<Attr>>& resources() const { return resources_; }
  NodeRef ServiceNode(int i) const;
  std::string Describe() const;

 private:
  std::vector<ServiceSpec> services_;
  std::vector<std::vector<Attr>> resources_;
};

// The node Edgewise gives an unpaired client span's peer: the host lower-cased without port, or
// "Unknown External Service" for an IP literal or nothing.
NodeRef ExternalNodeFor(std::string_view host);

// Error rule of DESIGN.md for one half: span status ERROR, HTTP status >= 500, or a gRPC
// server-error code (2, 4, 12, 13, 14, 15).
bool IsErrorHalf(const OtlpSpan& s);

class TraceGenerator {
 public:
  TraceGenerator(const Topology* topology, uint64_t seed);
  // Appends the requests of one trace starting at now_ns. `error_boost` multiplies error rates
  // and `latency_boost` latencies (the demo moves them over time).
  void Generate(uint64_t now_ns, std::vector<GenRequest>* out, double error_boost = 1.0,
                double latency_boost = 1.0);
  std::mt19937_64& rng() { return rng_; }

 private:
  void Root(int service, uint64_t start_ns, std::vector<GenRequest>* out, double eb, double lb);
  void MakeCall(int caller, const OtlpSpan& caller_server, const CallSpec& call, uint64_t start_ns,
                int depth, std::vector<GenRequest>* out, double eb, double lb);
  void Fanout(int service, const OtlpSpan& server_span, int depth, std::vector<GenRequest>* out,
              double eb, double lb);
  void NewSpanId(OtlpSpan* s);
  uint64_t LatencyUs(double median_us, double sigma);
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  const Topology* topo_;
  std::mt19937_64 rng_;
  std::array<uint8_t, 16> trace_id_{};
};

}  // namespace ew::tools
