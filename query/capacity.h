// /api/v1/capacity (docs/api.md "Capacity"): per service (its incoming traffic) and per edge,
// for each step of the range the requests, errors, the busiest minute and p99; over the range
// the growth of the busiest minute, fastest-growing first.
//
// Busiest minutes are exact: the per-minute counts of every record of a service or edge are
// summed minute by minute (query/minute_peaks.h), one leading node and one time block at a time
// in the store's key order, so memory stays bounded by the clients of one service.
//
// Thread-safety: each call is independent; the store is thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "query/query_service.h"
#include "storage/edge_store.h"

namespace ew::query {

// The growth of a list of step peaks (requests per second), steps step_minutes apart: the
// least-squares slope per day, that slope relative to the mean peak (% per day) and the change
// from the first to the last step (%). Unset where undefined: fewer than two steps (all three),
// a mean of 0 (pct_per_day), a first step of 0 (change_pct).
struct Growth {
  std::optional<double> slope_per_day;
  std::optional<double> pct_per_day;
  std::optional<double> change_pct;
};
Growth GrowthOf(const std::vector<double>& peaks, int64_t step_minutes);

ApiResponse HandleCapacity(const ApiRequest& req, const storage::EdgeStore* store);

}  // namespace ew::query
