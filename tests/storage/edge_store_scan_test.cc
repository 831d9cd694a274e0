// Scans over many nodes whose ids cross byte boundaries (255, 511, 65,535, 65,536) while every
// node also has data after the range end: the scan must jump from such a node to the next one
// (a fixed-width increment of the node prefix), never stop early. Every tier and family, whole,
// narrowed to the namespace, and split between threads.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <tuple>

#include "storage/keys.h"
#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

using testing::MakeRollup;
using testing::TempDir;

constexpr int64_t kM0 = 20'000LL * 1440;  // a day-aligned minute
constexpr int64_t kH0 = kM0 / 60;
constexpr int64_t kD0 = kM0 / 1440;
constexpr NodeId kLastNode = 65'800;

// (time, client, server) -> requests
using Seen = std::map<std::tuple<int64_t, NodeId, NodeId>, uint64_t>;

TEST(KeysTest, IncrementFixedWidthCarriesAndKeepsTheWidth) {
  std::string k = keys::NodePrefix(0, 1, 255);
  ASSERT_TRUE(keys::IncrementFixedWidth(&k));
  EXPECT_EQ(k, keys::NodePrefix(0, 1, 256));
  k = keys::NodePrefix(0, 1, 65'535);
  ASSERT_TRUE(keys::IncrementFixedWidth(&k));
  EXPECT_EQ(k, keys::NodePrefix(0, 1, 65'536));
  k = keys::NodePrefix(0, 1, UINT32_MAX);
  ASSERT_TRUE(keys::IncrementFixedWidth(&k));
  EXPECT_EQ(k, keys::NodePrefix(0, 2, 0));
  k = keys::NodePrefix(UINT32_MAX, UINT32_MAX, UINT32_MAX);
  EXPECT_FALSE(keys::IncrementFixedWidth(&k));
  EXPECT_EQ(k, keys::NodePrefix(UINT32_MAX, UINT32_MAX, UINT32_MAX));
}

class EdgeStoreScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.dir = dir_.Sub("db");
    o.fixed_now_ms = (kM0 + 10 * 1440) * 60'000;  // the data is recent for the retention filter
    auto s = EdgeStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    // Dense ids from 1: intern services until the ids pass 65,536.
    for (NodeId i = 1; i <= kLastNode; ++i) {
      auto id = store_->InternNode(NodeKind::kService, "ns", "svc-" + std::to_string(i));
      ASSERT_TRUE(id.ok());
      ASSERT_EQ(*id, i);
    }
    ns_ = *store_->FindString(StringKind::kNamespace, "ns");
  }

  Seen ScanAll(const ScanSpec& spec) {
    Seen seen;
    Status s = store_->Scan(spec, [&](int64_t t, const EdgeDims& d, const RollupValue& v) {
      seen[{t, d.client, d.server}] += v.requests;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  }

  // The whole scan, the namespace's, the split parts together and one node at a time each find
  // exactly `want`.
  void ExpectEveryWay(const ScanSpec& spec, const Seen& want);

  TempDir dir_;
  std::unique_ptr<EdgeStore> store_;
  StringId ns_ = 0;
};

// Node 1 calls each boundary node and each boundary node calls node 1, so every boundary id
// leads a key in both the server-led and the client-led families. Each edge has data inside
// the range (kM0 + 1) and again after it in every tier (three days later).
const std::set<NodeId> kBoundary = {2,      254,    255,    256,           257,      510,    511,
                                    512,    767,    65'279, 65'280,        65'534,   65'535, 65'536,
                                    65'537, 65'791, 65'792, kLastNode - 1, kLastNode};
constexpr int64_t kInMinute = kM0 + 1;
constexpr int64_t kLateMinute = kM0 + 3 * 1440 + 7;

FlushBatch BoundaryBatch() {
  FlushBatch batch;
  uint64_t n = 1;
  for (NodeId x : kBoundary) {
    for (auto [client, server] : {std::pair{NodeId{1}, x}, std::pair{x, NodeId{1}}}) {
      batch.rollups.push_back(MakeRollup(kInMinute, client, server, n, 0, 1000));
      batch.rollups.push_back(MakeRollup(kLateMinute, client, server, 1000 + n, 0, 1000));
      ++n;
    }
  }
  batch.log_position = 1;
  return batch;
}

void EdgeStoreScanTest::ExpectEveryWay(const ScanSpec& spec, const Seen& want) {
  EXPECT_EQ(ScanAll(spec), want);
  ScanSpec in_ns = spec;
  in_ns.ns = ns_;
  EXPECT_EQ(ScanAll(in_ns), want);
  Seen joined;
  for (const ScanSpec& part : store_->SplitScan(spec, 3)) {
    for (const auto& [k, v] : ScanAll(part)) joined[k] += v;
  }
  EXPECT_EQ(joined, want);
  Seen one_by_one;  // the boundary nodes and the hub, node 1
  std::set<NodeId> leads = kBoundary;
  leads.insert(1);
  for (NodeId x : leads) {
    ScanSpec node = spec;
    node.node = x;
    for (const auto& [k, v] : ScanAll(node)) one_by_one[k] += v;
  }
  EXPECT_EQ(one_by_one, want);
}

TEST_F(EdgeStoreScanTest, NodesAfterAnIdEndingInFFAreScanned) {
  const FlushBatch batch = BoundaryBatch();
  ASSERT_TRUE(store_->ApplyFlush(batch).ok());
  struct TierRange {
    Tier tier;
    int64_t start, end, in_time;
  };
  for (const TierRange& tr :
       {TierRange{Tier::kMinute, kM0, kM0 + 10, kInMinute},
        TierRange{Tier::kHour, kH0, kH0 + 1, kH0}, TierRange{Tier::kDay, kD0, kD0 + 1, kD0}}) {
    Seen want;
    for (const auto& r : batch.rollups) {
      if (r.minute == kInMinute)
        want[{tr.in_time, r.dims.client, r.dims.server}] = r.value.requests;
    }
    for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
      SCOPED_TRACE(::testing::Message()
                   << "tier " << static_cast<int>(tr.tier) << " family " << static_cast<int>(f));
      ScanSpec spec;
      spec.family = f;
      spec.tier = tr.tier;
      spec.start = tr.start;
      spec.end = tr.end;
      spec.need_sketches = f != Family::kEdgeByClient;
      ExpectEveryWay(spec, want);
    }
  }
}

}  // namespace
}  // namespace ew::storage
