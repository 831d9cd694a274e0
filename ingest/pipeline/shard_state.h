// ShardState: pairing and aggregation for the traces of one shard (by the trace key, a hash of the
// trace id's low 64 bits). It owns the pending table, the per-minute aggregation table keyed by
// (minute, EdgeDims), the pending-state delta since the last flush and the expiry diagnostics.
// Everything here is ids and numbers; no strings, no locks.
//
// Pairing: a half finds its partner under (trace key, client span id) and the edge is added at
// once; otherwise it waits. Halves that waited pair_wait_ms of arrival (wall) time expire into
// their unpaired edge (client -> its peer, or peer -> server); when the table is full the oldest
// expire early (ExpiryKind::kEvicted). Rules: docs/ingest.md.
//
// Thread-safety: a ShardState is used by one thread at a time (its shard worker; at start-up the
// thread that loads and replays). PathCap is shared and thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "ingest/derivation/derive.h"
#include "ingest/derivation/half_record.h"
#include "ingest/pipeline/held_exemplars.h"
#include "ingest/pipeline/pending_table.h"
#include "storage/edge_store.h"

namespace ew::ingest {

// The per-edge path cap shared by all shards: the first max_paths distinct paths of an edge
// (client, server) are admitted, later ones become {other}. Shards cache the answers, so this
// mutex is taken once per (shard, edge, path), never per span in steady state.
class PathCap {
 public:
  explicit PathCap(uint32_t max_paths) : max_paths_(max_paths) {}
  bool Admit(storage::NodeId client, storage::NodeId server, storage::StringId path) EXCLUDES(mu_);
  // Forgets the paths of the edges whose server node `drop` names (a deleted tenant's).
  void Forget(const std::function<bool(storage::NodeId server)>& drop) EXCLUDES(mu_);

 private:
  uint32_t max_paths_;
  Mutex mu_;
  std::unordered_map<uint64_t, std::unordered_set<storage::StringId>> paths_ GUARDED_BY(mu_);
};

// The per-tenant cap on distinct edges (client, server) shared by all shards
// (--tenant-max-edges, docs/ingest.md "Per-tenant limits"): a tenant's first max_edges distinct
// edges are admitted, a request that would add one more is refused. The edges already in the
// store are seeded at start-up, so the count survives restarts. Shards cache admitted edges, so
// this mutex is taken once per (shard, edge), and per refused request.
class EdgeCap {
 public:
  explicit EdgeCap(uint64_t max_edges) : max_edges_(max_edges) {}
  // An edge already stored (start-up): counted, whatever the limit.
  void Seed(storage::TenantId tenant, storage::NodeId client, storage::NodeId server) EXCLUDES(mu_);
  bool Admit(storage::TenantId tenant, storage::NodeId client, storage::NodeId server)
      EXCLUDES(mu_);
  uint64_t EdgesOf(storage::TenantId tenant) const EXCLUDES(mu_);
  void Forget(storage::TenantId tenant) EXCLUDES(mu_);  // a deleted tenant starts at 0

 private:
  const uint64_t max_edges_;
  mutable Mutex mu_;
  std::unordered_map<storage::TenantId, std::unordered_set<uint64_t>> edges_ GUARDED_BY(mu_);
};

struct ShardOptions {
  uint64_t max_pending = 4'000'000;  // this shard's share
  // This shard's share of --tenant-max-pending: the most waiting halves of one tenant it holds;
  // past it that tenant's own oldest halves expire early (kEvicted). 0: no per-tenant bound.
  uint64_t tenant_max_pending = 0;
  EdgeCap* edge_cap = nullptr;  // --tenant-max-edges; nullptr: none
  int64_t pair_wait_ms = 10'000;
  WellKnownIds ids;  // tenant 0's
  // The well-known ids of a node's tenant (a half's tenant is its node's); unset: `ids` for
  // every node (single-tenant tests). The shard caches the answer per node.
  std::function<const WellKnownIds*(storage::NodeId)> ids_of_node;
  PathCap* path_cap = nullptr;  // required
};

struct ShardCounters {
  uint64_t pairs_completed = 0;
  uint64_t expired[3] = {0, 0, 0};  // by storage::ExpiryKind
};

// What the limits took from one tenant in one shard (ew_ingest_refused_total{tenant,reason}).
enum class TenantRefusal : uint8_t {
  kPending = 0,     // halves expired early by --tenant-max-pending
  kMaxPending = 1,  // halves expired early by the global --max-pending
  kEdges = 2,       // requests not stored: a new edge over --tenant-max-edges
  kPaths = 3,       // requests whose path was folded into {other} (--max-paths-per-edge)
  kCount = 4
};
std::string_view TenantRefusalReason(TenantRefusal r);  // "pending", "max_pending", ...
struct TenantRefusals {
  uint64_t n[static_cast<size_t>(TenantRefusal::kCount)] = {};
};

// What one shard contributes to a flush.
struct ShardFlush {
  std::vector<storage::MinuteRollup> rollups;
  // Pending-state delta, already in the persisted chunk form (pending_table.h): chunks of at
  // most kPendingChunkAdds 43-byte records, each chunk starting with the version byte, for
  // the halves pending now and not persisted yet (all pending halves in a full flush) ...
  std::vector<std::string> pending_adds;
  // ... and the 12-byte keys (no version byte) of persisted halves gone since the last flush
  // (none in a full flush).
  std::string pending_drops;
  std::vector<storage::ExpiryCount> expiries;
  size_t pending_now = 0;  // halves pending after this flush
};

class ShardState {
 public:
  explicit ShardState(const ShardOptions& options);

