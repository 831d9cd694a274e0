// EdgeStoreImpl: the RocksDB implementation of EdgeStore (internal to storage/). Split by verb:
// edge_store_open.cc (open, options, health, administration), edge_store_write.cc (dictionary
// interning, ApplyFlush), edge_store_bulk.cc (WriteTiers), edge_store_read.cc (scans). Layout:
// docs/format/storage.md.
//
// Thread-safety: as EdgeStore; the lock contracts are annotations (base/mutex.h) checked by the
// clang build. The dictionary (nodes_, node_index_, strings_) is GUARDED_BY dict_mu_ and
// read-mostly: lookups take it shared; Intern* serialize on intern_mu_ (which orders id
// assignment and the dictionary write: intern_mu_ before dict_mu_) and take dict_mu_ exclusively
// only to publish a new entry. ApplyFlush calls serialize on flush_mu_. The health error is
// behind HealthListener::mu_, the resume throttle behind resume_mu_.
#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "storage/edge_store.h"
#include "storage/record_codec.h"
#include "storage/rocks_ops.h"

namespace ew::storage {

// 1: before tenants; 2: tenant-prefixed keys and dictionary entries (upgrade:
// edge_store_upgrade.cc); 3: day blocks (edge_blk, edge_store_blocks.cc).
constexpr uint64_t kSchemaVersion = 3;
constexpr size_t kMaxDictStringBytes = 65535;

// Column families in handle order: the 9 tier families (family * 3 + tier), then the rest.
enum CfIndex : size_t {
  kCfDict = 9,
  kCfExemplars = 10,
  kCfPending = 11,
  kCfExpiry = 12,
  kCfMeta = 13,
  kCfExemplarsHour = 14,  // schema 2
  kCfEdgeBlocks = 15,     // schema 3
  kCfCount = 16,
};
constexpr size_t TierCf(Family f, Tier t) {
  return static_cast<size_t>(f) * 3 + static_cast<size_t>(t);
}
extern const char* const kCfNames[kCfCount];

// Converts a RocksDB status at the storage edge.
Status FromRocks(const rocksdb::Status& s, std::string_view context);

// Tracks RocksDB background errors (disk full, I/O errors) for Health().
class HealthListener : public rocksdb::EventListener {
 public:
  explicit HealthListener(MetricsRegistry* metrics);
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) override;
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override;
  void SetError(const Status& s) EXCLUDES(mu_);
  void Clear() EXCLUDES(mu_);
  Status Get() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  Status error_ GUARDED_BY(mu_);
  Counter* errors_total_ = nullptr;
  Gauge* healthy_ = nullptr;
};

// What the memory gauges of /metrics read (RocksDB's memtables, block cache and table readers).
// Shared with the registry's callbacks, which may outlive the store: the store detaches it when
// it closes, and a detached probe reads 0.
struct MemoryProbe {
  Mutex mu;
  rocksdb::DB* db GUARDED_BY(mu) = nullptr;
  std::shared_ptr<rocksdb::Cache> cache GUARDED_BY(mu);
  double Property(const char* name) EXCLUDES(mu);
  double CacheUsage() EXCLUDES(mu);
  void Detach() EXCLUDES(mu);
};

class EdgeStoreImpl final : public EdgeStore {
 public:
  explicit EdgeStoreImpl(const StoreOptions& options);
  ~EdgeStoreImpl() override;
  rocksdb::ColumnFamilyOptions CfOptions(size_t i, const std::shared_ptr<rocksdb::Cache>& cache);
  Status AddUnknownFamilies(const rocksdb::DBOptions& db_opts,
                            std::vector<rocksdb::ColumnFamilyDescriptor>* cfds);
  Status CheckVersionAndPosition();
  Status OpenDb();

  using EdgeStore::FindNode;
  using EdgeStore::FindString;
  using EdgeStore::InternNode;
  using EdgeStore::InternString;
  using EdgeStore::ListNodes;
  using EdgeStore::ListStrings;
  Result<TenantId> InternTenant(std::string_view name) override;
  std::optional<TenantId> FindTenant(std::string_view name) const override;
  std::optional<std::string> GetTenantName(TenantId id) const override;
  std::vector<std::pair<TenantId, std::string>> ListTenants() const override;
  Result<NodeId> InternNode(TenantId tenant, NodeKind kind, std::string_view ns,
                            std::string_view name) override;
  Result<StringId> InternString(TenantId tenant, StringKind kind, std::string_view s) override;
  std::optional<NodeInfo> GetNode(NodeId id) const override;
  std::optional<NodeId> FindNode(TenantId tenant, NodeKind kind, std::string_view ns,
                                 std::string_view name) const override;
  std::vector<std::pair<NodeId, NodeInfo>> ListNodes(TenantId tenant) const override;
  std::optional<std::string> GetString(StringKind kind, StringId id) const override;
  std::optional<StringId> FindString(TenantId tenant, StringKind kind,
                                     std::string_view s) const override;
  std::vector<std::pair<StringId, std::string>> ListStrings(TenantId tenant,
                                                            StringKind kind) const override;

