// Rollup backfill for the peer comparison: writes the same synthetic per-minute edge rollups
// (days of history for every edge of a Topology) straight into an EdgeStore through ApplyFlush,
// and, optionally, as the counters and histograms Grafana Tempo's service-graph processor would
// emit (traces_service_graph_request_total, _request_failed_total,
// _request_server_seconds_{bucket,sum,count}, _request_client_seconds_*; Tempo's default buckets)
// in VictoriaMetrics' JSON-lines import format, one sample per series per minute.
// Thread-safety: one call at a time.
#pragma once

#include <cstdint>
#include <string>

#include "tools/topology.h"

namespace ew::tools {

struct RollupOptions {
  std::string data_dir;  // the server's data directory (the store goes to <dir>/db)
  std::string vm_out;    // VictoriaMetrics JSON-lines file; empty: none
  int64_t days = 7;
  int64_t end_minute = 0;  // exclusive; 0: the current minute
  int exemplars = 1;       // exemplars per rollup (ingest keeps up to 4)
  TopologyOptions topology;
};

struct RollupSummary {
  uint64_t edges = 0;
  uint64_t edge_minutes = 0;
  uint64_t vm_samples = 0;
  double store_seconds = 0;      // wall time inside ApplyFlush
  double store_cpu_seconds = 0;  // process CPU time spent in ApplyFlush (and compaction)
  double compact_seconds = 0;
};

// Returns the process exit code (0 ok, 1 failure) and prints a JSON summary on stdout.
int RunRollups(const RollupOptions& options, RollupSummary* summary);

}  // namespace ew::tools
