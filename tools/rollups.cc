#include "tools/rollups.h"

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "base/time.h"
#include "storage/edge_store.h"

namespace ew::tools {
namespace {

constexpr double kTempoBucketsS[] = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8};
constexpr int kBuckets = 8;

struct Edge {
  NodeRef client, server;
  storage::Protocol protocol;
  bool paired;  // both halves seen: server- and client-side latency
  double per_minute, error_rate, median_us, sigma;
};

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

storage::NodeKind KindOf(const std::string& k) {
  if (k == "external_client") return storage::NodeKind::kExternalClient;
  if (k == "external_service") return storage::NodeKind::kExternalService;
  if (k == "database") return storage::NodeKind::kDatabase;
  if (k == "messaging") return storage::NodeKind::kMessaging;
  return storage::NodeKind::kService;
}

std::vector<Edge> EdgesOf(const Topology& topo, std::mt19937_64& rng) {
  std::vector<Edge> edges;
  std::set<std::pair<NodeRef, NodeRef>> seen;
  auto uni = [&rng] { return std::uniform_real_distribution<double>(0, 1)(rng); };
  auto add = [&](NodeRef c, NodeRef s, storage::Protocol p, bool paired, const CallSpec* call) {
    if (!seen.insert({c, s}).second) return;
    edges.push_back({std::move(c), std::move(s), p, paired, 20 + 400 * uni() * uni(),
                     call ? call->error_rate : 0.01, call ? call->median_us : 20000,
                     call ? call->sigma : 0.7});
  };
  const auto& svcs = topo.services();
  for (size_t i = 0; i < svcs.size(); ++i) {
    NodeRef me = topo.ServiceNode(static_cast<int>(i));
    if (svcs[i].entry) {
      add({"external_client", "", "External Client"}, me, storage::Protocol::kHttp, false, nullptr);
    }
    for (const CallSpec& c : svcs[i].calls) {
      switch (c.target) {
        case TargetKind::kService:
          add(me, topo.ServiceNode(c.service),
              c.grpc ? storage::Protocol::kGrpc : storage::Protocol::kHttp, true, &c);
          break;
        case TargetKind::kExternalHost:
        case TargetKind::kExternalIp:
          add(me, ExternalNodeFor(c.host), storage::Protocol::kHttp, false, &c);
          break;
        case TargetKind::kDatabase:
          add(me,
              {"database", "", c.db_namespace.empty() ? c.system : c.system + "/" + c.db_namespace},
              storage::Protocol::kDatabase, false, &c);
          break;
        case TargetKind::kMessaging:
          if (c.service >= 0) {
            add(me, topo.ServiceNode(c.service), storage::Protocol::kMessaging, true, &c);
          } else {
            add(me, {"messaging", "", c.system + "/" + c.destination},
                storage::Protocol::kMessaging, false, &c);
          }
          break;
      }
    }
  }
  return edges;
}

std::string Label(const NodeRef& n) { return n.ns.empty() ? n.name : n.ns + "/" + n.name; }

// One VictoriaMetrics series: cumulative values at each minute.
struct Series {
  std::string name, extra_label;
  std::vector<double> values;
};

void WriteSeries(std::ofstream& out, const Edge& e, const Series& s, int64_t first_minute) {
  out << "{\"metric\":{\"__name__\":\"" << s.name << "\",\"client\":\"" << Label(e.client)
      << "\",\"server\":\"" << Label(e.server) << "\"" << s.extra_label << "},\"values\":[";
  char buf[32];
  for (size_t i = 0; i < s.values.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? "," : "", s.values[i]);
    out << buf;
  }
  out << "],\"timestamps\":[";
  for (size_t i = 0; i < s.values.size(); ++i) {
    out << (i ? "," : "") << (first_minute + static_cast<int64_t>(i)) * 60'000;
  }
  out << "]}\n";
}

