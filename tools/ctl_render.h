// Readable terminal renderings of the Edgewise query API's JSON answers for edgewise-ctl.
//
// Each endpoint has its own rendering (ctl_render_api.cc): columns in a fixed, sensible order
// (identity first, then volume, errors, latency), numbers with a fixed number of decimals per
// column (RATE/S 3, ERROR% 2, milliseconds 2; counts as integers) right-aligned, node ids
// replaced by readable labels, and rows in natural order (n2 before n10, svc-9 before svc-10).
// Anything else is rendered generically: key/value lines plus one table per array of objects,
// columns in the JSON's field order (nested objects flattened as a.b).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ew::tools {

// Natural order: runs of digits compare as numbers ("n2" < "n10", "svc-9" < "svc-10"), other
// characters byte-wise; equal-valued runs with more leading zeros sort later; a prefix first.
bool NaturalLess(std::string_view a, std::string_view b);

// Aligned columns separated by two spaces; the first row is the header. right[i]: column i is
// right-aligned (numbers); columns past right.size() are left-aligned.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right = {});

// v with exactly `decimals` decimals ("%.*f"); with plus, a '+' before positive values.
std::string Fixed(double v, int decimals, bool plus = false);

// GET /api/v1/map: a node table (KIND, NAMESPACE, NAME, in/out counts, ID) and an edge table
// (SOURCE, TARGET, PROTOCOL, REQUESTS, RATE/S, ERRORS, ERROR%, P50..P99 MS; with compare=, the
// change and previous figures); with explain=, the plan.
Result<std::string> RenderMap(std::string_view json);
// GET /api/v1/service: the node, its incoming and outgoing edges, the missing-edge diagnostics
// and the connected nodes.
Result<std::string> RenderService(std::string_view json);
// GET /api/v1/edge/series: one row per point (TIME, REQUESTS, RATE/S, ERRORS, ERROR%, P50..P99).
Result<std::string> RenderSeries(std::string_view json);
// GET /api/v1/edge/traces: one row per exemplar (START, TRACE ID, DURATION MS, STATUS, ERROR,
// URL when the server has a trace URL template).
Result<std::string> RenderTraces(std::string_view json);
Result<std::string> RenderGeneric(std::string_view json);

// Summarises Prometheus text: one line per series, comments dropped, sorted by name.
std::string SummariseMetrics(std::string_view text);

}  // namespace ew::tools
