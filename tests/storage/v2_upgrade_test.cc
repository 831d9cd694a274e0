// Opens the fixture store written by schema-2 code (tests/storage/fixtures/v2_store.tar.xz, made
// by fixtures/v2_writer.cc at commit aad273c) and checks the upgrade to schema 3 (day blocks):
// a read-only open refuses and says how to upgrade; the upgrade builds the blocks of every
// closed day; day scans answer as before (the ledger regenerated from fixtures/v2_dataset.h),
// and coarse scans, which now read blocks, answer the same over any range.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "base/time.h"
#include "tests/storage/day_blocks_util.h"
#include "tests/storage/fixtures/v2_dataset.h"
#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

namespace fx = v2fixture;
using testing::Answer;
using testing::ReadDays;
using testing::TempDir;

// The ledger: per-edge sums of the data set's rollups of days in [a, b).
Answer Ledger(const fx::Dataset& ds, int64_t a, int64_t b) {
  Answer out;
  size_t i = 0;
  for (const FlushBatch& batch : ds.batches) {
    for (const MinuteRollup& r : batch.rollups) {
      const int64_t day = ds.days[i++];
      if (day < a || day >= b) continue;
      testing::AddValue(r.value,
                        &out[{r.dims.client, r.dims.server, static_cast<int>(r.dims.protocol)}]);
    }
  }
  return out;
}

TEST(V2UpgradeTest, DayBlocksAreBuiltOnOpenAndAnswersStayTheSame) {
  const fx::Dataset ds = fx::Build();
  TempDir dir;
  const std::string cmd =
      "tar -xJf '" EW_SOURCE_DIR "/tests/storage/fixtures/v2_store.tar.xz' -C '" + dir.path() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  StoreOptions o;
  o.dir = dir.Sub("v2_store");
  o.fixed_now_ms = fx::kNowMs;
  {
    StoreOptions ro = o;
    ro.read_only = true;
    auto s = EdgeStore::Open(ro);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(s.status().message().find("edgewise-ctl upgrade"), std::string::npos)
        << s.status().message();
  }
  const int64_t last = fx::kFirstDay + fx::kDays - 1;
  for (int round = 0; round < 2; ++round) {  // the second open finds schema 3: nothing to do
    auto opened = EdgeStore::Open(o);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    const auto& store = *opened;
    bool listed = false;
    for (const auto& cf : store->Stats().families) listed = listed || cf.name == "edge_blk";
    EXPECT_TRUE(listed);
    ASSERT_EQ(ReadDays(*store, kDefaultTenant, 0, last + 1, false), Ledger(ds, 0, last + 1));
    fx::Rng rng(5 + static_cast<uint64_t>(round));
    for (int i = 0; i < 200; ++i) {
      const int64_t a = fx::kFirstDay - 5 + static_cast<int64_t>(rng.Below(fx::kDays + 10));
      const int64_t b = a + 1 + static_cast<int64_t>(rng.Below(1 + (uint64_t{1} << rng.Below(8))));
      const Answer want = Ledger(ds, a, b);
      ASSERT_EQ(ReadDays(*store, kDefaultTenant, a, b, false), want) << a << " " << b;
      ASSERT_EQ(ReadDays(*store, kDefaultTenant, a, b, true, i % 2 == 0), want) << a << " " << b;
    }
    // Every day was closed by the upgrade: 64 aligned days are one block per edge.
    uint64_t records = 0;
    ReadDays(*store, kDefaultTenant, fx::kFirstDay, fx::kFirstDay + 64, true, false, &records);
    EXPECT_LE(records, static_cast<uint64_t>(fx::kEdges));
  }
}

}  // namespace
}  // namespace ew::storage