// Tempo's series for one edge: totals, failures, and a histogram per side.
std::vector<Series> MakeSeries(bool paired, size_t minutes) {
  std::vector<Series> s = {{"traces_service_graph_request_total", "", {}},
                           {"traces_service_graph_request_failed_total", "", {}}};
  for (const char* side : {"server", "client"}) {
    if (!paired && std::string(side) == "server") continue;
    std::string base = std::string("traces_service_graph_request_") + side + "_seconds";
    for (int b = 0; b <= kBuckets; ++b) {
      char le[32];
      if (b < kBuckets) {
        std::snprintf(le, sizeof le, ",\"le\":\"%g\"", kTempoBucketsS[b]);
      } else {
        std::snprintf(le, sizeof le, ",\"le\":\"+Inf\"");
      }
      s.push_back({base + "_bucket", le, {}});
    }
    s.push_back({base + "_sum", "", {}});
    s.push_back({base + "_count", "", {}});
  }
  for (auto& x : s) x.values.assign(minutes, 0);
  return s;
}

// Cumulative Tempo series of one edge, advanced minute by minute.
class TempoSeries {
 public:
  TempoSeries(bool paired, size_t minutes) : paired_(paired), series_(MakeSeries(paired, minutes)) {
    cum_.assign(series_.size(), 0);
  }
  // One minute: requests, errors, and per side (server, client) the bucket increments and the
  // latency sum in seconds.
  void Add(size_t m, uint64_t req, uint64_t err, const double buckets[2][kBuckets + 1],
           const double lat_sum[2]) {
    size_t k = 0;
    Bump(k++, m, static_cast<double>(req));
    Bump(k++, m, static_cast<double>(err));
    for (int side = paired_ ? 0 : 1; side < 2; ++side) {
      for (int b = 0; b <= kBuckets; ++b) Bump(k++, m, buckets[side][b]);
      Bump(k++, m, lat_sum[side]);
      Bump(k++, m, static_cast<double>(req));
    }
  }
  const std::vector<Series>& series() const { return series_; }

 private:
  void Bump(size_t k, size_t m, double v) {
    cum_[k] += v;
    series_[k].values[m] = cum_[k];
  }
  bool paired_;
  std::vector<Series> series_;
  std::vector<double> cum_;
};

// The rollup of one edge in one minute (and its Tempo increments into *tempo when given).
storage::MinuteRollup MakeRollup(const Edge& e, storage::NodeId client, storage::NodeId server,
                                 int64_t minute, size_t index, int exemplars, std::mt19937_64& rng,
                                 TempoSeries* tempo) {
  double daily = 1 + 0.5 * std::sin(2 * M_PI * static_cast<double>(minute % 1440) / 1440);
  uint64_t req = std::poisson_distribution<uint64_t>(e.per_minute * daily)(rng);
  uint64_t err = req ? std::binomial_distribution<uint64_t>(req, e.error_rate)(rng) : 0;
  storage::MinuteRollup r;
  r.minute = minute;
  r.dims = {client, server, e.protocol, 0, 0, 0};
  r.value.requests = req;
  r.value.errors = err;
  // Latencies: up to 64 draws, the requests spread over them.
  const uint64_t draws = std::min<uint64_t>(req, 64);
  double buckets[2][kBuckets + 1] = {}, lat_sum[2] = {};
  for (uint64_t d = 0; d < draws; ++d) {
    uint64_t cnt = req / draws + (d < req % draws ? 1 : 0);
    double us = e.median_us * std::exp(e.sigma * std::normal_distribution<double>(0, 1)(rng));
    double side_us[2] = {us, us + 300};  // server, client
    if (e.paired) r.value.server_latency.Add(side_us[0], cnt);
    r.value.client_latency.Add(side_us[1], cnt);
    for (int side = 0; side < 2; ++side) {
      double v = side_us[side] / 1e6;
      for (int b = 0; b <= kBuckets; ++b) {
        if (b == kBuckets || v <= kTempoBucketsS[b]) buckets[side][b] += static_cast<double>(cnt);
      }
      lat_sum[side] += v * static_cast<double>(cnt);
    }
  }
  for (int x = 0; x < exemplars && req > 0; ++x) {
    storage::Exemplar ex;
    for (auto& byte : ex.trace_id) byte = static_cast<uint8_t>(rng());
    ex.start_ms = minute * kMsPerMinute + static_cast<int64_t>(rng() % 60'000);
    ex.duration_us = static_cast<uint32_t>(e.median_us);
    ex.status = err ? 500 : 200;
    ex.error = err > 0;
    r.value.AddExemplar(ex);
  }
  if (tempo) tempo->Add(index, req, err, buckets, lat_sum);
  return r;
}

// Writes one edge's minutes into the store, a day per flush.
Status StoreEdge(storage::EdgeStore* store, const Edge& e, int64_t first, int64_t minutes,
                 int exemplars, std::mt19937_64& rng, TempoSeries* tempo, RollupSummary* sum) {
  EW_ASSIGN_OR_RETURN(storage::NodeId c,
                      store->InternNode(KindOf(e.client.kind), e.client.ns, e.client.name));
  EW_ASSIGN_OR_RETURN(storage::NodeId s,
                      store->InternNode(KindOf(e.server.kind), e.server.ns, e.server.name));
  storage::FlushBatch batch;
  for (int64_t m = 0; m < minutes; ++m) {
    batch.rollups.push_back(
        MakeRollup(e, c, s, first + m, static_cast<size_t>(m), exemplars, rng, tempo));
    if (batch.rollups.size() < 1440 && m + 1 < minutes) continue;
    double t0 = static_cast<double>(MonoNowNs()) / 1e9, c0 = CpuSeconds();
    Status st = store->ApplyFlush(batch);
    sum->store_seconds += static_cast<double>(MonoNowNs()) / 1e9 - t0;
    sum->store_cpu_seconds += CpuSeconds() - c0;
    EW_RETURN_IF_ERROR(st);
    sum->edge_minutes += batch.rollups.size();
    batch.rollups.clear();
  }
  return Status::Ok();
}

}  // namespace