  // Sets the wall clock used to age halves (arrivals older than now - pair_wait are clamped so
  // tick arithmetic cannot wrap). Expire also advances it.
  void SetNow(int64_t now_ms);
  // Pairs or holds one half that arrived (was received) at arrival_ms wall time.
  void Apply(const HalfRecord& r, int64_t arrival_ms);
  // A hint that Apply(r) comes soon: starts loading the pending-table slot it will probe.
  void Prefetch(const HalfRecord& r) const;
  // Expires halves whose arrival is at least pair_wait before now_ms, visiting at most
  // max_slots slots from where the last call stopped (SIZE_MAX: the whole table).
  void Expire(int64_t now_ms, size_t max_slots);
  // Before loading: makes room at once for `count` halves (the persisted adds minus drops of this
  // shard, an upper bound on what loading leaves) and a tenth more — the growth step the table
  // would take next (docs/ingest.md) — so loading moves no entry twice and the log replay and the
  // first traffic after it need no growth either.
  void ReservePending(size_t count) { table_.Reserve(count + count / 10); }
  // Restores one persisted pending half (start-up, before replay). Loading never evicts: a
  // later chunk may drop a half that was paired or expired (and counted) in the previous run, so
  // evicting it while loading would count it twice. FinishLoad evicts what is over the bound.
  Status LoadPending(std::string_view key, std::string_view value, int64_t now_ms);
  // After the last LoadPending/DropPending: evicts the oldest halves over max_pending (a store
  // written with a larger --max-pending), counting them as evicted, once.
  void FinishLoad();
  // Forgets a restored half again (a later chunk of the persisted state dropped it).
  void DropPending(std::string_view key);
  // A deleted tenant: forgets its waiting halves (dropped from the persisted state at the next
  // flush, never expired or counted) and its cached edges and paths. Returns the halves dropped.
  size_t DropTenant(storage::TenantId tenant);
  // Moves out the aggregation tables and the pending delta since the last call; marks the
  // remaining pending halves as persisted (they are in out->pending_adds or were already).
  // full: every pending half goes into out->pending_adds, no drops (a snapshot that replaces
  // the whole persisted state).
  void TakeFlush(ShardFlush* out, bool full = false);

  size_t pending() const { return table_.size(); }
  const PendingTable& table() const { return table_; }
  const ShardCounters& counters() const { return counters_; }
  // Refusals by tenant id (index), and their sum (changes whenever one of them does).
  const std::vector<TenantRefusals>& tenant_refusals() const { return refusals_; }
  uint64_t tenant_refusals_total() const { return refusals_total_; }
  // Waiting halves of the tenant in this shard (counted only with a tenant_max_pending).
  uint64_t tenant_pending(storage::TenantId tenant) const {
    return tenant < tenant_pending_.size() ? tenant_pending_[tenant].count : 0;
  }
  // Slots the background sweep visits per call so the table is covered every pair_wait / 2.
  size_t SweepSlotsPerTick(int64_t tick_ms) const;
  // The longest a full sweep of the table takes (SweepSlotsPerTick).
  static constexpr int64_t kMaxFullSweepMs = 1000;
  int64_t tick_ms() const { return tick_ms_; }

 private:
  struct AggKey {
    int64_t minute;
    storage::EdgeDims dims;
    bool operator==(const AggKey&) const = default;
  };
  struct AggKeyHash {
    size_t operator()(const AggKey& k) const;
  };
  // Latency bucket counts of one aggregate between flushes: a dense window of 32-bit counters
  // over the bucket indices seen so far (an edge's latencies cover a few hundred buckets: ~1 KB,
  // a quarter of the sorted (index, count) pairs of a LatencySketch), so adding a request is one
  // increment instead of a search and, for a new bucket, a vector insert. Moved into the
  // rollup's LatencySketch at TakeFlush. A count that would pass 2^32 goes to the sketch.
  struct DenseBuckets {
    int32_t lo = 0;
    std::vector<uint32_t> counts;
    void Add(int32_t index, uint64_t n, storage::LatencySketch* overflow);
    void MoveInto(storage::LatencySketch* out);
  };
  struct AggValue {
    uint64_t requests_fp = 0;  // weighted, in 1/65536 units
    uint64_t errors_fp = 0;
    DenseBuckets server_buckets, client_buckets;
    storage::RollupValue value;  // bytes, sketches, exemplars (requests/errors set at flush)
  };
  struct ExpiryKey {
    storage::NodeId node;
    int64_t minute;
    uint8_t kind;
    bool operator==(const ExpiryKey&) const = default;
  };
  struct ExpiryKeyHash {
    size_t operator()(const ExpiryKey& k) const;
  };
  struct PathKey {
    storage::NodeId client, server;
    storage::StringId path;
    bool operator==(const PathKey&) const = default;
  };
  struct PathKeyHash {
    size_t operator()(const PathKey& k) const;
  };

