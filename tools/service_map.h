// FetchMap: reads /api/v1/map from a running Edgewise server and flattens it into edges between
// named nodes (node ids are opaque), for `verify` and `edgewise-ctl`.
// Thread-safety: pure functions; one HttpConnection per thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/http_client.h"
#include "tools/topology.h"

namespace ew::tools {

struct MapEdge {
  NodeRef source;
  NodeRef target;
  std::string protocol;
  double requests = 0;
  double errors = 0;
};

// GET /api/v1/map?start=S&end=E[&query=Q] (unix seconds). Unavailable when the server cannot be
// reached; InvalidArgument for a non-200 answer or a body that is not a map.
Result<std::vector<MapEdge>> FetchMap(HttpConnection* conn, int64_t start_s, int64_t end_s,
                                      const std::string& query = "");

// Parses a map response body.
Result<std::vector<MapEdge>> ParseMap(std::string_view body);

}  // namespace ew::tools
