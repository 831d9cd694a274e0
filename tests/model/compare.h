// Reading the server's answers (JSON and FlatBuffers) into the model's structures, and comparing
// them: counts exact, rates to the printed precision, percentiles within the documented 1 %.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "tests/common/json.h"
#include "tests/model/model.h"

namespace ew::model {

struct ServerMap {
  MapAnswer answer;
  // Node keys as the server sent them, and the latency it reported per edge (an empty optional
  // when the edge had no requests).
  std::map<std::string, std::string> key_of_id;
};

// id -> node key from a JSON "nodes" array (kind/namespace/name).
std::map<std::string, std::string> NodeKeys(const testing::Json& nodes);
Result<ServerMap> ParseMapJson(const std::string& body);
Result<ServerMap> ParseMapFlatBuffers(const std::string& body);
// One JSON edge object into an EdgeAnswer.
EdgeAnswer ParseEdgeJson(const testing::Json& e);
std::optional<std::array<double, 4>> ParseLatencyJson(const testing::Json& l);

struct CompareOptions {
  bool latency = true;  // false: percentiles are not compared (error filters)
  uint64_t top = 0;
  bool top_by_errors = false;
  bool skip_group_self_edges = false;  // group=namespace intra-namespace edges (TODO hook)
};

// Appends one line per difference to *diffs. `model` is the map before top=.
void CompareMaps(const MapAnswer& model, const MapAnswer& server, const CompareOptions& o,
                 std::vector<std::string>* diffs);
void CompareFigures(const std::string& what, const Figures& want, const Figures& got, bool latency,
                    std::vector<std::string>* diffs);
bool LatencyClose(double want_ms, double got_ms);

}  // namespace ew::model
