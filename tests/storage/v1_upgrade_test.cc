// Opens the fixture store written by schema-1 code (tests/storage/fixtures/v1_store.tar.xz, made
// by fixtures/v1_writer.cc at commit 365deb1) and compares every figure of it with the ledger
// regenerated from the same data set (fixtures/v1_dataset.h): every tier of every family
// (counts, sketches, both orderings, detail), exemplars, expiry counters, the dictionary, the
// pending chunks and the log position. Whatever the current schema is, opening upgrades the
// store, and nothing written by the old code may be lost or changed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "tests/storage/fixtures/v1_dataset.h"
#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

namespace fx = v1fixture;
using testing::TempDir;

// A record of a scan: (time, client, server, protocol, path, method, status).
using RecordKey = std::tuple<int64_t, NodeId, NodeId, int, StringId, StringId, uint16_t>;
struct Figures {
  uint64_t requests = 0, errors = 0, request_bytes = 0, response_bytes = 0;
  LatencySketch server, client;
  bool operator==(const Figures&) const = default;
};
using Records = std::map<RecordKey, Figures>;

RecordKey KeyOf(int64_t time, const EdgeDims& d, Family f) {
  const bool detail = f == Family::kDetail;
  return {time,
          d.client,
          d.server,
          static_cast<int>(d.protocol),
          detail ? d.path : 0,
          detail ? d.method : 0,
          detail ? d.status : uint16_t{0}};
}

// What family f keeps of the sent rollups in tier t (docs/format/storage.md): counts always;
// the client family no sketches (its scans join them from the edge family); the detail family
// and the edge family's minute tier the client sketch only of requests without a server one
// (every rollup of this data set has a server sketch unless its protocol is database).
Records Expected(const fx::Dataset& ds, Family f, Tier t) {
  Records out;
  for (const FlushBatch& b : ds.batches) {
    for (const MinuteRollup& r : b.rollups) {
      Figures& x = out[KeyOf(r.minute / TierUnitMinutes(t), r.dims, f)];
      x.requests += r.value.requests;
      x.errors += r.value.errors;
      x.request_bytes += r.value.request_bytes;
      x.response_bytes += r.value.response_bytes;
      x.server.Merge(r.value.server_latency);
      const bool client_kept =
          (f == Family::kEdge && t != Tier::kMinute) || r.value.server_latency.Empty();
      if (client_kept) x.client.Merge(r.value.client_latency);
    }
  }
  if (f == Family::kEdgeByClient) {
    // Joined from the edge family: the same sketches.
    Records edge = Expected(ds, Family::kEdge, t);
    for (auto& [k, v] : out) {
      v.server = edge.at(k).server;
      v.client = edge.at(k).client;
    }
  }
  return out;
}

class V1UpgradeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ds_ = new fx::Dataset(fx::Build());
    dir_ = new TempDir();
    const std::string cmd = "tar -xJf '" EW_SOURCE_DIR
                            "/tests/storage/fixtures/v1_store.tar.xz' -C '" +
                            dir_->path() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    StoreOptions o;
    o.dir = dir_->Sub("v1_store");
    o.fixed_now_ms = fx::kNowMs;
    auto s = EdgeStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = s->release();
  }
  static void TearDownTestSuite() {
    delete store_;
    delete dir_;
    delete ds_;
  }

  static Records Scanned(Family f, Tier t) {
    Records got;
    ScanSpec spec;
    spec.family = f;
    spec.tier = t;
    spec.start = fx::kFirstMinute / TierUnitMinutes(t);
    spec.end = (fx::kFirstMinute + fx::kMinutes) / TierUnitMinutes(t) + 1;
    Status s = store_->Scan(spec, [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
      Figures& x = got[KeyOf(time, d, f)];
      EXPECT_EQ(x.requests, 0u) << "a record seen twice";
      x.requests = v.requests;
      x.errors = v.errors;
      x.request_bytes = v.request_bytes;
      x.response_bytes = v.response_bytes;
      x.server = v.server_latency;
      x.client = v.client_latency;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return got;
  }

  static fx::Dataset* ds_;
  static TempDir* dir_;
  static EdgeStore* store_;
};
fx::Dataset* V1UpgradeTest::ds_ = nullptr;
TempDir* V1UpgradeTest::dir_ = nullptr;
EdgeStore* V1UpgradeTest::store_ = nullptr;

TEST_F(V1UpgradeTest, EveryTierOfEveryFamilyEqualsTheLedger) {
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    for (Tier t : {Tier::kMinute, Tier::kHour, Tier::kDay}) {
      SCOPED_TRACE(::testing::Message()
                   << "family " << static_cast<int>(f) << " tier " << static_cast<int>(t));
      const Records want = Expected(*ds_, f, t);
      const Records got = Scanned(f, t);
      ASSERT_EQ(got.size(), want.size());
      size_t differences = 0;
      for (const auto& [k, v] : want) {
        auto it = got.find(k);
        if (it == got.end() || !(it->second == v)) ++differences;
      }
      EXPECT_EQ(differences, 0u);
    }
  }
}

