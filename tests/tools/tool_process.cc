#include "tests/tools/tool_process.h"

#include <sys/wait.h>

#include <cstdlib>

#include "tests/common/temp_dir.h"

namespace ew::testing {
namespace {

std::string Quote(const std::string& s) {
  // '...' with every ' written as '\'' (pushed one character at a time).
  std::string q(1, '\'');
  for (char c : s) {
    if (c == '\'') {
      for (char e : {'\'', '\\', '\'', '\''}) q.push_back(e);
    } else {
      q.push_back(c);
    }
  }
  q.push_back('\'');
  return q;
}

}  // namespace

ToolResult RunTool(const std::string& tool, const std::vector<std::string>& args) {
  TempDir dir("ew-tool-");
  ToolResult r;
  r.command = std::string(EW_BINARY_DIR) + "/tools/" + tool;
  for (const std::string& a : args) {
    r.command.push_back(' ');
    r.command.append(Quote(a));
  }
  std::string cmd = r.command;
  cmd.append(" >").append(dir.Sub("out")).append(" 2>").append(dir.Sub("err"));
  cmd.append(" </dev/null");
  int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFileOrEmpty(dir.Sub("out"));
  r.err = ReadFileOrEmpty(dir.Sub("err"));
  return r;
}

}  // namespace ew::testing
