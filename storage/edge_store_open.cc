// EdgeStore: opening (column families, tuning, schema check, dictionary load), health tracking
// and administration (compaction, checkpoints, stats). Tuning rationale: docs/format/storage.md.
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include "base/log.h"
#include "base/time.h"
#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/rollup_codec.h"

namespace ew::storage {

const char* const kCfNames[kCfCount] = {"edge_1m",   "edge_1h",   "edge_1d",      "client_1m",
                                        "client_1h", "client_1d", "detail_1m",    "detail_1h",
                                        "detail_1d", "dict",      "exemplars",    "pending",
                                        "expiry",    "meta",      "exemplars_1h", "edge_blk"};

namespace {

constexpr char kMetaSchemaVersion[] = "schema_version";
constexpr char kMetaLogPosition[] = "log_position";

rocksdb::CompressionType Supported(rocksdb::CompressionType want) {
  for (auto t : rocksdb::GetSupportedCompressions()) {
    if (t == want) return want;
  }
  return rocksdb::kSnappyCompression;
}

rocksdb::ColumnFamilyOptions BaseCfOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                           size_t block_size) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = block_size;
  table.format_version = 5;
  table.cache_index_and_filter_blocks = false;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Upper levels are rewritten soon: cheap lz4. The bottommost level holds nearly all bytes
  // (dynamic level sizing): zstd.
  cf.compression = Supported(rocksdb::kLZ4Compression);
  cf.bottommost_compression = Supported(rocksdb::kZSTD);
  cf.bottommost_compression_opts.enabled = true;
  cf.bottommost_compression_opts.level = 9;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.write_buffer_size = 16 << 20;
  return cf;
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(context) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsIOError()) return Status::IOError(std::move(msg));
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(msg));
  if (s.IsBusy() || s.IsTryAgain() || s.IsIncomplete() || s.IsTimedOut()) {
    return Status::Unavailable(std::move(msg));
  }
  return Status::Internal(std::move(msg));
}

HealthListener::HealthListener(MetricsRegistry* metrics) {
  if (metrics != nullptr) {
    errors_total_ = metrics->GetCounter("ew_storage_background_errors_total",
                                        "RocksDB background errors (disk full, I/O errors)");
    healthy_ = metrics->GetGauge("ew_storage_healthy",
                                 "1 when storage accepts writes, 0 after a background error");
    healthy_->Set(1);
  }
}

void HealthListener::OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/,
                                       rocksdb::Status* bg_error) {
  if (bg_error == nullptr || bg_error->ok()) return;
  if (errors_total_ != nullptr) errors_total_->Add();
  SetError(FromRocks(*bg_error, "storage background error"));
}

void HealthListener::OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) {
  if (info.new_bg_error.ok()) Clear();
}

void HealthListener::SetError(const Status& s) {
  MutexLock lock(&mu_);
  error_ = s;
  if (healthy_ != nullptr) healthy_->Set(0);
}

void HealthListener::Clear() {
  MutexLock lock(&mu_);
  error_ = Status::Ok();
  if (healthy_ != nullptr) healthy_->Set(1);
}

Status HealthListener::Get() const {
  MutexLock lock(&mu_);
  return error_;
}

EdgeStoreImpl::EdgeStoreImpl(const StoreOptions& options)
    : options_(options), listener_(std::make_shared<HealthListener>(options.metrics)) {
  if (auto* m = options.metrics; m != nullptr) {
    flushes_total_ = m->GetCounter("ew_storage_flushes_total", "Flushes applied");
    flush_bytes_total_ =
        m->GetCounter("ew_storage_flush_bytes_total", "Bytes of applied flush batches");
    flush_rollups_total_ =
        m->GetCounter("ew_storage_flush_rollups_total", "Minute rollups applied");
    flush_micros_total_ =
        m->GetCounter("ew_storage_flush_microseconds_total", "Time spent applying flushes");
    flush_failures_total_ = m->GetCounter("ew_storage_flush_failures_total", "Flushes that failed");
    last_flush_seconds_ =
        m->GetGauge("ew_storage_last_flush_seconds", "Duration of the last flush");
  }
}

