// edgewise-ctl: the query and administration CLI of Edgewise. Usage: kUsage and each command's
// usage below (`edgewise-ctl COMMAND --help`).
//
// The query commands map one flag to one parameter of their endpoint (docs/query.md
// "Endpoints"): --min-requests is min_requests=, a boolean flag (--explain) sends =true, and an
// absent flag sends nothing, so the server's defaults and checks apply unchanged. --json prints
// the server's answer as it came.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tools/ctl_admin.h"
#include "tools/ctl_capacity.h"
#include "tools/ctl_render.h"
#include "tools/flags.h"
#include "tools/http_client.h"

namespace {

constexpr const char* kUsage =
    R"(usage: edgewise-ctl COMMAND [options]     (edgewise-ctl COMMAND --help: its options)

queries (against a running server):
  map      the service map: nodes and edges, with focus, compare, grouping, top N, the plan
  service  one node: incoming and outgoing edges, connected nodes, missing-edge diagnostics
  series   the trend of one edge (or of a query) in steps
  traces   exemplar trace ids of one edge
  capacity per service and edge: the busiest minute per step and its growth
  stats    server metrics (GET /metrics); with --data-dir, also the store's column families
administration (of a running server with --server, or of a stopped server's --data-dir):
  compact  --server URL | --data-dir DIR
  backup   --server URL BACKUP_DIR | --data-dir DIR --to BACKUP_DIR
  restore  --from BACKUP_DIR --data-dir DIR   (refuses a directory a running server holds)
  tenant-delete --server URL TENANT   deletes a tenant's data on a running server (admin scope)
  upgrade  --data-dir DIR   upgrades a stopped server's store written by an older Edgewise

options of every query command:
  --server URL   default http://127.0.0.1:8080, or $EDGEWISE_SERVER
  --token T      sent as Authorization: Bearer T (a server run with --auth-token); or
                 $EDGEWISE_TOKEN
  --json         the server's JSON answer unchanged instead of tables
times: RFC 3339, unix seconds, or now-15m style; node ids come from `map` (ID column).
exit codes: 0 ok, 1 failure (an HTTP error is printed), 2 usage, 3 server unreachable
)";

struct Command {
  std::string name;
  std::string path;                 // the endpoint; empty for the other commands
  std::vector<std::string> valued;  // flags with a value, each an endpoint parameter
  std::vector<std::string> booleans;
  std::string usage;
};

constexpr const char* kQueryOptions =
    R"(  --server URL  --token T  --json  (edgewise-ctl --help)
)";

