// Query benchmark data set: a synthetic service graph written straight through the storage API
// (InternNode / InternString / ApplyFlush), not through spans. Header-only; written by
// `edgewise-loadgen query-dataset` (tools/README.md) and by benchmarks/query_bench.cc.
//
// Shape (defaults): 1,000 services in 20 namespaces; 10,000 distinct edges (each service calls
// 10 others, 70 % within its namespace); 3 HTTP paths per edge out of a pool of 200, GET/POST,
// 1 % 5xx. Traffic, deterministic from the seed:
//   - the last `dense_minutes` (180): the 500 hot edges have a rollup every minute; the other
//     9,500 each have one in 1 of `cold_period_dense` (30) minutes  -> ~816 edges per minute;
//   - the rest of the 7 days: hot edges every `hot_period` (10) minutes, cold edges every
//     `cold_period` (360) minutes, at a per-edge phase;
//   - days 8..`archive_days` (90): one rollup per edge per day (fills the hour and day tiers for
//     long ranges).
// Every rollup carries server and client latency sketches and one exemplar.
//
// Thread-safety: GenerateQueryDataset writes to the store from the calling thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/edge_store.h"

namespace ew::tools {

struct QueryDatasetOptions {
  int services = 1000;
  int namespaces = 20;
  int calls_per_service = 10;  // edges = services * calls_per_service
  int hot_edges = 500;
  int64_t now_minute = 20400LL * 1440 + 10 * 60 + 37;  // data ends here (exclusive): 10:37
  int dense_minutes = 180;
  int cold_period_dense = 30;
  int history_days = 7;
  int hot_period = 10;
  int cold_period = 360;
  int archive_days = 90;
  int paths_per_edge = 3;
  uint64_t seed = 1;

