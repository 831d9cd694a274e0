// EdgeTotals: cumulative per-edge counters of every rollup the store has applied since the
// process started — what /metrics/servicegraph exposes as Prometheus counters and histograms in
// Grafana Tempo's names. The store adds each flush's rollups right after the flush's write
// succeeds (StoreOptions::totals), so the totals count exactly the requests the map can see, and
// a restart resets them (a counter reset, as Prometheus expects).
//
// Per (client, server, protocol) it keeps requests, errors, and for the server and the client
// side a histogram over fixed upper bounds (Tempo's by default): a rollup's latency sketch
// bucket falls into the first bound that its reported value (LatencySketch::BucketValue, the
// value the map's percentiles report) does not exceed, so the histogram's cumulative counts and
// the map's nearest-rank percentiles agree exactly; the sum adds those reported values (within
// 1 % of the true sum). Memory is bounded by the number of distinct edges: no per-request state.
//
// Thread-safety: all methods may be called concurrently (one mutex; Add is called by the
// store's flusher, Snapshot by query threads).
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "storage/edge_store.h"

namespace ew::storage {

class EdgeTotals {
 public:
  // Grafana Tempo's default histogram bounds in seconds: 0.1, 0.2, 0.4, ... 12.8.
  static std::vector<double> TempoBoundsSeconds();

  // bounds_seconds: ascending, positive upper bounds (at most 254); the +Inf bucket is implied.
  explicit EdgeTotals(std::vector<double> bounds_seconds = TempoBoundsSeconds());

  struct Histogram {
    std::vector<uint64_t> counts;  // per bound, then one for +Inf: NOT cumulative
    double sum_seconds = 0;
    uint64_t count = 0;
  };
  struct Entry {
    NodeId client = 0;
    NodeId server = 0;
    Protocol protocol = Protocol::kOther;
    uint64_t requests = 0;
    uint64_t errors = 0;
    Histogram server_latency;
    Histogram client_latency;
  };

  // Adds the rollups of one applied flush (their requests, errors and both sketches).
  void Add(const std::vector<MinuteRollup>& rollups) EXCLUDES(mu_);
  // Forgets the entries whose server node `drop` names (a deleted tenant's edges).
  void RemoveIf(const std::function<bool(NodeId server)>& drop) EXCLUDES(mu_);
  // A copy of every entry, in no particular order.
  std::vector<Entry> Snapshot() const EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);
  const std::vector<double>& bounds_seconds() const { return bounds_; }
  // The histogram slot (index into Histogram::counts) of one sketch bucket.
  size_t SlotOf(int32_t sketch_index) const;

 private:
  struct Key {
    NodeId client, server;
    Protocol protocol;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  void AddSketch(const LatencySketch& sketch, Histogram* h) const;

  const std::vector<double> bounds_;
  // limits_[i]: the largest sketch bucket index whose reported value is <= bounds_[i].
  std::vector<int32_t> limits_;
  // Per sketch bucket index: its reported value and its histogram slot (no exp() per bucket).
  std::vector<double> values_;
  std::vector<uint8_t> slots_;
  mutable Mutex mu_;
  std::unordered_map<Key, Entry, KeyHash> entries_ GUARDED_BY(mu_);
};

}  // namespace ew::storage
