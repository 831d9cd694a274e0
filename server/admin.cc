#include "server/admin.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <utility>

#include "base/log.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "base/time.h"
#include "server/url.h"

namespace ew::server {

namespace fs = std::filesystem;

namespace {

constexpr char kPrefix[] = "/api/v1/admin/";

Response Json(std::string body, std::string route) {
  Response r;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.route = std::move(route);
  return r;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

uint64_t LiveBytes(const storage::StoreStats& s) {
  uint64_t n = 0;
  for (const auto& f : s.families) n += f.live_bytes;
  return n;
}

// Checks the backup target: an absolute path that does not exist or is an empty directory.
std::optional<std::string> BackupTargetProblem(const std::string& dir) {
  if (dir.empty()) return "backup needs dir=ABSOLUTE_PATH (a directory on the server's machine)";
  if (!fs::path(dir).is_absolute()) return "dir must be an absolute path, got '" + dir + "'";
  std::error_code ec;
  if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec))) {
    return "dir " + dir + " exists and is not an empty directory";
  }
  return std::nullopt;
}

}  // namespace

uint64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  uint64_t n = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fe;
    if (it->is_regular_file(fe)) n += it->file_size(fe);
  }
  return n;
}

std::string StoreStatsJson(const storage::StoreStats& st, uint64_t bytes_on_disk) {
  std::string out = "{\"flushed_log_position\":" + std::to_string(st.flushed_log_position) +
                    ",\"node_count\":" + std::to_string(st.node_count) + ",\"families\":[";
  for (size_t i = 0; i < st.families.size(); ++i) {
    const auto& f = st.families[i];
    out += (i ? ",{\"name\":\"" : "{\"name\":\"") + JsonEscape(f.name) +
           "\",\"live_bytes\":" + std::to_string(f.live_bytes) +
           ",\"keys_estimate\":" + std::to_string(f.keys_estimate) + "}";
  }
  return out + "],\"bytes_on_disk\":" + std::to_string(bytes_on_disk) + "}";
}

struct Admin::State {
  ingest::IngestService* ingest;
  storage::EdgeStore* store;
  std::string store_dir;

  Mutex mu;
  CondVar cv;
  std::function<Response()> job GUARDED_BY(mu);  // the one queued operation
  std::function<void(Response)> reply GUARDED_BY(mu);
  bool busy GUARDED_BY(mu) = false;
  bool stop GUARDED_BY(mu) = false;
  std::thread worker;

  void Run() {
    MutexLock lock(&mu);
    for (;;) {
      while (!job && !stop) cv.Wait(mu);
      if (!job) return;
      std::function<Response()> j = std::move(job);
      std::function<void(Response)> r = std::move(reply);
      job = nullptr;
      lock.Unlock();
      Response answer = j();
      lock.Lock();
      busy = false;  // before the answer, so that a client's next operation is accepted
      lock.Unlock();
      r(std::move(answer));
      lock.Lock();
    }
  }

  // Queues fn on the admin thread (its answer goes to done), or false when an operation is
  // already running.
  bool Offer(std::function<Response()> fn, std::function<void(Response)> done) {
    MutexLock lock(&mu);
    if (busy || stop) return false;
    busy = true;
    job = std::move(fn);
    reply = std::move(done);
    cv.NotifyAll();
    return true;
  }

  Response Backup(const std::string& dir) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string route = "/api/v1/admin/backup";
    if (auto problem = BackupTargetProblem(dir)) return ErrorResponse(400, *problem, route);
    // Everything acknowledged so far reaches the store (rollups and waiting halves, with the
    // log position they cover); later flushes only move the checkpoint's position forward.
    Status st = ingest->FlushNow();
    if (!st.ok()) return ErrorResponse(503, "backup: flush failed: " + st.ToString(), route);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return ErrorResponse(500, "backup: creating " + dir + ": " + ec.message(), route);
    const std::string db = (fs::path(dir) / "db").string();
    st = store->Checkpoint(db);
    if (!st.ok()) return ErrorResponse(500, "backup: " + st.ToString(), route);
    // The position the checkpoint covers, read from the checkpoint itself (which also proves
    // that it opens).
    storage::StoreOptions o;
    o.dir = db;
    o.read_only = true;
    auto copy = storage::EdgeStore::Open(o);
    if (!copy.ok()) {
      return ErrorResponse(500, "backup: the checkpoint does not open: " + copy.status().ToString(),
                           route);
    }
    const uint64_t position = (*copy)->FlushedLogPosition();
    copy->reset();
    const uint64_t bytes = DirectoryBytes(db);
    const std::string manifest = "{\"flushed_log_position\":" + std::to_string(position) +
                                 ",\"created\":\"" + FormatRfc3339(WallNowMs() / 1000) +
                                 "\",\"bytes\":" + std::to_string(bytes) + "}\n";
    std::ofstream(fs::path(dir) / "BACKUP.json") << manifest;
    const double seconds = SecondsSince(t0);
    EW_LOG(kInfo) << "admin: backup to " << dir << " (" << bytes << " bytes, log position "
                  << position << ") in " << seconds << " s";
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", seconds);
    return Json("{\"dir\":\"" + JsonEscape(dir) +
                    "\",\"flushed_log_position\":" + std::to_string(position) +
                    ",\"bytes\":" + std::to_string(bytes) + ",\"seconds\":" + secs + "}",
                route);
  }

  Response DeleteTenant(const std::string& name) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string route = "/api/v1/admin/tenant";
    Status st = ingest->DeleteTenant(name);
    if (st.code() == StatusCode::kNotFound) return ErrorResponse(404, st.message(), route);
    if (!st.ok()) return ErrorResponse(503, "delete tenant: " + st.ToString(), route);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", SecondsSince(t0));
    EW_LOG(kInfo) << "admin: tenant '" << name << "' deleted";
    return Json(
        "{\"tenant\":\"" + JsonEscape(name) + "\",\"deleted\":true,\"seconds\":" + secs + "}",
        route);
  }

  Response Compact() {
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t before = LiveBytes(store->Stats());
    Status st = store->CompactAll();
    const std::string route = "/api/v1/admin/compact";
    if (!st.ok()) return ErrorResponse(500, "compact: " + st.ToString(), route);
    const uint64_t after = LiveBytes(store->Stats());
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", SecondsSince(t0));
    EW_LOG(kInfo) << "admin: compaction " << before << " -> " << after << " live bytes";
    return Json("{\"live_bytes_before\":" + std::to_string(before) +
                    ",\"live_bytes_after\":" + std::to_string(after) + ",\"seconds\":" + secs + "}",
                route);
  }
};