TEST_F(V1UpgradeTest, ExemplarsEqualTheLedger) {
  std::map<std::tuple<NodeId, NodeId, int64_t>, RollupValue> want;
  for (const FlushBatch& b : ds_->batches) {
    for (const MinuteRollup& r : b.rollups) {
      for (const Exemplar& e : r.value.exemplars) {
        want[{r.dims.client, r.dims.server, r.minute}].AddExemplar(e);
      }
    }
  }
  std::set<std::pair<NodeId, NodeId>> edges;
  for (const auto& e : ds_->edges) edges.insert({e.client, e.server});
  size_t records = 0, differences = 0;
  for (const auto& [client, server] : edges) {
    std::map<int64_t, std::vector<Exemplar>> got;
    ASSERT_TRUE(store_
                    ->ScanExemplars(client, server, fx::kFirstMinute,
                                    fx::kFirstMinute + fx::kMinutes + 1,
                                    [&](int64_t minute, const Exemplar& e) {
                                      got[minute].push_back(e);
                                      return true;
                                    })
                    .ok());
    for (const auto& [minute, list] : got) {
      ++records;
      auto it = want.find({client, server, minute});
      if (it == want.end() || it->second.exemplars != list) ++differences;
    }
  }
  EXPECT_EQ(records, want.size());
  EXPECT_EQ(differences, 0u);
}

TEST_F(V1UpgradeTest, ExpiryCountersEqualTheLedger) {
  std::map<std::pair<NodeId, int64_t>, std::array<uint64_t, 3>> want;  // per node and day
  for (const FlushBatch& b : ds_->batches) {
    for (const ExpiryCount& x : b.expiries) {
      want[{x.node, x.minute / 1440}][static_cast<size_t>(x.kind)] += x.count;
    }
  }
  for (const auto& [key, counts] : want) {
    auto got = store_->SumExpiries(key.first, key.second * 1440, (key.second + 1) * 1440);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, counts) << "node " << key.first << " day " << key.second;
  }
  auto none = store_->SumExpiries(fx::kServices + 5, fx::kFirstMinute, fx::kFirstMinute + 9999);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, (std::array<uint64_t, 3>{}));  // a filler node: never expired anything
}

TEST_F(V1UpgradeTest, DictionaryEqualsTheLedger) {
  const auto nodes = store_->ListNodes();
  ASSERT_EQ(nodes.size(), ds_->nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(nodes[i].first, i + 1);
    EXPECT_EQ(nodes[i].second.kind, ds_->nodes[i].kind);
    EXPECT_EQ(nodes[i].second.ns, ds_->nodes[i].ns);
    EXPECT_EQ(nodes[i].second.name, ds_->nodes[i].name);
  }
  const auto paths = store_->ListStrings(StringKind::kPath);
  ASSERT_EQ(paths.size(), ds_->paths.size());
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(paths[i].second, ds_->paths[i]);
  const auto methods = store_->ListStrings(StringKind::kMethod);
  ASSERT_EQ(methods.size(), ds_->methods.size());
  for (size_t i = 0; i < methods.size(); ++i) EXPECT_EQ(methods[i].second, ds_->methods[i]);
  std::set<std::string> want_ns;
  for (const auto& n : ds_->nodes) {
    if (!n.ns.empty()) want_ns.insert(n.ns);
  }
  std::set<std::string> got_ns;
  for (const auto& [id, s] : store_->ListStrings(StringKind::kNamespace)) got_ns.insert(s);
  EXPECT_EQ(got_ns, want_ns);
  // Interning is still consistent: a known node keeps its id, a new one gets the next id.
  EXPECT_EQ(store_->FindNode(NodeKind::kService, "ns-3", "svc-3"), NodeId{4});
}

TEST_F(V1UpgradeTest, PendingChunksAndLogPositionEqualTheLedger) {
  std::map<std::string, std::string> want;
  for (const FlushBatch& b : ds_->batches) {
    for (const auto& [k, v] : b.pending_puts) want[k] = v;
    for (const auto& k : b.pending_deletes) want.erase(k);
  }
  std::map<std::string, std::string> got;
  ASSERT_TRUE(store_
                  ->LoadPending([&](std::string_view k, std::string_view v) {
                    got.emplace(std::string(k), std::string(v));
                  })
                  .ok());
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(got, want);
  EXPECT_EQ(store_->FlushedLogPosition(), ds_->batches.back().log_position);
}

}  // namespace
}  // namespace ew::storage
