// Readable terminal renderings of the Edgewise query API's JSON answers for edgewise-ctl: the map
// as a node table and an edge table, and any other answer as key/value lines plus one table per
// array of objects (nested objects flattened as a.b, node ids replaced by node names).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ew::tools {

// Aligned columns; the first row is the header.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

Result<std::string> RenderMap(std::string_view json);
Result<std::string> RenderGeneric(std::string_view json);

// Summarises Prometheus text: one line per series, comments dropped, sorted by name.
std::string SummariseMetrics(std::string_view text);

}  // namespace ew::tools
