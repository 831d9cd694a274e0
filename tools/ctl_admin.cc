#include "tools/ctl_admin.h"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "base/time.h"
#include "storage/edge_store.h"
#include "tools/ctl_render.h"

namespace ew::tools {
namespace {

namespace fs = std::filesystem;

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

std::string Bytes(uint64_t b) {
  char buf[32];
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// A progress line on stderr while a long operation runs: a bar that sweeps (the operations have
// no known total), the elapsed time and an optional status (e.g. bytes written so far).
class Progress {
 public:
  Progress(std::string what, std::function<std::string()> status = nullptr)
      : what_(std::move(what)), status_(std::move(status)), tty_(isatty(2) == 1) {
    start_ = MonoNowNs();
    if (tty_) thread_ = std::thread([this] { Loop(); });
  }
  ~Progress() { Finish(true); }
  void Finish(bool ok) {
    if (finished_.exchange(true)) return;
    if (thread_.joinable()) thread_.join();
    double s = static_cast<double>(MonoNowNs() - start_) / 1e9;
    std::string st = status_ ? "  " + status_() : "";
    std::fprintf(stderr, "%s%s: %s in %.1fs%s\n", tty_ ? "\r\033[K" : "", what_.c_str(),
                 ok ? "done" : "failed", s, st.c_str());
  }

 private:
  void Loop() {
    int tick = 0;
    while (!finished_.load()) {
      std::string bar(20, ' ');
      int pos = tick % 38;
      int at = pos < 19 ? pos : 37 - pos;
      bar[static_cast<size_t>(at)] = '#';
      if (at + 1 < 20) bar[static_cast<size_t>(at) + 1] = '#';
      double s = static_cast<double>(MonoNowNs() - start_) / 1e9;
      std::string st = status_ ? "  " + status_() : "";
      std::fprintf(stderr, "\r\033[K%s [%s] %.1fs%s", what_.c_str(), bar.c_str(), s, st.c_str());
      std::fflush(stderr);
      ++tick;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  std::string what_;
  std::function<std::string()> status_;
  bool tty_;
  int64_t start_ = 0;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

// s as a JSON string.
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "edgewise-ctl: %s\n", msg.c_str());
  return 1;
}

int RefuseIfRunning(const std::string& store, const std::string& data_dir) {
  if (!StoreInUse(store)) return 0;
  return Fail(data_dir +
              " is in use by a running edgewise server (its RocksDB LOCK is held); "
              "stop the server first");
}

Result<std::unique_ptr<storage::EdgeStore>> OpenStore(const std::string& data_dir, bool read_only) {
  std::string store = StoreDirOf(data_dir);
  std::error_code ec;
  if (!fs::exists(fs::path(store) / "CURRENT", ec)) {
    return Status::NotFound("no Edgewise store in " + data_dir);
  }
  storage::StoreOptions o;
  o.dir = store;
  o.read_only = read_only;
  return storage::EdgeStore::Open(o);
}

}  // namespace

std::string StoreDirOf(const std::string& data_dir) {
  std::error_code ec;
  fs::path db = fs::path(data_dir) / "db";
  if (fs::is_directory(db, ec)) return db.string();
  return data_dir;
}

bool StoreInUse(const std::string& store_dir) {
  std::string lock = (fs::path(store_dir) / "LOCK").string();
  int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  bool held = ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

int CtlStoreStats(const std::string& data_dir, bool json) {
  if (StoreInUse(StoreDirOf(data_dir))) {
    // A read-only open beside a running server sees only what is flushed to table files.
    return Fail(data_dir +
                " is in use by a running edgewise server: ask the server instead (edgewise-ctl "
                "stats --server URL)");
  }
  auto store = OpenStore(data_dir, /*read_only=*/true);
  if (!store.ok()) return Fail(store.status().ToString());
  storage::StoreStats st = (*store)->Stats();
  if (json) {
    std::printf("{\"flushed_log_position\":%llu,\"node_count\":%llu,\"families\":[",
                static_cast<unsigned long long>(st.flushed_log_position),
                static_cast<unsigned long long>(st.node_count));
    for (size_t i = 0; i < st.families.size(); ++i) {
      std::printf("%s{\"name\":\"%s\",\"live_bytes\":%llu,\"keys_estimate\":%llu}", i ? "," : "",
                  st.families[i].name.c_str(),
                  static_cast<unsigned long long>(st.families[i].live_bytes),
                  static_cast<unsigned long long>(st.families[i].keys_estimate));
    }
    std::printf("],\"bytes_on_disk\":%llu}\n",
                static_cast<unsigned long long>(DirBytes(StoreDirOf(data_dir))));
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"COLUMN FAMILY", "LIVE BYTES", "KEYS (EST.)"}};
  uint64_t total = 0;
  for (const auto& f : st.families) {
    rows.push_back({f.name, Bytes(f.live_bytes), std::to_string(f.keys_estimate)});
    total += f.live_bytes;
  }
  rows.push_back({"(all)", Bytes(total), ""});
  std::printf("%s", FormatTable(rows, {false, true, true}).c_str());
  std::printf("\nnodes: %llu   flushed log position: %llu   files on disk: %s\n",
              static_cast<unsigned long long>(st.node_count),
              static_cast<unsigned long long>(st.flushed_log_position),
              Bytes(DirBytes(StoreDirOf(data_dir))).c_str());
  return 0;
}

int CtlCompact(const std::string& data_dir, bool json) {
  std::string store_dir = StoreDirOf(data_dir);
  if (int rc = RefuseIfRunning(store_dir, data_dir)) return rc;
  uint64_t before = DirBytes(store_dir);
  auto store = OpenStore(data_dir, false);
  if (!store.ok()) return Fail(store.status().ToString());
  Progress p("compact", [&] { return Bytes(DirBytes(store_dir)) + " on disk"; });
  Status st = (*store)->CompactAll();
  p.Finish(st.ok());
  if (!st.ok()) return Fail(st.ToString());
  const uint64_t after = DirBytes(store_dir);
  if (json) {
    std::printf("{\"data_dir\":%s,\"bytes_before\":%llu,\"bytes_after\":%llu}\n",
                JsonString(data_dir).c_str(), static_cast<unsigned long long>(before),
                static_cast<unsigned long long>(after));
    return 0;
  }
  std::printf("compacted %s: %s -> %s\n", data_dir.c_str(), Bytes(before).c_str(),
              Bytes(after).c_str());
  return 0;
}

int CtlUpgrade(const std::string& data_dir, bool json) {
  std::string store_dir = StoreDirOf(data_dir);
  if (int rc = RefuseIfRunning(store_dir, data_dir)) return rc;
  Progress p("upgrade", [&] { return Bytes(DirBytes(store_dir)) + " on disk"; });
  // Opening for writing upgrades an older store (docs/format/storage.md "Upgrades").
  auto store = OpenStore(data_dir, false);
  p.Finish(store.ok());
  if (!store.ok()) return Fail(store.status().ToString());
  if (json) {
    std::printf("{\"data_dir\":%s,\"upgraded\":true}\n", JsonString(data_dir).c_str());
    return 0;
  }
  std::printf("%s is at the current storage schema\n", data_dir.c_str());
  return 0;
}

int CtlBackup(const std::string& data_dir, const std::string& to, bool json) {
  std::string store_dir = StoreDirOf(data_dir);
  if (int rc = RefuseIfRunning(store_dir, data_dir)) return rc;
  std::error_code ec;
  fs::path target = fs::path(to) / "db";
  if (fs::exists(target, ec)) return Fail("backup target " + target.string() + " exists already");
  fs::create_directories(to, ec);
  if (ec) return Fail("creating " + to + ": " + ec.message());
  auto store = OpenStore(data_dir, false);
  if (!store.ok()) return Fail(store.status().ToString());
  Progress p("backup", [&] { return Bytes(DirBytes(target.string())) + " written"; });
  Status st = (*store)->Checkpoint(target.string());
  p.Finish(st.ok());
  if (!st.ok()) return Fail(st.ToString());
  if (json) {
    std::printf("{\"data_dir\":%s,\"to\":%s,\"bytes\":%llu}\n", JsonString(data_dir).c_str(),
                JsonString(to).c_str(), static_cast<unsigned long long>(DirBytes(target.string())));
    return 0;
  }
  std::printf(
      "backup of %s written to %s (%s; table files are hard links when on the same "
      "file system)\n",
      data_dir.c_str(), to.c_str(), Bytes(DirBytes(target.string())).c_str());
  return 0;
}

int CtlRestore(const std::string& from, const std::string& data_dir, bool json) {
  std::error_code ec;
  fs::path source = fs::path(from) / "db";
  if (!fs::is_directory(source, ec)) source = from;
  if (!fs::exists(source / "CURRENT", ec)) return Fail("no backup in " + from);
  fs::path target = fs::path(data_dir) / "db";
  if (StoreInUse(target.string()) || StoreInUse(data_dir)) {
    return Fail("refusing to restore into " + data_dir +
                ": it is in use by a running edgewise server (its RocksDB LOCK is held); stop "
                "the server first");
  }
  if (fs::exists(target, ec) && !fs::is_empty(target, ec)) {
    return Fail("refusing to restore into " + data_dir + ": " + target.string() +
                " exists and is not empty (move it away first)");
  }
  Progress p("restore", [&] { return Bytes(DirBytes(target.string())) + " restored"; });
  Status st = storage::RestoreCheckpoint(source.string(), target.string());
  p.Finish(st.ok());
  if (!st.ok()) return Fail(st.ToString());
  if (json) {
    std::printf("{\"from\":%s,\"data_dir\":%s,\"bytes\":%llu}\n", JsonString(from).c_str(),
                JsonString(data_dir).c_str(),
                static_cast<unsigned long long>(DirBytes(target.string())));
    return 0;
  }
  std::printf("restored %s into %s\n", from.c_str(), data_dir.c_str());
  return 0;
}

namespace {

// One admin request; prints the HTTP error and returns the exit code (3: unreachable).
int AdminCall(const AdminTarget& t, const std::string& method, const std::string& target,
              std::string* body) {
  HttpHeaders headers;
  if (!t.token.empty()) headers.emplace_back("Authorization", "Bearer " + t.token);
  // Backups and compactions of large stores take minutes.
  HttpConnection http(t.server, 6 * 3600 * 1000);
  auto r = method == "POST"     ? http.Post(target, "", "application/octet-stream", headers)
           : method == "DELETE" ? http.Request("DELETE", target, headers, "")
                                : http.Get(target, headers);
  if (!r.ok()) {
    std::fprintf(stderr, "edgewise-ctl: server unreachable: %s\n", r.status().message().c_str());
    return 3;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "edgewise-ctl: %s %s: HTTP %d: %s\n", method.c_str(), target.c_str(),
                 r->status, r->body.c_str());
    return 1;
  }
  *body = std::move(r->body);
  return 0;
}

uint64_t U64(simdjson::dom::element e, const char* key) {
  uint64_t v = 0;
  return e[key].get(v) == simdjson::SUCCESS ? v : 0;
}

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  return e[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

std::string UrlEscape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

}  // namespace

int CtlOnlineBackup(const AdminTarget& t, const std::string& dir, bool json) {
  std::error_code ec;
  const std::string abs = fs::absolute(dir, ec).lexically_normal().string();
  std::string body;
  Progress p("backup", [] { return std::string("server writing"); });
  int rc = AdminCall(t, "POST", "/api/v1/admin/backup?dir=" + UrlEscape(abs), &body);
  p.Finish(rc == 0);
  if (rc != 0) return rc;
  if (json) {
    std::printf("%s\n", body.c_str());
    return 0;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  uint64_t bytes = 0, position = 0;
  if (parser.parse(body).get(doc) == simdjson::SUCCESS) {
    bytes = U64(doc, "bytes");
    position = U64(doc, "flushed_log_position");
  }
  std::printf(
      "online backup written to %s (%s, ingest log position %llu); restore with edgewise-ctl "
      "restore --from %s --data-dir DIR\n",
      abs.c_str(), Bytes(bytes).c_str(), static_cast<unsigned long long>(position), abs.c_str());
  return 0;
}

int CtlOnlineCompact(const AdminTarget& t, bool json) {
  std::string body;
  Progress p("compact", [] { return std::string("server compacting"); });
  int rc = AdminCall(t, "POST", "/api/v1/admin/compact", &body);
  p.Finish(rc == 0);
  if (rc != 0) return rc;
  if (json) {
    std::printf("%s\n", body.c_str());
    return 0;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  uint64_t before = 0, after = 0;
  if (parser.parse(body).get(doc) == simdjson::SUCCESS) {
    before = U64(doc, "live_bytes_before");
    after = U64(doc, "live_bytes_after");
  }
  std::printf("compacted the running server's store: %s -> %s live\n", Bytes(before).c_str(),
              Bytes(after).c_str());
  return 0;
}

int CtlTenantDelete(const AdminTarget& t, const std::string& tenant, bool json) {
  std::string body;
  Progress p("tenant-delete", [] { return std::string("server deleting"); });
  int rc = AdminCall(t, "DELETE", "/api/v1/admin/tenant?name=" + UrlEscape(tenant), &body);
  p.Finish(rc == 0);
  if (rc != 0) return rc;
  if (json) {
    std::printf("%s\n", body.c_str());
    return 0;
  }
  std::printf("tenant '%s' deleted from the running server's store\n", tenant.c_str());
  return 0;
}

int CtlOnlineStoreStats(const AdminTarget& t) {
  std::string body;
  if (int rc = AdminCall(t, "GET", "/api/v1/admin/stats", &body)) return rc;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return Fail("unreadable admin stats");
  std::vector<std::vector<std::string>> rows{{"COLUMN FAMILY", "LIVE BYTES", "KEYS (EST.)"}};
  uint64_t total = 0;
  simdjson::dom::array families;
  if (doc["families"].get(families) == simdjson::SUCCESS) {
    for (simdjson::dom::element f : families) {
      std::string name;
      uint64_t live = 0, keys = 0;
      name = Str(f, "name");
      live = U64(f, "live_bytes");
      keys = U64(f, "keys_estimate");
      rows.push_back({name, Bytes(live), std::to_string(keys)});
      total += live;
    }
  }
  rows.push_back({"(all)", Bytes(total), ""});
  uint64_t nodes = 0, position = 0, on_disk = 0;
  nodes = U64(doc, "node_count");
  position = U64(doc, "flushed_log_position");
  on_disk = U64(doc, "bytes_on_disk");
  std::printf("%s", FormatTable(rows, {false, true, true}).c_str());
  std::printf("\nnodes: %llu   flushed log position: %llu   files on disk: %s\n",
              static_cast<unsigned long long>(nodes), static_cast<unsigned long long>(position),
              Bytes(on_disk).c_str());
  return 0;
}

}  // namespace ew::tools
