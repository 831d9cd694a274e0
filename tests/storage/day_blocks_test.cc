// Day blocks (docs/format/storage.md "Day blocks"): a kEdge day scan with coarse_days reads
// closed aligned blocks of days; whatever the range, its per-edge sums (counts exact, sketches
// bucket for bucket) must equal those of the plain day scan and of a brute-force ledger of what
// was written — with late data into closed blocks, restarts and a rebuild after a crash
// between the block puts and the meta record, retention, and tenant deletion.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/time.h"
#include "storage/coding.h"
#include "storage/keys.h"
#include "tests/storage/day_blocks_util.h"
#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

using testing::Answer;
using testing::ReadDays;
using testing::TempDir;

constexpr int64_t kFirstDay = 20480;  // a multiple of 2^11: aligned ranges are blocks

struct Written {
  int64_t day = 0;
  EdgeDims dims;
  RollupValue value;
};

// The store's tenants, nodes and edges, and a ledger of every rollup written.
class World {
 public:
  World(EdgeStore* store, TenantId tenant, int services, int fillers, int edges, uint32_t seed)
      : store_(store), tenant_(tenant), rng_(seed) {
    for (int i = 0; i < services; ++i) {
      nodes_.push_back(*store->InternNode(tenant, NodeKind::kService, "ns" + std::to_string(i % 5),
                                          "svc-" + std::to_string(i)));
      // Filler nodes between the services push later ids past 255 and 65,535.
      if (i == services / 2) {
        for (int f = 0; f < fillers; ++f) {
          (void)*store->InternNode(tenant, NodeKind::kExternalService, "",
                                   "filler-" + std::to_string(f));
        }
      }
    }
    for (int e = 0; e < edges; ++e) {
      EdgeDims d;
      d.client = nodes_[rng_() % nodes_.size()];
      d.server = nodes_[rng_() % nodes_.size()];
      d.protocol = static_cast<Protocol>(rng_() % 5);
      edges_.push_back(d);
    }
  }

  // One rollup of a random edge on `day` (a random minute of it), noted in the ledger.
  MinuteRollup Rollup(int64_t day) {
    MinuteRollup r;
    r.minute = day * 1440 + static_cast<int64_t>(rng_() % 1440);
    r.dims = edges_[rng_() % edges_.size()];
    r.value.requests = 1 + rng_() % 500;
    r.value.errors = rng_() % 3 == 0 ? rng_() % (r.value.requests + 1) : 0;
    r.value.request_bytes = rng_() % 2 ? rng_() % 100'000 : 0;
    r.value.response_bytes = rng_() % 100'000;
    // Some rollups have no server side: the client sketch then stands alone.
    if (rng_() % 5 != 0) {
      for (int k = 0; k < 1 + static_cast<int>(rng_() % 4); ++k) {
        r.value.server_latency.Add(50.0 + static_cast<double>(rng_() % 2'000'000), 1 + rng_() % 20);
      }
    }
    r.value.client_latency.Add(80.0 + static_cast<double>(rng_() % 3'000'000), 1 + rng_() % 9);
    ledger_.push_back({day, r.dims, r.value});
    return r;
  }

  Status Flush(FlushBatch* batch) {
    batch->log_position = ++position_;
    Status s = store_->ApplyFlush(*batch);
    batch->rollups.clear();
    return s;
  }

  // Brute force: the per-edge sums of the ledger's rollups of days in [a, b).
  Answer Ledger(int64_t a, int64_t b) const {
    Answer out;
    for (const Written& w : ledger_) {
      if (w.day < a || w.day >= b) continue;
      testing::AddValue(w.value,
                        &out[{w.dims.client, w.dims.server, static_cast<int>(w.dims.protocol)}]);
    }
    return out;
  }

  std::mt19937& rng() { return rng_; }
  const std::vector<NodeId>& nodes() const { return nodes_; }
  TenantId tenant() const { return tenant_; }
  size_t edges() const { return edges_.size(); }
  void set_store(EdgeStore* store) { store_ = store; }

 private:
  EdgeStore* store_;
  TenantId tenant_;
  std::mt19937 rng_;
  std::vector<NodeId> nodes_;
  std::vector<EdgeDims> edges_;
  std::vector<Written> ledger_;
  uint64_t position_ = 0;
};

StoreOptions Options(const std::string& dir, int64_t now_day, int64_t day_retention_days) {
  StoreOptions o;
  o.dir = dir;
  o.fixed_now_ms = now_day * kMsPerDay + 5 * kMsPerHour;
  o.retention_ms[0] = 14 * kMsPerDay;
  o.retention_ms[1] = std::min<int64_t>(100, day_retention_days) * kMsPerDay;
  o.retention_ms[2] = day_retention_days * kMsPerDay;
  return o;
}

