// Query benchmarks: server-side time of QueryService::Handle (parse, plan, scan, merge, render
// JSON) on the data set of tools/query_dataset.h (1,000 services, 10,000 edges, realistic
// request counts and lognormal latency sketches, 7 days of per-minute data plus 5 years of day
// rollups in the hour/day tiers). Full maps over 1 h, 7 d, 90 d and 5 y; capacity over 90 d.
//
// Run: build-*/benchmarks/query_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
// The store is generated once into $EW_QUERY_BENCH_DIR (default /tmp/ew-query-bench) and reused
// while its signature file matches the data-set options (EW_QUERY_BENCH_RECOMPACT=1 rewrites a
// reused store with the current table options first; EW_QUERY_BENCH_ARCHIVE_DAYS shortens the
// archive for a quick run, e.g. 90). EW_QUERY_BENCH_DUMP=DIR writes each query's last answer to
// DIR (to compare two builds' answers byte for byte).
#include <benchmark/benchmark.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "base/malloc_policy.h"
#include "base/time.h"
#include "query/planner.h"
#include "query/query_service.h"
#include "tools/query_dataset.h"

namespace {

using ew::tools::QueryDatasetOptions;

struct Env {
  std::unique_ptr<ew::storage::EdgeStore> store;
  std::unique_ptr<ew::query::QueryService> service;
  int64_t now_ms = 0;
};

Env* OpenEnv() {
  static Env* env = [] {
    auto* e = new Env();
    QueryDatasetOptions opts;
    if (const char* a = std::getenv("EW_QUERY_BENCH_ARCHIVE_DAYS"))
      opts.archive_days = std::atoi(a);
    const char* dir_env = std::getenv("EW_QUERY_BENCH_DIR");
    std::string dir = dir_env ? dir_env : "/tmp/ew-query-bench";
    std::string sig_file = dir + "/dataset.signature";
    std::string sig;
    std::ifstream(sig_file) >> sig;
    bool reuse = sig == opts.Signature();
    if (!reuse) std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ew::storage::StoreOptions so;
    so.dir = dir + "/store";
    so.fixed_now_ms = opts.now_minute * 60'000;
    so.close_days = false;  // the generator builds the day blocks once, at the end
    auto store = ew::storage::EdgeStore::Open(so);
    if (!store.ok()) {
      std::cerr << "open: " << store.status().ToString() << "\n";
      std::exit(1);
    }
    e->store = std::move(store).value();
    if (!reuse) {
      int64_t t0 = ew::MonoNowNs();
      auto info = ew::tools::GenerateQueryDataset(e->store.get(), opts);
      if (!info.ok()) {
        std::cerr << "generate: " << info.status().ToString() << "\n";
        std::exit(1);
      }
      ew::Status c = e->store->CompactAll();
      if (!c.ok()) std::cerr << "compact: " << c.ToString() << "\n";
      std::cerr << "generated " << info->rollups << " rollups over " << info->edges << " edges in "
                << (ew::MonoNowNs() - t0) / 1'000'000'000 << " s\n";
      std::ofstream(sig_file) << opts.Signature();
    }
    if (reuse && std::getenv("EW_QUERY_BENCH_RECOMPACT")) {
      // After a change of table options (block size, compression): rewrite every file with them.
      ew::Status c = e->store->CompactAll();
      if (!c.ok()) std::cerr << "compact: " << c.ToString() << "\n";
    }
    // EW_QUERY_THREADS: the server's --query-threads (default 0: hardware threads, at most 4).
    const char* threads = std::getenv("EW_QUERY_THREADS");
    e->service =
        ew::query::QueryService::Create(e->store.get(), nullptr, threads ? std::atoi(threads) : 0);
    e->now_ms = opts.now_minute * 60'000;
    return e;
  }();
  return env;
}

void RunQuery(benchmark::State& state, const std::string& path,
              std::map<std::string, std::string> params) {
  Env* env = OpenEnv();
  ew::query::ApiRequest req;
  req.path = path;
  req.params = std::move(params);
  req.now_ms = env->now_ms;
  size_t bytes = 0;
  for (auto _ : state) {
    auto r = env->service->Handle(req);
    if (r.http_status != 200) {
      state.SkipWithError(r.body.c_str());
      return;
    }
    bytes = r.body.size();
    benchmark::DoNotOptimize(r.body.data());
  }
  state.counters["response_bytes"] = static_cast<double>(bytes);
  // EW_QUERY_BENCH_DUMP=DIR: the last answer into DIR/<path and parameters>.json (to compare
  // the answers of two builds byte for byte).
  if (const char* dump = std::getenv("EW_QUERY_BENCH_DUMP")) {
    std::string name = path;
    for (const auto& [k, v] : req.params) name += "_" + k + "=" + v;
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '=' && c != '-') c = '_';
    }
    auto r = env->service->Handle(req);
    std::ofstream(std::string(dump) + "/" + name + ".json") << r.body;
  }
}

