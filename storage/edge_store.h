// EdgeStore: the durable home of Edgewise's per-minute edge rollups and everything around them
// (dictionaries, exemplars, pending-pair state, expiry diagnostics, the ingest-log position).
//
// This header is the storage module's whole public API for ingest and query; no RocksDB type
// appears here. Layout on disk: docs/format/storage.md.
//
// Thread-safety: every method is safe to call from any thread. ApplyFlush calls are serialized
// internally (one flusher is expected). Scans see a consistent snapshot.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/metrics.h"
#include "base/status.h"
#include "storage/latency_sketch.h"

namespace ew::storage {

enum class NodeKind : uint8_t {
  kService = 0,
  kExternalClient = 1,   // name "External Client"
  kExternalService = 2,  // name = hostname, or "Unknown External Service"
  kDatabase = 3,         // name = db.system or db.system/db.namespace
  kMessaging = 4,        // name = messaging.system/destination
};
std::string_view NodeKindName(NodeKind kind);  // "service", "external_client", ...

enum class Protocol : uint8_t { kHttp = 0, kGrpc = 1, kDatabase = 2, kMessaging = 3, kOther = 4 };
std::string_view ProtocolName(Protocol p);  // "http", "grpc", "database", "messaging", "other"

enum class Tier : uint8_t { kMinute = 0, kHour = 1, kDay = 2 };
constexpr int64_t TierUnitMinutes(Tier t) {
  return t == Tier::kMinute ? 1 : t == Tier::kHour ? 60 : 1440;
}
// Sets of tiers (EdgeStore::WriteTiers): one bit per tier.
constexpr uint8_t TierBit(Tier t) { return static_cast<uint8_t>(1u << static_cast<unsigned>(t)); }
constexpr uint8_t kAllTiers = 7;

// Dense ids from the dictionary. 0 is reserved: for NodeId "no node", for StringId "".
using NodeId = uint32_t;
using StringId = uint32_t;

// Tenants (docs/operations.md "Tenants and tokens"): every stored key starts with its tenant, so
// a tenant's data is one contiguous key range. Tenant 0 is "default": all data of a store
// written before tenants, and all data when no tokens file is set. Other tenants get dense ids
// from 1 (InternTenant). Node and string ids are global, but every node and string belongs to
// one tenant: the same name in two tenants gets two ids.
using TenantId = uint32_t;
constexpr TenantId kDefaultTenant = 0;
inline constexpr std::string_view kDefaultTenantName = "default";
constexpr size_t kMaxTenantNameBytes = 255;

// String dictionaries, each its own id space.
enum class StringKind : uint8_t { kNamespace = 0, kPath = 1, kMethod = 2 };

struct NodeInfo {
  TenantId tenant = kDefaultTenant;
  NodeKind kind = NodeKind::kService;
  std::string ns;  // empty for everything but services
  std::string name;
  StringId ns_id = 0;  // the kNamespace id of ns
};

// The detailed identity of a rollup (without its time).
struct EdgeDims {
  NodeId client = 0;  // the calling side (source of the edge)
  NodeId server = 0;  // the called side (target of the edge)
  Protocol protocol = Protocol::kOther;
  StringId path = 0;    // kPath id; 0 when the request has no path
  StringId method = 0;  // kMethod id; 0 when none
  uint16_t status = 0;  // HTTP status, or gRPC code; 0 when none
  bool operator==(const EdgeDims&) const = default;
};

struct Exemplar {
  std::array<uint8_t, 16> trace_id{};
  int64_t start_ms = 0;      // the span's own start, ms (docs/ingest.md "Exemplars")
  uint32_t duration_us = 0;  // server side when known, else client side
  uint16_t status = 0;
  bool error = false;
  bool operator==(const Exemplar&) const = default;
};

// Exemplar selection (docs/format/storage.md "Exemplars"): a set of exemplars keeps the holders
// of four fixed roles — the newest error, the newest success, the slowest error and the slowest
// success — so it always holds the newest error, the newest success and the slowest request of
// what was added. Each role is the maximum of a total order, so the kept set does not depend on
// the order in which exemplars (or kept sets) are added or merged.
enum class ExemplarRole : uint8_t {
  kNewestError = 0,
  kNewestSuccess = 1,
  kSlowestError = 2,
  kSlowestSuccess = 3,
};
constexpr size_t kExemplarRoles = 4;
constexpr size_t kMaxExemplars = kExemplarRoles;  // per rollup / edge-minute: one per role
// True when e may hold role r (errors hold the error roles, successes the others).
bool ExemplarFits(ExemplarRole r, const Exemplar& e);
// True when a beats b for role r: newest = larger (start_ms, duration_us, trace_id, status);
// slowest = larger (duration_us, start_ms, trace_id, status). Total on exemplars that fit r.
bool ExemplarBeats(ExemplarRole r, const Exemplar& a, const Exemplar& b);
// True when a is listed before b in a kept set: newer first (start_ms, then the other fields).
bool ExemplarListedBefore(const Exemplar& a, const Exemplar& b);

struct RollupValue {
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t request_bytes = 0;  // when spans carry body sizes
  uint64_t response_bytes = 0;
  LatencySketch server_latency;     // from server halves (µs)
  LatencySketch client_latency;     // from client halves (µs)
  std::vector<Exemplar> exemplars;  // the role holders (at most kMaxExemplars), newest first
  uint64_t peak_requests = 0;  // the highest one-minute request count inside the record's time unit
  int64_t peak_minute = 0;     // its minute (minutes since the epoch; the earliest on ties)
  // With ScanSpec::need_minute_counts: the unit's non-zero per-minute request counts,
  // (minute offset from the unit's start, count), ascending. Minute tier: one entry {0, requests}.
  std::vector<std::pair<uint16_t, uint64_t>> minute_counts;
  // Set only by Scan with ScanSpec::encoded_sketches: the stored encodings of the two sketches
  // (LatencySketch::EncodeTo format, not yet validated; decode with
  // LatencySketch::ForEachEncodedBucket), viewing the scan's buffers — valid during the visit
  // only. The decoded sketches above are then left empty.
  struct EncodedSketches {
    std::string_view server;
    std::string_view client;
  } encoded;

