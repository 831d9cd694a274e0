// The differential test's data set: every request of a generated service graph, as the reference
// model holds it (tests/model/README.md). Generated deterministically from a seed
// (std::mt19937_64) relative to a given "now": thousands of nodes in several namespaces, edges with
// their own activity windows (early only, late only, throughout, bursts), history from minutes to
// years old and recent traffic of the last day.
//
// Requests older than `otlp_cutoff_minute` are written straight through the storage API
// (history); most of the rest are sent as OTLP spans to a running server (recent traffic).
//
// Thread-safety: a Dataset is immutable once generated.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/edge_store.h"

namespace ew::model {

struct Node {
  storage::NodeKind kind = storage::NodeKind::kService;
  std::string ns;  // services only
  std::string name;
  // Messaging nodes "system/destination", databases "system/namespace": the parts.
  std::string system, detail;
  std::string Key() const;  // "kind/ns/name": how answers are matched (ids differ per store)
};

// How a request reaches the server (which halves exist decides the latency the map reports).
enum class Shape : uint8_t {
  kPair,          // client and server half (service -> service)
  kClientOnly,    // a client half that completes at once (database) or by expiry (external,
                  // producer -> messaging)
  kOrphanServer,  // a server half whose parent never arrives: External Client after expiry
  kServerOnly,    // a server half without parent (External Client -> service) or a consumer
                  // without parent (messaging -> service)
};

struct Request {
  uint32_t client = 0;  // index into Dataset::nodes
  uint32_t server = 0;
  storage::Protocol protocol = storage::Protocol::kHttp;
  Shape shape = Shape::kPair;
  uint32_t path = 0;        // index into Dataset::paths (0: none)
  uint8_t method = 0;       // index into kMethods (0: none)
  uint16_t status = 0;      // HTTP status or gRPC code; 0: none
  bool span_error = false;  // a span status ERROR (counted as an error whatever the status)
  bool error = false;       // as the server counts it (docs/ingest.md "Error")
  int64_t start_ms = 0;
  int64_t minute = 0;
  uint32_t server_us = 0;  // 0: no server half
  uint32_t client_us = 0;  // 0: no client half
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  // Sent as OTLP spans to the server; else written as a rollup through the storage API (all
  // history, and a few recent requests, so that stored and ingested rollups of one minute merge).
  bool otlp = false;
};

// The start an exemplar of this request carries: the server half's where there is one.
inline int64_t ExemplarStartMs(const Request& r) {
  return r.shape == Shape::kPair ? r.start_ms + (r.client_us - r.server_us) / 2 / 1000 : r.start_ms;
}

inline constexpr std::array<const char*, 5> kMethods = {"", "GET", "POST", "PUT", "DELETE"};

struct Retention {
  int64_t ms[3] = {14LL * 86'400'000, 180LL * 86'400'000, 1825LL * 86'400'000};
  // Whether the store keeps a record of `tier` at `unit` (tier units since the epoch) at now_ms
  // (storage/rocks_ops.cc RetentionFilter after a compaction).
  bool Keeps(storage::Tier tier, int64_t unit, int64_t now_ms) const;
  std::vector<std::string> Flags() const;  // --retention-1m ... for the server
};

struct GenOptions {
  uint64_t seed = 1;
  int services = 1500;
  int namespaces = 8;
  int edges_per_service = 2;
  int requests_per_edge = 12;  // on average
  // Dictionary filler so that real ids cross 255 and 65,535.
  int filler_nodes = 66'000;
  int filler_paths = 300;
  int filler_namespaces = 260;
  bool short_retention = false;  // 3d / 40d / 800d instead of the defaults
};

struct Dataset {
  GenOptions options;
  int64_t now_ms = 0;              // the wall clock the set was generated for
  int64_t otlp_cutoff_minute = 0;  // requests at or after it go through OTLP
  Retention retention;
  std::vector<Node> nodes;
  // The dictionary slot of each node: node i is interned after filler_before[i] fillers, so that
  // ids land around 255, 511, 65,535, 65,536, ...
  std::vector<int> intern_order;  // node indices in interning order, -1 for a filler
  std::vector<std::string> namespaces;
  std::vector<std::string> paths;              // paths[0] = ""
  std::vector<Request> requests;               // in start order
  std::vector<std::array<uint32_t, 2>> edges;  // (client, server) of every generated edge
};

Dataset Generate(const GenOptions& options, int64_t now_ms);

// "POST", "" ...; protocol names as the API prints them.
std::string MethodName(uint8_t method);

}  // namespace ew::model
