#include "server/app.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "base/config.h"
#include "base/log.h"
#include "base/memory_guard.h"
#include "base/metrics.h"
#include "base/thread_priority.h"
#include "ingest/ingest_service.h"
#include "query/query_service.h"
#include "server/admin.h"
#include "server/auth.h"
#include "server/grpc_server.h"
#include "server/http_server.h"
#include "server/routes.h"
#include "server/static_files.h"
#include "storage/edge_store.h"
#include "storage/edge_totals.h"

namespace ew::server {
namespace {

constexpr auto kDrainTimeout = std::chrono::seconds(30);

// Everything the running server owns, in construction order (destroyed in reverse).
// The HTTP server goes last: the query pool's destructor may still answer queued queries, whose
// answers are posted to the (stopped but not yet destroyed) I/O contexts.
struct Running {
  MetricsRegistry metrics;
  std::unique_ptr<Authenticator> auth;  // tokens, re-read on SIGHUP
  storage::EdgeTotals totals;           // /metrics/servicegraph: what the store applied since start
  std::unique_ptr<MemoryGuard> memory;  // --memory-budget (outlives ingest)
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<storage::EdgeStore> store;
  std::unique_ptr<ingest::IngestService> ingest;
  std::unique_ptr<GrpcServer> grpc;  // after ingest: destroyed (stopped) before it
  std::unique_ptr<query::QueryService> query;
  std::unique_ptr<StaticFiles> static_files;
  std::unique_ptr<Admin> admin;  // first to go: its thread may be running a backup
};

// Each module gets its own options, assembled here from the server's configuration.
ingest::IngestOptions IngestOptionsOf(const Config& c) {
  ingest::IngestOptions o;
  o.data_dir = c.data_dir;
  o.ingest_shards = c.ingest_shards;
  o.pair_wait_ms = c.pair_wait_ms;
  o.flush_interval_ms = c.flush_interval_ms;
  o.max_span_age_ms = c.max_span_age_ms;
  o.max_span_future_ms = c.max_span_future_ms;
  o.max_pending = c.max_pending;
  o.fsync = c.fsync == FsyncMode::kAlways     ? ingest::LogSync::kAlways
            : c.fsync == FsyncMode::kInterval ? ingest::LogSync::kInterval
                                              : ingest::LogSync::kNever;
  o.fsync_interval_ms = c.fsync_interval_ms;
  o.max_decompressed_bytes = c.max_decompressed_bytes;
  o.max_paths_per_edge = c.max_paths_per_edge;
  o.tenant_rates.spans_per_s = static_cast<double>(c.tenant_spans_per_second);
  o.tenant_rates.bytes_per_s = static_cast<double>(c.tenant_bytes_per_second);
  o.tenant_max_pending = c.tenant_max_pending;
  o.tenant_max_edges = c.tenant_max_edges;
  return o;
}

Status OpenServices(const Config& config, Running* r) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return Status::IOError("cannot create data directory '" + config.data_dir +
                           "': " + ec.message());
  }
  storage::StoreOptions options;
  options.dir = (std::filesystem::path(config.data_dir) / "db").string();
  options.retention_ms[0] = config.retention_1m_ms;
  options.retention_ms[1] = config.retention_1h_ms;
  options.retention_ms[2] = config.retention_1d_ms;
  options.exemplar_minutes_retention_ms = config.exemplar_minutes_retention_ms;
  options.sync_writes = config.fsync == FsyncMode::kAlways;
  options.metrics = &r->metrics;
  options.totals = &r->totals;
  auto store = storage::EdgeStore::Open(options);
  if (!store.ok()) return store.status().WithContext("opening " + options.dir);
  r->store = std::move(store).value();
  r->memory = std::make_unique<MemoryGuard>(
      config.memory_budget_auto ? MemoryGuard::DefaultBudget() : config.memory_budget_bytes,
      &r->metrics);
  r->memory->Start();
  ingest::IngestOptions io = IngestOptionsOf(config);
  io.memory_guard = r->memory.get();
  auto ingest = ingest::IngestService::Create(r->store.get(), io, &r->metrics);
  if (!ingest.ok()) return ingest.status().WithContext("creating ingest");
  r->ingest = std::move(ingest).value();
  EW_RETURN_IF_ERROR(r->ingest->Start().WithContext("starting ingest"));
  query::QueryServiceOptions q;
  q.scan_threads = static_cast<int>(config.query_threads);
  q.trace_url = config.trace_url;
  q.workers = static_cast<int>(config.query_workers);
  q.queue = config.query_queue;
  q.timeout = std::chrono::milliseconds(config.query_timeout_ms);
  q.max_edges = config.query_max_edges;
  q.nice = static_cast<int>(config.query_nice);
  q.policy = config.query_sched_idle ? CpuPolicy::kIdle : CpuPolicy::kNormal;
  q.slice_us = config.query_slice_us;
  q.totals = &r->totals;
  r->query = query::QueryService::Create(r->store.get(), &r->metrics, std::move(q));
  if (r->query == nullptr) return Status::Internal("creating the query service failed");
  std::string web_dir = FindWebDir(config.web_dir);
  if (web_dir.empty()) {
    EW_LOG(kInfo) << "server: no web UI bundle found; / serves a placeholder page";
  } else {
    EW_LOG(kInfo) << "server: serving the web UI from " << web_dir;
  }
  r->static_files = std::make_unique<StaticFiles>(web_dir);
  r->admin = std::make_unique<Admin>(r->ingest.get(), r->store.get(), options.dir);
  return Status::Ok();
}

