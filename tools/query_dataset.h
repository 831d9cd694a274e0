// Query benchmark data set: a synthetic service graph written straight through the storage API
// (InternNode / InternString / ApplyFlush / WriteTiers), not through spans. Header-only; written by
// `edgewise-loadgen query-dataset` (tools/README.md) and by benchmarks/query_bench.cc.
//
// Shape (defaults): 1,000 services in 20 namespaces; 10,000 distinct edges (each service calls
// 10 others, 70 % within its namespace); 3 HTTP paths per edge out of a pool of 200, GET/POST,
// 1 % 5xx. Traffic, deterministic from the seed:
//   - the last `dense_minutes` (180): the 500 hot edges have a rollup every minute; the other
//     9,500 each have one in 1 of `cold_period_dense` (30) minutes  -> ~816 edges per minute;
//   - the rest of the 7 days: hot edges every `hot_period` (10) minutes, cold edges every
//     `cold_period` (360) minutes, at a per-edge phase;
//   - days 8..`archive_days` (1,826: 5 years): one rollup per edge per day, holding the edge's
//     whole day (fills the hour and day tiers for long ranges).
// What a store of that history holds: days inside the minute tier's retention (14 days) go
// through ApplyFlush (all tiers, exemplars); older ones through EdgeStore::WriteTiers into the
// hour and day tiers (younger than the hour retention, 180 days) or the day tier alone
// (`bulk_history`); days past the day retention (5 years) are not written. Once compacted the
// store is the one ApplyFlush of everything would leave (tests/tools/query_dataset_test.cc).
// Realistic figures, as benchmarks/storage_bench.cc: each edge has a request rate drawn
// lognormal (median `median_rpm` 30 per minute, sigma 1.5, at most 20,000) and a server latency
// lognormal (median 2-200 ms, sigma 0.4-1.0; the client side adds 1.05x and 0.3-2 ms). A minute
// rollup holds rate x (0.7..1.3) requests; a day rollup rate x 1,440 x (0.9..1.1). Sketches hold
// latencies drawn from the edge's distribution: one per request up to `sampled_requests`
// (2,000), beyond that `sampled_requests` draws whose bucket counts are scaled to the requests
// (the buckets a real sketch of that many requests fills, within a few at the tails). Day
// rollups reuse one of 4 such sketches per edge, so 5 years stay cheap to generate.
// Every rollup carries one exemplar (kept where the store keeps exemplars).
//
// Thread-safety: GenerateQueryDataset writes to the store from the calling thread only.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
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
  int archive_days = 1826;
  int paths_per_edge = 3;
  double median_rpm = 30;
  uint64_t sampled_requests = 2000;
  uint64_t seed = 1;
  // History older than the minute tier's retention goes in through EdgeStore::WriteTiers into
  // the tiers a store of that age holds; false: through ApplyFlush into all tiers like the rest
  // (retention compacts the extra tiers away: the same store once compacted, far slower).
  bool bulk_history = true;

  // What the generated store depends on: the options and the storage layout version ("s2":
  // edge_1m without the client sketch of paired requests; "r1": realistic sketches), so a cached
  // store is regenerated when either changes.
  std::string Signature() const {
    return std::string("s2r1/") + std::to_string(static_cast<int64_t>(median_rpm * 1000)) + "/" +
           std::to_string(sampled_requests) + "/" + std::to_string(services) + "/" +
           std::to_string(namespaces) + "/" + std::to_string(calls_per_service) + "/" +
           std::to_string(hot_edges) + "/" + std::to_string(now_minute) + "/" +
           std::to_string(dense_minutes) + "/" + std::to_string(cold_period_dense) + "/" +
           std::to_string(history_days) + "/" + std::to_string(hot_period) + "/" +
           std::to_string(cold_period) + "/" + std::to_string(archive_days) + "/" +
           std::to_string(paths_per_edge) + "/" + std::to_string(seed);
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
  double rpm = 1;  // requests per minute
  double mu = 0;   // log of the median server latency (µs)
  double sigma = 0.5;
  double net_us = 500;  // client side = server x 1.05 + net_us
};

// Adds `counts` scaled from `draws` to `requests` observations into out (largest remainders by
// cumulative rounding: the scaled counts sum to `requests` exactly).
inline void AddScaled(const storage::LatencySketch& counts, uint64_t draws, uint64_t requests,
                      storage::LatencySketch* out) {
  uint64_t seen = 0, given = 0;
  for (const auto& [index, count] : counts.Buckets()) {
    seen += count;
    const uint64_t upto = seen * requests / draws;  // < 2^63: draws and requests are small
    if (upto > given) out->AddToBucket(index, upto - given);
    given = upto;
  }
}