double MemoryProbe::Property(const char* name) {
  MutexLock lock(&mu);
  uint64_t v = 0;
  if (db == nullptr || !db->GetAggregatedIntProperty(name, &v)) return 0;
  return static_cast<double>(v);
}

double MemoryProbe::CacheUsage() {
  MutexLock lock(&mu);
  return cache ? static_cast<double>(cache->GetUsage()) : 0;
}

void MemoryProbe::Detach() {
  MutexLock lock(&mu);
  db = nullptr;
  cache.reset();
}

EdgeStoreImpl::~EdgeStoreImpl() {
  memory_probe_->Detach();
  if (db_ == nullptr) return;
  for (auto* h : handles_) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
  delete db_;
}

Result<std::unique_ptr<EdgeStore>> EdgeStore::Open(const StoreOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("storage: empty data directory");
  if (!options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    if (ec) return Status::IOError("storage: creating " + options.dir + ": " + ec.message());
  }
  auto store = std::make_unique<EdgeStoreImpl>(options);
  EW_RETURN_IF_ERROR(store->OpenDb());
  return std::unique_ptr<EdgeStore>(std::move(store));
}

namespace {
// RocksDB's own log goes to our stderr log, never to a file on the data disk.
class StderrRocksLogger : public rocksdb::Logger {
 public:
  StderrRocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), format, ap);
    EW_LOG(kWarn) << "rocksdb: " << buf;
  }
};
}  // namespace

void EdgeStoreImpl::RegisterMemoryGauges(const std::shared_ptr<rocksdb::Cache>& cache) {
  {
    MutexLock lock(&memory_probe_->mu);
    memory_probe_->db = db_;
    memory_probe_->cache = cache;
  }
  MetricsRegistry* m = options_.metrics;
  if (m == nullptr) return;
  std::shared_ptr<MemoryProbe> probe = memory_probe_;
  m->AddGaugeCallback("ew_storage_memtable_bytes",
                      "RocksDB memtables of all column families (bounded by 128 MiB in all)",
                      [probe] { return probe->Property("rocksdb.cur-size-all-mem-tables"); });
  m->AddGaugeCallback("ew_storage_block_cache_bytes",
                      "RocksDB block cache in use (256 MiB at most)",
                      [probe] { return probe->CacheUsage(); });
  m->AddGaugeCallback("ew_storage_table_readers_bytes",
                      "RocksDB table readers (index and filter blocks outside the cache)",
                      [probe] { return probe->Property("rocksdb.estimate-table-readers-mem"); });
}

