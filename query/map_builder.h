// Map building: runs a Plan's scans through a Predicate, merges the selected records into
// per-edge statistics (counts add, sketches merge), and shapes the service map: namespace
// grouping, focus + N-hop neighbourhood, pruning (min_requests, errors_only, top) and the
// period-over-period comparison. Percentiles are taken only at render time.
//
// Thread-safety: functions over values; the store is thread-safe, a Predicate is per query.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "query/planner.h"
#include "query/predicate.h"
#include "query/query_limits.h"
#include "query/task_pool.h"
#include "storage/edge_store.h"
#include "storage/latency_sketch.h"

namespace ew::query {

// The four percentiles every endpoint reports, in microseconds (0 when there is no latency).
struct LatencyQuantiles {
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0;
};

// Merges many latency sketches cheaply: bucket counts are added into a dense window of counters
// (bucket indexes are bounded by LatencySketch::kMaxIndex, and one edge's latencies span a few
// hundred buckets), so a merge is one pass over the merged sketch's buckets — or straight over
// its stored encoding — with no allocation once the window covers them. Quantiles() gives
// exactly what LatencySketch::Quantile gives for the merged sketch.
class LatencyAccumulator {
 public:
  void Add(const storage::LatencySketch& s);
  // Adds a stored sketch encoding (RollupValue::encoded); Corruption when it is malformed (the
  // accumulator may then hold part of it).
  Status AddEncoded(std::string_view encoding);
  void Merge(const LatencyAccumulator& o);
  bool Empty() const { return count_ == 0; }
  void Clear();  // empties it, keeping the window's memory
  LatencyQuantiles Quantiles() const;

 private:
  void Cover(int32_t lo, int32_t hi);                 // grows the window to hold [lo, hi]
  Status AddEncodedSized(std::string_view encoding);  // AddEncoded into an empty window
  Status AddEncodedDense(std::string_view encoding);  // AddEncoded of a dense-form sketch
  void NoteUsed(int32_t lo, int32_t hi) {
    if (count_ == 0) {
      used_lo_ = lo;
      used_hi_ = hi;
    } else {
      used_lo_ = std::min(used_lo_, lo);
      used_hi_ = std::max(used_hi_, hi);
    }
  }
  std::vector<uint64_t> dense_;  // dense_[i]: count of bucket base_ + i
  int32_t base_ = 0;
  int32_t used_lo_ = 0, used_hi_ = 0;  // the lowest and highest bucket with a count (count_ > 0)
  uint64_t count_ = 0;
};

// The finished figures of one edge: what the renderers print.
struct EdgeSummary {
  uint64_t requests = 0;
  uint64_t errors = 0;
  storage::Protocol protocol = storage::Protocol::kOther;  // that of most of its requests
  LatencyQuantiles latency;  // server side where one exists, else client side
};

struct EdgeStats {
  uint64_t requests = 0;
  uint64_t errors = 0;
  std::array<uint64_t, 5> by_protocol{};
  // "The" latency of an edge is the server side where one exists, so the client-side counters
  // are only kept while no server-side latency has been seen (then they are dropped).
  LatencyAccumulator server_latency;
  LatencyAccumulator client_latency;

  // Adds the selected part (requests, errors) of one record; its sketches are merged whole
  // (decoded, or their encodings when the scan used ScanSpec::encoded_sketches). Corruption
  // when an encoded sketch is malformed.
  Status Add(const storage::RollupValue& v, storage::Protocol p, uint64_t requests,
             uint64_t errors);
  void Merge(EdgeStats& o);  // may take o's counters
  LatencyQuantiles Latency() const {
    return server_latency.Empty() ? client_latency.Quantiles() : server_latency.Quantiles();
  }
  storage::Protocol MajorityProtocol() const;
  EdgeSummary Summarize() const;
  void Clear();  // back to empty, keeping the accumulators' memory
};

// Calls sink for every record of the plan with its selected (requests, errors), requests > 0.
// `minute` is the first minute the record covers.
using RecordSink =
    std::function<void(int64_t minute, storage::Tier tier, const storage::EdgeDims& dims,
                       const storage::RollupValue& value, uint64_t requests, uint64_t errors)>;
// limits (may be null): checked while scanning; the scan stops with their error.
Status RunPlan(const Plan& plan, const storage::EdgeStore& store, Predicate* pred,
               const RecordSink& sink, QueryLimits* limits = nullptr);

// Edge statistics keyed by EdgeKey(client, server): a flat open-addressing table (entries in
// insertion order, one allocation for all of them) — a map over 10,000 edges touches it hundreds
// of thousands of times.
inline uint64_t EdgeKey(storage::NodeId client, storage::NodeId server) {
  return (static_cast<uint64_t>(client) << 32) | server;
}
class EdgeTable {
 public:
  using Entry = std::pair<uint64_t, EdgeStats>;
  // The entry of key, created empty when missing. The reference is valid until the next insert.
  EdgeStats& operator[](uint64_t key);
  void reserve(size_t n);
  // Merges other's entries into this one (other's counters may be taken).
  void MergeFrom(EdgeTable& other);
  // Empties the table but keeps its memory: entries (and their latency windows) are reused by
  // the next keys, so a table that served one query serves the next without allocating.
  void Clear();
  size_t size() const { return used_; }
  bool empty() const { return used_ == 0; }
  std::vector<Entry>::iterator begin() { return entries_.begin(); }
  std::vector<Entry>::iterator end() { return entries_.begin() + static_cast<ptrdiff_t>(used_); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const {
    return entries_.begin() + static_cast<ptrdiff_t>(used_);
  }

 private:
  void Rehash(size_t slots);
  struct Slot {
    uint64_t key = 0;
    uint32_t index = 0;  // entry index + 1; 0 = empty
  };
  std::vector<Entry> entries_;  // [0, used_) live; the rest kept for reuse after Clear
  size_t used_ = 0;
  std::vector<Slot> slots_;  // power-of-two size, linear probing; keys here spare a miss
  int shift_ = 64;
};

// Edge tables kept between queries (with their latency windows): a 10,000-edge map needs tens of
// MiB of them, which fresh allocations would fault in page by page on every query. Holds at most
// `keep` tables; thread-safe (Take and Give take mu_).
class EdgeTablePool {
 public:
  explicit EdgeTablePool(size_t keep) : keep_(keep) {}
  EdgeTable Take() EXCLUDES(mu_);              // a cleared table (empty one when the pool has none)
  void Give(EdgeTable&& table) EXCLUDES(mu_);  // keeps it (cleared) unless the pool is full