Admin::Admin(ingest::IngestService* ingest, storage::EdgeStore* store, std::string store_dir)
    : state_(std::make_unique<State>()) {
  state_->ingest = ingest;
  state_->store = store;
  state_->store_dir = std::move(store_dir);
  state_->worker = std::thread([s = state_.get()] { s->Run(); });
}

Admin::~Admin() {
  {
    MutexLock lock(&state_->mu);
    state_->stop = true;
    state_->cv.NotifyAll();
  }
  state_->worker.join();
}

void Admin::Handle(const Request& req, std::function<void(Response)> done) {
  const std::string op = req.path.substr(sizeof(kPrefix) - 1);
  const std::string route =
      "/api/v1/admin/" + (op == "backup" || op == "compact" || op == "stats" || op == "tenant"
                              ? op
                              : std::string("other"));
  auto params = ParseQueryString(req.query);
  if (!params) return done(ErrorResponse(400, "malformed %-escape in the query string", route));
  if (op == "tenant") return HandleTenant(req, *params, std::move(done));
  if (op == "stats") {
    if (req.method != "GET" && req.method != "HEAD") {
      Response r = ErrorResponse(405, "method not allowed (allowed: GET, HEAD)", route);
      r.headers.emplace_back("Allow", "GET, HEAD");
      return done(std::move(r));
    }
    return done(
        Json(StoreStatsJson(state_->store->Stats(), DirectoryBytes(state_->store_dir)), route));
  }
  if (op != "backup" && op != "compact") {
    return done(ErrorResponse(
        404, "unknown admin operation '" + op + "' (backup, compact, stats, tenant)", route));
  }
  if (req.method != "POST") {
    Response r = ErrorResponse(405, "method not allowed (allowed: POST)", route);
    r.headers.emplace_back("Allow", "POST");
    return done(std::move(r));
  }
  for (const auto& [k, v] : *params) {
    if (!(op == "backup" && k == "dir")) {
      return done(ErrorResponse(
          400, "unknown parameter '" + k + "'; parameters: " + (op == "backup" ? "dir" : "(none)"),
          route));
    }
  }
  std::string dir = params->count("dir") ? params->at("dir") : "";
  if (op == "backup") {
    if (auto problem = BackupTargetProblem(dir)) return done(ErrorResponse(400, *problem, route));
  }
  State* s = state_.get();
  auto run = [s, op, dir = std::move(dir)] {
    return op == "backup" ? s->Backup(dir) : s->Compact();
  };
  if (!s->Offer(std::move(run), done)) {
    done(ErrorResponse(409, "another admin operation (backup or compact) is running", route));
  }
}

void Admin::HandleTenant(const Request& req, const std::map<std::string, std::string>& params,
                         std::function<void(Response)> done) {
  const std::string route = "/api/v1/admin/tenant";
  if (req.method != "DELETE") {
    Response r = ErrorResponse(405, "method not allowed (allowed: DELETE)", route);
    r.headers.emplace_back("Allow", "DELETE");
    return done(std::move(r));
  }
  for (const auto& [k, v] : params) {
    if (k != "name") {
      return done(ErrorResponse(400, "unknown parameter '" + k + "'; parameters: name", route));
    }
  }
  const std::string name = params.count("name") ? params.at("name") : "";
  if (name.empty()) return done(ErrorResponse(400, "delete tenant needs name=TENANT", route));
  if (name == storage::kDefaultTenantName) {
    return done(ErrorResponse(
        400, "tenant 'default' cannot be deleted (it holds every request sent without a tenant)",
        route));
  }
  State* s = state_.get();
  if (!s->Offer([s, name] { return s->DeleteTenant(name); }, done)) {
    done(ErrorResponse(409, "another admin operation (backup, compact or delete) is running",
                       route));
  }
}

}  // namespace ew::server
