// CapacityScan: the streaming aggregation behind /api/v1/capacity. It takes the selected records
// of a server-ordered family (kEdge or kDetail) in the store's key order — all records of one
// leading (server) node together, their time blocks never going back — and keeps, per service
// (the server's incoming traffic) and per edge (client -> server), one Cell per step: requests,
// errors, the busiest minute (per-minute counts summed across the records, query/minute_peaks.h)
// and p99.
//
// Only the current server's groups are open: per group one window of minutes (the current time
// block: an hour for the minute and hour tiers, a day for the day tier) and the latency counters
// of the steps not yet finished, so memory is bounded by one server's clients.
//
// Thread-safety: a value type; one per query.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/status.h"
#include "query/map_builder.h"
#include "query/minute_peaks.h"
#include "storage/edge_store.h"

namespace ew::query {

struct CapacityCell {
  uint64_t requests = 0;
  uint64_t errors = 0;
  MinutePeak peak;
  // False when a record of the step came without minute counts (a day record whose counts the
  // store collapsed into its own peak, a detail-family hour or day record) and was not the only
  // record of its group in its time unit: the busiest minute of a sum is then unknown.
  bool peak_known = true;
  double p99_us = 0;  // server side where one exists, else client side (as the map)
};

struct CapacityGroup {
  storage::NodeId client = 0;  // 0: a service, the incoming traffic of `server`
  storage::NodeId server = 0;
  std::vector<CapacityCell> cells;  // one per step
};

class CapacityScan {
 public:
  // Steps [start + i * step, start + (i + 1) * step) for i < steps; block: the minutes of one
  // time block (a multiple of the tier's unit). max_cells: (groups * steps) the scan may hold;
  // beyond it Add returns ResourceExhausted.
  CapacityScan(int64_t start, int64_t step, size_t steps, int64_t block, uint64_t max_cells);

  // Adds one selected record whose time unit starts at unit_start (all its requests are
  // selected: its minute_counts are its per-minute requests). Internal when the records break
  // the order above.
  Status Add(int64_t unit_start, const storage::EdgeDims& d, const storage::RollupValue& v,
             uint64_t requests, uint64_t errors);
  // Finishes the last server. Call once, after the last Add.
  void Finish();
  std::vector<CapacityGroup>& groups() { return groups_; }

 private:
  struct OpenStats {
    size_t step = 0;
    EdgeStats stats;
  };
  struct Open {
    size_t group = 0;
    MinuteWindow window;  // the current block's per-minute sums
    bool in_block = false;
    // The current block's records of this group, and of them those without minute counts (with
    // the busiest minute of the last such record, exact when it is the block's only record).
    uint32_t records = 0;
    uint32_t uncounted = 0;
    MinutePeak uncounted_peak;
    size_t uncounted_step = 0;
    std::vector<OpenStats> stats;  // the group's steps not yet finished (few)
  };

  Result<Open*> OpenFor(storage::NodeId client, storage::NodeId server);
  EdgeStats& StatsFor(Open& o, size_t step);
  // Ends the current block: its minutes go to the steps' peaks, and the steps that end at or
  // before next_start (every step when all) get their counts and p99.
  void FinishBlock(bool all, int64_t next_start);
  void FinishServer();

  int64_t start_, step_;
  size_t steps_;
  int64_t block_len_;
  uint64_t max_cells_;
  std::vector<CapacityGroup> groups_;
  std::unordered_map<uint64_t, size_t> group_index_;  // EdgeKey(client, server) -> groups_

  bool have_server_ = false;
  storage::NodeId server_ = 0;
  int64_t block_ = 0;                                       // current block index
  std::unordered_set<storage::NodeId> done_servers_;        // finished leading nodes
  std::unordered_map<storage::NodeId, size_t> open_index_;  // client (0: service) -> open_
  std::vector<Open> open_;                                  // [0, open_used_) in use
  size_t open_used_ = 0;
  std::vector<EdgeStats> spare_;  // finished counters, kept for reuse
};

}  // namespace ew::query