std::unique_ptr<EdgeStore> Open(const StoreOptions& o) {
  auto s = EdgeStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// Writes days [first, last] in time order, `per_day` rollups each, one flush per day (a few
// rollups of each flush belong to the day before: late by a day, before it is closed).
void WriteDays(World* w, int64_t first, int64_t last, int per_day) {
  FlushBatch batch;
  for (int64_t day = first; day <= last; ++day) {
    for (int i = 0; i < per_day; ++i) {
      batch.rollups.push_back(w->Rollup(i % 20 == 0 && day > first ? day - 1 : day));
    }
    ASSERT_TRUE(w->Flush(&batch).ok());
  }
}

// `n` random ranges around [lo, hi] (some before, some past the data), aligned ones too.
std::vector<std::pair<int64_t, int64_t>> Ranges(std::mt19937& rng, int64_t lo, int64_t hi, int n) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int i = 0; i < n; ++i) {
    const int64_t a = lo - 12 + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 24));
    const int64_t len = int64_t{1} << (rng() % 10);
    const int64_t b = a + std::max<int64_t>(1, len + static_cast<int64_t>(rng() % 5) - 2);
    out.emplace_back(i % 7 == 0 ? a / len * len : a, b);
  }
  out.emplace_back(lo - 30, hi + 30);
  out.emplace_back(0, int64_t{1} << 40);
  return out;
}

// Ranges that start before min_start are skipped: a background compaction may drop days past
// the retention between the two scans (scans of them are not defined further).
void ExpectCoarseEqualsDays(const EdgeStore& store, TenantId tenant,
                            const std::vector<std::pair<int64_t, int64_t>>& ranges,
                            int64_t min_start = INT64_MIN) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    const auto [a, b] = ranges[i];
    if (a < min_start) continue;
    const Answer days = ReadDays(store, tenant, a, b, false);
    ASSERT_EQ(ReadDays(store, tenant, a, b, true, i % 2 == 0), days)
        << "[" << a << ", " << b << ")";
  }
}

TEST(DayBlocksTest, CoarseScansEqualDayScansAndTheLedger) {
  TempDir dir;
  constexpr int kDays = 300;
  const int64_t last = kFirstDay + kDays - 1;
  // The day tier's horizon is 100 days into the data: older days are read as days (until a
  // compaction drops them), blocks only from the horizon on.
  const int64_t now_day = last + 3;
  const int64_t horizon = kFirstDay + 100;
  const StoreOptions o = Options(dir.Sub("db"), now_day, now_day - horizon);
  auto store = Open(o);
  ASSERT_TRUE(store);
  World w(store.get(), kDefaultTenant, 400, 65'600, 1500, 7);
  ASSERT_GT(w.nodes().back(), 65'535u);
  WriteDays(&w, kFirstDay, last, 200);
  auto ranges = Ranges(w.rng(), kFirstDay, last, 100);
  ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges, horizon);
  // Settled (the days before the horizon dropped): ranges across the horizon too.
  ASSERT_TRUE(store->CompactAll().ok());
  ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
  // Inside the retention the answers are the ledger's.
  for (int i = 0; i < 20; ++i) {
    const int64_t a = horizon + static_cast<int64_t>(w.rng()() % 150);
    const int64_t b = a + 1 + static_cast<int64_t>(w.rng()() % 200);
    ASSERT_EQ(ReadDays(*store, kDefaultTenant, a, b, true), w.Ledger(a, b));
  }
  // Blocks are read: 128 aligned days past the horizon are a few records per edge, not 128.
  const int64_t a128 = (horizon + 127) / 128 * 128;
  uint64_t coarse = 0, plain = 0;
  ReadDays(*store, kDefaultTenant, a128, a128 + 128, true, false, &coarse);
  ReadDays(*store, kDefaultTenant, a128, a128 + 128, false, false, &plain);
  EXPECT_LE(coarse, w.edges());
  EXPECT_GT(plain, 8 * coarse);

  // Late data into closed days (inside and before the horizon), then a merge of the operands.
  FlushBatch batch;
  for (int i = 0; i < 3000; ++i) {
    batch.rollups.push_back(w.Rollup(kFirstDay + static_cast<int64_t>(w.rng()() % (kDays - 3))));
  }
  ASSERT_TRUE(w.Flush(&batch).ok());
  ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges, horizon);
  ASSERT_EQ(ReadDays(*store, kDefaultTenant, horizon, last + 1, true), w.Ledger(horizon, last + 1));
  ASSERT_TRUE(store->CompactAll().ok());
  ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
  ASSERT_EQ(ReadDays(*store, kDefaultTenant, horizon, last + 1, true), w.Ledger(horizon, last + 1));
}