Status StartListeners(const Config& config, Running* r) {
  RouteContext ctx;
  ctx.config = &config;
  ctx.ingest = r->ingest.get();
  ctx.query = r->query.get();
  ctx.store = r->store.get();
  ctx.metrics = &r->metrics;
  ctx.static_files = r->static_files.get();
  ctx.admin = r->admin.get();
  ctx.auth = r->auth.get();
  std::vector<ListenerSpec> specs(2);
  specs[0] = {"otlp", config.otlp_addr, config.max_body_bytes, MakeOtlpHandler(ctx)};
  specs[1] = {"http", config.http_addr, 1 << 20, MakeHttpHandler(ctx)};
  EW_RETURN_IF_ERROR(r->http->Start(std::move(specs)));
  if (config.otlp_grpc_addr == "off") return Status::Ok();
  GrpcServerOptions grpc;
  grpc.addr = config.otlp_grpc_addr;
  grpc.max_message_bytes = config.max_body_bytes;
  grpc.auth = r->auth.get();
  grpc.tls_cert = config.tls_cert;
  grpc.tls_key = config.tls_key;
  grpc.tls_client_ca = config.tls_client_ca;
  auto server = GrpcServer::Start(grpc, r->ingest.get(), &r->metrics);
  if (!server.ok()) return server.status();
  r->grpc = std::move(server).value();
  return Status::Ok();
}

// SIGHUP: re-reads the tokens file (a malformed one keeps the tokens in use; the log names the
// line, never a token).
void OnHangup(Authenticator* auth, const std::string& tokens_file) {
  if (tokens_file.empty()) {
    EW_LOG(kInfo) << "server: SIGHUP: nothing to re-read (no --tokens-file); the server keeps "
                     "running";
    return;
  }
  Status st = auth->Reload();
  if (st.ok()) {
    EW_LOG(kInfo) << "server: SIGHUP: re-read " << tokens_file << ": " << auth->TokenCount()
                  << " tokens in use";
  } else {
    EW_LOG(kError) << "server: SIGHUP: " << st.message() << "; the previous tokens stay in use";
  }
}

void RegisterProcessMetrics(MetricsRegistry* metrics) {
  auto start = std::chrono::steady_clock::now();
  metrics->AddGaugeCallback("ew_uptime_seconds", "seconds since the server started", [start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
}

// Stops everything in order: listeners, connections and gRPC calls (answered), ingest (final
// flush), I/O threads.
void ShutDown(Running* r) {
  if (r->http) r->http->StopAccepting();
  if (r->grpc) r->grpc->Shutdown(kDrainTimeout);
  if (r->http) {
    if (!r->http->Drain(kDrainTimeout)) {
      EW_LOG(kWarn) << "server: connections still open after the drain timeout; closing them";
    }
  }
  if (r->ingest) r->ingest->Shutdown();
  if (r->http) r->http->Stop();
}

}  // namespace

int RunEdgewise(int argc, const char* const* argv) {
  bool help = false;
  auto parsed = ParseConfig(argc, argv, &help);
  std::string program = argc > 0 ? argv[0] : "edgewise";
  if (help) {
    std::cout << ConfigHelpText(program) << std::flush;
    return 0;
  }
  if (!parsed.ok()) {
    std::cerr << "edgewise: " << parsed.status().message() << "\n"
              << "run '" << program << " --help' for the flags\n";
    return 2;
  }
  const Config config = std::move(parsed).value();
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(config.log_level, &level);  // validated by ParseConfig
  SetLogLevel(level);
  signal(SIGPIPE, SIG_IGN);

  Running r;
  RegisterProcessMetrics(&r.metrics);
  auto auth = Authenticator::Create(
      AuthOptions{config.tokens_file, config.auth_token, config.tenant_header});
  if (!auth.ok()) {
    std::cerr << "edgewise: " << auth.status().message() << "\n";
    return 2;
  }
  r.auth = std::move(auth).value();
  // Created first: its signal set catches SIGTERM/SIGINT from here on (a signal during start-up,
  // e.g. a long log replay, is queued and shuts the server down cleanly once it is up).
  HttpServerOptions options;
  options.io_threads = config.io_threads;
  options.tls_cert = config.tls_cert;
  options.tls_key = config.tls_key;
  options.tls_client_ca = config.tls_client_ca;
  options.on_hangup = [auth = r.auth.get(), file = config.tokens_file] { OnHangup(auth, file); };
  r.http = std::make_unique<HttpServer>(options, &r.metrics);
  Status st = OpenServices(config, &r);
  if (st.ok()) st = StartListeners(config, &r);
  if (!st.ok()) {
    std::cerr << "edgewise: " << st.ToString() << "\n";
    ShutDown(&r);
    return 1;
  }
  auto bound = r.http->BoundAddresses();
  std::string grpc = r.grpc ? " grpc=" + r.grpc->bound() : "";
  std::cout << "edgewise ready otlp=" << bound[0] << " http=" << bound[1] << grpc << std::endl;
  EW_LOG(kInfo) << "server: ready, OTLP on " << bound[0] << ", HTTP on " << bound[1]
                << (r.grpc ? ", OTLP/gRPC on " + r.grpc->bound() : "");

  r.http->WaitForSignal();
  ShutDown(&r);
  EW_LOG(kInfo) << "server: stopped cleanly";
  return 0;
}

}  // namespace ew::server