// Column family i's options: block cache, memtable size, retention filter, merge operator.
rocksdb::ColumnFamilyOptions EdgeStoreImpl::CfOptions(
    size_t i, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf = BaseCfOptions(cache, i < 9 ? 64 << 10 : 4 << 10);
  // Tier memtables of 4 MiB: a flush's cost is mostly skip-list inserts of merge operands,
  // which grow with the memtable (measured: 76 k rollups per CPU-second against 60 k at 16 MiB).
  if (i < 9) cf.write_buffer_size = 4 << 20;
  if (i < 9) {
    auto tier = static_cast<Tier>(i % 3);
    const RecordLimits limits = LimitsOf(tier);
    // The minute tier's keys are per hour: a minute goes with its hour. Day records past the
    // minute retention keep their busiest minute only.
    const int64_t unit = tier == Tier::kMinute ? 60 : TierUnitMinutes(tier);
    filters_.push_back(std::make_unique<RetentionFilter>(
        kCfNames[i], keys::TierKeySize(static_cast<Family>(i / 3)), keys::kTimeOffset,
        unit * kMsPerMinute, options_.retention_ms[i % 3], options_.fixed_now_ms,
        tier == Tier::kDay ? options_.retention_ms[0] : 0, limits));
    cf.compaction_filter = filters_.back().get();
    const bool detail = static_cast<Family>(i / 3) == Family::kDetail;
    cf.merge_operator =
        NewRecordMergeOperator(limits, detail ? keys::kV1DetailKeySize : keys::kV1EdgeKeySize);
  } else if (i == kCfPending) {
    // Ingest's pending state: one WriteBatch per flush can carry tens of MiB of chunks (after a
    // burst of unpaired halves), and its records are mostly random ids. No compression (it
    // buys little here and slows the memtable flush), and room for more immutable memtables,
    // so that such a write does not stall behind the flush of the previous one.
    cf.compression = rocksdb::kNoCompression;
    cf.bottommost_compression = rocksdb::kNoCompression;
    cf.bottommost_compression_opts.enabled = false;
    cf.max_write_buffer_number = 4;
  } else if (i == kCfExemplars || i == kCfExemplarsHour) {
    // Exemplars per minute for --exemplar-minutes-retention, per hour as long as the minute
    // tier.
    const bool hour = i == kCfExemplarsHour;
    const int64_t unit_ms = hour ? kMsPerHour : kMsPerMinute;
    filters_.push_back(std::make_unique<RetentionFilter>(
        kCfNames[i], keys::kExemplarKeySize, keys::kExemplarTimeOffset, unit_ms,
        hour ? options_.retention_ms[0] : options_.exemplar_minutes_retention_ms,
        options_.fixed_now_ms));
    cf.compaction_filter = filters_.back().get();
    cf.merge_operator = NewExemplarMergeOperator(keys::kExemplarTimeOffset, unit_ms,
                                                 hour ? 0 : keys::kV1ExemplarKeySize);
  } else if (i == kCfEdgeBlocks) {
    // Day blocks (edge_store_blocks.cc): tier-like records, kept while their last day is in
    // the day tier.
    cf = BaseCfOptions(cache, 64 << 10);
    cf.write_buffer_size = 4 << 20;
    filters_.push_back(std::make_unique<RetentionFilter>(
        kCfNames[i], keys::kEdgeKeySize, keys::kTimeOffset, kMsPerDay, options_.retention_ms[2],
        options_.fixed_now_ms, 0, LimitsOf(Tier::kDay), /*block_time=*/true));
    cf.compaction_filter = filters_.back().get();
    cf.merge_operator = NewRecordMergeOperator(LimitsOf(Tier::kDay), 0);
  } else if (i == kCfExpiry) {
    // Expiry diagnostics live as long as the minute tier.
    filters_.push_back(std::make_unique<RetentionFilter>(
        kCfNames[i], keys::kExpiryKeySize, keys::kExpiryTimeOffset, kMsPerMinute,
        options_.retention_ms[0], options_.fixed_now_ms));
    cf.compaction_filter = filters_.back().get();
    cf.merge_operator = NewCounterAddOperator();
  }
  return cf;
}

// Column families this build does not know (a newer schema) are opened plainly so that the
// schema check can refuse the directory with a clear message; a read-only open refuses a
// directory that lacks one of ours.
Status EdgeStoreImpl::AddUnknownFamilies(const rocksdb::DBOptions& db_opts,
                                         std::vector<rocksdb::ColumnFamilyDescriptor>* cfds) {
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_opts, options_.dir, &existing).ok()) {
    for (const auto& name : existing) {
      bool known = name == rocksdb::kDefaultColumnFamilyName;
      for (const char* n : kCfNames) known = known || name == n;
      if (!known) cfds->emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    if (options_.read_only) {
      if (std::find(existing.begin(), existing.end(), kCfNames[kCfEdgeBlocks]) == existing.end() &&
          std::find(existing.begin(), existing.end(), kCfNames[kCfMeta]) != existing.end()) {
        return Status::FailedPrecondition(
            "storage: " + options_.dir +
            " was written by an older Edgewise (storage schema before 3, no day blocks); start "
            "edgewise on it once, or run `edgewise-ctl upgrade --data-dir " +
            options_.dir + "` (with the server stopped), to upgrade it");
      }
      for (const char* n : kCfNames) {
        if (std::find(existing.begin(), existing.end(), n) == existing.end()) {
          return Status::FailedPrecondition("storage: " + options_.dir +
                                            " is not a complete Edgewise store (no column family " +
                                            n + ")");
        }
      }
    }
  }
  return Status::Ok();
}