// Deletes the meta record day_blocks of a closed store (its table files hold merged
// values only): what a crash after the block puts and before the meta record leaves.
void ForgetClosedDays(const std::string& dir) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
  for (const auto& n : names) cfds.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfds, &handles, &db).ok());
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "meta") {
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[i], "day_blocks").ok());
    }
  }
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

TEST(DayBlocksTest, RestartsAndARebuildAfterACrashCountEverythingOnce) {
  TempDir dir;
  const int64_t last = kFirstDay + 99;
  const StoreOptions o = Options(dir.Sub("db"), last + 3, 5 * 365);
  World w(nullptr, kDefaultTenant, 0, 0, 0, 11);
  {
    auto store = Open(o);
    ASSERT_TRUE(store);
    w = World(store.get(), kDefaultTenant, 300, 0, 400, 11);
    WriteDays(&w, kFirstDay, last, 100);
  }
  const auto ranges = Ranges(w.rng(), kFirstDay, last, 120);
  FlushBatch batch;
  {
    // Reopened between the block puts and later flushes: late data goes into closed blocks.
    auto store = Open(o);
    ASSERT_TRUE(store);
    w.set_store(store.get());
    ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
    for (int i = 0; i < 500; ++i) batch.rollups.push_back(w.Rollup(kFirstDay + i % 90));
    ASSERT_TRUE(w.Flush(&batch).ok());
    ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
    ASSERT_TRUE(store->CompactAll().ok());
  }
  ForgetClosedDays(o.dir);
  {
    // The blocks are there but not closed: late data adds to the days only, and the next
    // closing puts every block again from its children (a merge would count them twice).
    auto store = Open(o);
    ASSERT_TRUE(store);
    w.set_store(store.get());
    for (int i = 0; i < 500; ++i) batch.rollups.push_back(w.Rollup(kFirstDay + i % 90));
    ASSERT_TRUE(w.Flush(&batch).ok());
    ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
    ASSERT_EQ(ReadDays(*store, kDefaultTenant, kFirstDay, last + 1, true),
              w.Ledger(kFirstDay, last + 1));
    uint64_t coarse = 0;
    ReadDays(*store, kDefaultTenant, kFirstDay, kFirstDay + 64, true, false, &coarse);
    EXPECT_LE(coarse, 400u);  // closed again: 64 aligned days are one block per edge
  }
}

// The edge_blk keys of a closed store (table files only): (tenant, level, start day).
std::vector<std::tuple<uint32_t, int, int64_t>> BlockKeys(const std::string& dir) {
  std::vector<std::tuple<uint32_t, int, int64_t>> out;
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
  for (const auto& n : names) cfds.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, cfds, &handles, &db).ok());
  for (size_t i = 0; i < names.size() && db != nullptr; ++i) {
    if (names[i] != "edge_blk") continue;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const uint32_t t = coding::GetBE32(it->key().data() + keys::kTimeOffset);
      out.emplace_back(coding::GetBE32(it->key().data()), keys::BlockLevelOf(t),
                       keys::BlockStartOf(t));
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  delete db;
  return out;
}

