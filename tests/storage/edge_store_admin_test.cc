// EdgeStore lifecycle on a real RocksDB: dictionary and data across reopen, newer schema refused,
// read-only opening, retention by compaction (fixed clock), checkpoint and restore, stats.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "storage/coding.h"
#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

using testing::MakeRollup;
using testing::TempDir;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kM0 = 20'000LL * 1440;

// Opens with a clock one day after kM0 unless the test set one: the data is then recent, and a
// background compaction cannot drop it by retention in the middle of a test.
std::unique_ptr<EdgeStore> OpenOrDie(StoreOptions o) {
  if (o.fixed_now_ms == 0) o.fixed_now_ms = (kM0 + 1440) * 60'000;
  auto s = EdgeStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

uint64_t CountRecords(EdgeStore& store, Family f, Tier t) {
  uint64_t requests = 0;
  ScanSpec s;
  s.family = f;
  s.tier = t;
  s.start = 0;
  s.end = int64_t{1} << 32;
  EXPECT_TRUE(store
                  .Scan(s,
                        [&](int64_t, const EdgeDims&, const RollupValue& v) {
                          requests += v.requests;
                          return true;
                        })
                  .ok());
  return requests;
}

TEST(EdgeStoreAdminTest, DictionaryAndDataSurviveReopen) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.Sub("nested/db");  // parents are created
  o.sync_writes = true;
  NodeId a, b;
  StringId path;
  {
    auto store = OpenOrDie(o);
    ASSERT_TRUE(store);
    a = *store->InternNode(NodeKind::kService, "shop", "frontend");
    b = *store->InternNode(NodeKind::kDatabase, "", "postgresql/orders");
    path = *store->InternString(StringKind::kPath, "/v1/cart/{id}");
    FlushBatch batch;
    batch.rollups.push_back(MakeRollup(kM0, a, b, 9, 1, 1234, path));
    batch.pending_puts = {{"half", "bytes"}};
    batch.log_position = 777;
    ASSERT_TRUE(store->ApplyFlush(batch).ok());
  }
  auto store = OpenOrDie(o);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->FindNode(NodeKind::kService, "shop", "frontend"), a);
  EXPECT_EQ(store->FindNode(NodeKind::kDatabase, "", "postgresql/orders"), b);
  EXPECT_EQ(*store->InternNode(NodeKind::kService, "shop", "frontend"), a);
  EXPECT_EQ(store->GetNode(a)->ns, "shop");
  EXPECT_EQ(*store->GetString(StringKind::kPath, path), "/v1/cart/{id}");
  EXPECT_EQ(store->FindString(StringKind::kNamespace, "shop"), store->GetNode(a)->ns_id);
  // New ids continue after the persisted ones.
  NodeId c = *store->InternNode(NodeKind::kService, "shop", "new");
  EXPECT_GT(c, std::max(a, b));
  EXPECT_EQ(store->FlushedLogPosition(), 777u);
  EXPECT_EQ(CountRecords(*store, Family::kDetail, Tier::kDay), 9u);
  int pending = 0;
  ASSERT_TRUE(store->LoadPending([&](std::string_view, std::string_view) { ++pending; }).ok());
  EXPECT_EQ(pending, 1);
  EXPECT_EQ(store->Stats().node_count, 3u);
}

TEST(EdgeStoreAdminTest, NewerSchemaIsRefused) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.Sub("db");
  { ASSERT_TRUE(OpenOrDie(o)); }
  {
    // Stamp the directory as written by schema version 99 (a future Edgewise).
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), o.dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
    size_t meta = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "meta") meta = i;
      cfds.emplace_back(names[i], rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), o.dir, cfds, &handles, &db).ok());
    std::string v;
    coding::PutFixed64LE(&v, 99);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[meta], "schema_version", v).ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  auto s = EdgeStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("newer"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("99"), std::string::npos);
}

