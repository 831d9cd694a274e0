// Tenants in the store (schema 2): separate dictionaries and key ranges per tenant, refusal of
// cross-tenant rollups, and the upgrade of a schema-1 store (before tenants) on open — including
// an upgrade interrupted half-way.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <map>
#include <random>
#include <tuple>

#include "storage/coding.h"
#include "storage/record_codec.h"
#include "storage/rollup_codec.h"
#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

using testing::MakeRollup;
using testing::TempDir;

constexpr int64_t kM0 = 20'000LL * 1440;  // a day-aligned minute

std::unique_ptr<EdgeStore> OpenOrDie(StoreOptions o) {
  o.fixed_now_ms = (kM0 + 1440) * 60'000;
  auto s = EdgeStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// Everything a scan of every family and tier returns for one tenant, plus exemplars and expiry
// sums of every node: the store's whole readable content for that tenant.
using Content = std::map<std::tuple<int, int, int64_t, NodeId, NodeId, StringId, uint16_t>,
                         std::tuple<uint64_t, uint64_t, uint64_t, uint64_t>>;

Content ReadAll(const EdgeStore& store, TenantId tenant, std::vector<NodeId> nodes) {
  Content out;
  for (int f = 0; f < 3; ++f) {
    for (int t = 0; t < 3; ++t) {
      ScanSpec spec;
      spec.tenant = tenant;
      spec.family = static_cast<Family>(f);
      spec.tier = static_cast<Tier>(t);
      spec.start = 0;
      spec.end = int64_t{1} << 32;
      EXPECT_TRUE(store
                      .Scan(spec,
                            [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
                              auto& e = out[{f, t, time, d.client, d.server, d.path, d.status}];
                              std::get<0>(e) += v.requests;
                              std::get<1>(e) += v.errors;
                              std::get<2>(e) += v.server_latency.Count();
                              std::get<3>(e) += v.client_latency.Count();
                              return true;
                            })
                      .ok());
    }
  }
  for (NodeId a : nodes) {
    auto sums = store.SumExpiries(a, 0, int64_t{1} << 32);
    EXPECT_TRUE(sums.ok());
    for (int k = 0; k < 3; ++k)
      out[{9, k, 0, a, 0, 0, 0}] = {(*sums)[static_cast<size_t>(k)], 0, 0, 0};
    for (NodeId b : nodes) {
      uint64_t n = 0, dur = 0;
      EXPECT_TRUE(store
                      .ScanExemplars(a, b, 0, int64_t{1} << 32,
                                     [&](int64_t, const Exemplar& e) {
                                       ++n;
                                       dur += e.duration_us;
                                       return true;
                                     })
                      .ok());
      if (n > 0) out[{10, 0, 0, a, b, 0, 0}] = {n, dur, 0, 0};
    }
  }
  return out;
}

// A few hundred rollups over three days (ids past 255), with exemplars and expiries.
FlushBatch Traffic(const std::vector<NodeId>& nodes, StringId path, uint32_t seed) {
  std::mt19937 rng(seed);
  FlushBatch batch;
  for (int i = 0; i < 400; ++i) {
    const NodeId c = nodes[rng() % nodes.size()];
    NodeId s = nodes[rng() % nodes.size()];
    if (s == c) s = nodes[(rng() % (nodes.size() - 1) + 1 + (c - nodes[0])) % nodes.size()];
    MinuteRollup r =
        MakeRollup(kM0 - 3 * 1440 + static_cast<int64_t>(rng() % (3 * 1440)), c, s, 1 + rng() % 50,
                   rng() % 3, 100 + rng() % 10'000, rng() % 2 ? path : 0, rng() % 2 ? 200 : 503);
    Exemplar e;
    e.trace_id[0] = static_cast<uint8_t>(i);
    e.trace_id[1] = static_cast<uint8_t>(i >> 8);
    e.start_ms = r.minute * 60'000 + static_cast<int64_t>(rng() % 60'000);
    e.duration_us = 100 + rng() % 1000;
    e.error = rng() % 4 == 0;
    r.value.exemplars.push_back(e);
    batch.rollups.push_back(r);
  }
  for (NodeId n : nodes) {
    batch.expiries.push_back({n, kM0 - 10, ExpiryKind::kClientHalf, 1 + n % 7});
    batch.expiries.push_back({n, kM0 - 5, ExpiryKind::kEvicted, 2});
  }
  batch.log_position = 4242;
  return batch;
}

TEST(EdgeStoreTenantTest, TenantsHaveTheirOwnNamesIdsAndKeyRanges) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.Sub("db");
  std::vector<NodeId> def_nodes, acme_nodes;
  TenantId acme = 0;
  Content def_before, acme_before;
  {
    auto store = OpenOrDie(o);
    ASSERT_TRUE(store);
    EXPECT_EQ(*store->InternTenant("default"), kDefaultTenant);
    acme = *store->InternTenant("acme");
    EXPECT_NE(acme, kDefaultTenant);
    EXPECT_EQ(*store->InternTenant("acme"), acme);
    EXPECT_FALSE(store->InternTenant("").ok());
    EXPECT_FALSE(store->InternNode(acme + 1, NodeKind::kService, "shop", "x").ok());  // unknown
    // The same names in both tenants: different ids, each found only in its own tenant.
    for (int i = 0; i < 300; ++i) {
      const std::string name = "svc-" + std::to_string(i);
      def_nodes.push_back(*store->InternNode(NodeKind::kService, "shop", name));
      acme_nodes.push_back(*store->InternNode(acme, NodeKind::kService, "shop", name));
      EXPECT_NE(def_nodes.back(), acme_nodes.back());
    }
    EXPECT_EQ(store->FindNode(acme, NodeKind::kService, "shop", "svc-7"), acme_nodes[7]);
    EXPECT_EQ(store->FindNode(NodeKind::kService, "shop", "svc-7"), def_nodes[7]);
    EXPECT_EQ(store->GetNode(acme_nodes[7])->tenant, acme);
    EXPECT_EQ(store->ListNodes(acme).size(), 300u);
    EXPECT_EQ(store->ListNodes().size(), 300u);
    EXPECT_NE(store->FindString(acme, StringKind::kNamespace, "shop"),
              store->FindString(StringKind::kNamespace, "shop"));
    const StringId def_path = *store->InternString(StringKind::kPath, "/a");
    const StringId acme_path = *store->InternString(acme, StringKind::kPath, "/a");
    EXPECT_NE(def_path, acme_path);
    EXPECT_EQ(store->ListStrings(acme, StringKind::kPath).size(), 1u);
    EXPECT_EQ(store->ListStrings(acme, StringKind::kPath)[0].first, acme_path);

    // A rollup between two tenants is refused, and nothing of its batch is written.
    FlushBatch bad = Traffic(def_nodes, def_path, 1);
    bad.rollups.push_back(MakeRollup(kM0 - 1, def_nodes[0], acme_nodes[1], 5, 0, 100));
    Status st = store->ApplyFlush(bad);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_EQ(ReadAll(*store, kDefaultTenant, def_nodes).size(), 300u * 3);  // expiry rows only

    ASSERT_TRUE(store->ApplyFlush(Traffic(def_nodes, def_path, 1)).ok());
    ASSERT_TRUE(store->ApplyFlush(Traffic(acme_nodes, acme_path, 2)).ok());
    def_before = ReadAll(*store, kDefaultTenant, def_nodes);
    acme_before = ReadAll(*store, acme, acme_nodes);
    EXPECT_NE(def_before, acme_before);
    // Each tenant's scan sees its own nodes only.
    for (const auto& [k, v] : acme_before) {
      const NodeId c = std::get<3>(k);
      if (c != 0) {
        EXPECT_EQ(store->GetNode(c)->tenant, acme);
      }
    }
    // A tenant without data reads nothing.
    const TenantId empty = *store->InternTenant("empty");
    ScanSpec spec;
    spec.tenant = empty;
    spec.end = int64_t{1} << 32;
    int seen = 0;
    ASSERT_TRUE(store
                    ->Scan(spec,
                           [&](int64_t, const EdgeDims&, const RollupValue&) {
                             ++seen;
                             return true;
                           })
                    .ok());
    EXPECT_EQ(seen, 0);
  }
  // Everything, tenants included, survives a reopen.
  auto store = OpenOrDie(o);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->FindTenant("acme"), acme);
  EXPECT_EQ(*store->GetTenantName(acme), "acme");
  EXPECT_EQ(store->ListTenants().size(), 3u);
  EXPECT_EQ(store->FindNode(acme, NodeKind::kService, "shop", "svc-7"), acme_nodes[7]);
  EXPECT_EQ(ReadAll(*store, kDefaultTenant, def_nodes), def_before);
  EXPECT_EQ(ReadAll(*store, acme, acme_nodes), acme_before);
}