  // Adds other into this (counts add, sketches merge, exemplars keep the role holders).
  void Merge(const RollupValue& other);
  // Adds one exemplar: exemplars becomes the role holders of exemplars + e, newest first (an
  // exemplar equal to a kept one changes nothing).
  void AddExemplar(const Exemplar& e);
};

struct MinuteRollup {
  int64_t minute = 0;  // minutes since the unix epoch (event time of the request's start)
  EdgeDims dims;
  RollupValue value;
};

// Halves that expired without a partner, per node and minute (missing-edge diagnostics).
enum class ExpiryKind : uint8_t { kClientHalf = 0, kServerHalf = 1, kEvicted = 2 };
struct ExpiryCount {
  NodeId node = 0;
  int64_t minute = 0;
  ExpiryKind kind = ExpiryKind::kClientHalf;
  uint64_t count = 0;
};

// Everything one flush makes durable, atomically (one WriteBatch).
struct FlushBatch {
  std::vector<MinuteRollup> rollups;  // merged into the 1m, 1h and 1d tiers of both families
  // Pending-pair state owned by ingest (opaque bytes): puts and deletes since the last flush.
  std::vector<std::pair<std::string, std::string>> pending_puts;
  std::vector<std::string> pending_deletes;
  std::vector<ExpiryCount> expiries;
  // Ingest-log position up to which every record is reflected in this and earlier flushes.
  uint64_t log_position = 0;
};

// Families of rollups.
enum class Family : uint8_t {
  kEdge = 0,          // (server ns, server node, time, client node, protocol): unfiltered maps
  kEdgeByClient = 1,  // (client ns, client node, time, server node, protocol): client-side filters
  kDetail = 2,        // (server ns, server node, time, client node, protocol, path, method, status)
};

struct ScanSpec {
  TenantId tenant = kDefaultTenant;  // a scan reads one tenant's records only
  Family family = Family::kEdge;
  Tier tier = Tier::kMinute;
  int64_t start = 0;  // inclusive, in tier units since the epoch (minutes, hours or days)
  int64_t end = 0;    // exclusive
  // Narrowing by key prefix: the namespace and/or node of the key's leading side (the server for
  // kEdge and kDetail, the client for kEdgeByClient). Unset: all.
  std::optional<StringId> ns;
  std::optional<NodeId> node;
  // Added by storage: false skips decoding the latency sketches (the visitor then sees empty
  // sketches but exact counts), for callers that only need requests/errors/bytes.
  bool need_sketches = true;
  // With need_sketches: hand the visitor the sketches' stored encodings (RollupValue::encoded)
  // instead of decoded sketches, for callers that merge them into their own counters.
  bool encoded_sketches = false;
  // Narrowing to a range of leading (namespace, node) pairs, compared as the 64-bit number
  // (namespace id << 32 | node id): [lead_begin, lead_end); lead_end = UINT64_MAX: no upper
  // limit. SplitScan sets these to divide one scan between threads. Within `tenant`.
  uint64_t lead_begin = 0;
  uint64_t lead_end = UINT64_MAX;
  bool need_minute_counts = false;
  // For callers that only sum records over the range (the map): a kEdge day-tier scan may then
  // yield one record per closed aligned block of days (time = the block's first day) instead
  // of one per day (docs/format/storage.md "Day blocks"). Ignored with need_minute_counts and
  // by the other families and tiers.
  bool coarse_days = false;
};

// One record of a scan. For kEdge and kEdgeByClient, path/method/status in dims are 0.
// `time` is in the scanned tier's units. Return false from the visitor to stop early.
using ScanVisitor = std::function<bool(int64_t time, const EdgeDims& dims, const RollupValue& v)>;

class EdgeTotals;

struct StoreOptions {
  std::string dir;
  int64_t retention_ms[3] = {14LL * 86400'000, 180LL * 86400'000, 5LL * 365 * 86400'000};
  // How long exemplars are kept per minute (--exemplar-minutes-retention); after that per hour,
  // for as long as the minute tier (docs/format/storage.md "Exemplars").
  int64_t exemplar_minutes_retention_ms = 2LL * 86400'000;
  bool sync_writes = false;            // fsync each write (the server sets this for --fsync always)
  bool read_only = false;              // for edgewise-ctl on a stopped server's directory
  MetricsRegistry* metrics = nullptr;  // optional
  // Optional (must outlive the store): every applied flush's rollups are added to it, after the
  // flush's write succeeded (the counters behind /metrics/servicegraph).
  EdgeTotals* totals = nullptr;
  // For tests of retention: the clock the compaction filter compares against (0: wall clock).
  int64_t fixed_now_ms = 0;
  // Day blocks are built as flushes reach new days (docs/format/storage.md "Day blocks"). False:
  // only by CloseDays (bulk loaders that write history out of time order call it at the end).
  bool close_days = true;
};

struct StoreStats {
  struct ColumnFamily {
    std::string name;
    uint64_t live_bytes = 0;
    uint64_t keys_estimate = 0;
  };
  std::vector<ColumnFamily> families;
  uint64_t flushed_log_position = 0;
  uint64_t node_count = 0;
};

class EdgeStore {
 public:
  // Opens or creates the store at options.dir. Refuses a directory written by a newer schema
  // version with FailedPrecondition and a message that says so.
  static Result<std::unique_ptr<EdgeStore>> Open(const StoreOptions& options);
  virtual ~EdgeStore() = default;