  Status ApplyFlush(const FlushBatch& batch) override;
  Status CloseDays(int64_t through_day) override EXCLUDES(flush_mu_);
  Status DeleteTenant(TenantId tenant) override;
  Status WriteTiers(const std::vector<MinuteRollup>& rollups, uint8_t tiers) override;
  uint64_t FlushedLogPosition() const override {
    return flushed_position_.load(std::memory_order_acquire);
  }
  Status LoadPending(
      const std::function<void(std::string_view, std::string_view)>& fn) const override;

  Status Scan(const ScanSpec& spec, const ScanVisitor& visit) const override;
  std::vector<ScanSpec> SplitScan(const ScanSpec& spec, int parts) const override;
  Status ScanExemplars(NodeId client, NodeId server, int64_t start_minute, int64_t end_minute,
                       const std::function<bool(int64_t, const Exemplar&)>& visit) const override;
  Result<std::array<uint64_t, 3>> SumExpiries(NodeId node, int64_t start_minute,
                                              int64_t end_minute) const override;

  Status Health() const override;
  Status CompactAll() override;
  Status FlushPendingMemtables() override;
  Status Checkpoint(const std::string& dir) override;
  StoreStats Stats() const override;
  std::array<int64_t, 3> RetentionMs() const override {
    return {options_.retention_ms[0], options_.retention_ms[1], options_.retention_ms[2]};
  }

 private:
  struct StringDict {
    std::vector<std::string> by_id{std::string()};  // id 0 = ""
    std::vector<TenantId> tenant_of{kDefaultTenant};
    std::unordered_map<std::string, StringId> index;  // key: StringIndexKey
  };
  static std::string NodeIndexKey(TenantId tenant, NodeKind kind, StringId ns_id,
                                  std::string_view name);
  static std::string StringIndexKey(TenantId tenant, std::string_view s);
  bool TenantExists(TenantId tenant) const REQUIRES_SHARED(dict_mu_);

  // Reads the schema version (0 for a new store) and refuses a newer one; *version is set.
  Status CheckSchemaVersion(uint64_t* version);
  // The memory gauges of /metrics (when options_.metrics is set), read through memory_probe_.
  void RegisterMemoryGauges(const std::shared_ptr<rocksdb::Cache>& cache);
  Status WriteSchemaVersion();
  // Rewrites a schema-1 store as schema 2 (edge_store_upgrade.cc), then records the version.
  Status UpgradeFromV1();
  // The value conversions of the upgrade (edge_store_convert.cc); each returns the records done.
  Result<uint64_t> ConvertMinuteTierV1(Family f);
  Result<uint64_t> ConvertCoarseTierV1(Family f, Tier tier);
  Result<uint64_t> ConvertExemplarsV1();
  bool MinuteCountsV1(Family f, Tier tier, std::string_view new_key, uint64_t requests,
                      std::vector<std::pair<uint16_t, uint64_t>>* counts) const;
  Status LoadDictionary() EXCLUDES(dict_mu_);
  Status LoadDictEntry(std::string_view key, std::string_view value) REQUIRES(dict_mu_);
  StringId NsOfNode(NodeId id) const EXCLUDES(dict_mu_);
  // The node's (tenant, namespace id); nullopt for an unknown node.
  std::optional<std::pair<TenantId, StringId>> TenantNsOfNode(NodeId id) const EXCLUDES(dict_mu_);
  Status PutDict(const std::string& key, const std::string& value) REQUIRES(intern_mu_);
  Status TryResume() const EXCLUDES(resume_mu_);
  void ScanBounds(const ScanSpec& spec, std::string* prefix, std::string* upper,
                  std::string* lead_lower) const;
  // Exemplars are read per minute from this minute on, per hour before it.
  int64_t ExemplarBoundaryMinute() const;
  Status ScanExemplarFamily(size_t cf, TenantId tenant, NodeId client, NodeId server,
                            uint32_t first, uint32_t last, int64_t unit_minutes, int64_t min_minute,
                            int64_t max_minute,
                            const std::function<bool(int64_t, const Exemplar&)>& visit,
                            bool* stopped) const;
  using FamilyAggregates = std::array<std::unordered_map<std::string, RollupValue>, 3>;
  // exemplars: nullptr skips them (WriteTiers).
  Status AggregateRollups(const std::vector<MinuteRollup>& rollups, FamilyAggregates* minute,
                          std::map<std::string, RollupValue>* exemplars) REQUIRES(flush_mu_);
  void WriteExemplars(const std::map<std::string, RollupValue>& exemplars, rocksdb::WriteBatch* wb)
      REQUIRES(flush_mu_);
  Status BuildFlushBatch(const FlushBatch& batch, rocksdb::WriteBatch* wb) REQUIRES(flush_mu_);
  // The family's records of the tiers in `tiers` (a set of TierBit).
  void WriteFamilyTiers(Family f, const std::unordered_map<std::string, RollupValue>& minute,
                        rocksdb::WriteBatch* wb, uint8_t tiers = kAllTiers) REQUIRES(flush_mu_);

