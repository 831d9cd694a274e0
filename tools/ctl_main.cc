// edgewise-ctl: the query and administration CLI of Edgewise. Usage: kUsage below.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/ctl_admin.h"
#include "tools/ctl_render.h"
#include "tools/flags.h"
#include "tools/http_client.h"

namespace {

constexpr const char* kUsage = R"(usage: edgewise-ctl COMMAND [options]

queries (against a running server; --server URL, default http://127.0.0.1:8080 or
$EDGEWISE_SERVER; tables by default, --json for the raw answer):
  map      [--query Q] [--start T] [--end T]
  service  --namespace NS --name NAME [--start T] [--end T]
  series   (--source ID --target ID | --query Q) [--start T] [--end T] [--step D]
  traces   --source ID --target ID [--start T] [--end T] [--errors true|false]
  stats    [--data-dir DIR]   server metrics (GET /metrics); with --data-dir, also the store's
                              column families (works on a stopped server's directory)
administration (of a stopped server's data directory):
  compact  --data-dir DIR
  backup   --data-dir DIR --to BACKUP_DIR
  restore  --from BACKUP_DIR --data-dir DIR   (refuses a directory a running server holds)
times: RFC 3339, unix seconds, or now-15m style; node ids come from `map` (ID column).
exit codes: 0 ok, 1 failure, 2 usage, 3 server unreachable
)";

int Usage(const std::string& error) {
  if (!error.empty()) std::fprintf(stderr, "edgewise-ctl: %s\n", error.c_str());
  std::fprintf(stderr, "%s", kUsage);
  return 2;
}

// GETs path and prints the answer (rendered unless --json). Returns the exit code.
int Query(const ew::tools::Flags& f, const std::string& path,
          const std::vector<std::string>& params, bool is_map) {
  const char* env = std::getenv("EDGEWISE_SERVER");
  auto hp = ew::tools::ParseHostPort(f.Str("server", env ? env : "http://127.0.0.1:8080"));
  if (!hp.ok()) return Usage(hp.status().message());
  std::string target = path;
  char sep = '?';
  for (const std::string& p : params) {
    if (!f.Has(p)) continue;
    target += sep + p + "=" + ew::tools::UrlEncode(f.Str(p));
    sep = '&';
  }
  auto r = ew::tools::HttpGet(*hp, target);
  if (!r.ok()) {
    std::fprintf(stderr, "edgewise-ctl: server unreachable: %s\n", r.status().message().c_str());
    return 3;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "edgewise-ctl: GET %s: HTTP %d: %s\n", target.c_str(), r->status,
                 r->body.c_str());
    return 1;
  }
  if (f.Has("json") || path == "/metrics") {
    if (path == "/metrics" && !f.Has("json")) {
      std::printf("%s", ew::tools::SummariseMetrics(r->body).c_str());
    } else {
      std::printf("%s%s", r->body.c_str(), r->body.empty() || r->body.back() != '\n' ? "\n" : "");
    }
    return 0;
  }
  auto text = is_map ? ew::tools::RenderMap(r->body) : ew::tools::RenderGeneric(r->body);
  if (!text.ok()) {
    std::fprintf(stderr, "edgewise-ctl: %s\n", text.status().message().c_str());
    return 1;
  }
  std::printf("%s", text->c_str());
  return 0;
}

int Require(const ew::tools::Flags& f, std::initializer_list<const char*> keys,
            const std::string& cmd) {
  for (const char* k : keys) {
    if (!f.Has(k)) return Usage(cmd + " needs --" + k);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("");
  std::string cmd = argv[1];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") return Usage("");
  ew::tools::Flags f({"server", "query", "start", "end", "namespace", "name", "source", "target",
                      "step", "errors", "data-dir", "to", "from"},
                     {"json", "help"});
  if (auto st = f.Parse(argc, argv, 2); !st.ok()) return Usage(st.message());
  if (f.Has("help")) return Usage("");
  if (!f.positional().empty()) return Usage("unexpected argument '" + f.positional()[0] + "'");
  if (cmd == "map") return Query(f, "/api/v1/map", {"query", "start", "end"}, true);
  if (cmd == "service") {
    if (int rc = Require(f, {"name"}, cmd)) return rc;
    return Query(f, "/api/v1/service", {"namespace", "name", "start", "end"}, false);
  }
  if (cmd == "series") {
    if (!f.Has("query") && (!f.Has("source") || !f.Has("target"))) {
      return Usage("series needs --source and --target, or --query");
    }
    return Query(f, "/api/v1/edge/series", {"source", "target", "query", "start", "end", "step"},
                 false);
  }
  if (cmd == "traces") {
    if (int rc = Require(f, {"source", "target"}, cmd)) return rc;
    return Query(f, "/api/v1/edge/traces", {"source", "target", "start", "end", "errors"}, false);
  }
  if (cmd == "stats") {
    int rc = 0;
    const bool query = f.Has("server") || !f.Has("data-dir");
    if (query) rc = Query(f, "/metrics", {}, false);
    if (f.Has("data-dir")) {
      if (query && rc == 0 && !f.Has("json")) std::printf("\n");
      int rc2 = ew::tools::CtlStoreStats(f.Str("data-dir"), f.Has("json"));
      if (rc == 3 || rc2 != 0) return rc2 != 0 ? rc2 : 0;
    }
    return rc;
  }
  if (cmd == "compact") {
    if (int rc = Require(f, {"data-dir"}, cmd)) return rc;
    return ew::tools::CtlCompact(f.Str("data-dir"));
  }
  if (cmd == "backup") {
    if (int rc = Require(f, {"data-dir", "to"}, cmd)) return rc;
    return ew::tools::CtlBackup(f.Str("data-dir"), f.Str("to"));
  }
  if (cmd == "restore") {
    if (int rc = Require(f, {"data-dir", "from"}, cmd)) return rc;
    return ew::tools::CtlRestore(f.Str("from"), f.Str("data-dir"));
  }
  return Usage("unknown command '" + cmd + "'");
}
