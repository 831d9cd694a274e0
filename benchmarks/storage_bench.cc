// Storage benchmarks on a realistic day of traffic (EW_BENCH_EDGES edges x EW_BENCH_MINUTES
// minutes, default 2,000 x 1,440):
//   BM_StorageDay      flush throughput (rollups/s through ApplyFlush, one flush per minute of
//                      data) and bytes on disk per edge-minute after full compaction: every tier
//                      (1m, 1h, 1d) of all three families (edge, client, detail), keys + values +
//                      sketches; exemplars and the dictionary are reported apart.
//   BM_ScanHourMap     a full 1-hour map scan (edge family, minute tier) with and without
//                      sketch decoding, per record.
// Data set: 400 services in 20 namespaces plus externals/databases; per edge a request rate
// drawn lognormal (median EW_BENCH_MEDIAN_RPM, default 30 rpm, sigma 1.5: most edges quiet, a
// few hot), 1-4 path/method
// series, 1 % errors split into a 500 series, server latency lognormal per edge (median
// 2-200 ms, sigma 0.4-1.0), client latency = server x 1.05 + 0.3-2 ms network.
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "storage/edge_store.h"
#include "storage/latency_sketch.h"

namespace ew::storage {
namespace {

int64_t EnvInt(const char* name, int64_t dflt) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : dflt;
}

struct EdgeModel {
  NodeId client = 0, server = 0;
  Protocol protocol = Protocol::kHttp;
  double rpm = 1;
  double mu = 0, sigma = 0.5, net_us = 500;
  std::vector<StringId> paths;
  std::vector<double> weights;
  StringId method = 0;
};

struct DataSet {
  std::vector<EdgeModel> edges;
  int64_t first_minute = 0;
  int64_t minutes = 0;
};

DataSet BuildModel(EdgeStore& store, int64_t n_edges, int64_t minutes, std::mt19937_64& rng) {
  DataSet ds;
  ds.minutes = minutes;
  const int64_t now_min = std::chrono::duration_cast<std::chrono::minutes>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  ds.first_minute = (now_min / 1440 - 2) * 1440;  // two days ago, day-aligned (inside retention)
  std::vector<NodeId> services, sinks;
  for (int i = 0; i < 400; ++i) {
    services.push_back(*store.InternNode(NodeKind::kService, "ns-" + std::to_string(i % 20),
                                         "svc-" + std::to_string(i)));
  }
  for (int i = 0; i < 20; ++i) {
    sinks.push_back(*store.InternNode(NodeKind::kExternalService, "",
                                      "api" + std::to_string(i) + ".example.com"));
    sinks.push_back(
        *store.InternNode(NodeKind::kDatabase, "", "postgresql/db" + std::to_string(i)));
  }
  StringId get = *store.InternString(StringKind::kMethod, "GET");
  StringId post = *store.InternString(StringKind::kMethod, "POST");
  std::lognormal_distribution<double> rate(
      std::log(static_cast<double>(EnvInt("EW_BENCH_MEDIAN_RPM", 30))), 1.5);
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t e = 0; e < n_edges; ++e) {
    EdgeModel m;
    m.client = services[rng() % services.size()];
    bool sink = u(rng) < 0.15;
    m.server = sink ? sinks[rng() % sinks.size()] : services[rng() % services.size()];
    m.protocol = sink ? Protocol::kDatabase : (u(rng) < 0.2 ? Protocol::kGrpc : Protocol::kHttp);
    m.rpm = std::min(rate(rng), 60'000.0);
    m.mu = std::log(2'000.0 * std::pow(100.0, u(rng)));  // median 2..200 ms, in µs
    m.sigma = 0.4 + 0.6 * u(rng);
    m.net_us = 300 + 1700 * u(rng);
    m.method = u(rng) < 0.7 ? get : post;
    int k = 1 + static_cast<int>(rng() % 4);
    double w = 1.0;
    for (int p = 0; p < k; ++p) {
      m.paths.push_back(
          *store.InternString(StringKind::kPath, "/v1/r" + std::to_string(rng() % 300) + "/{id}"));
      m.weights.push_back(w);
      w *= 0.4;
    }
    ds.edges.push_back(std::move(m));
  }
  return ds;
}

// Adds n samples of one edge to a rollup's sketches.
void Sample(const EdgeModel& m, uint64_t n, std::mt19937_64& rng, RollupValue* v) {
  std::normal_distribution<double> z(0, 1);
  for (uint64_t i = 0; i < n; ++i) {
    double server = std::exp(m.mu + m.sigma * z(rng));
    v->server_latency.Add(server);
    v->client_latency.Add(server * 1.05 + m.net_us);
  }
}

// The information floor of 1 %-accurate sketches: the Shannon information, in bits, of a
// sketch's bucket multiset under the true latency model of its edge (lognormal mu, sigma), i.e.
// -log2 of the multinomial probability n! / prod(c_i!) * prod(p_i^c_i). No encoder, however
// clever, stores these buckets in fewer bits on average, even one that knows mu and sigma.
double SketchInfoBits(const LatencySketch& s, const EdgeModel& m) {
  static const double kLogGamma =
      std::log((1.0 + LatencySketch::kRelativeAccuracy) / (1.0 - LatencySketch::kRelativeAccuracy));
  auto cdf = [&](double log_us) {
    return 0.5 * std::erfc(-(log_us - m.mu) / (m.sigma * std::sqrt(2.0)));
  };
  double bits = -std::lgamma(static_cast<double>(s.Count()) + 1.0) / std::log(2.0);
  for (const auto& [index, count] : s.Buckets()) {
    // Bucket i holds (gamma^(i-1), gamma^i] µs; bucket 0 everything up to 1 µs.
    const double hi = cdf(index * kLogGamma);
    const double lo = index == 0 ? 0.0 : cdf((index - 1) * kLogGamma);
    const double p = std::max(hi - lo, 1e-300);
    const double c = static_cast<double>(count);
    bits += -c * std::log2(p) + std::lgamma(c + 1.0) / std::log(2.0);
  }
  return std::max(bits, 0.0);
}

// Information floor of one minute's sketches (see SketchInfoBits), in bytes.
struct FloorBytes {
  double detail = 0;  // the server sketch of every detail series (what path filters need)
  double edge = 0;    // the server sketch of every edge (all series of the edge merged)
};

// The rollups of one minute of the whole data set (what one ingest flush writes).
FlushBatch MinuteBatch(const DataSet& ds, int64_t minute, std::mt19937_64& rng,
                       FloorBytes* floor = nullptr) {
  FlushBatch b;
  for (const EdgeModel& m : ds.edges) {
    const size_t first_rollup = b.rollups.size();
    uint64_t total = std::poisson_distribution<uint64_t>(m.rpm)(rng);
    if (total == 0) continue;
    std::discrete_distribution<size_t> pick(m.weights.begin(), m.weights.end());
    std::vector<uint64_t> per_path(m.paths.size());
    for (uint64_t i = 0; i < total; ++i) ++per_path[pick(rng)];
    for (size_t p = 0; p < per_path.size(); ++p) {
      if (per_path[p] == 0) continue;
      uint64_t errors = std::binomial_distribution<uint64_t>(per_path[p], 0.01)(rng);
      for (int bad = 0; bad < 2; ++bad) {
        uint64_t n = bad ? errors : per_path[p] - errors;
        if (n == 0) continue;
        MinuteRollup r;
        r.minute = minute;
        r.dims = {m.client,   m.server, m.protocol,
                  m.paths[p], m.method, static_cast<uint16_t>(bad ? 500 : 200)};
        r.value.requests = n;
        r.value.errors = bad ? n : 0;
        Sample(m, n, rng, &r.value);
        for (uint64_t x = 0; x < std::min<uint64_t>(n, 2); ++x) {
          Exemplar e;
          for (auto& byte : e.trace_id) byte = static_cast<uint8_t>(rng());
          e.start_ms = minute * 60'000 + static_cast<int64_t>(rng() % 60'000);
          e.duration_us = static_cast<uint32_t>(std::exp(m.mu));
          e.status = bad ? 500 : 200;
          e.error = bad;
          r.value.AddExemplar(e);
        }
        b.rollups.push_back(std::move(r));
      }
    }
    if (floor != nullptr && b.rollups.size() > first_rollup) {
      LatencySketch edge;
      for (size_t i = first_rollup; i < b.rollups.size(); ++i) {
        floor->detail += SketchInfoBits(b.rollups[i].value.server_latency, m) / 8;
        edge.Merge(b.rollups[i].value.server_latency);
      }
      floor->edge += SketchInfoBits(edge, m) / 8;
    }
  }
  return b;
}

// CPU time of the calling thread (ApplyFlush runs on it; RocksDB flushes and compactions run
// on background threads and are not included).
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// EW_BENCH_DIR (default: the system temp dir) / name.<pid>.
std::string BenchDir(const char* name) {
  const char* base = std::getenv("EW_BENCH_DIR");
  auto dir =
      (base != nullptr ? std::filesystem::path(base) : std::filesystem::temp_directory_path()) /
      (std::string(name) + "." + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

void BM_StorageDay(benchmark::State& state) {
  const int64_t n_edges = EnvInt("EW_BENCH_EDGES", 2000);
  const int64_t minutes = EnvInt("EW_BENCH_MINUTES", 1440);
  for (auto _ : state) {
    StoreOptions o;
    o.dir = BenchDir("ew_storage_bench_day");
    // The data starts two days ago: keep its exemplars per minute too, so that both exemplar
    // families are measured (the 14-day average is computed below).
    o.exemplar_minutes_retention_ms = 14LL * 86'400'000;
    auto store = EdgeStore::Open(o).value();
    std::mt19937_64 rng(42);
    DataSet ds = BuildModel(*store, n_edges, minutes, rng);
    double flush_seconds = 0, flush_cpu_seconds = 0;
    uint64_t rollups = 0, edge_minutes = 0, requests = 0;
    FloorBytes floor;
    for (int64_t m = 0; m < minutes; ++m) {
      FlushBatch b = MinuteBatch(ds, ds.first_minute + m, rng, &floor);
      b.log_position = static_cast<uint64_t>(m + 1);
      rollups += b.rollups.size();
      for (const auto& r : b.rollups) requests += r.value.requests;
      auto t0 = std::chrono::steady_clock::now();
      const double cpu0 = ThreadCpuSeconds();
      Status s = store->ApplyFlush(b);
      flush_cpu_seconds += ThreadCpuSeconds() - cpu0;
      flush_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    }
    auto t0 = std::chrono::steady_clock::now();
    (void)store->CompactAll();
    double compact_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Edge-minutes that hold data: records of the edge family's minute tier.
    ScanSpec spec;
    spec.start = ds.first_minute;
    spec.end = ds.first_minute + minutes;
    spec.need_sketches = false;
    (void)store->Scan(spec, [&](int64_t, const EdgeDims&, const RollupValue&) {
      ++edge_minutes;
      return true;
    });
    StoreStats stats = store->Stats();
    uint64_t tier_bytes = 0;
    for (size_t i = 0; i < stats.families.size(); ++i) {
      const auto& cf = stats.families[i];
      if (i < 9 || cf.name == "edge_blk") tier_bytes += cf.live_bytes;
      state.counters["B_" + cf.name] = static_cast<double>(cf.live_bytes);
    }
    state.SetIterationTime(flush_seconds);
    state.counters["rollups_per_s"] = static_cast<double>(rollups) / flush_seconds;
    state.counters["rollups_per_cpu_s"] = static_cast<double>(rollups) / flush_cpu_seconds;
    state.counters["rollups"] = static_cast<double>(rollups);
    state.counters["requests"] = static_cast<double>(requests);
    state.counters["edge_minutes"] = static_cast<double>(edge_minutes);
    state.counters["bytes_per_edge_minute"] =
        static_cast<double>(tier_bytes) / static_cast<double>(edge_minutes);
    // Exemplars: per minute (kept --exemplar-minutes-retention, 2 days by default) and per hour
    // (kept as long as the minute tier, 14 days). Averaged over 14 days of history a store
    // holds the minute records of 2 of them and the hour records of all.
    const double ex_minute =
        static_cast<double>(stats.families[10].live_bytes) / static_cast<double>(edge_minutes);
    const double ex_hour =
        static_cast<double>(stats.families[14].live_bytes) / static_cast<double>(edge_minutes);
    state.counters["exemplar_minute_B_per_edge_minute"] = ex_minute;
    state.counters["exemplar_hour_B_per_edge_minute"] = ex_hour;
    state.counters["exemplar_bytes_per_edge_minute_14d"] = ex_minute * 2.0 / 14.0 + ex_hour;
    state.counters["compact_s"] = compact_seconds;
    // The information floor (SketchInfoBits) of the server sketches per edge-minute: of the
    // detail series alone (the least any store answering path filters at 1 % must keep) and of
    // the edge-level sketches (what an edge family with its own sketches adds).
    state.counters["floor_detail_sketch_B_per_edge_minute"] =
        floor.detail / static_cast<double>(edge_minutes);
    state.counters["floor_edge_sketch_B_per_edge_minute"] =
        floor.edge / static_cast<double>(edge_minutes);
    store.reset();
    std::filesystem::remove_all(o.dir);
  }
}
BENCHMARK(BM_StorageDay)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

void BM_ScanHourMap(benchmark::State& state) {
  const int64_t n_edges = EnvInt("EW_BENCH_SCAN_EDGES", 2000);
  // Leaked on purpose: shared by both runs, and RocksDB must not be torn down by static
  // destructors at exit.
  static EdgeStore* store = nullptr;
  static DataSet ds;
  static std::string dir;
  if (!store) {
    StoreOptions o;
    o.dir = dir = BenchDir("ew_storage_bench_scan");
    store = EdgeStore::Open(o).value().release();
    std::mt19937_64 rng(7);
    ds = BuildModel(*store, n_edges, 60, rng);
    for (int64_t m = 0; m < 60; ++m)
      (void)store->ApplyFlush(MinuteBatch(ds, ds.first_minute + m, rng));
    (void)store->CompactAll();
  }
  ScanSpec spec;
  spec.start = ds.first_minute;
  spec.end = ds.first_minute + 60;
  spec.need_sketches = state.range(0) != 0;
  uint64_t records = 0;
  for (auto _ : state) {
    uint64_t requests = 0;
    LatencySketch merged;
    Status s = store->Scan(spec, [&](int64_t, const EdgeDims&, const RollupValue& v) {
      requests += v.requests;
      if (spec.need_sketches) merged.Merge(v.server_latency);
      ++records;
      return true;
    });
    benchmark::DoNotOptimize(requests);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.counters["records"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kAvgIterations);
  state.counters["ns_per_record"] =
      benchmark::Counter(static_cast<double>(records) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ScanHourMap)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ew::storage

BENCHMARK_MAIN();