  PendingEntry ToEntry(const HalfRecord& r, int64_t arrival_ms) const;
  uint16_t TickOf(int64_t ms) const;
  // Adds one edge made of a client half and/or a server half (at least one non-null). Its
  // exemplar comes from the arriving half, else from held (an expiring half's, or none).
  void AddEdge(storage::NodeId client, storage::NodeId server, const PendingEntry* c,
               const PendingEntry* s, const HalfRecord* arriving,
               const storage::Exemplar* held = nullptr);
  void ExpireSlot(size_t i, storage::ExpiryKind kind);
  void EraseSlot(size_t i);
  // same: the table's entry under e's key (from the caller's Find), or nullptr.
  // miss: where Find for e's key ended, when nothing changed the table since (else nullptr).
  void Hold(const PendingEntry& e, int64_t now_ms, PendingEntry* same,
            const PendingTable::Miss* miss = nullptr);
  void EvictOldest(int64_t now_ms);
  storage::StringId CapPath(storage::NodeId client, storage::NodeId server, storage::StringId path,
                            const WellKnownIds& ids);
  // The per-tenant edge cap (options_.edge_cap): true when the edge may be stored; a refusal is
  // counted.
  bool AdmitEdge(storage::TenantId tenant, storage::NodeId client, storage::NodeId server);
  void CountRefusal(storage::TenantId tenant, TenantRefusal reason);
  // Per-tenant waiting halves (tenant_max_pending): the count, and the halves in arrival order
  // (with stale references to halves gone since; compacted as it grows, see Compact).
  struct __attribute__((packed)) PendingRef {
    uint32_t trace_key;
    uint64_t span_key;
    uint16_t tick;
  };
  struct TenantPending {
    uint64_t count = 0;
    std::deque<PendingRef> order;
  };
  storage::TenantId TenantOf(storage::NodeId node) { return IdsOf(node)->tenant; }
  TenantPending& PendingOf(storage::TenantId tenant);
  // A half of e's tenant now waits (Hold, LoadPending), or one left the table (EraseSlot,
  // DropPending): the tenant's count, and its order for a new arrival.
  void NoteHeld(const PendingEntry& e);
  void NoteGone(const PendingEntry& e);
  // Expires the tenant's oldest waiting halves (a batch) to make room for one more.
  void EvictTenantOldest(storage::TenantId tenant);
  void CompactOrder(storage::TenantId tenant);
  // The well-known ids of the node's tenant (options_.ids_of_node, cached per node id): the same
  // pointer for two nodes exactly when they are of one tenant.
  const WellKnownIds* IdsOf(storage::NodeId node);
  // A waiting half and the arriving one share a key but not a tenant (a chosen or colliding
  // salted span id, half_record.h): the arriving half goes into its unpaired edge at once,
  // counted as expired, and the waiting one stays.
  void RefuseAcrossTenants(const HalfRecord& r, const PendingEntry& e);

  ShardOptions options_;
  int64_t tick_ms_;
  uint32_t wait_ticks_;
  int64_t last_now_ms_ = 0;
  PendingTable table_;
  HeldExemplars held_;  // exemplars of the halves that may expire into their unpaired edge
  std::vector<uint32_t> tick_counts_;  // live entries per arrival tick (for eviction order)
  size_t sweep_cursor_ = 0;
  size_t evict_cursor_ = 0;
  std::unordered_map<AggKey, AggValue, AggKeyHash> agg_;
  std::unordered_map<ExpiryKey, uint64_t, ExpiryKeyHash> expiries_;
  std::unordered_map<PathKey, storage::StringId, PathKeyHash> path_cache_;
  // The last lookups of agg_ and path_cache_ (the next edge is often the same).
  AggValue* last_agg_ = nullptr;
  AggKey last_agg_key_{};
  bool last_path_valid_ = false;
  PathKey last_path_key_{};
  storage::StringId last_path_out_ = 0;
  std::vector<const WellKnownIds*> ids_of_node_;  // IdsOf's cache, by node id (null: unknown)
  std::string pending_drops_;  // 12-byte keys of persisted halves gone since the last flush
  ShardCounters counters_;
  std::vector<TenantRefusals> refusals_;  // by tenant id
  uint64_t refusals_total_ = 0;
  std::vector<TenantPending> tenant_pending_;  // by tenant id (only with tenant_max_pending)
  // Edges this shard found admitted (edge_cap), and the last one.
  std::unordered_set<uint64_t> admitted_edges_;
  uint64_t last_admitted_edge_ = 0;
};

}  // namespace ew::ingest