int RunRollups(const RollupOptions& o, RollupSummary* sum) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(o.data_dir) / "db", ec);
  storage::StoreOptions so;
  so.dir = (std::filesystem::path(o.data_dir) / "db").string();
  auto store = storage::EdgeStore::Open(so);
  if (!store.ok()) {
    std::fprintf(stderr, "rollups: %s\n", store.status().ToString().c_str());
    return 1;
  }
  Topology topo = Topology::Build(o.topology);
  std::mt19937_64 rng(o.topology.seed * 31 + 5);
  std::vector<Edge> edges = EdgesOf(topo, rng);
  const int64_t end = o.end_minute > 0 ? o.end_minute : WallNowMs() / kMsPerMinute;
  const int64_t minutes = o.days * 1440, first = end - minutes;
  std::ofstream vm;
  if (!o.vm_out.empty()) vm.open(o.vm_out, std::ios::trunc);
  for (const Edge& e : edges) {
    TempoSeries tempo(e.paired, vm.is_open() ? static_cast<size_t>(minutes) : 0);
    Status st = StoreEdge(store->get(), e, first, minutes, o.exemplars, rng,
                          vm.is_open() ? &tempo : nullptr, sum);
    if (!st.ok()) {
      std::fprintf(stderr, "rollups: %s\n", st.ToString().c_str());
      return 1;
    }
    for (const Series& x : tempo.series()) {
      if (!vm.is_open()) break;
      WriteSeries(vm, e, x, first);
      sum->vm_samples += x.values.size();
    }
    ++sum->edges;
  }
  double t0 = static_cast<double>(MonoNowNs()) / 1e9;
  Status st = (*store)->CompactAll();
  sum->compact_seconds = static_cast<double>(MonoNowNs()) / 1e9 - t0;
  if (!st.ok()) std::fprintf(stderr, "rollups: compact: %s\n", st.ToString().c_str());
  std::printf(
      "{\"edges\":%llu,\"edge_minutes\":%llu,\"first_minute\":%lld,\"end_minute\":%lld,"
      "\"vm_samples\":%llu,\"store_seconds\":%.3f,\"store_cpu_seconds\":%.3f,"
      "\"compact_seconds\":%.3f}\n",
      static_cast<unsigned long long>(sum->edges),
      static_cast<unsigned long long>(sum->edge_minutes), static_cast<long long>(first),
      static_cast<long long>(end), static_cast<unsigned long long>(sum->vm_samples),
      sum->store_seconds, sum->store_cpu_seconds, sum->compact_seconds);
  return 0;
}

}  // namespace ew::tools
