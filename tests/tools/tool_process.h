// RunTool: runs one of the built tools (edgewise-loadgen, edgewise-ctl) to completion for the
// integration tests, capturing exit code, stdout and stderr. Thread-safety: call from one thread.
#pragma once

#include <string>
#include <vector>

namespace ew::testing {

struct ToolResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string command;
};

// `tool` is the name under EW_BINARY_DIR/tools ("edgewise-loadgen").
ToolResult RunTool(const std::string& tool, const std::vector<std::string>& args);

}  // namespace ew::testing