  // --- Dictionary. Intern persists a new entry (a synced write when sync_writes) before it
  // returns, so ids may be written to the ingest log at once. Same input, same id, forever.
  // Tenants: "default" is kDefaultTenant (0) and has no entry; names are 1..255 bytes (callers
  // validate the characters).
  virtual Result<TenantId> InternTenant(std::string_view name) = 0;
  virtual std::optional<TenantId> FindTenant(std::string_view name) const = 0;
  virtual std::optional<std::string> GetTenantName(TenantId id) const = 0;
  // Every tenant that has an entry, plus "default" (0) first.
  virtual std::vector<std::pair<TenantId, std::string>> ListTenants() const = 0;
  // Nodes and strings belong to a tenant (which must exist: 0 or interned).
  virtual Result<NodeId> InternNode(TenantId tenant, NodeKind kind, std::string_view ns,
                                    std::string_view name) = 0;
  virtual Result<StringId> InternString(TenantId tenant, StringKind kind, std::string_view s) = 0;
  virtual std::optional<NodeInfo> GetNode(NodeId id) const = 0;
  virtual std::optional<NodeId> FindNode(TenantId tenant, NodeKind kind, std::string_view ns,
                                         std::string_view name) const = 0;
  // The nodes of one tenant.
  virtual std::vector<std::pair<NodeId, NodeInfo>> ListNodes(TenantId tenant) const = 0;
  virtual std::optional<std::string> GetString(StringKind kind, StringId id) const = 0;
  virtual std::optional<StringId> FindString(TenantId tenant, StringKind kind,
                                             std::string_view s) const = 0;
  // All (id, string) pairs of one kind and tenant (for evaluating a regex once per string).
  virtual std::vector<std::pair<StringId, std::string>> ListStrings(TenantId tenant,
                                                                    StringKind kind) const = 0;
  // The same, for tenant "default" (single-tenant callers, tools and tests).
  Result<NodeId> InternNode(NodeKind kind, std::string_view ns, std::string_view name) {
    return InternNode(kDefaultTenant, kind, ns, name);
  }
  Result<StringId> InternString(StringKind kind, std::string_view s) {
    return InternString(kDefaultTenant, kind, s);
  }
  std::optional<NodeId> FindNode(NodeKind kind, std::string_view ns, std::string_view name) const {
    return FindNode(kDefaultTenant, kind, ns, name);
  }
  std::vector<std::pair<NodeId, NodeInfo>> ListNodes() const { return ListNodes(kDefaultTenant); }
  std::optional<StringId> FindString(StringKind kind, std::string_view s) const {
    return FindString(kDefaultTenant, kind, s);
  }
  std::vector<std::pair<StringId, std::string>> ListStrings(StringKind kind) const {
    return ListStrings(kDefaultTenant, kind);
  }