  // What the generated store depends on: the options and the storage layout version ("s2":
  // edge_1m without the client sketch of paired requests), so a cached store is regenerated
  // when either changes.
  std::string Signature() const {
    return std::string("s2/") + std::to_string(services) + "/" + std::to_string(namespaces) + "/" +
           std::to_string(calls_per_service) + "/" + std::to_string(hot_edges) + "/" +
           std::to_string(now_minute) + "/" + std::to_string(dense_minutes) + "/" +
           std::to_string(cold_period_dense) + "/" + std::to_string(history_days) + "/" +
           std::to_string(hot_period) + "/" + std::to_string(cold_period) + "/" +
           std::to_string(archive_days) + "/" + std::to_string(paths_per_edge) + "/" +
           std::to_string(seed);
  }
};

struct QueryDatasetInfo {
  uint64_t rollups = 0;
  uint64_t edges = 0;  // edge models (two may share a client and server in small data sets)
  uint64_t requests = 0;
};

namespace detail {

inline uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct BenchEdge {
  storage::NodeId client = 0;
  storage::NodeId server = 0;
  storage::StringId paths[8] = {};
  bool hot = false;
  uint64_t phase = 0;
};

inline std::string ServiceName(int i) { return "svc-" + std::to_string(i); }
inline std::string NamespaceName(int i) { return "ns-" + std::to_string(i); }

}  // namespace detail

// Writes the data set into an empty store. Returns what was written.
inline Result<QueryDatasetInfo> GenerateQueryDataset(storage::EdgeStore* store,
                                                     const QueryDatasetOptions& o) {
  using detail::Mix;
  std::vector<storage::NodeId> nodes(o.services);
  for (int i = 0; i < o.services; ++i) {
    EW_ASSIGN_OR_RETURN(nodes[i], store->InternNode(storage::NodeKind::kService,
                                                    detail::NamespaceName(i % o.namespaces),
                                                    detail::ServiceName(i)));
  }
  static const char* const kResources[] = {"orders", "users",   "carts", "payments", "items",
                                           "search", "reviews", "stock", "shipping", "auth"};
  std::vector<storage::StringId> paths;
  for (int r = 0; r < 10; ++r) {
    for (int v = 0; v < 20; ++v) {
      std::string p = "/api/v" + std::to_string(v % 3 + 1) + "/" + kResources[r] + "/" +
                      std::to_string(v) + "/{id}";
      EW_ASSIGN_OR_RETURN(auto id, store->InternString(storage::StringKind::kPath, p));
      paths.push_back(id);
    }
  }
  EW_ASSIGN_OR_RETURN(auto get, store->InternString(storage::StringKind::kMethod, "GET"));
  EW_ASSIGN_OR_RETURN(auto post, store->InternString(storage::StringKind::kMethod, "POST"));
  std::vector<detail::BenchEdge> edges;
  uint64_t rng = o.seed;
  for (int i = 0; i < o.services; ++i) {
    for (int c = 0; c < o.calls_per_service; ++c) {
      detail::BenchEdge e;
      e.client = nodes[i];
      uint64_t r = Mix(++rng);
      int target = (r % 10 < 7)  // same namespace: services i' with i' % namespaces equal
                       ? static_cast<int>((i + o.namespaces * (1 + c)) % o.services)
                       : static_cast<int>((i + 1 + c * 97 + r % 31) % o.services);
      if (target == i) target = (i + 1) % o.services;
      e.server = nodes[target];
      for (int p = 0; p < o.paths_per_edge && p < 8; ++p) e.paths[p] = paths[Mix(r + p) % 200];
      e.hot =
          static_cast<int>(edges.size()) % (o.services * o.calls_per_service / o.hot_edges) == 0;
      e.phase = Mix(r ^ 0x5555);
      edges.push_back(e);
    }
  }
  QueryDatasetInfo info;
  info.edges = edges.size();
  storage::FlushBatch batch;
  uint64_t position = 0;
  auto flush = [&]() -> Status {
    if (batch.rollups.empty()) return Status::Ok();
    batch.log_position = ++position;
    Status s = store->ApplyFlush(batch);
    batch.rollups.clear();
    return s;
  };
  auto emit = [&](const detail::BenchEdge& e, int64_t minute, uint64_t requests) -> Status {
    uint64_t h = Mix(e.phase ^ static_cast<uint64_t>(minute));
    storage::MinuteRollup m;
    m.minute = minute;
    m.dims.client = e.client;
    m.dims.server = e.server;
    m.dims.protocol = storage::Protocol::kHttp;
    m.dims.path = e.paths[h % static_cast<uint64_t>(o.paths_per_edge)];
    m.dims.method = h & 16 ? post : get;
    m.dims.status = h % 100 == 0 ? 500 : 200;
    m.value.requests = requests;
    m.value.errors = m.dims.status >= 500 ? requests : 0;
    double us = 1000.0 + static_cast<double>(h % 50000);
    m.value.server_latency.Add(us, requests);
    m.value.client_latency.Add(us * 1.1, requests);
    storage::Exemplar x;
    for (int b = 0; b < 16; ++b) x.trace_id[b] = static_cast<uint8_t>(Mix(h + b));
    x.start_ms = minute * 60'000 + static_cast<int64_t>(h % 60'000);
    x.duration_us = static_cast<uint32_t>(us);
    x.status = m.dims.status;
    x.error = m.value.errors > 0;
    m.value.AddExemplar(x);
    batch.rollups.push_back(std::move(m));
    ++info.rollups;
    info.requests += requests;
    if (batch.rollups.size() >= 20000) return flush();
    return Status::Ok();
  };
  const int64_t dense_start = o.now_minute - o.dense_minutes;
  const int64_t history_start = o.now_minute - static_cast<int64_t>(o.history_days) * 1440;
  const int64_t archive_start = o.now_minute - static_cast<int64_t>(o.archive_days) * 1440;
  for (int64_t day = archive_start; day < history_start; day += 1440) {  // archive days
    for (const auto& e : edges) {
      EW_RETURN_IF_ERROR(emit(e, day + static_cast<int64_t>(e.phase % 1440), 100));
    }
  }
  for (int64_t minute = history_start; minute < o.now_minute; ++minute) {
    bool dense = minute >= dense_start;
    for (const auto& e : edges) {
      uint64_t period =
          e.hot ? (dense ? 1 : o.hot_period) : (dense ? o.cold_period_dense : o.cold_period);
      if ((static_cast<uint64_t>(minute) + e.phase) % period != 0) continue;
      EW_RETURN_IF_ERROR(emit(e, minute, e.hot ? 50 : 5));
    }
  }
  EW_RETURN_IF_ERROR(flush());
  return info;
}

}  // namespace ew::tools