// Adds `requests` latencies of edge e to v's sketches: one draw per request up to `sampled`,
// beyond that `sampled` draws scaled to the requests.
inline void FillSketches(const BenchEdge& e, uint64_t requests, uint64_t sampled,
                         std::mt19937_64& rng, storage::RollupValue* v) {
  std::normal_distribution<double> z(0, 1);
  const uint64_t draws = std::min(requests, sampled);
  thread_local storage::LatencySketch server, client;
  const bool direct = draws == requests;
  if (!direct) {
    server.Clear();
    client.Clear();
  }
  storage::LatencySketch* s = direct ? &v->server_latency : &server;
  storage::LatencySketch* c = direct ? &v->client_latency : &client;
  for (uint64_t i = 0; i < draws; ++i) {
    const double us = std::exp(e.mu + e.sigma * z(rng));
    s->Add(us);
    c->Add(us * 1.05 + e.net_us);
  }
  if (direct) return;
  AddScaled(server, draws, requests, &v->server_latency);
  AddScaled(client, draws, requests, &v->client_latency);
}

// The edges' indexes in the key order of the edge and detail families: (server namespace id,
// server, client).
inline std::vector<size_t> ServerOrder(const storage::EdgeStore& store,
                                       const std::vector<BenchEdge>& edges) {
  std::vector<std::tuple<storage::StringId, storage::NodeId, storage::NodeId, size_t>> keys;
  for (size_t i = 0; i < edges.size(); ++i) {
    const auto node = store.GetNode(edges[i].server);
    keys.emplace_back(node ? node->ns_id : 0, edges[i].server, edges[i].client, i);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<size_t> order;
  for (const auto& k : keys) order.push_back(std::get<3>(k));
  return order;
}

// Where each rollup goes. One a store still keeps in its minute tier: into an ApplyFlush batch
// (every tier, exemplars, a log position per flush). An older one, with `bulk`: into a
// WriteTiers batch of exactly the tiers whose retention keeps it (what a store holds of a day
// that old); without `bulk`: ApplyFlush too, and retention drops the rest at compaction (the
// same store once compacted, far slower to write).
class Writer {
 public:
  Writer(storage::EdgeStore* store, bool bulk)
      : store_(store), bulk_(bulk), retention_(store->RetentionMs()) {}

  // The tiers whose retention filter keeps the units of `minute` at now_minute
  // (docs/format/storage.md "Retention"; the minute tier's keys are per hour).
  uint8_t TiersKept(int64_t minute, int64_t now_minute) const {
    uint8_t tiers = 0;
    for (storage::Tier t : {storage::Tier::kMinute, storage::Tier::kHour, storage::Tier::kDay}) {
      const int64_t unit = t == storage::Tier::kDay ? 1440 : 60;
      if ((minute / unit + 1) * unit * 60'000 >
          now_minute * 60'000 - retention_[static_cast<size_t>(t)]) {
        tiers |= storage::TierBit(t);
      }
    }
    return tiers;
  }

  Status Add(storage::MinuteRollup m, uint8_t tiers) {
    if (!bulk_ || (tiers & storage::TierBit(storage::Tier::kMinute)) != 0) {
      log_batch_.rollups.push_back(std::move(m));
      return log_batch_.rollups.size() >= 20000 ? FlushLog() : Status::Ok();
    }
    auto& b = batches_[tiers];
    b.push_back(std::move(m));  // day-wide sketches: smaller batches
    return b.size() >= 4000 ? FlushBulk(tiers) : Status::Ok();
  }

  Status Flush() {
    for (uint8_t tiers = 1; tiers <= storage::kAllTiers; ++tiers) {
      EW_RETURN_IF_ERROR(FlushBulk(tiers));
    }
    return FlushLog();
  }

 private:
  Status FlushLog() {
    if (log_batch_.rollups.empty()) return Status::Ok();
    log_batch_.log_position = ++position_;
    Status s = store_->ApplyFlush(log_batch_);
    log_batch_.rollups.clear();
    return s;
  }
  Status FlushBulk(uint8_t tiers) {
    auto& b = batches_[tiers];
    if (b.empty()) return Status::Ok();
    Status s = store_->WriteTiers(b, tiers);
    b.clear();
    return s;
  }

  storage::EdgeStore* store_;
  bool bulk_;
  std::array<int64_t, 3> retention_;
  storage::FlushBatch log_batch_;
  uint64_t position_ = 0;
  std::array<std::vector<storage::MinuteRollup>, storage::kAllTiers + 1> batches_;
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
  std::mt19937_64 gen(o.seed);
  std::uniform_real_distribution<double> uni(0, 1);
  std::lognormal_distribution<double> rate(std::log(o.median_rpm), 1.5);
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
      e.rpm = std::min(rate(gen), 20000.0);
      e.mu = std::log(2'000.0 * std::pow(100.0, uni(gen)));  // median 2..200 ms, in µs
      e.sigma = 0.4 + 0.6 * uni(gen);
      e.net_us = 300 + 1700 * uni(gen);
      edges.push_back(e);
    }
  }
  QueryDatasetInfo info;
  info.edges = edges.size();
  detail::Writer w(store, o.bulk_history);
  // One rollup of edge e at minute with `requests`; its sketches drawn, or copied from `day`.
  auto emit = [&](const detail::BenchEdge& e, int64_t minute, uint64_t requests,
                  const storage::RollupValue* day) -> Status {
    const uint8_t tiers = w.TiersKept(minute, o.now_minute);
    if (tiers == 0 && o.bulk_history) return Status::Ok();  // past every retention: not kept
    uint64_t h = Mix(e.phase ^ static_cast<uint64_t>(minute));
    storage::MinuteRollup m;
    m.minute = minute;
    m.dims.client = e.client;
    m.dims.server = e.server;
    m.dims.protocol = storage::Protocol::kHttp;
    m.dims.path = e.paths[h % static_cast<uint64_t>(o.paths_per_edge)];
    m.dims.method = h & 16 ? post : get;
    m.dims.status = h % 100 == 0 ? 500 : 200;
    m.value.requests = day ? day->requests : requests;
    m.value.errors = m.dims.status >= 500 ? m.value.requests : 0;
    if (day) {
      m.value.server_latency = day->server_latency;
      m.value.client_latency = day->client_latency;
    } else {
      detail::FillSketches(e, requests, o.sampled_requests, gen, &m.value);
    }
    storage::Exemplar x;
    for (int b = 0; b < 16; ++b) x.trace_id[b] = static_cast<uint8_t>(Mix(h + b));
    x.start_ms = minute * 60'000 + static_cast<int64_t>(h % 60'000);
    x.duration_us = static_cast<uint32_t>(std::exp(e.mu));
    x.status = m.dims.status;
    x.error = m.value.errors > 0;
    m.value.AddExemplar(x);
    info.requests += m.value.requests;
    ++info.rollups;
    return w.Add(std::move(m), tiers);
  };
  const int64_t dense_start = o.now_minute - o.dense_minutes;
  const int64_t history_start = o.now_minute - static_cast<int64_t>(o.history_days) * 1440;
  const int64_t archive_start = o.now_minute - static_cast<int64_t>(o.archive_days) * 1440;
  // Archive days: 4 day sketches per edge (drawn edge by edge), one per day in turn; written
  // server by server, day by day (the key order of the edge and detail families, so RocksDB
  // gets runs of adjacent keys).
  std::vector<std::array<storage::RollupValue, 4>> days(archive_start < history_start ? edges.size()
                                                                                      : 0);
  for (size_t i = 0; i < days.size(); ++i) {
    for (auto& d : days[i]) {
      d.requests = std::max<uint64_t>(
          1, static_cast<uint64_t>(edges[i].rpm * 1440 * (0.9 + 0.2 * uni(gen))));
      detail::FillSketches(edges[i], d.requests, 2 * o.sampled_requests, gen, &d);
    }
  }
  const std::vector<size_t> order = detail::ServerOrder(*store, edges);
  for (size_t g = 0; g < order.size() && !days.empty();) {
    size_t end = g + 1;
    while (end < order.size() && edges[order[end]].server == edges[order[g]].server) ++end;
    for (int64_t day = archive_start, k = 0; day < history_start; day += 1440, ++k) {
      for (size_t i = g; i < end; ++i) {
        const detail::BenchEdge& e = edges[order[i]];
        EW_RETURN_IF_ERROR(
            emit(e, day + static_cast<int64_t>(e.phase % 1440), 0, &days[order[i]][k % 4]));
      }
    }
    g = end;
  }
  for (int64_t minute = history_start; minute < o.now_minute; ++minute) {
    bool dense = minute >= dense_start;
    for (const auto& e : edges) {
      uint64_t period =
          e.hot ? (dense ? 1 : o.hot_period) : (dense ? o.cold_period_dense : o.cold_period);
      if ((static_cast<uint64_t>(minute) + e.phase) % period != 0) continue;
      const double n = e.rpm * (0.7 + 0.6 * uni(gen));
      EW_RETURN_IF_ERROR(emit(e, minute, std::max<uint64_t>(1, static_cast<uint64_t>(n)), nullptr));
    }
  }
  EW_RETURN_IF_ERROR(w.Flush());
  // History was written edge by edge, out of time order: the day blocks of every day before
  // the data set's last two are built once, now (docs/format/storage.md "Day blocks").
  EW_RETURN_IF_ERROR(store->CloseDays(o.now_minute / 1440 - 2));
  return info;
}

}  // namespace ew::tools
