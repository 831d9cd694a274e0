// NodeService: runs `node tests/node/service.js` (one shop service instrumented with the
// OpenTelemetry JS SDK) as a child process with the given environment, and waits for its
// "ready <port>" line. Stop() sends SIGTERM (the service flushes its spans and exits).
// Thread-safety: driven by one test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"

namespace ew::testing {

class NodeService {
 public:
  NodeService(std::string name, std::map<std::string, std::string> env);
  ~NodeService();  // SIGKILL if still running
  NodeService(const NodeService&) = delete;
  NodeService& operator=(const NodeService&) = delete;

  Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGTERM and wait (SIGKILL after `timeout`); returns the exit code (128 + signal if killed).
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // What the service printed on stderr (for failure messages).
  std::string Log() const;

 private:
  std::string name_;
  std::map<std::string, std::string> env_;
  std::string log_path_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  uint16_t port_ = 0;
};

// The `node` executable to use: $NODE if set, else "node" from PATH.
std::string NodeBinary();
// True when tests/node/node_modules holds the SDK (`tools/dev deps` ran npm ci).
bool NodeModulesInstalled();

}  // namespace ew::testing