 private:
  Mutex mu_;
  size_t keep_;
  std::vector<EdgeTable> tables_ GUARDED_BY(mu_);
};
// The default number of threads a query scans with: the machine's hardware threads, at most 4.
int DefaultScanThreads();
// Runs the plan into an edge table. With threads > 1, a plan whose predicate selects every
// record is split into that many parts (ranges of leading nodes), scanned into a table each and
// merged. The calling thread scans the first part; the others go to `helpers` (a fixed pool; no
// thread is created here), and the caller also scans any part no helper has started yet, so a
// busy helper pool only costs parallelism. Without helpers the caller scans every part.
// Tables come from pool when given (and the parts' tables go back to it). limits (may be null)
// are checked while scanning: the first limit hit stops every part and is the error returned.
Result<EdgeTable> AggregateEdges(const Plan& plan, const storage::EdgeStore& store, Predicate* pred,
                                 int threads = 1, EdgeTablePool* pool = nullptr,
                                 TaskPool* helpers = nullptr, QueryLimits* limits = nullptr);

// Opaque, stable node ids: "n<NodeId>" for nodes, "ns:<namespace>" for grouped namespaces.
std::string NodeIdString(storage::NodeId id);
std::optional<storage::NodeId> ParseNodeId(std::string_view s);

struct MapNode {
  std::string id;
  std::string kind;
  std::string ns;
  std::string name;
  uint64_t requests_in = 0, errors_in = 0, requests_out = 0, errors_out = 0;
  uint64_t prev_requests_in = 0, prev_errors_in = 0, prev_requests_out = 0, prev_errors_out = 0;
};

struct MapEdge {
  std::string source;
  std::string target;
  EdgeSummary stats;
  EdgeSummary previous;  // meaningful when ServiceMap::compared
};

struct ServiceMap {
  std::vector<MapEdge> edges;                          // sorted by (source, target)
  std::vector<MapNode> nodes;                          // filled by FinishNodes
  std::unordered_map<std::string, MapNode> node_info;  // identity of every id edges may name
  bool compared = false;
  // With compared: the previous range, in minutes. Widened for retention on its own, so it may
  // be longer than the current range; its rates are over its own length.
  int64_t prev_start_minute = 0, prev_end_minute = 0;
};

// Builds the map from the current (and, when given, previous-period) edge tables: entries that
// become one map edge (namespace grouping) are merged inside the tables, then every map edge gets
// its summary (percentiles computed once, here).
ServiceMap BuildMap(EdgeTable& current, EdgeTable* previous, Dictionary* dict,
                    bool group_by_namespace);
// Keeps the edges within depth hops downstream or upstream of focus. False: focus not in map.
bool FocusMap(ServiceMap* map, const std::string& focus, int depth);
struct PruneOptions {
  uint64_t min_requests = 0;
  bool errors_only = false;
  size_t top = 0;  // 0: all
  bool top_by_errors = false;
};
void PruneMap(ServiceMap* map, const PruneOptions& opts);
// Fills map->nodes (the ends of the remaining edges, with in/out counts), sorted by id.
void FinishNodes(ServiceMap* map);

// "new", "gone" or "same".
std::string_view ChangeOf(uint64_t now_requests, uint64_t prev_requests);

}  // namespace ew::query
