// Admin: operations on a running server, under /api/v1/admin/ on the HTTP listener (the same
// bearer token as /api when --auth-token is set).
//
//   POST /api/v1/admin/backup?dir=ABSOLUTE_PATH  an online backup: a forced flush (every request
//        acknowledged before it is in the store), then a RocksDB checkpoint of the store into
//        DIR/db, which is reopened read-only to read the ingest-log position it covers; that
//        position goes to DIR/BACKUP.json. `edgewise-ctl restore` makes a data directory of it;
//        the restored server has no ingest log, so nothing is replayed twice.
//   POST /api/v1/admin/compact                   a full compaction (retention applied).
//   GET  /api/v1/admin/stats                     column families, log position, nodes, bytes.
//   DELETE /api/v1/admin/tenant?name=TENANT      deletes the tenant's data (IngestService::
//        DeleteTenant): 404 for an unknown tenant, 400 for `default`.
//
// Backup and compaction run one at a time on the admin thread (409 while one runs); they are not
// subject to the query deadline. Stats answers on the calling thread.
//
// Thread-safety: Handle may be called from any thread; the destructor joins the admin thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/metrics.h"
#include "ingest/ingest_service.h"
#include "server/http_types.h"
#include "storage/edge_store.h"

namespace ew::server {

class Admin {
 public:
  Admin(ingest::IngestService* ingest, storage::EdgeStore* store, std::string store_dir);
  ~Admin();
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // req.path starts with /api/v1/admin/. Answers through done exactly once.
  void Handle(const Request& req, std::function<void(Response)> done);

 private:
  struct State;
  void HandleTenant(const Request& req, const std::map<std::string, std::string>& params,
                    std::function<void(Response)> done);
  std::unique_ptr<State> state_;
};

// The JSON of the store's statistics (also the answer of GET /api/v1/admin/stats):
// {"flushed_log_position":N,"node_count":N,"families":[{"name","live_bytes","keys_estimate"}],
//  "bytes_on_disk":N}
std::string StoreStatsJson(const storage::StoreStats& stats, uint64_t bytes_on_disk);

// Total size of the regular files under dir (0 when it does not exist).
uint64_t DirectoryBytes(const std::string& dir);

}  // namespace ew::server