constexpr const char* kMapUsage = R"(usage: edgewise-ctl map [options]      GET /api/v1/map
  --query Q            filter (docs/query.md), e.g. 'server.namespace = shop'
  --start T --end T    range (default the last hour)
  --focus ID           only the edges around a node (its ID from this table, or ns:NAME)
  --depth N            hops from --focus, 1 to 100 (default 1)
  --compare D          compare with the range shifted by D (-1d, -7d, +1h): change columns
  --min-requests N     drop edges with fewer requests
  --errors-only        only edges with errors
  --top N              keep the N largest edges; --top-by requests|errors (default requests)
  --group namespace    one node per namespace
  --explain            print the query plan too
)";
constexpr const char* kServiceUsage =
    R"(usage: edgewise-ctl service (--id ID | [--kind K] [--namespace NS] --name NAME |
                            --kind namespace --namespace NS) [options]      GET /api/v1/service
  --id ID              a node id from `edgewise-ctl map` (n12, ns:shop)
  --kind K             service (default), external_client, external_service, database,
                       messaging, namespace; e.g. --kind database --name redis
  --namespace NS --name NAME
  --query Q --start T --end T --explain   as for map
)";
constexpr const char* kSeriesUsage =
    R"(usage: edgewise-ctl series (--source ID --target ID | --query Q) [options]
                                                           GET /api/v1/edge/series
  --source ID --target ID   the edge (ids from `edgewise-ctl map`; ns:NAME for namespaces)
  --query Q                 everything the query selects (with or without an edge)
  --step D                  whole minutes, e.g. 1m, 1h (default about 60 points)
  --start T --end T --explain
)";
constexpr const char* kTracesUsage =
    R"(usage: edgewise-ctl traces --source ID --target ID [options]   GET /api/v1/edge/traces
  --errors true|false  true: error traces only, false: successful ones only (default both)
  --limit N            at most N, newest first (1 to 1000, default 100)
  --start T --end T
)";
constexpr const char* kCapacityUsage =
    R"(usage: edgewise-ctl capacity [options]                    GET /api/v1/capacity
  per service (incoming traffic) and per edge: each step's busiest minute (peak rate), and its
  growth over the range (% per day, change first -> last step), fastest growth first
  --query Q            filter (docs/query.md; not on error)
  --start T --end T    range, e.g. --start now-90d
  --step D             whole minutes (default 1d); the tier it reads must still hold the range
  --top N              the N fastest-growing services and edges
  --explain            print the query plan too (with --json)
)";
constexpr const char* kStatsUsage = R"(usage: edgewise-ctl stats [--data-dir DIR] [options]
  server metrics (GET /metrics, summarised; --json: the Prometheus text) and the running store's
  column families (GET /api/v1/admin/stats); with --data-dir and no --server, the column
  families of a stopped server's directory
)";
constexpr const char* kCompactUsage =
    R"(usage: edgewise-ctl compact (--server URL [--token T] | --data-dir DIR) [--json]
  compacts the store of a running server (POST /api/v1/admin/compact) or of a stopped server's
  directory (--json: sizes before and after as JSON)
)";
constexpr const char* kUpgradeUsage =
    R"(usage: edgewise-ctl upgrade --data-dir DIR [--json]
  upgrades a stopped server's store written by an older Edgewise to the current storage schema
  (edgewise does the same when it starts on it; docs/format/storage.md "Upgrades")
)";
constexpr const char* kBackupUsage =
    R"(usage: edgewise-ctl backup --server URL [--token T] (BACKUP_DIR | --to BACKUP_DIR) [--json]
       edgewise-ctl backup --data-dir DIR --to BACKUP_DIR [--json]
  online: the running server flushes, then writes a RocksDB checkpoint into BACKUP_DIR (a path
  on the server's machine; a relative path is made absolute here) with BACKUP.json (the ingest
  log position it covers); POST /api/v1/admin/backup. Offline: a checkpoint of a stopped
  server's store. Restore either with `edgewise-ctl restore` (--json: the outcome as JSON)
)";
constexpr const char* kTenantDeleteUsage =
    R"(usage: edgewise-ctl tenant-delete --server URL [--token T] TENANT [--json]
  deletes every record of TENANT on a running server (DELETE /api/v1/admin/tenant?name=TENANT,
  a token with the admin scope): its rollups, exemplars, expiry counts and waiting halves; the
  other tenants are untouched. Tenant `default` cannot be deleted. Stop the tenant's senders
  first (requests it sends meanwhile may or may not be deleted)
)";
constexpr const char* kRestoreUsage =
    R"(usage: edgewise-ctl restore --from BACKUP_DIR --data-dir DIR [--json]
  restores a backup into an empty data directory (refused while a server holds it; --json: the
  outcome as JSON)
)";

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"map",
       "/api/v1/map",
       {"query", "start", "end", "focus", "depth", "compare", "min-requests", "top", "top-by",
        "group"},
       {"explain", "errors-only"},
       std::string(kMapUsage) + kQueryOptions},
      {"service",
       "/api/v1/service",
       {"query", "start", "end", "id", "namespace", "name", "kind"},
       {"explain"},
       std::string(kServiceUsage) + kQueryOptions},
      {"series",
       "/api/v1/edge/series",
       {"query", "start", "end", "source", "target", "step"},
       {"explain"},
       std::string(kSeriesUsage) + kQueryOptions},
      {"traces",
       "/api/v1/edge/traces",
       {"start", "end", "source", "target", "errors", "limit"},
       {},
       std::string(kTracesUsage) + kQueryOptions},
      {"capacity",
       "/api/v1/capacity",
       {"query", "start", "end", "step", "top"},
       {"explain"},
       std::string(kCapacityUsage) + kQueryOptions},
      {"stats", "", {"data-dir"}, {}, std::string(kStatsUsage) + kQueryOptions},
      {"compact", "", {"data-dir", "server", "token"}, {}, kCompactUsage},
      {"backup", "", {"data-dir", "to", "server", "token"}, {}, kBackupUsage},
      {"restore", "", {"from", "data-dir"}, {}, kRestoreUsage},
      {"upgrade", "", {"data-dir"}, {}, kUpgradeUsage},
      {"tenant-delete", "", {"server", "token"}, {}, kTenantDeleteUsage},
  };
  return kCommands;
}

