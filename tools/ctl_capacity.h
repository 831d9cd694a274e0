// edgewise-ctl capacity: the terminal rendering of GET /api/v1/capacity (docs/api.md
// "Capacity"). Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace ew::tools {

// Two tables in the server's order (fastest growth of the busiest minute first): services
// (SERVICE, STEPS, REQUESTS, LATEST PEAK/S, AT, P99 MS, GROWTH %/DAY, CHANGE %, ID) and edges
// (SOURCE, TARGET, then the same figures). A growth the server leaves undefined prints as "-".
Result<std::string> RenderCapacity(std::string_view json);

}  // namespace ew::tools
