// PrometheusProcess: Debian's real `prometheus` binary (/usr/bin/prometheus) for integration
// tests — a temp config that scrapes one target every second on 127.0.0.1, a free port, temp
// storage, and its HTTP query API (instant queries at a given time).
//
// The child gets SIGKILL if the test process dies (PR_SET_PDEATHSIG); Stop() sends SIGTERM.
// Thread-safety: one object is driven by one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ew::testing {

// A free TCP port on 127.0.0.1 (bound and released; another process may take it meanwhile).
uint16_t FreePort();

class PrometheusProcess {
 public:
  // dir: a directory for the config, the storage and the log. target: HOST:PORT scraped at
  // metrics_path every second; bearer_token: sent as Authorization when not empty.
  PrometheusProcess(std::string dir, std::string target, std::string metrics_path,
                    std::string bearer_token = "");
  ~PrometheusProcess();  // SIGKILL when still running
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  // Writes the config, starts the binary and waits until /-/ready answers 200 (60 s).
  Status Start();
  // SIGTERM and wait (SIGKILL after 30 s): the exit code (128 + signal when killed).
  int Stop();
  std::string Log() const;  // its stderr

  using Labels = std::map<std::string, std::string>;
  // An instant query at unix time `time` (0: now): each result series' labels and value (an
  // empty map when the query fails; the failure goes to the test log).
  std::map<Labels, double> Query(const std::string& promql, double time = 0,
                                 double* eval_time = nullptr);
  // The same, keyed by the (client, server) labels.
  std::map<std::pair<std::string, std::string>, double> QueryPairs(const std::string& promql,
                                                                   double time);
  // Polls a query of one scalar-valued series (30 s) until its value is `want`; returns the
  // last value seen (0 when none) and, in *eval_time, the evaluation time of that answer.
  uint64_t WaitForValue(const std::string& promql, uint64_t want, double* eval_time = nullptr);

 private:
  std::string dir_, target_, metrics_path_, token_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace ew::testing