// The schema-1 records (key without tenant, FlatBuffers value) of one schema-2 tier record: one
// per entry, the minute tier's per minute.
std::vector<std::pair<std::string, std::string>> TierRecordToV1(const std::string& key,
                                                                const std::string& value,
                                                                Tier tier) {
  RecordView rec;
  EXPECT_TRUE(ParseRecord(value, LimitsOf(tier), &rec).ok());
  std::vector<std::pair<std::string, std::string>> out;
  RollupEncoder enc;
  for (const RecordEntry& e : rec.entries) {
    RollupValue v;
    v.requests = e.requests;
    v.errors = e.errors;
    v.request_bytes = e.request_bytes;
    v.response_bytes = e.response_bytes;
    v.server_latency = *LatencySketch::Decode(e.server);
    v.client_latency = *LatencySketch::Decode(e.client);
    std::string k = key.substr(4);
    const uint32_t time = coding::GetBE32(k.data() + 8);
    if (tier == Tier::kMinute) coding::PutBE32(k.data() + 8, time * 60 + e.offset);
    out.emplace_back(std::move(k), std::string());
    enc.Encode(v, &out.back().second);
  }
  return out;
}

// Rewrites a schema-2 store of tenant 0 as schema 1 wrote it: keys without the tenant prefix,
// FlatBuffers values (a minute-tier record per minute), dictionary strings without their tenant,
// schema_version 1. `keep_every` > 0 leaves every keep_every-th
// record in its schema-2 form (and the hour exemplars) and marks the dictionary as already
// converted: an upgrade that was interrupted half-way.
void DowngradeToV1(const std::string& dir, int keep_every) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
  for (const auto& n : names) cfds.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfds, &handles, &db).ok());
  int counter = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n == "edge_blk") {  // schema 3's day blocks: schema 1 had none
      ASSERT_TRUE(db->DropColumnFamily(handles[i]).ok());
      continue;
    }
    const bool tier =
        n.starts_with("edge_") || n.starts_with("client_") || n.starts_with("detail_");
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    std::vector<std::pair<std::string, std::string>> records;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      records.emplace_back(it->key().ToString(), it->value().ToString());
    }
    ASSERT_TRUE(it->status().ok()) << n << ": " << it->status().ToString();
    for (const auto& [k, v] : records) {
      if (n == "exemplars_1h") {
        // Left as they are: the minute exemplars they were built from are past their retention
        // (a schema-1 store kept them for 14 days), and the upgrade merges the remaining
        // minutes into them again, which changes nothing (role holders of a union).
        continue;
      } else if (tier || n == "exemplars" || n == "expiry") {
        ASSERT_EQ(k.substr(0, 4), std::string(4, '\0'));
        if (keep_every > 0 && ++counter % keep_every == 0) continue;
        ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[i], k).ok());
        std::vector<std::pair<std::string, std::string>> v1;
        if (tier) {
          const Tier t = n.ends_with("_1m")   ? Tier::kMinute
                         : n.ends_with("_1h") ? Tier::kHour
                                              : Tier::kDay;
          v1 = TierRecordToV1(k, v, t);
        } else if (n == "exemplars") {
          std::vector<Exemplar> list;
          const int64_t minute = coding::GetBE32(k.data() + 12);
          ASSERT_TRUE(DecodeExemplarList(v, minute * 60'000, &list).ok());
          v1.emplace_back(k.substr(4), std::string());
          EncodeExemplars(list, &v1.back().second);
        } else {
          v1.emplace_back(k.substr(4), v);
        }
        for (const auto& [k1, v1value] : v1) {
          ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], k1, v1value).ok());
        }
      } else if (n == "dict" && k[0] == 'S' && keep_every == 0) {
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], k, v.substr(4)).ok());
      } else if (n == "meta" && k == "day_blocks") {
        ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[i], k).ok());
      } else if (n == "meta" && k == "schema_version") {
        std::string one;
        coding::PutFixed64LE(&one, 1);
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], k, one).ok());
        if (keep_every > 0) {
          ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], "upgrade_v2_dict", "1").ok());
        }
      }
    }
  }
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