Status EdgeStoreImpl::OpenDb() {
  auto cache = rocksdb::NewLRUCache(256 << 20);
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = !options_.read_only;
  db_opts.create_missing_column_families = !options_.read_only;
  db_opts.listeners.push_back(listener_);
  db_opts.max_background_jobs = 2;
  db_opts.db_write_buffer_size = 128 << 20;
  db_opts.keep_log_file_num = 3;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_opts.info_log = std::make_shared<StderrRocksLogger>();

  std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
  for (size_t i = 0; i < kCfCount; ++i) {
    cfds.emplace_back(kCfNames[i], CfOptions(i, cache));
  }
  EW_RETURN_IF_ERROR(AddUnknownFamilies(db_opts, &cfds));
  cfds.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  rocksdb::Status s =
      options_.read_only
          ? rocksdb::DB::OpenForReadOnly(db_opts, options_.dir, cfds, &handles_, &db_)
          : rocksdb::DB::Open(db_opts, options_.dir, cfds, &handles_, &db_);
  if (!s.ok()) return FromRocks(s, "opening storage at " + options_.dir);
  RegisterMemoryGauges(cache);
  return CheckVersionAndPosition();
}

// The schema version (a schema-1 store is upgraded here) and the flushed ingest-log position.
Status EdgeStoreImpl::CheckVersionAndPosition() {
  uint64_t version = 0;
  EW_RETURN_IF_ERROR(CheckSchemaVersion(&version));
  if (version == 1) {
    if (options_.read_only) {
      return Status::FailedPrecondition(
          "storage: " + options_.dir +
          " is a schema-1 store (before tenants); start edgewise on it once, or run "
          "`edgewise-ctl upgrade --data-dir " +
          options_.dir + "` (with the server stopped), to upgrade it");
    }
    EW_RETURN_IF_ERROR(UpgradeFromV1());
  } else if (version == 0 && !options_.read_only) {
    EW_RETURN_IF_ERROR(WriteSchemaVersion());
  }
  EW_RETURN_IF_ERROR(LoadBlocksClosed());
  if (version != 0 && version < 3 && !options_.read_only) EW_RETURN_IF_ERROR(UpgradeToV3());
  std::string pos;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[kCfMeta], kMetaLogPosition, &pos);
  if (s.ok() && pos.size() == 8) {
    flushed_position_.store(coding::GetFixed64LE(pos.data()), std::memory_order_release);
  } else if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s, "reading the flushed log position");
  }
  return LoadDictionary();
}

Status EdgeStoreImpl::CheckSchemaVersion(uint64_t* version) {
  *version = 0;
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[kCfMeta], kMetaSchemaVersion, &v);
  if (s.IsNotFound()) return Status::Ok();
  if (!s.ok()) return FromRocks(s, "reading the schema version");
  if (v.size() != 8) return Status::Corruption("storage: malformed schema version in meta");
  *version = coding::GetFixed64LE(v.data());
  if (*version > kSchemaVersion) {
    return Status::FailedPrecondition(
        "storage: " + options_.dir + " was written by a newer Edgewise (storage schema version " +
        std::to_string(*version) + "; this build reads up to " + std::to_string(kSchemaVersion) +
        "). Run a newer edgewise on it, or restore an older checkpoint.");
  }
  if (*version == 0) return Status::Corruption("storage: schema version 0 in meta");
  return Status::Ok();
}