TEST(DayBlocksTest, RetentionDropsBlocksWhoseDaysAreGoneAndScansStayEqual) {
  TempDir dir;
  const int64_t last = kFirstDay + 199;
  const StoreOptions early = Options(dir.Sub("db"), last + 3, 5 * 365);
  World w(nullptr, kDefaultTenant, 0, 0, 0, 5);
  {
    auto store = Open(early);
    ASSERT_TRUE(store);
    w = World(store.get(), kDefaultTenant, 280, 0, 300, 5);
    WriteDays(&w, kFirstDay, last, 80);
    ASSERT_TRUE(store->CompactAll().ok());
  }
  const auto built = BlockKeys(early.dir);
  const int64_t horizon = kFirstDay + 77;  // later: the day tier keeps days from here on
  const auto end_of = [](const auto& k) { return std::get<2>(k) + (int64_t{1} << std::get<1>(k)); };
  ASSERT_TRUE(
      std::any_of(built.begin(), built.end(), [&](const auto& k) { return end_of(k) <= horizon; }));
  const StoreOptions later = Options(early.dir, last + 3, last + 3 - horizon);
  const auto ranges = Ranges(w.rng(), kFirstDay, last, 150);
  {
    auto store = Open(later);
    ASSERT_TRUE(store);
    w.set_store(store.get());
    ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges, horizon);  // before the compaction
    FlushBatch batch;  // late data on both sides of the horizon
    for (int i = 0; i < 300; ++i) batch.rollups.push_back(w.Rollup(horizon - 20 + i % 60));
    ASSERT_TRUE(w.Flush(&batch).ok());
    ASSERT_TRUE(store->CompactAll().ok());
    ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
    ASSERT_EQ(ReadDays(*store, kDefaultTenant, 0, last + 1, true), w.Ledger(horizon, last + 1));
  }
  const auto kept = BlockKeys(early.dir);
  EXPECT_FALSE(kept.empty());
  // A block goes once its last day is past the horizon (none of its days is left).
  for (const auto& k : kept) {
    EXPECT_GT(end_of(k), horizon) << "level " << std::get<1>(k) << " from " << std::get<2>(k);
    EXPECT_GE(std::get<1>(k), 1);
    EXPECT_LE(std::get<1>(k), keys::kMaxBlockLevel);
  }
}

// Bulk loading (WriteTiers) of day records into closed days adds their late operands to the
// built blocks, as ApplyFlush does: blocks stay the sums of their days.
TEST(DayBlocksTest, BulkLoadedDaysOfClosedDaysReachTheBlocks) {
  TempDir dir;
  const int64_t last = kFirstDay + 69;
  const StoreOptions o = Options(dir.Sub("db"), last + 3, 5 * 365);
  auto store = Open(o);
  ASSERT_TRUE(store);
  World w(store.get(), kDefaultTenant, 300, 0, 300, 11);
  WriteDays(&w, kFirstDay, last, 50);
  ASSERT_TRUE(store->CloseDays(last).ok());
  ASSERT_EQ(ReadDays(*store, kDefaultTenant, kFirstDay, last + 1, true),
            w.Ledger(kFirstDay, last + 1));
  std::vector<MinuteRollup> late;
  for (int i = 0; i < 2000; ++i) {
    late.push_back(w.Rollup(kFirstDay + static_cast<int64_t>(w.rng()() % 70)));
  }
  ASSERT_TRUE(store->WriteTiers(late, TierBit(Tier::kDay)).ok());
  const auto ranges = Ranges(w.rng(), kFirstDay, last, 60);
  ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
  ASSERT_EQ(ReadDays(*store, kDefaultTenant, kFirstDay, last + 1, true),
            w.Ledger(kFirstDay, last + 1));
  uint64_t coarse = 0;
  ReadDays(*store, kDefaultTenant, kFirstDay, kFirstDay + 64, true, false, &coarse);
  EXPECT_LE(coarse, w.edges());  // the 64 days are read from blocks
  ASSERT_TRUE(store->CompactAll().ok());
  ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
}

TEST(DayBlocksTest, DeletingATenantDeletesItsBlocks) {
  TempDir dir;
  const int64_t last = kFirstDay + 69;
  const StoreOptions o = Options(dir.Sub("db"), last + 3, 5 * 365);
  auto store = Open(o);
  ASSERT_TRUE(store);
  const TenantId acme = *store->InternTenant("acme");
  World def(store.get(), kDefaultTenant, 260, 0, 200, 1);
  World other(store.get(), acme, 260, 0, 200, 2);
  WriteDays(&def, kFirstDay, last, 50);
  WriteDays(&other, kFirstDay, last, 50);
  ASSERT_TRUE(store->CloseDays(last).ok());
  const auto ranges = Ranges(def.rng(), kFirstDay, last, 60);
  ExpectCoarseEqualsDays(*store, acme, ranges);
  ASSERT_FALSE(ReadDays(*store, acme, kFirstDay, kFirstDay + 64, true).empty());
  ASSERT_TRUE(store->DeleteTenant(acme).ok());
  EXPECT_TRUE(ReadDays(*store, acme, 0, int64_t{1} << 40, true).empty());
  ExpectCoarseEqualsDays(*store, kDefaultTenant, ranges);
  ASSERT_EQ(ReadDays(*store, kDefaultTenant, 0, last + 1, true), def.Ledger(0, last + 1));
  ASSERT_TRUE(store->CompactAll().ok());  // merged values only, for the plain open below
  store.reset();
  for (const auto& [tenant, level, start] : BlockKeys(o.dir)) ASSERT_EQ(tenant, kDefaultTenant);
}

}  // namespace
}  // namespace ew::storage
