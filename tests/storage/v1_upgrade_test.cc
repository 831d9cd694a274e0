// Opens the fixture store written by schema-1 code (tests/storage/fixtures/v1_store.tar.xz, made
// by fixtures/v1_writer.cc at commit 365deb1) and compares every figure of it with the ledger
// regenerated from the same data set (fixtures/v1_dataset.h): every tier of every family
// (counts, sketches, both orderings, detail), exemplars, expiry counters, the dictionary, the
// pending chunks and the log position. Whatever the current schema is, opening upgrades the
// store, and nothing written by the old code may be lost or changed.
#include <gtest/gtest.h>

#include <algorithm>
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

// Exemplars of minutes at or after the per-minute window's boundary come from the minute
// records, older ones from the hour records the upgrade built (docs/format/storage.md
// "Exemplars"): both must hold the role holders of what was written.
TEST_F(V1UpgradeTest, ExemplarsEqualTheLedger) {
  const int64_t boundary = ((fx::kNowMs - 2 * 86'400'000LL) / 60'000 / 60 + 1) * 60;
  ASSERT_GT(boundary, fx::kFirstMinute);  // both kinds of records are read
  std::map<std::pair<NodeId, NodeId>, std::map<int64_t, RollupValue>> minutes, hours;
  for (const FlushBatch& b : ds_->batches) {
    for (const MinuteRollup& r : b.rollups) {
      for (const Exemplar& e : r.value.exemplars) {
        minutes[{r.dims.client, r.dims.server}][r.minute].AddExemplar(e);
        hours[{r.dims.client, r.dims.server}][r.minute / 60].AddExemplar(e);
      }
    }
  }
  size_t edges = 0, entries = 0;
  for (const auto& [edge, by_minute] : minutes) {
    // Newest first: minute records down to the boundary, then hour records.
    std::vector<std::pair<int64_t, Exemplar>> want, got;
    for (auto it = by_minute.rbegin(); it != by_minute.rend(); ++it) {
      if (it->first < boundary) break;
      for (const Exemplar& e : it->second.exemplars) want.emplace_back(it->first, e);
    }
    const auto& by_hour = hours.at(edge);
    for (auto it = by_hour.rbegin(); it != by_hour.rend(); ++it) {
      if (it->first * 60 >= boundary) continue;
      for (const Exemplar& e : it->second.exemplars) {
        want.emplace_back(
            std::clamp<int64_t>(e.start_ms / 60'000, it->first * 60, it->first * 60 + 59), e);
      }
    }
    ASSERT_TRUE(store_
                    ->ScanExemplars(edge.first, edge.second, fx::kFirstMinute,
                                    fx::kFirstMinute + fx::kMinutes + 1,
                                    [&](int64_t minute, const Exemplar& e) {
                                      got.emplace_back(minute, e);
                                      return true;
                                    })
                    .ok());
    EXPECT_EQ(got, want) << edge.first << " -> " << edge.second;
    ++edges;
    entries += want.size();
  }
  EXPECT_GT(edges, 300u);
  EXPECT_GT(entries, 10'000u);
}

// The upgrade gives hour and day records the minute counts of the minute tier: the busiest
// minute of every upgraded hour and day equals the ledger's.
TEST_F(V1UpgradeTest, BusiestMinuteOfUpgradedHoursAndDaysEqualsTheLedger) {
  for (Family f : {Family::kEdge, Family::kEdgeByClient}) {
    for (Tier t : {Tier::kHour, Tier::kDay}) {
      const int64_t unit = TierUnitMinutes(t);
      std::map<std::tuple<int64_t, NodeId, NodeId>, std::map<int64_t, uint64_t>> want;
      for (const FlushBatch& b : ds_->batches) {
        for (const MinuteRollup& r : b.rollups) {
          want[{r.minute / unit, r.dims.client, r.dims.server}][r.minute] += r.value.requests;
        }
      }
      ScanSpec spec;
      spec.family = f;
      spec.tier = t;
      spec.start = fx::kFirstMinute / unit;
      spec.end = (fx::kFirstMinute + fx::kMinutes) / unit + 1;
      spec.need_minute_counts = true;
      size_t records = 0, differences = 0;
      ASSERT_TRUE(store_
                      ->Scan(spec,
                             [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
                               const auto& m = want.at({time, d.client, d.server});
                               uint64_t peak = 0;
                               int64_t at = 0;
                               for (const auto& [minute, n] : m) {
                                 if (n > peak) peak = n, at = minute;
                               }
                               differences += v.peak_requests != peak || v.peak_minute != at ||
                                              v.minute_counts.size() != m.size();
                               ++records;
                               return true;
                             })
                      .ok());
      EXPECT_EQ(records, want.size());
      EXPECT_EQ(differences, 0u) << static_cast<int>(f) << " " << static_cast<int>(t);
    }
  }
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