class EdgeStoreUpgradeTest : public ::testing::TestWithParam<int> {};

TEST_P(EdgeStoreUpgradeTest, SchemaOneStoreIsUpgradedOnOpenWithNothingLost) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.Sub("db");
  std::vector<NodeId> nodes;
  Content before;
  {
    auto store = OpenOrDie(o);
    ASSERT_TRUE(store);
    for (int i = 0; i < 300; ++i) {
      nodes.push_back(*store->InternNode(NodeKind::kService, "ns" + std::to_string(i % 4),
                                         "svc-" + std::to_string(i)));
    }
    const StringId path = *store->InternString(StringKind::kPath, "/v1/x");
    ASSERT_TRUE(store->ApplyFlush(Traffic(nodes, path, 3)).ok());
    before = ReadAll(*store, kDefaultTenant, nodes);
    // Into table files: the plain RocksDB open below has no merge operators, so it could not
    // replay merge operands from the write-ahead log.
    ASSERT_TRUE(store->CompactAll().ok());
  }
  DowngradeToV1(o.dir, GetParam());
  {
    // A read-only open cannot upgrade: it says how to.
    StoreOptions ro = o;
    ro.read_only = true;
    auto s = EdgeStore::Open(ro);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(s.status().message().find("upgrade"), std::string::npos) << s.status().message();
  }
  for (int round = 0; round < 2; ++round) {  // the second open finds schema 2: no-op
    auto store = OpenOrDie(o);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->FindNode(NodeKind::kService, "ns3", "svc-7"), nodes[7]);
    EXPECT_EQ(*store->GetString(StringKind::kNamespace, store->GetNode(nodes[7])->ns_id), "ns3");
    EXPECT_EQ(store->FlushedLogPosition(), 4242u);
    EXPECT_EQ(ReadAll(*store, kDefaultTenant, nodes), before);
    ASSERT_TRUE(store->CompactAll().ok());  // old-size keys are all gone: nothing left to keep
    EXPECT_EQ(ReadAll(*store, kDefaultTenant, nodes), before);
    // New writes and ids continue.
    EXPECT_GT(*store->InternNode(NodeKind::kService, "ns0", "new-" + std::to_string(round)),
              nodes.back());
  }
}

// 0: a whole schema-1 store; 3: an upgrade interrupted after the dictionary and a third of the
// records.
INSTANTIATE_TEST_SUITE_P(Interrupted, EdgeStoreUpgradeTest, ::testing::Values(0, 3));

}  // namespace
}  // namespace ew::storage