int UsageError(const std::string& error, const std::string& usage) {
  std::fprintf(stderr, "edgewise-ctl: %s\n%s", error.c_str(), usage.c_str());
  return 2;
}

std::string Env(const char* name, const std::string& def) {
  const char* v = std::getenv(name);
  return v && *v ? v : def;
}

// The endpoint target: one parameter per given flag (--top-by -> top_by=).
std::string Target(const ew::tools::Flags& f, const Command& c) {
  std::string target = c.path;
  char sep = '?';
  auto add = [&](const std::string& flag) {
    if (!f.Has(flag)) return;
    std::string param = flag;
    for (char& ch : param) ch = ch == '-' ? '_' : ch;
    target += sep + param + "=" + ew::tools::UrlEncode(f.Str(flag));
    sep = '&';
  };
  for (const std::string& k : c.valued) add(k);
  for (const std::string& k : c.booleans) add(k);
  return target;
}

using Renderer = std::function<ew::Result<std::string>(std::string_view)>;

Renderer RendererOf(const std::string& cmd) {
  if (cmd == "map") return ew::tools::RenderMap;
  if (cmd == "service") return ew::tools::RenderService;
  if (cmd == "series") return ew::tools::RenderSeries;
  if (cmd == "traces") return ew::tools::RenderTraces;
  if (cmd == "capacity") return ew::tools::RenderCapacity;
  return [](std::string_view text) -> ew::Result<std::string> {
    return ew::tools::SummariseMetrics(text);
  };
}

// GETs target and prints the answer (rendered unless --json). Returns the exit code.
int Query(const ew::tools::Flags& f, const Command& c, const std::string& target) {
  auto hp =
      ew::tools::ParseHostPort(f.Str("server", Env("EDGEWISE_SERVER", "http://127.0.0.1:8080")));
  if (!hp.ok()) return UsageError("--server: " + hp.status().message(), c.usage);
  ew::tools::HttpHeaders headers;
  const std::string token = f.Str("token", Env("EDGEWISE_TOKEN", ""));
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  ew::tools::HttpConnection http(*hp);
  auto r = http.Get(target, headers);
  if (!r.ok()) {
    std::fprintf(stderr, "edgewise-ctl: server unreachable: %s\n", r.status().message().c_str());
    return 3;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "edgewise-ctl: GET %s: HTTP %d: %s\n", target.c_str(), r->status,
                 r->body.c_str());
    if (c.name == "service" && r->status == 404 && !f.Has("kind") && !f.Has("id")) {
      std::fprintf(stderr,
                   "edgewise-ctl: a node that is not a service needs --kind (database, "
                   "external_service, messaging, external_client), or --id from "
                   "`edgewise-ctl map`\n");
    }
    return 1;
  }
  if (f.Has("json")) {
    std::printf("%s%s", r->body.c_str(), r->body.empty() || r->body.back() != '\n' ? "\n" : "");
    return 0;
  }
  auto text = RendererOf(c.name)(r->body);
  if (!text.ok()) {
    std::fprintf(stderr, "edgewise-ctl: %s\n", text.status().message().c_str());
    return 1;
  }
  std::printf("%s", text->c_str());
  return 0;
}

// A usage message when the command's required flags are missing, else "".
std::string Missing(const ew::tools::Flags& f, const std::string& cmd) {
  auto need = [&](std::initializer_list<const char*> keys) -> std::string {
    for (const char* k : keys) {
      if (!f.Has(k)) return cmd + " needs --" + k;
    }
    return "";
  };
  if (cmd == "service" && !f.Has("id") && !f.Has("name") &&
      !(f.Str("kind") == "namespace" && f.Has("namespace"))) {
    return "service needs --id, --name, or --kind namespace --namespace NS";
  }
  if (cmd == "series" && !f.Has("query") && (!f.Has("source") || !f.Has("target"))) {
    return "series needs --source and --target, or --query";
  }
  if (cmd == "traces") return need({"source", "target"});
  if (cmd == "compact" && !f.Has("server")) return need({"data-dir"});
  if (cmd == "upgrade") return need({"data-dir"});
  if (cmd == "backup" && f.Has("server")) {
    if (f.Has("data-dir")) return "backup takes --server or --data-dir, not both";
    if (f.Has("to") == (f.positional().size() == 1)) return "backup --server needs one BACKUP_DIR";
    return "";
  }
  if (cmd == "backup") return need({"data-dir", "to"});
  if (cmd == "restore") return need({"data-dir", "from"});
  if (cmd == "tenant-delete" && f.positional().size() != 1) return "tenant-delete needs one TENANT";
  return "";
}

