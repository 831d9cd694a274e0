// Loading a Dataset into a real Edgewise: history (requests before the OTLP cutoff) straight
// through the storage API into the data directory, then the server started on it and the recent
// requests sent as OTLP spans (paired client and server halves where the request has both),
// waited for until every half has paired or expired, then restarted: cleanly (which flushes
// everything), or for every third seed after a kill -9 (recovery from the ingest log).
//
// Thread-safety: one LoadedServer is driven by one thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "tests/common/server_process.h"
#include "tests/model/dataset.h"
#include "tools/http_client.h"

namespace ew::model {

struct LoadStats {
  uint64_t history_rollups = 0;
  uint64_t history_requests = 0;
  uint64_t otlp_requests = 0;
  uint64_t otlp_spans = 0;
  uint64_t otlp_bodies = 0;
  double seconds = 0;
  bool killed = false;  // the server was killed (-9) after the traffic, not stopped
};

class LoadedServer {
 public:
  // Writes the history into a fresh data directory under `work_dir`, starts the server and sends
  // the recent traffic. Error when any step fails (with the server's log).
  static Result<std::unique_ptr<LoadedServer>> Load(const Dataset& d, LoadStats* stats);

  // GET on the HTTP listener (reconnecting as needed).
  Result<tools::HttpResponse> Get(const std::string& target,
                                  const std::vector<std::pair<std::string, std::string>>& headers);
  // The server's node id ("n123") of a data-set node.
  const std::string& NodeId(uint32_t node) const { return node_ids_.at(node); }
  testing::ServerProcess& process() { return *server_; }

 private:
  Status WriteHistory(const Dataset& d, LoadStats* stats);
  Status SendRecent(const Dataset& d, LoadStats* stats);
  Status WaitSettled(uint64_t spans_sent);
  // Until no half is pending (and, when >= 0, that many spans were received).
  Status WaitPending(int64_t spans_received);
  // Waits until `n` more flushes were applied (one per --flush-interval), at most 10 s.
  Status WaitFlushes(int n);
  // After a start: the halves loaded from the pending state expire (their pair-wait is over),
  // and their edges are flushed.
  Status WaitLoadedHalvesFlushed();
  void Reconnect();

  std::unique_ptr<testing::TempDir> dir_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<tools::HttpConnection> http_;
  std::vector<std::string> node_ids_;
  bool kill9_ = false;
};

}  // namespace ew::model
