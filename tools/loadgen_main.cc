// edgewise-loadgen: synthetic OTLP traffic with a ground-truth ledger, and `verify`.
// Usage: see kUsage below and tools/README.md.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>

#include "base/time.h"
#include "tools/flags.h"
#include "tools/loadgen.h"
#include "tools/query_dataset.h"
#include "tools/rollups.h"
#include "tools/verify.h"

namespace {

constexpr const char* kUsage = R"(usage:
  edgewise-loadgen [run] [options]        send synthetic traces (Ctrl-C stops; the ledger is kept)
  edgewise-loadgen --demo [--otlp A]      a moving demo topology at a modest rate until Ctrl-C
  edgewise-loadgen verify --ledger FILE --http HOST:PORT [--total] [--timeout 60s]
                                           [--ignore-extra] [--no-protocol]
  edgewise-loadgen topology [--seed N ...] print the synthetic topology
  edgewise-loadgen rollups --data-dir DIR [--days 7] [--vm-out FILE] [--exemplars 1]
                                           write days of per-minute rollups of the topology's
                                           edges straight into a (stopped) server's store, and
                                           the same as Tempo service-graph series for
                                           VictoriaMetrics' /api/v1/import (benchmarks)
  edgewise-loadgen query-dataset --data-dir DIR [--services 1000] [--days 7] [--archive-days 1826]
                                           [--end-minute M]
                                           write the query benchmark's data set (10 calls per
                                           service; hot and cold edges; 3 paths each) straight
                                           into a (stopped) server's store, ending at minute M
                                           since the epoch (default: now)

