// Unit tests of the tenant pieces above storage: the tenant-salted pairing key (same span key,
// different tenants: different keys, never 0), the shard's guard (a half of another tenant never
// pairs with or replaces a waiting half, whatever its key), and the query's tenant view of a real
// store (scans, dictionaries, node ids of other tenants unknown, an unknown tenant empty).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "ingest/derivation/half_record.h"
#include "ingest/pipeline/shard_state.h"
#include "query/tenant_store.h"
#include "storage/edge_store.h"
#include "tests/common/temp_dir.h"

namespace ew {
namespace {

using storage::NodeId;

TEST(TenantSpanKey, SameSpanKeyDiffersAcrossTenantsAndIsNeverZero) {
  std::mt19937_64 rng(17);
  for (int k = 0; k < 200; ++k) {
    const uint64_t span = rng() | 1;
    EXPECT_EQ(ingest::TenantSpanKey(span, 0), span);
    std::set<uint64_t> keys;
    for (storage::TenantId t = 0; t < 500; ++t) {
      const uint64_t key = ingest::TenantSpanKey(span, t);
      EXPECT_NE(key, 0u);
      EXPECT_TRUE(keys.insert(key).second) << "span " << span << " tenant " << t;
    }
  }
  // The one span key that would salt to 0 does not.
  const uint64_t salt = ingest::TenantSpanKey(0, 9);
  EXPECT_NE(ingest::TenantSpanKey(salt, 9), 0u);
}

// A half of node `node` waiting (client) or arriving (server) under one fixed key.
ingest::HalfRecord Half(NodeId node, NodeId peer, bool server, uint64_t span_key) {
  ingest::HalfRecord r;
  r.trace_id[15] = 7;
  r.span_key = span_key;
  r.start_ms = 60'000 * 1000;
  r.node = node;
  r.peer = peer;
  r.duration_us = 1000;
  r.role = server ? ingest::HalfRole::kServerPending : ingest::HalfRole::kClientPending;
  r.protocol = storage::Protocol::kHttp;
  return r;
}

TEST(TenantShardGuard, HalvesOfTwoTenantsUnderOneKeyNeverPairOrReplace) {
  // Nodes 1..9 are tenant A's, 10..19 tenant B's.
  ingest::WellKnownIds a_ids, b_ids;
  a_ids.other_path = 1;
  b_ids.other_path = 2;
  ingest::PathCap cap(10);
  ingest::ShardOptions o;
  o.pair_wait_ms = 600'000;
  o.path_cap = &cap;
  o.ids_of_node = [&](NodeId n) { return n < 10 ? &a_ids : &b_ids; };
  ingest::ShardState shard(o);
  shard.SetNow(60'000 * 1000);
  const uint64_t key = 0xabcdef;
  shard.Apply(Half(1, 2, false, key), 60'000 * 1000);    // A's client waits
  shard.Apply(Half(11, 12, false, key), 60'000 * 1000);  // B's client: must not replace it
  shard.Apply(Half(13, 14, true, key), 60'000 * 1000);   // B's server: must not pair with A's
  EXPECT_EQ(shard.pending(), 1u);
  EXPECT_EQ(shard.counters().pairs_completed, 0u);
  shard.Apply(Half(3, 4, true, key), 60'000 * 1000);  // A's server pairs with A's client
  EXPECT_EQ(shard.counters().pairs_completed, 1u);
  EXPECT_EQ(shard.pending(), 0u);
  ingest::ShardFlush f;
  shard.TakeFlush(&f);
  std::set<std::pair<NodeId, NodeId>> edges;
  for (const auto& r : f.rollups) {
    EXPECT_EQ(r.dims.client < 10, r.dims.server < 10) << r.dims.client << "->" << r.dims.server;
    edges.insert({r.dims.client, r.dims.server});
  }
  // A's pair, and B's two halves each into its unpaired edge.
  EXPECT_EQ(edges, (std::set<std::pair<NodeId, NodeId>>{{1, 3}, {11, 12}, {14, 13}}));
}

TEST(TenantStoreView, SeesOneTenantOnly) {
  testing::TempDir dir;
  storage::StoreOptions so;
  so.dir = dir.Sub("db");
  auto opened = storage::EdgeStore::Open(so);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  storage::EdgeStore& store = **opened;
  const auto alpha = store.InternTenant("alpha").value();
  const auto beta = store.InternTenant("beta").value();
  auto node = [&](storage::TenantId t, const char* name) {
    return store.InternNode(t, storage::NodeKind::kService, "ns", name).value();
  };
  const NodeId a1 = node(alpha, "web"), a2 = node(alpha, "api");
  const NodeId b1 = node(beta, "web"), b2 = node(beta, "api");
  ASSERT_NE(a1, b1);
  storage::FlushBatch batch;
  for (auto [c, s, n] : {std::tuple{a1, a2, 5}, std::tuple{b1, b2, 7}}) {
    storage::MinuteRollup r;
    r.minute = 1000;
    r.dims.client = c;
    r.dims.server = s;
    r.value.requests = static_cast<uint64_t>(n);
    batch.rollups.push_back(r);
  }
  batch.log_position = 1;
  ASSERT_TRUE(store.ApplyFlush(batch).ok());

  const query::TenantStore a(&store, "alpha");
  const storage::EdgeStore& view = a;
  EXPECT_EQ(view.FindNode(storage::NodeKind::kService, "ns", "web"), a1);
  EXPECT_TRUE(view.GetNode(a1).has_value());
  EXPECT_FALSE(view.GetNode(b1).has_value());
  EXPECT_EQ(view.ListNodes().size(), 2u);
  auto sum = [](const storage::EdgeStore& s, std::optional<NodeId> lead) {
    storage::ScanSpec spec;
    spec.start = 0;
    spec.end = 2000;
    spec.node = lead;
    uint64_t n = 0;
    EXPECT_TRUE(s.Scan(spec, [&](int64_t, const storage::EdgeDims&, const storage::RollupValue& v) {
                   n += v.requests;
                   return true;
                 }).ok());
    return n;
  };
  EXPECT_EQ(sum(view, std::nullopt), 5u);
  EXPECT_EQ(sum(view, b2), 0u);  // another tenant's node: nothing
  EXPECT_EQ(sum(query::TenantStore(&store, "beta"), std::nullopt), 7u);
  const query::TenantStore nobody(&store, "nobody");
  EXPECT_EQ(sum(nobody, std::nullopt), 0u);
  EXPECT_TRUE(static_cast<const storage::EdgeStore&>(nobody).ListNodes().empty());
  EXPECT_EQ(sum(query::TenantStore(&store, "default"), std::nullopt), 0u);
  query::TenantStore writable(&store, "alpha");
  EXPECT_FALSE(writable.ApplyFlush(batch).ok());
  EXPECT_FALSE(writable.InternNode(alpha, storage::NodeKind::kService, "", "x").ok());
}

}  // namespace
}  // namespace ew