TEST(EdgeStoreAdminTest, ReadOnlyOpenReadsAndRefusesWrites) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.Sub("db");
  NodeId a;
  {
    auto store = OpenOrDie(o);
    a = *store->InternNode(NodeKind::kService, "", "a");
    FlushBatch batch;
    batch.rollups.push_back(MakeRollup(kM0, a, a, 4, 0, 10));
    ASSERT_TRUE(store->ApplyFlush(batch).ok());
  }
  StoreOptions ro = o;
  ro.read_only = true;
  auto store = OpenOrDie(ro);
  ASSERT_TRUE(store);
  EXPECT_EQ(CountRecords(*store, Family::kEdge, Tier::kMinute), 4u);
  EXPECT_EQ(store->GetNode(a)->name, "a");
  EXPECT_FALSE(store->ApplyFlush(FlushBatch()).ok());
  EXPECT_FALSE(store->InternString(StringKind::kPath, "/new").ok());
  StoreOptions missing;
  missing.dir = dir.Sub("nothing-here");
  missing.read_only = true;
  EXPECT_FALSE(EdgeStore::Open(missing).ok());
}

TEST(EdgeStoreAdminTest, RetentionByCompactionWithFixedClock) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.Sub("db");
  const int64_t now_minute = kM0 + 10 * 1440;  // day 20010, 00:00
  o.fixed_now_ms = now_minute * 60'000;
  o.retention_ms[0] = 2 * kDay;
  o.retention_ms[1] = 5 * kDay;
  o.retention_ms[2] = 30 * kDay;
  auto store = OpenOrDie(o);
  NodeId a = *store->InternNode(NodeKind::kService, "", "a");
  NodeId b = *store->InternNode(NodeKind::kService, "", "b");
  FlushBatch batch;
  batch.rollups.push_back(MakeRollup(now_minute - 3 * 1440, a, b, 1, 0, 10));    // 3 days old
  batch.rollups.push_back(MakeRollup(now_minute - 1440, a, b, 10, 0, 10));       // 1 day old
  batch.rollups.push_back(MakeRollup(now_minute - 7 * 1440, a, b, 100, 0, 10));  // 7 days old
  batch.rollups[0].value.exemplars.push_back(Exemplar{});
  batch.expiries.push_back({a, now_minute - 3 * 1440, ExpiryKind::kClientHalf, 5});
  ASSERT_TRUE(store->ApplyFlush(batch).ok());
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    EXPECT_EQ(CountRecords(*store, f, Tier::kMinute), 111u);
  }
  ASSERT_TRUE(store->CompactAll().ok());
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    EXPECT_EQ(CountRecords(*store, f, Tier::kMinute), 10u);  // 2 days kept
    EXPECT_EQ(CountRecords(*store, f, Tier::kHour), 11u);    // 5 days kept
    EXPECT_EQ(CountRecords(*store, f, Tier::kDay), 111u);    // 30 days kept
  }
  EXPECT_EQ((*store->SumExpiries(a, 0, now_minute))[0], 0u);
  int exemplars = 0;
  ASSERT_TRUE(store
                  ->ScanExemplars(a, b, 0, now_minute,
                                  [&](int64_t, const Exemplar&) {
                                    ++exemplars;
                                    return true;
                                  })
                  .ok());
  EXPECT_EQ(exemplars, 0);
}