  // Day blocks (edge_store_blocks.cc).
  int64_t NowMs() const;
  int64_t DayHorizon() const;  // the first day the day tier keeps
  Status LoadBlocksClosed();
  // meta/day_blocks: the last closed day (-1: none) and the first day blocks may start on.
  Status ReadDayBlocks(const rocksdb::ReadOptions& ro, int64_t* closed, int64_t* first) const;
  // Builds the blocks of the days after blocks_closed_ through `through` (synced meta at the end).
  Status CloseDaysLocked(int64_t through) REQUIRES(flush_mu_);
  Status BuildBlockLevel(int level, int64_t first_start, int64_t last_start) REQUIRES(flush_mu_);
  // After a write: closes the days the flushes have passed (options_.close_days).
  void MaybeCloseDays(int64_t max_day) REQUIRES(flush_mu_);
  // A flush's day record of a closed day also goes into every closed block that holds it.
  void AddLateBlockOperands(const std::string& day_key, const RecordEntry& entry,
                            rocksdb::WriteBatch* wb) REQUIRES(flush_mu_);
  Status UpgradeToV3();
  Status ScanTier(const ScanSpec& spec, const rocksdb::Snapshot* snapshot,
                  const ScanVisitor& visit) const;
  Status ScanCoarseDays(const ScanSpec& spec, const ScanVisitor& visit) const;
  Status ScanBlocks(const ScanSpec& spec, const std::vector<uint32_t>& times,
                    const rocksdb::Snapshot* snapshot, const ScanVisitor& visit) const;

  StoreOptions options_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // kCfCount, then extra ones
  std::vector<std::unique_ptr<RetentionFilter>> filters_;
  std::shared_ptr<HealthListener> listener_;
  std::shared_ptr<MemoryProbe> memory_probe_ = std::make_shared<MemoryProbe>();

  // Serializes Intern*: taken before dict_mu_, held across the dictionary write.
  Mutex intern_mu_ ACQUIRED_BEFORE(dict_mu_);
  mutable SharedMutex dict_mu_;
  std::vector<NodeInfo> nodes_ GUARDED_BY(dict_mu_){NodeInfo{}};  // id 0 empty
  std::unordered_map<std::string, NodeId> node_index_ GUARDED_BY(dict_mu_);
  StringDict strings_[3] GUARDED_BY(dict_mu_);
  std::vector<std::string> tenants_ GUARDED_BY(dict_mu_){std::string(kDefaultTenantName)};
  std::unordered_map<std::string, TenantId> tenant_index_ GUARDED_BY(dict_mu_);

  Mutex flush_mu_;  // serializes ApplyFlush and CloseDays
  // Every block that starts on blocks_first_ or later and ends by the day after
  // blocks_closed_ is built (-1: none); meta/day_blocks.
  int64_t blocks_closed_ GUARDED_BY(flush_mu_) = -1;
  int64_t blocks_first_ GUARDED_BY(flush_mu_) = 0;
  int64_t max_flush_day_ GUARDED_BY(flush_mu_) = -1;  // the latest day any flush carried
  int64_t late_horizon_ GUARDED_BY(flush_mu_) = 0;    // DayHorizon() of the flush being built
  std::atomic<uint64_t> flushed_position_{0};
  mutable Mutex resume_mu_;
  mutable int64_t last_resume_ms_ GUARDED_BY(resume_mu_) = 0;

  Counter* flushes_total_ = nullptr;
  Counter* flush_bytes_total_ = nullptr;
  Counter* flush_rollups_total_ = nullptr;
  Counter* flush_micros_total_ = nullptr;
  Counter* flush_failures_total_ = nullptr;
  Gauge* last_flush_seconds_ = nullptr;
};

}  // namespace ew::storage
