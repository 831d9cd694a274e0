// Loadgen: drives an Edgewise server with synthetic OTLP traffic.
//
//  - RunLoadgen: generates traces from a Topology at a target rate (or as fast as it can), puts
//    every request's client and server halves into different HTTP requests, holds one of them
//    back by up to max_skew so halves arrive in either order seconds apart, shuffles each batch,
//    sends over keep-alive connections, and keeps the ground-truth Ledger.
//  - RunPreencoded: the benchmark fast path; encodes a set of bodies once, then replays them as
//    fast as the server accepts, patching fresh ids into each copy (gzip: compressed per send).
//
// Thread-safety: each Run* call owns its threads; call one at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "tools/http_client.h"
#include "tools/otlp_encoder.h"
#include "tools/topology.h"

namespace ew::tools {

struct LoadgenOptions {
  HostPort otlp{"127.0.0.1", 4318};
  HostPort grpc;  // pre-encoded path only: port != 0 sends over OTLP/gRPC to here instead
  Encoding encoding = Encoding::kProtobuf;
  double rate = 0;  // spans per second; 0: as fast as possible
  int connections = 2;
  int64_t duration_ms = 0;      // 0: until `requests` or interrupted
  uint64_t requests = 0;        // HTTP requests of generated traffic; 0: unlimited
  int batch = 512;              // spans per HTTP request
  int64_t max_skew_ms = 3000;   // the later half of a request is held back up to this long
  int64_t batch_wait_ms = 200;  // a partial batch is sent after this long
  std::string ledger_path;      // empty: no ledger file
  std::string summary_path;     // JSON summary of the run (empty: none)
  TopologyOptions topology;
  bool demo = false;  // error rates and latencies move over time
  bool progress = true;
  // Pre-encoded fast path.
  int bodies = 64;           // distinct bodies (even)
  bool unpaired = false;     // only client halves whose partner never comes (pending memory)
  double cross_share = 0.5;  // share of spans whose partner is in another HTTP request
};

struct LoadgenSummary {
  uint64_t spans_sent = 0;
  uint64_t spans_acked = 0;
  uint64_t http_requests = 0;
  uint64_t http_failures = 0;
  uint64_t rejected_spans = 0;
  uint64_t body_bytes = 0;
  double elapsed_s = 0;
  std::string ToJson(const LoadgenOptions& o) const;
};

// Set by a SIGINT/SIGTERM handler to stop a run early (the ledger is still written).
extern std::atomic<bool> g_stop_requested;

// Return the process exit code (0 ok, 1 some requests failed, 3 server unreachable).
int RunLoadgen(const LoadgenOptions& options, LoadgenSummary* summary);
int RunPreencoded(const LoadgenOptions& options, LoadgenSummary* summary);

}  // namespace ew::tools