void BM_Map1h(benchmark::State& s) { RunQuery(s, "/api/v1/map", {{"start", "now-1h"}}); }
void BM_Map7d(benchmark::State& s) { RunQuery(s, "/api/v1/map", {{"start", "now-7d"}}); }
void BM_Map90d(benchmark::State& s) { RunQuery(s, "/api/v1/map", {{"start", "now-90d"}}); }
void BM_Map5y(benchmark::State& s) { RunQuery(s, "/api/v1/map", {{"start", "now-1825d"}}); }
void BM_Capacity90d(benchmark::State& s) {
  RunQuery(s, "/api/v1/capacity", {{"start", "now-90d"}, {"step", "1d"}, {"top", "20"}});
}
void BM_ServiceNeighbourhood7d(benchmark::State& s) {
  RunQuery(s, "/api/v1/service", {{"namespace", "ns-7"}, {"name", "svc-127"}, {"start", "now-7d"}});
}
void BM_PathRegex1h(benchmark::State& s) {
  RunQuery(s, "/api/v1/map", {{"start", "now-1h"}, {"query", "path =~ \"^/api/v[12]/orders/\""}});
}
void BM_NamespaceFilter7d(benchmark::State& s) {
  RunQuery(s, "/api/v1/map", {{"start", "now-7d"}, {"query", "server.namespace = ns-3"}});
}

// The storage part alone: the scans of the unfiltered map's plan with a visitor that only counts
// records (no merging, no rendering), to split the map's time between storage and query.
void ScanOnly(benchmark::State& state, int64_t minutes) {
  Env* env = OpenEnv();
  int64_t end = env->now_ms / 60'000;
  auto plan = ew::query::MakePlan(nullptr, end - minutes, end, *env->store);
  uint64_t records = 0;
  for (auto _ : state) {
    records = 0;
    for (const auto& spec : plan.Specs()) {
      ew::Status st = env->store->Scan(
          spec, [&](int64_t, const ew::storage::EdgeDims&, const ew::storage::RollupValue&) {
            ++records;
            return true;
          });
      if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    }
  }
  state.counters["records"] = static_cast<double>(records);
}
void BM_StorageScanOnly1h(benchmark::State& s) { ScanOnly(s, 60); }
void BM_StorageScanOnly7d(benchmark::State& s) { ScanOnly(s, 7 * 1440); }
void BM_StorageScanOnly90d(benchmark::State& s) { ScanOnly(s, 90 * 1440); }
void BM_StorageScanOnly5y(benchmark::State& s) { ScanOnly(s, 1825 * 1440); }

#define EW_QUERY_BENCH(fn) \
  BENCHMARK(fn)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()
EW_QUERY_BENCH(BM_Map1h);
EW_QUERY_BENCH(BM_Map7d);
EW_QUERY_BENCH(BM_Map90d);
EW_QUERY_BENCH(BM_Map5y);
EW_QUERY_BENCH(BM_Capacity90d);
EW_QUERY_BENCH(BM_ServiceNeighbourhood7d);
EW_QUERY_BENCH(BM_PathRegex1h);
EW_QUERY_BENCH(BM_NamespaceFilter7d);
EW_QUERY_BENCH(BM_StorageScanOnly1h);
EW_QUERY_BENCH(BM_StorageScanOnly7d);
EW_QUERY_BENCH(BM_StorageScanOnly90d);
EW_QUERY_BENCH(BM_StorageScanOnly5y);

}  // namespace

int main(int argc, char** argv) {
  ew::ConfigureMalloc();  // the server's malloc policy
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
