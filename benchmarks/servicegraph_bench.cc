// /metrics/servicegraph with 10,000 edges: what one Prometheus scrape costs the server (the
// query-pool time of QueryService::Handle: snapshot of the store's EdgeTotals, node names from
// the dictionary, rendering) and its size, plus what feeding EdgeTotals adds to a flush.
//
// Run: build/benchmarks/servicegraph_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
// The store (1,000 services in 20 namespaces, 10 callees each: 10,000 edges, every one with
// server- and client-side latencies over a few hundred sketch buckets) is built in a temp
// directory at start.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>

#include "query/query_service.h"
#include "storage/edge_store.h"
#include "storage/edge_totals.h"

namespace {

using ew::storage::EdgeStore;
using ew::storage::EdgeTotals;
using ew::storage::MinuteRollup;
using ew::storage::NodeId;

constexpr int kServices = 1000;
constexpr int kCallees = 10;  // edges = kServices * kCallees

struct Env {
  std::string dir;
  EdgeTotals totals;
  std::unique_ptr<EdgeStore> store;
  std::unique_ptr<ew::query::QueryService> service;
  std::vector<MinuteRollup> flush;  // one flush's rollups: one per edge
};

void Die(const ew::Status& s) {
  std::cerr << s.ToString() << "\n";
  std::exit(1);
}

// One rollup per edge with 50 requests' latencies, like a busy minute.
std::vector<MinuteRollup> MakeFlush(const std::vector<NodeId>& nodes, std::mt19937_64& rng) {
  std::vector<MinuteRollup> out;
  std::lognormal_distribution<double> latency_us(9.5, 1.2);  // median ~13 ms
  for (int s = 0; s < kServices; ++s) {
    for (int c = 0; c < kCallees; ++c) {
      MinuteRollup m;
      m.minute = 29'000'000;
      m.dims.client = nodes[s];
      m.dims.server = nodes[(s * 7 + c * 13 + 1) % kServices];
      m.dims.protocol = c % 3 == 0 ? ew::storage::Protocol::kGrpc : ew::storage::Protocol::kHttp;
      m.value.requests = 50;
      m.value.errors = c == 0 ? 2 : 0;
      for (int i = 0; i < 50; ++i) {
        double us = latency_us(rng);
        m.value.server_latency.Add(us);
        m.value.client_latency.Add(us * 1.05 + 300);
      }
      out.push_back(std::move(m));
    }
  }
  return out;
}

Env* GetEnv() {
  static Env* env = [] {
    auto* e = new Env();
    e->dir = (std::filesystem::temp_directory_path() / "ew-servicegraph-bench").string();
    std::filesystem::remove_all(e->dir);
    ew::storage::StoreOptions so;
    so.dir = e->dir;
    so.totals = &e->totals;
    auto store = EdgeStore::Open(so);
    if (!store.ok()) Die(store.status());
    e->store = std::move(store).value();
    std::vector<NodeId> nodes;
    for (int s = 0; s < kServices; ++s) {
      auto id =
          e->store->InternNode(ew::storage::NodeKind::kService, "team-" + std::to_string(s % 20),
                               "checkout-service-" + std::to_string(s));
      if (!id.ok()) Die(id.status());
      nodes.push_back(*id);
    }
    std::mt19937_64 rng(42);
    e->flush = MakeFlush(nodes, rng);
    ew::storage::FlushBatch batch;
    batch.rollups = e->flush;
    batch.log_position = 1;
    if (ew::Status st = e->store->ApplyFlush(batch); !st.ok()) Die(st);
    ew::query::QueryServiceOptions q;
    q.totals = &e->totals;
    e->service = ew::query::QueryService::Create(e->store.get(), nullptr, std::move(q));
    return e;
  }();
  return env;
}

// One scrape: GET /metrics/servicegraph as the query pool answers it.
void BM_ServiceGraphScrape(benchmark::State& state) {
  Env* env = GetEnv();
  ew::query::ApiRequest req;
  req.path = "/metrics/servicegraph";
  size_t bytes = 0;
  for (auto _ : state) {
    ew::query::ApiResponse r = env->service->Handle(req);
    if (r.http_status != 200) state.SkipWithError("scrape failed");
    bytes = r.body.size();
    benchmark::DoNotOptimize(r.body.data());
  }
  state.counters["edges"] = static_cast<double>(env->totals.size());
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_edge"] = static_cast<double>(bytes) / env->totals.size();
}
BENCHMARK(BM_ServiceGraphScrape)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same scrape as Prometheus makes it (Accept-Encoding: gzip): rendered, then compressed.
void BM_ServiceGraphScrapeGzip(benchmark::State& state) {
  Env* env = GetEnv();
  ew::query::ApiRequest req;
  req.path = "/metrics/servicegraph";
  req.accept_gzip = true;
  size_t bytes = 0;
  for (auto _ : state) {
    ew::query::ApiResponse r = env->service->Handle(req);
    if (r.http_status != 200 || r.content_encoding != "gzip") state.SkipWithError("scrape failed");
    bytes = r.body.size();
    benchmark::DoNotOptimize(r.body.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ServiceGraphScrapeGzip)->Unit(benchmark::kMillisecond)->UseRealTime();

// What the totals add to a flush of 10,000 rollups (one per edge).
void BM_EdgeTotalsAddFlush(benchmark::State& state) {
  Env* env = GetEnv();
  EdgeTotals totals;
  for (auto _ : state) totals.Add(env->flush);
  state.counters["rollups"] = static_cast<double>(env->flush.size());
}
BENCHMARK(BM_EdgeTotalsAddFlush)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
