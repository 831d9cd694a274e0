// ServerProcess: runs the real `edgewise` binary for integration tests. Start() launches it with
// --otlp-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --otlp-grpc-addr off|127.0.0.1:0 --data-dir
// <dir> plus extra flags, waits for the ready line `edgewise ready otlp=HOST:PORT http=HOST:PORT
// [grpc=HOST:PORT]` and records the ports. stdout and
// stderr go to files in a private temp directory (Stderr() returns the log for failure messages).
// The child gets SIGKILL if the test process dies (PR_SET_PDEATHSIG). That signal follows the
// *thread* that called Start: start servers from a thread that outlives them (the test's main
// thread), not from a short-lived worker thread.
//
// RunEdgewise() runs the binary to completion (for --help, bad flags, ...).
//
// Thread-safety: one ServerProcess is driven by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "tests/common/temp_dir.h"

namespace ew::testing {

// Path of the built server binary: EW_BINARY_DIR "/server/edgewise".
std::string EdgewiseBinary();

struct ServerOptions {
  // Empty: a fresh temp directory owned by the ServerProcess (removed with it).
  std::string data_dir;
  // Appended after the default flags (a later flag wins, so these can override the addresses).
  std::vector<std::string> extra_args;
  // When false, --otlp-addr/--http-addr/--otlp-grpc-addr/--data-dir are not passed (config-file
  // tests).
  bool default_args = true;
  // The OTLP/gRPC listener on a free port (--otlp-grpc-addr 127.0.0.1:0); off by default, so the
  // tests that do not use it run without gRPC's threads (and never on the default port 4317).
  bool grpc = false;
  std::chrono::milliseconds ready_timeout{60'000};
  std::string binary;  // empty: EdgewiseBinary()
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerOptions options = {});
  // Kills a still running server (SIGKILL).
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Launches and waits for the ready line. Error (with the stderr log) if the process exits or
  // the timeout passes first; the process is killed in that case.
  Status Start();
  // SIGTERM, then waits up to `timeout` (SIGKILL after it). Returns the exit code, or
  // 128 + signal number when killed by a signal, or -1 when not running.
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // SIGKILL and wait. Returns 128 + 9 (or -1 when not running).
  int Kill();
  // Stop() (exit code ignored) then Start() on the same data directory; ports change.
  Status Restart();
  // Sends a signal without waiting.
  void Signal(int sig);
  // True while the child has not been reaped (non-blocking check).
  bool Running();

  pid_t pid() const { return pid_; }
  // Exit code of the last run once reaped (by Stop, Kill or Running), else -1.
  int exit_code() const { return exit_code_; }
  const std::string& host() const { return host_; }
  uint16_t otlp_port() const { return otlp_port_; }
  uint16_t http_port() const { return http_port_; }
  // 0 when the ready line has no grpc= (--otlp-grpc-addr off).
  uint16_t grpc_port() const { return grpc_port_; }
  const std::string& data_dir() const { return data_dir_; }
  // The whole stderr (log) of the current or last run.
  std::string Stderr() const;
  std::string Stdout() const;
  // The command line of the last Start (for messages).
  std::string CommandLine() const;

 private:
  Status Spawn();
  Status WaitReady();
  int Reap(bool block);

  ServerOptions options_;
  std::unique_ptr<TempDir> files_;  // stdout/stderr logs, owned data dir
  std::string data_dir_;
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string host_ = "127.0.0.1";
  uint16_t otlp_port_ = 0;
  uint16_t http_port_ = 0;
  uint16_t grpc_port_ = 0;
};

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed; -1 when it could not be started
  std::string out;
  std::string err;
};

// Runs `edgewise args...` to completion (SIGKILL after `timeout`), capturing its output.
RunResult RunEdgewise(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace ew::testing
