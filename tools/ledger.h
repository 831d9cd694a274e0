// Ledger: the load generator's ground truth — how many requests and errors each edge
// (client node -> server node, per protocol) must show per minute, counting only what the server
// acknowledged (tools/README.md, "The ledger", has the exact rule).
//
// File format: JSON, {"version":1, ..., "rows":[{"minute":M,"client":{kind,namespace,name},
// "server":{...},"protocol":"http","requests":N,"errors":E}, ...]}; minute = unix minutes.
// Thread-safety: none; callers serialize.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"
#include "tools/topology.h"

namespace ew::tools {

struct LedgerKey {
  int64_t minute = 0;
  NodeRef client;
  NodeRef server;
  std::string protocol;
  auto operator<=>(const LedgerKey&) const = default;
};

struct LedgerCounts {
  uint64_t requests = 0;
  uint64_t errors = 0;
};

struct Ledger {
  uint64_t seed = 0;
  std::string encoding;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  uint64_t requests_counted = 0;         // requests in rows
  uint64_t requests_unacknowledged = 0;  // no half acknowledged: not in rows
  uint64_t requests_ambiguous = 0;       // a half's fate is unknown: not in rows
  uint64_t rejected_spans = 0;           // partial_success.rejected_spans summed
  uint64_t spans_acknowledged = 0;
  std::map<LedgerKey, LedgerCounts> rows;

  void Add(int64_t minute, const EdgeOutcome& e);
  std::string ToJson() const;
  Status Write(const std::string& path) const;  // atomically (temp file + rename)
  static Result<Ledger> Read(const std::string& path);
};

}  // namespace ew::tools