run options:
  --otlp HOST:PORT      OTLP/HTTP listener (default 127.0.0.1:4318)
  --grpc HOST:PORT      with --preencoded: send over OTLP/gRPC to this listener instead
                        (--encoding proto, or gzip for gRPC's gzip message compression)
  --encoding E          proto | json | gzip | gzip-json (default proto) | zipkin |
                        gzip-zipkin (Zipkin v2 JSON to POST /api/v2/spans)
  --rate N              spans per second (default: as fast as possible)
  --connections N       keep-alive connections (default 2)
  --duration D          e.g. 30s, 5m (default: until --requests or Ctrl-C)
  --requests N          HTTP requests of generated traffic (held-back halves follow)
  --batch N             spans per HTTP request (default 512)
  --max-skew D          hold the later half of a request back up to D (default 3s; keep it
                        below the server's --pair-wait)
  --ledger FILE         write the ground-truth ledger (JSON)
  --summary FILE        write a JSON summary of the run
  --seed N --namespaces N --services N --fanout N --error-scale X   the topology
  --namespace-prefix P  put P before every namespace name (traffic on edges of its own)
  --preencoded          benchmark fast path: encode --bodies bodies once, then replay them
  --otlp-proto-only     same as --preencoded --encoding proto
  --bodies N            distinct pre-encoded bodies (default 64)
  --unpaired            pre-encoded: only client halves whose partner never comes
  --cross-share X       pre-encoded: share of spans paired across requests (default 0.5)
  --quiet               no progress line
exit codes: 0 ok, 1 failures or mismatch, 2 usage, 3 server unreachable
)";

void OnSignal(int) { ew::tools::g_stop_requested.store(true); }

int Usage(const std::string& error) {
  if (!error.empty()) std::fprintf(stderr, "edgewise-loadgen: %s\n", error.c_str());
  std::fprintf(stderr, "%s", kUsage);
  return 2;
}

int Verify(int argc, const char* const* argv) {
  ew::tools::Flags f({"ledger", "http", "timeout"},
                     {"total", "ignore-extra", "no-protocol", "quiet", "help"});
  if (auto st = f.Parse(argc, argv, 2); !st.ok()) return Usage(st.message());
  if (f.Has("help")) return Usage("");
  if (!f.Has("ledger") || !f.Has("http")) return Usage("verify needs --ledger and --http");
  auto hp = ew::tools::ParseHostPort(f.Str("http"));
  auto timeout = f.DurationMs("timeout", 60'000);
  if (!hp.ok()) return Usage(hp.status().message());
  if (!timeout.ok()) return Usage(timeout.status().message());
  ew::tools::VerifyOptions o;
  o.ledger_path = f.Str("ledger");
  o.server = *hp;
  o.per_minute = !f.Has("total");
  o.timeout_s = static_cast<int>(*timeout / 1000);
  o.ignore_extra = f.Has("ignore-extra");
  o.check_protocol = !f.Has("no-protocol");
  o.quiet = f.Has("quiet");
  return ew::tools::RunVerify(o);
}

int Rollups(int argc, const char* const* argv) {
  ew::tools::Flags f({"data-dir", "days", "vm-out", "exemplars", "seed", "namespaces", "services",
                      "fanout", "end-minute"},
                     {"help"});
  if (auto st = f.Parse(argc, argv, 2); !st.ok()) return Usage(st.message());
  if (!f.Has("data-dir")) return Usage("rollups needs --data-dir");
  ew::tools::RollupOptions o;
  o.data_dir = f.Str("data-dir");
  o.vm_out = f.Str("vm-out");
  auto days = f.Int("days", 7);
  auto ex = f.Int("exemplars", 1);
  auto seed = f.Int("seed", 1);
  auto nns = f.Int("namespaces", 3);
  auto nsvc = f.Int("services", 12);
  auto fanout = f.Int("fanout", 3);
  auto end = f.Int("end-minute", 0);
  for (auto* r : {&days, &ex, &seed, &nns, &nsvc, &fanout, &end}) {
    if (!r->ok()) return Usage(r->status().message());
  }
  if (*days < 1 || *days > 60) return Usage("--days: 1..60");
  o.days = *days;
  o.exemplars = static_cast<int>(std::clamp<int64_t>(*ex, 0, 4));
  o.end_minute = *end;
  o.topology.seed = static_cast<uint64_t>(*seed);
  o.topology.namespaces = static_cast<int>(std::max<int64_t>(1, *nns));
  o.topology.services = static_cast<int>(std::clamp<int64_t>(*nsvc, 2, 10'000));
  o.topology.fanout = static_cast<int>(std::max<int64_t>(1, *fanout));
  ew::tools::RollupSummary sum;
  return ew::tools::RunRollups(o, &sum);
}

int QueryDataset(int argc, const char* const* argv) {
  ew::tools::Flags f({"data-dir", "services", "days", "archive-days", "end-minute"}, {"help"});
  if (auto st = f.Parse(argc, argv, 2); !st.ok()) return Usage(st.message());
  if (!f.Has("data-dir")) return Usage("query-dataset needs --data-dir");
  ew::tools::QueryDatasetOptions o;
  auto services = f.Int("services", o.services);
  auto days = f.Int("days", o.history_days);
  auto archive = f.Int("archive-days", o.archive_days);
  auto end = f.Int("end-minute", ew::WallNowMs() / 60'000);
  for (auto* r : {&services, &days, &archive, &end}) {
    if (!r->ok()) return Usage(r->status().message());
  }
  if (*services < 20 || *services > 100'000) return Usage("--services: 20..100000");
  if (*days < 1 || *days > 60) return Usage("--days: 1..60");
  if (*archive < *days || *archive > 3650) return Usage("--archive-days: --days..3650");
  o.services = static_cast<int>(*services);
  o.hot_edges = std::max(1, o.services / 2);
  o.history_days = static_cast<int>(*days);
  o.archive_days = static_cast<int>(*archive);
  o.now_minute = *end;
  ew::storage::StoreOptions so;
  so.dir = f.Str("data-dir") + "/db";
  so.fixed_now_ms = o.now_minute * 60'000;  // retention measured from the data set's end
  so.close_days = false;                    // the generator builds the day blocks once, at the end
  auto store = ew::storage::EdgeStore::Open(so);
  if (!store.ok()) {
    std::fprintf(stderr, "query-dataset: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const int64_t t0 = ew::MonoNowNs();
  auto info = ew::tools::GenerateQueryDataset(store->get(), o);
  ew::Status st = info.ok() ? (*store)->CompactAll() : info.status();
  if (!st.ok()) {
    std::fprintf(stderr, "query-dataset: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf(
      "{\"edges\":%llu,\"rollups\":%llu,\"requests\":%llu,\"end_minute\":%lld,"
      "\"seconds\":%.1f}\n",
      static_cast<unsigned long long>(info->edges), static_cast<unsigned long long>(info->rollups),
      static_cast<unsigned long long>(info->requests), static_cast<long long>(o.now_minute),
      static_cast<double>(ew::MonoNowNs() - t0) / 1e9);
  return 0;
}

ew::Status ParseRunOptions(const ew::tools::Flags& f, ew::tools::LoadgenOptions* o) {
  if (f.Has("otlp")) {
    EW_ASSIGN_OR_RETURN(o->otlp, ew::tools::ParseHostPort(f.Str("otlp")));
  }
  EW_ASSIGN_OR_RETURN(o->encoding, ew::tools::ParseEncoding(f.Str("encoding", "proto")));
  if (f.Has("grpc")) {
    EW_ASSIGN_OR_RETURN(o->grpc, ew::tools::ParseHostPort(f.Str("grpc")));
    if (ew::tools::IsJson(o->encoding)) {
      return ew::Status::InvalidArgument("--grpc: OTLP/gRPC carries protobuf (proto or gzip)");
    }
  }
  EW_ASSIGN_OR_RETURN(o->rate, f.Double("rate", o->demo ? 300 : 0));
  EW_ASSIGN_OR_RETURN(int64_t conns, f.Int("connections", 2));
  EW_ASSIGN_OR_RETURN(o->duration_ms, f.DurationMs("duration", 0));
  EW_ASSIGN_OR_RETURN(int64_t reqs, f.Int("requests", 0));
  EW_ASSIGN_OR_RETURN(int64_t batch, f.Int("batch", o->demo ? 64 : 512));
  EW_ASSIGN_OR_RETURN(o->max_skew_ms, f.DurationMs("max-skew", 3000));
  EW_ASSIGN_OR_RETURN(int64_t seed, f.Int("seed", 1));
  EW_ASSIGN_OR_RETURN(int64_t nns, f.Int("namespaces", 3));
  EW_ASSIGN_OR_RETURN(int64_t nsvc, f.Int("services", 12));
  EW_ASSIGN_OR_RETURN(int64_t fanout, f.Int("fanout", 3));
  EW_ASSIGN_OR_RETURN(o->topology.error_scale, f.Double("error-scale", 1.0));
  EW_ASSIGN_OR_RETURN(int64_t bodies, f.Int("bodies", 64));
  EW_ASSIGN_OR_RETURN(o->cross_share, f.Double("cross-share", 0.5));
  if (conns < 1 || conns > 256) return ew::Status::InvalidArgument("--connections: 1..256");
  if (batch < 1 || batch > 100'000) return ew::Status::InvalidArgument("--batch: 1..100000");
  if (nsvc < 2 || nsvc > 10'000) return ew::Status::InvalidArgument("--services: 2..10000");
  if (bodies < 2) return ew::Status::InvalidArgument("--bodies: at least 2");
  o->connections = static_cast<int>(conns);
  o->requests = static_cast<uint64_t>(std::max<int64_t>(0, reqs));
  o->batch = static_cast<int>(batch);
  o->topology.seed = static_cast<uint64_t>(seed);
  o->topology.namespaces = static_cast<int>(std::max<int64_t>(1, nns));
  o->topology.services = static_cast<int>(nsvc);
  o->topology.fanout = static_cast<int>(std::max<int64_t>(1, fanout));
  o->topology.namespace_prefix = f.Str("namespace-prefix");
  o->bodies = static_cast<int>(bodies + (bodies & 1));
  o->ledger_path = f.Str("ledger");
  o->summary_path = f.Str("summary");
  o->unpaired = f.Has("unpaired");
  o->progress = !f.Has("quiet");
  return ew::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "verify") return Verify(argc, argv);
  if (cmd == "rollups") return Rollups(argc, argv);
  if (cmd == "query-dataset") return QueryDataset(argc, argv);
  if (cmd == "help" || cmd == "-h") return Usage("");
  int first = (cmd == "run" || cmd == "topology") ? 2 : 1;
  ew::tools::Flags f({"otlp", "grpc", "encoding", "rate", "connections", "duration", "requests",
                      "batch", "max-skew", "ledger", "summary", "seed", "namespaces", "services",
                      "fanout", "error-scale", "bodies", "cross-share", "namespace-prefix"},
                     {"demo", "preencoded", "otlp-proto-only", "unpaired", "quiet", "help"});
  if (auto st = f.Parse(argc, argv, first); !st.ok()) return Usage(st.message());
  if (f.Has("help")) return Usage("");
  if (!f.positional().empty()) return Usage("unexpected argument '" + f.positional()[0] + "'");
  ew::tools::LoadgenOptions o;
  o.demo = f.Has("demo");
  if (auto st = ParseRunOptions(f, &o); !st.ok()) return Usage(st.message());
  if (cmd == "topology") {
    std::printf("%s", ew::tools::Topology::Build(o.topology).Describe().c_str());
    return 0;
  }
  if (f.Has("otlp-proto-only")) o.encoding = ew::tools::Encoding::kProtobuf;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  if (o.demo) {
    std::fprintf(stderr, "edgewise-loadgen: demo traffic to %s:%u at %.0f spans/s (Ctrl-C stops)\n",
                 o.otlp.host.c_str(), o.otlp.port, o.rate);
  }
  ew::tools::LoadgenSummary sum;
  bool fast = f.Has("preencoded") || f.Has("otlp-proto-only");
  if (o.grpc.port != 0 && !fast) return Usage("--grpc needs --preencoded");
  int rc = fast ? ew::tools::RunPreencoded(o, &sum) : ew::tools::RunLoadgen(o, &sum);
  std::string json = sum.ToJson(o);
  std::fprintf(stderr, "loadgen: done: %s", json.c_str());
  if (!o.summary_path.empty()) {
    std::ofstream(o.summary_path) << json;
  }
  if (rc == 3)
    std::fprintf(stderr, "loadgen: server unreachable at %s:%u\n", o.otlp.host.c_str(),
                 o.otlp.port);
  return rc;
}