TEST(EdgeStoreAdminTest, CheckpointAndRestore) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.Sub("db");
  auto store = OpenOrDie(o);
  NodeId a = *store->InternNode(NodeKind::kService, "ns", "a");
  FlushBatch batch;
  batch.rollups.push_back(MakeRollup(kM0, a, a, 5, 0, 10));
  batch.log_position = 42;
  ASSERT_TRUE(store->ApplyFlush(batch).ok());
  ASSERT_TRUE(store->Checkpoint(dir.Sub("cp")).ok());
  batch.log_position = 43;
  ASSERT_TRUE(store->ApplyFlush(batch).ok());           // after the checkpoint: not in it
  EXPECT_FALSE(store->Checkpoint(dir.Sub("cp")).ok());  // exists already
  store.reset();

  EXPECT_FALSE(RestoreCheckpoint(dir.Sub("cp"), o.dir).ok());  // target in use, not empty
  EXPECT_FALSE(RestoreCheckpoint(dir.Sub("no-such-cp"), dir.Sub("r0")).ok());
  ASSERT_TRUE(RestoreCheckpoint(dir.Sub("cp"), dir.Sub("restored")).ok());
  StoreOptions r = o;
  r.dir = dir.Sub("restored");
  auto restored = OpenOrDie(r);
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->FlushedLogPosition(), 42u);
  EXPECT_EQ(CountRecords(*restored, Family::kEdge, Tier::kMinute), 5u);
  EXPECT_EQ(restored->FindNode(NodeKind::kService, "ns", "a"), a);
  // The restored store is writable and independent of the checkpoint.
  ASSERT_TRUE(restored->ApplyFlush(batch).ok());
  EXPECT_EQ(CountRecords(*restored, Family::kEdge, Tier::kMinute), 10u);
  StoreOptions cp = o;
  cp.dir = dir.Sub("cp");
  cp.read_only = true;
  auto original_cp = OpenOrDie(cp);
  ASSERT_TRUE(original_cp);
  EXPECT_EQ(CountRecords(*original_cp, Family::kEdge, Tier::kMinute), 5u);
}

TEST(EdgeStoreAdminTest, StatsAndHealth) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.Sub("db");
  o.fixed_now_ms = kM0 * 60'000;
  auto store = OpenOrDie(o);
  EXPECT_TRUE(store->Health().ok());
  NodeId a = *store->InternNode(NodeKind::kService, "", "a");
  FlushBatch batch;
  for (int m = 0; m < 100; ++m) batch.rollups.push_back(MakeRollup(kM0 + m, a, a, 5, 0, 10));
  ASSERT_TRUE(store->ApplyFlush(batch).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  StoreStats stats = store->Stats();
  ASSERT_EQ(stats.families.size(), 16u);
  EXPECT_EQ(stats.families[0].name, "edge_1m");
  EXPECT_EQ(stats.families[15].name, "edge_blk");
  EXPECT_GT(stats.families[0].live_bytes, 0u);
  EXPECT_EQ(stats.families[0].keys_estimate, 2u);  // 100 minutes: one record per hour
  EXPECT_EQ(stats.node_count, 1u);
  EXPECT_TRUE(store->Health().ok());
}

// RocksDB's memory is on /metrics (what a soak's memory drift is read against), and the gauges
// read 0 instead of a closed store after it is gone.
TEST(EdgeStoreAdminTest, MemoryGaugesFollowTheStoreAndOutliveIt) {
  TempDir dir;
  MetricsRegistry metrics;
  StoreOptions o;
  o.dir = dir.Sub("db");
  o.metrics = &metrics;
  auto gauge = [&](const std::string& name) {
    const std::string text = metrics.RenderPrometheus();
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
  };
  {
    auto store = OpenOrDie(o);
    ASSERT_TRUE(store);
    NodeId a = *store->InternNode(NodeKind::kService, "", "a");
    FlushBatch batch;
    for (int m = 0; m < 300; ++m) batch.rollups.push_back(MakeRollup(kM0 + m, a, a, 5, 0, 10));
    ASSERT_TRUE(store->ApplyFlush(batch).ok());
    EXPECT_GT(gauge("ew_storage_memtable_bytes"), 0);
    ASSERT_TRUE(store->CompactAll().ok());
    int visited = 0;
    ScanSpec all;
    all.end = int64_t{1} << 32;
    ASSERT_TRUE(store
                    ->Scan(all,
                           [&](int64_t, const EdgeDims&, const RollupValue&) {
                             ++visited;
                             return true;
                           })
                    .ok());
    EXPECT_GT(visited, 0);
    EXPECT_GT(gauge("ew_storage_block_cache_bytes"), 0);
    EXPECT_GE(gauge("ew_storage_table_readers_bytes"), 0);
  }
  EXPECT_EQ(gauge("ew_storage_memtable_bytes"), 0);
  EXPECT_EQ(gauge("ew_storage_block_cache_bytes"), 0);
}

}  // namespace
}  // namespace ew::storage
