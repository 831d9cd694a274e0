// The reference model: answers map, series, service and traces questions by brute force over
// every request of a Dataset, with the documented rules (docs/api.md, docs/query.md): the range
// [start, end) in minutes covered by day, hour and minute tiers, what each tier keeps under the
// retention, filters on requests, server-side latency where the edge has server halves, then
// group -> focus -> min_requests / errors_only -> top -> nodes.
//
// Answers of the server (JSON or FlatBuffers) are read into the same structures, keyed by node
// identity (kind/namespace/name), so the comparison does not depend on dictionary ids.
//
// Thread-safety: pure functions over an immutable Dataset.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "tests/model/dataset.h"
#include "tests/model/filter.h"

namespace ew::model {

struct Figures {
  uint64_t requests = 0;
  uint64_t errors = 0;
  std::optional<std::array<double, 4>> latency_ms;  // p50 p90 p95 p99 (model: exact)
};

struct EdgeAnswer {
  std::string protocol;
  Figures now;
  std::optional<Figures> previous;  // with compare
  std::string change;               // with compare
  double rate_per_s = 0, error_rate = 0;
};

struct NodeAnswer {
  uint64_t requests_in = 0, errors_in = 0, requests_out = 0, errors_out = 0;
  // With compare (JSON: all of them; FlatBuffers: change only).
  std::optional<std::array<uint64_t, 4>> previous;  // requests_in, errors_in, requests_out, ..
  std::string change;
};

using EdgeKey = std::pair<std::string, std::string>;  // node keys (Node::Key)

struct MapAnswer {
  std::map<EdgeKey, EdgeAnswer> edges;
  std::map<std::string, NodeAnswer> nodes;
};

struct MapOptions {
  const Filter* filter = nullptr;
  int64_t start = 0, end = 0;  // minutes
  std::optional<int64_t> compare_minutes;
  int64_t prev_start = 0, prev_end = 0;  // with compare_minutes: the previous range (minutes)
  std::optional<uint32_t> focus;         // node index
  int depth = 1;
  uint64_t min_requests = 0;
  bool errors_only = false;
  uint64_t top = 0;
  bool top_by_errors = false;
  bool group_namespace = false;
};

struct SeriesPoint {
  uint64_t requests = 0, errors = 0;
  std::optional<std::array<double, 4>> latency_ms;
};

class Model {
 public:
  explicit Model(const Dataset& d);

  // [start, end) covered by the planner's rule (docs/query.md "The plan"): whole days from the
  // day tier, whole hours from the hour tier, the rest from the minute tier; in time order, as
  // (tier, first minute, end minute).
  static std::vector<std::tuple<storage::Tier, int64_t, int64_t>> Cover(int64_t start, int64_t end);
  // The tier that holds `minute` when [start, end) is covered by the planner's rule.
  static storage::Tier TierOf(int64_t minute, int64_t start, int64_t end);
  // Whether a request at `minute` is visible through `tier` (retention).
  bool Visible(storage::Tier tier, int64_t minute) const;
  // The range the server answers when [*start, *end) is asked at now_ms (docs/query.md,
  // "Retention"): a minute piece of the cover that reaches a minute the retention no longer
  // keeps widens to its whole hours, an hour piece to its whole days, until none does.
  void Widen(int64_t* start, int64_t* end, int64_t now_ms) const;
  // The step of a series from start: the step grows to whole hours (days) while its tier no
  // longer keeps the first bucket at now_ms.
  int64_t SeriesStep(int64_t start, int64_t step, int64_t now_ms) const;

  MapAnswer Map(const MapOptions& o) const;
  // Points keyed by their first minute; only steps with requests. With `group`, `edge` holds
  // group keys (GroupKey(node, true)): a namespace end sums its member services' edges.
  std::map<int64_t, SeriesPoint> Series(const Filter* filter, std::optional<EdgeKey> edge,
                                        int64_t start, int64_t end, int64_t step,
                                        bool group = false) const;
  // Expired client halves of a node in [start, end) (requests completed by expiry).
  uint64_t ClientHalvesExpired(uint32_t node, int64_t start, int64_t end) const;
  // Expired server halves of a node in [start, end) (orphan server spans sent over OTLP).
  uint64_t ServerHalvesExpired(uint32_t node, int64_t start, int64_t end) const;
  // Requests of one edge whose minute is in [start, end) and kept by the minute tier; with
  // `group`, of every edge between the ends' group nodes (namespace ids: their member services).
  std::vector<const Request*> EdgeRequests(uint32_t client, uint32_t server, int64_t start,
                                           int64_t end, bool group = false) const;
  const Dataset& data() const { return d_; }
  std::string GroupKey(uint32_t node, bool group) const;

 private:
  struct Acc {
    uint64_t requests = 0, errors = 0;
    std::map<storage::Protocol, uint64_t> protocols;
    std::vector<uint32_t> server_us, client_us;
    void Add(const Request& r);
    Figures Finish(bool latency);
  };
  std::map<EdgeKey, Acc> Aggregate(const Filter* filter, int64_t start, int64_t end,
                                   bool group) const;
  // The requests whose minute is in [start, end) (requests are in start order).
  std::pair<const Request*, const Request*> InRange(int64_t start, int64_t end) const;

  const Dataset& d_;
  std::vector<std::string> keys_, group_keys_;
};

// Exact nearest-rank quantiles (ms) of latencies in µs.
std::array<double, 4> NearestRank(std::vector<uint32_t> us);

}  // namespace ew::model