// The --server address and --token (or their environment variables) of an admin command.
ew::Result<ew::tools::AdminTarget> AdminTargetOf(const ew::tools::Flags& f) {
  auto hp =
      ew::tools::ParseHostPort(f.Str("server", Env("EDGEWISE_SERVER", "http://127.0.0.1:8080")));
  if (!hp.ok()) return ew::Status::InvalidArgument("--server: " + hp.status().message());
  return ew::tools::AdminTarget{*hp, f.Str("token", Env("EDGEWISE_TOKEN", ""))};
}

int Stats(const ew::tools::Flags& f, const Command& c) {
  int rc = 0;
  const bool query = f.Has("server") || !f.Has("data-dir");
  if (query) rc = Query(f, c, "/metrics");
  if (query && rc == 0 && !f.Has("json")) {
    auto t = AdminTargetOf(f);
    if (!t.ok()) return UsageError(t.status().message(), c.usage);
    std::printf("\n");
    return ew::tools::CtlOnlineStoreStats(*t);
  }
  if (f.Has("data-dir")) {
    if (query && rc == 0 && !f.Has("json")) std::printf("\n");
    int rc2 = ew::tools::CtlStoreStats(f.Str("data-dir"), f.Has("json"));
    if (rc == 3 || rc2 != 0) return rc2 != 0 ? rc2 : 0;
  }
  return rc;
}

int Run(const Command& c, int argc, char** argv) {
  std::set<std::string> valued(c.valued.begin(), c.valued.end());
  std::set<std::string> booleans(c.booleans.begin(), c.booleans.end());
  booleans.insert("help");
  booleans.insert("json");
  if (!c.path.empty() || c.name == "stats") valued.insert({"server", "token"});
  ew::tools::Flags f(valued, booleans);
  ew::Status st = f.Parse(argc, argv, 2);
  bool help = f.Has("help");
  for (int i = 2; i < argc && !st.ok(); ++i) {  // even after a mistake elsewhere on the line
    help = help || std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h";
  }
  if (help) {
    std::printf("%s", c.usage.c_str());
    return 0;
  }
  if (!st.ok()) return UsageError(st.message(), c.usage);
  const bool online_backup = c.name == "backup" && f.Has("server");
  const bool one_positional = online_backup || c.name == "tenant-delete";
  if (!f.positional().empty() && !(one_positional && f.positional().size() == 1)) {
    return UsageError("unexpected argument '" + f.positional()[0] + "'", c.usage);
  }
  if (std::string m = Missing(f, c.name); !m.empty()) return UsageError(m, c.usage);
  if (!c.path.empty()) return Query(f, c, Target(f, c));
  if (c.name == "stats") return Stats(f, c);
  const bool json = f.Has("json");
  if (c.name == "tenant-delete") {
    auto t = AdminTargetOf(f);
    if (!t.ok()) return UsageError(t.status().message(), c.usage);
    return ew::tools::CtlTenantDelete(*t, f.positional()[0], json);
  }
  if ((c.name == "compact" || c.name == "backup") && f.Has("server")) {
    auto t = AdminTargetOf(f);
    if (!t.ok()) return UsageError(t.status().message(), c.usage);
    if (c.name == "compact") return ew::tools::CtlOnlineCompact(*t, json);
    return ew::tools::CtlOnlineBackup(*t, f.Has("to") ? f.Str("to") : f.positional()[0], json);
  }
  if (c.name == "compact") return ew::tools::CtlCompact(f.Str("data-dir"), json);
  if (c.name == "upgrade") return ew::tools::CtlUpgrade(f.Str("data-dir"), json);
  if (c.name == "backup") return ew::tools::CtlBackup(f.Str("data-dir"), f.Str("to"), json);
  return ew::tools::CtlRestore(f.Str("from"), f.Str("data-dir"), json);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return UsageError("no command", kUsage);
  const std::string cmd = argv[1];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    if (cmd == "help" && argc > 2) {
      for (const Command& c : Commands()) {
        if (c.name == argv[2]) return std::printf("%s", c.usage.c_str()) < 0 ? 1 : 0;
      }
    }
    std::printf("%s", kUsage);
    return 0;
  }
  for (const Command& c : Commands()) {
    if (c.name == cmd) return Run(c, argc, argv);
  }
  return UsageError("unknown command '" + cmd + "'", kUsage);
}
