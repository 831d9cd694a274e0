// Verify: compares a load-generator ledger with what a running Edgewise server's /api/v1/map
// reports over the ledger's minutes, and prints every difference.
// Thread-safety: none.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tools/http_client.h"
#include "tools/ledger.h"
#include "tools/service_map.h"

namespace ew::tools {

struct VerifyOptions {
  std::string ledger_path;
  HostPort server;
  bool per_minute = true;     // one map query per minute; false: one over the whole range
  int timeout_s = 60;         // re-check until equal or this long (pair-wait + flush interval)
  bool ignore_extra = false;  // edges the ledger does not know are not differences
  bool check_protocol = true;
  bool quiet = false;
};

using LedgerRows = std::vector<std::pair<LedgerKey, LedgerCounts>>;

// Differences between the expected rows of one window and the map edges of that window, one
// readable line each. Rows are summed per (client, server); the protocol expected is that of most
// of the requests.
std::vector<std::string> CompareWindow(const LedgerRows& rows, const std::vector<MapEdge>& edges,
                                       bool ignore_extra, bool check_protocol);

// Returns the process exit code: 0 equal, 1 differences, 2 unreadable ledger, 3 unreachable.
int RunVerify(const VerifyOptions& options);

}  // namespace ew::tools
