// Administration of a stopped Edgewise server's data directory for edgewise-ctl: store
// statistics, compaction, backup (a RocksDB checkpoint) and restore, with a progress line on the
// terminal while they run. A directory a running server holds (RocksDB's LOCK file is locked) is
// refused with a clear message for the operations that write.
//
// The store lives in <data-dir>/db (the server's layout); a directory that is itself a store is
// accepted too. Each function returns the process exit code (0 ok, 1 failure) and prints its own
// messages. Thread-safety: call from one thread.
#pragma once

#include <string>

#include "tools/http_client.h"

namespace ew::tools {

// The RocksDB directory inside a data directory.
std::string StoreDirOf(const std::string& data_dir);
// True when another process holds the RocksDB LOCK of store_dir (a running server).
bool StoreInUse(const std::string& store_dir);

int CtlStoreStats(const std::string& data_dir, bool json);
// json: the outcome as one JSON object on stdout (sizes in bytes) instead of a sentence.
int CtlCompact(const std::string& data_dir, bool json = false);
// Opens a stopped server's store for writing, which upgrades an older storage schema.
int CtlUpgrade(const std::string& data_dir, bool json = false);
int CtlBackup(const std::string& data_dir, const std::string& to, bool json = false);

// The same operations on a running server, through its admin endpoints (server/admin.h).
struct AdminTarget {
  HostPort server;
  std::string token;  // sent as a bearer token when not empty
};
// POST /api/v1/admin/backup?dir=<absolute dir>.
int CtlOnlineBackup(const AdminTarget& t, const std::string& dir, bool json = false);
// POST /api/v1/admin/compact.
int CtlOnlineCompact(const AdminTarget& t, bool json = false);
// DELETE /api/v1/admin/tenant?name=<tenant>: the tenant's data goes (docs/operations.md).
int CtlTenantDelete(const AdminTarget& t, const std::string& tenant, bool json = false);
// GET /api/v1/admin/stats, as a column-family table.
int CtlOnlineStoreStats(const AdminTarget& t);
int CtlRestore(const std::string& from, const std::string& data_dir, bool json = false);

}  // namespace ew::tools
