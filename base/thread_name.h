// SetThreadName: names the calling thread for top -H, perf and gdb (Linux: at most 15 bytes are
// kept). A no-op where the platform has no thread names.
//
// Thread-safety: affects only the calling thread.
#pragma once

#include <string>

namespace ew {

void SetThreadName(const std::string& name);

}  // namespace ew