  // --- Writes.
  // Makes the whole batch durable in one atomic write. Each rollup and expiry count is stored
  // under its nodes' tenant; a rollup whose client and server belong to different tenants, or
  // that names an unknown node, is refused (InvalidArgument) and nothing is written. On error
  // nothing of it is applied and the caller keeps the batch to retry.
  virtual Status ApplyFlush(const FlushBatch& batch) = 0;
  // Deletes every record of the tenant — the rollups of every tier and family, its exemplars and
  // expiry counts: one range deletion of the tenant's 4-byte key prefix in each of those column
  // families, in one (synced) write — and forgets its edges' totals. The dictionary keeps its
  // names (ids are forever) and the pending state is ingest's (it drops the tenant's halves
  // itself). Refused (Unimplemented-like FailedPrecondition) by stores that cannot.
  virtual Status DeleteTenant(TenantId tenant) {
    (void)tenant;
    return Status::FailedPrecondition("this store cannot delete a tenant");
  }
  // Closes every day up to through_day (days since the epoch): builds the day blocks that end
  // by then (docs/format/storage.md "Day blocks"). Serialized with ApplyFlush. Stores without
  // blocks do nothing.
  virtual Status CloseDays(int64_t through_day) {
    (void)through_day;
    return Status::Ok();
  }
  // Bulk loading of history (tools and benchmarks that build a store; docs/format/storage.md
  // "Bulk loading"): merges the rollups into the tiers of `tiers` (a set of TierBit, 1..7) of
  // all three families — exactly the records ApplyFlush of the same rollups writes into those
  // tiers — and writes nothing else: no other tier, no exemplars, expiry counts or pending
  // state, no totals, and the log position stays as it is (the rollups are not in the ingest
  // log: a crash replays nothing of them and skips nothing of it). One atomic write,
  // serialized with ApplyFlush; refused like ApplyFlush (unknown node, two tenants, read-only,
  // unhealthy) with nothing written. Stores that cannot refuse it (FailedPrecondition).
  virtual Status WriteTiers(const std::vector<MinuteRollup>& rollups, uint8_t tiers) {
    (void)rollups;
    (void)tiers;
    return Status::FailedPrecondition("this store cannot bulk-load tiers");
  }
  // The log_position of the last applied flush (0 for a new store).
  virtual uint64_t FlushedLogPosition() const = 0;
  // Writes the pending state's memtables out and waits, so that the memory of a large pending
  // write is free (for the caller's malloc_trim) now instead of after a background flush.
  virtual Status FlushPendingMemtables() { return Status::Ok(); }
  // Calls fn for every stored pending-pair entry (at start-up, before replaying the log).
  virtual Status LoadPending(
      const std::function<void(std::string_view key, std::string_view value)>& fn) const = 0;

  // --- Reads.
  virtual Status Scan(const ScanSpec& spec, const ScanVisitor& visit) const = 0;
  // Divides a scan into up to `parts` scans over disjoint ranges of leading nodes, with about as
  // many known nodes in each, that together read exactly what spec reads (for parallel scans).
  // A scan of one node, or over too few nodes, comes back whole.
  virtual std::vector<ScanSpec> SplitScan(const ScanSpec& spec, int parts) const = 0;
  // Exemplars of the edge (client -> server) in [start_minute, end_minute), newest minute first
  // (stored under the nodes' tenant).
  virtual Status ScanExemplars(
      NodeId client, NodeId server, int64_t start_minute, int64_t end_minute,
      const std::function<bool(int64_t minute, const Exemplar&)>& visit) const = 0;
  // Expired-half counts of one node over [start_minute, end_minute), summed per kind.
  virtual Result<std::array<uint64_t, 3>> SumExpiries(NodeId node, int64_t start_minute,
                                                      int64_t end_minute) const = 0;

  // --- Health and administration.
  // Ok, or the RocksDB background error (disk full, I/O error) that stops writes; clears itself
  // when RocksDB recovers.
  virtual Status Health() const = 0;
  virtual Status CompactAll() = 0;
  // Writes a consistent checkpoint (hard links where possible) into a new directory.
  virtual Status Checkpoint(const std::string& dir) = 0;
  virtual StoreStats Stats() const = 0;
  // How long each tier (minute, hour, day) is kept: the options the store was opened with.
  virtual std::array<int64_t, 3> RetentionMs() const = 0;
};

// Restores a checkpoint into dir (which must not exist or be empty, and not be in use).
Status RestoreCheckpoint(const std::string& checkpoint_dir, const std::string& dir);

}  // namespace ew::storage