Status EdgeStoreImpl::WriteSchemaVersion() {
  std::string enc;
  coding::PutFixed64LE(&enc, kSchemaVersion);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, handles_[kCfMeta], kMetaSchemaVersion, enc),
                   "writing the schema version");
}

Status EdgeStoreImpl::TryResume() const {
  Status health = listener_->Get();
  if (health.ok() || options_.read_only) return health;
  {
    MutexLock lock(&resume_mu_);
    int64_t now = MonoNowNs() / 1'000'000;
    if (now - last_resume_ms_ < 1000) return health;
    last_resume_ms_ = now;
  }
  rocksdb::Status s = db_->Resume();
  if (s.ok()) {
    listener_->Clear();
    EW_LOG(kInfo) << "storage: recovered from background error: " << health.message();
    return Status::Ok();
  }
  return health;
}

Status EdgeStoreImpl::Health() const { return TryResume(); }

Status EdgeStoreImpl::FlushPendingMemtables() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  fo.allow_write_stall = true;
  return FromRocks(db_->Flush(fo, handles_[kCfPending]), "flushing pending memtables");
}

Status EdgeStoreImpl::CompactAll() {
  if (options_.read_only) return Status::FailedPrecondition("storage: opened read-only");
  rocksdb::CompactRangeOptions opts;
  opts.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (size_t i = 0; i < kCfCount; ++i) {
    EW_RETURN_IF_ERROR(FromRocks(db_->CompactRange(opts, handles_[i], nullptr, nullptr),
                                 std::string("compacting ") + kCfNames[i]));
  }
  return Status::Ok();
}

Status EdgeStoreImpl::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  EW_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_, &raw), "creating checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return FromRocks(cp->CreateCheckpoint(dir), "writing checkpoint to " + dir);
}

StoreStats EdgeStoreImpl::Stats() const {
  StoreStats stats;
  for (size_t i = 0; i < kCfCount; ++i) {
    StoreStats::ColumnFamily cf;
    cf.name = kCfNames[i];
    uint64_t sst = 0, mem = 0, keys = 0;
    db_->GetIntProperty(handles_[i], "rocksdb.live-sst-files-size", &sst);
    db_->GetIntProperty(handles_[i], "rocksdb.cur-size-all-mem-tables", &mem);
    db_->GetIntProperty(handles_[i], "rocksdb.estimate-num-keys", &keys);
    cf.live_bytes = sst + mem;
    cf.keys_estimate = keys;
    stats.families.push_back(std::move(cf));
  }
  stats.flushed_log_position = FlushedLogPosition();
  ReaderLock lock(&dict_mu_);
  stats.node_count = nodes_.size() - 1;
  return stats;
}

Status RestoreCheckpoint(const std::string& checkpoint_dir, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(checkpoint_dir, ec)) {
    return Status::NotFound("restore: no checkpoint directory " + checkpoint_dir);
  }
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return Status::FailedPrecondition("restore: target " + dir + " exists and is not empty");
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("restore: creating " + dir + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(checkpoint_dir, ec)) {
    if (!entry.is_regular_file()) continue;
    fs::path target = fs::path(dir) / entry.path().filename();
    // Table files are immutable: hard-link them. Everything else (MANIFEST, WAL, CURRENT,
    // OPTIONS) is appended to by the restored store, so it gets its own copy.
    bool linked = false;
    if (entry.path().extension() == ".sst") {
      fs::create_hard_link(entry.path(), target, ec);
      linked = !ec;
    }
    if (!linked) {
      fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing, ec);
      if (ec)
        return Status::IOError("restore: copying " + entry.path().string() + ": " + ec.message());
    }
  }
  if (ec) return Status::IOError("restore: reading " + checkpoint_dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace ew::storage
