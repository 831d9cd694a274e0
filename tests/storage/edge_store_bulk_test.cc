// EdgeStore::WriteTiers (bulk loading) on a real RocksDB: for every set of tiers, the records it
// writes are exactly those ApplyFlush of the same rollups writes into those tiers (every field a
// scan shows: counts, bytes, sketches and their stored encodings, peaks, minute counts), and
// nothing is written anywhere else (other tiers, exemplars, expiry counts, pending state, the log
// position). At a realistic size: 300 services (ids past 255) in 3 namespaces, rollups over three
// days with repeated keys inside and across writes.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/storage/store_test_util.h"

namespace ew::storage {
namespace {

using testing::TempDir;

constexpr int64_t kM0 = 20'000LL * 1440 + 1380;  // 23:00: the data crosses hours and days
constexpr Tier kTiers[] = {Tier::kMinute, Tier::kHour, Tier::kDay};
constexpr Family kFamilies[] = {Family::kEdge, Family::kEdgeByClient, Family::kDetail};

struct Fixture {
  std::unique_ptr<EdgeStore> store;
  std::vector<NodeId> nodes;
  std::vector<StringId> paths;
};

StoreOptions Options(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  o.fixed_now_ms = (kM0 + 4 * 1440) * 60'000;  // every record is inside every retention
  o.exemplar_minutes_retention_ms = 8 * 86'400'000LL;
  return o;
}

Fixture OpenStore(const std::string& dir) {
  Fixture f;
  auto s = EdgeStore::Open(Options(dir));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  f.store = std::move(*s);
  for (int i = 0; i < 300; ++i) {
    f.nodes.push_back(*f.store->InternNode(NodeKind::kService, "ns-" + std::to_string(i % 3),
                                           "svc-" + std::to_string(i)));
  }
  for (int i = 0; i < 4; ++i) {
    f.paths.push_back(*f.store->InternString(StringKind::kPath, "/p" + std::to_string(i)));
  }
  return f;
}

// Rollups on 400 edges over three days: sketches of several latencies, errors, bytes, an
// exemplar each; keys repeat inside the list (several paths/minutes of one edge and hour).
std::vector<MinuteRollup> Rollups(const Fixture& f, uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  std::vector<MinuteRollup> out;
  for (int i = 0; i < n; ++i) {
    const uint64_t r = rng();
    const size_t edge = r % 400;
    MinuteRollup m;
    m.minute = kM0 + static_cast<int64_t>((r >> 9) % (3 * 1440));
    m.dims.client = f.nodes[edge % 300];
    m.dims.server = f.nodes[(edge * 7 + 1) % 300];
    m.dims.protocol = (r >> 30) % 5 == 0 ? Protocol::kGrpc : Protocol::kHttp;
    m.dims.path = f.paths[(r >> 33) % 4];
    m.dims.status = (r >> 35) % 10 == 0 ? 500 : 200;
    m.value.requests = 1 + (r >> 40) % 50;
    m.value.errors = m.dims.status == 500 ? m.value.requests : 0;
    m.value.request_bytes = (r >> 20) % 1000;
    m.value.response_bytes = (r >> 24) % 5000;
    for (uint64_t k = 0; k < m.value.requests; ++k) {
      const double us = 500.0 * static_cast<double>(1 + rng() % 4000);
      if ((r >> 46) % 8 != 0) m.value.server_latency.Add(us);  // some without a server side
      m.value.client_latency.Add(us * 1.1 + 300);
    }
    Exemplar x;
    x.trace_id[0] = static_cast<uint8_t>(r);
    x.start_ms = m.minute * 60'000 + static_cast<int64_t>(r % 60'000);
    x.duration_us = static_cast<uint32_t>(r % 100'000);
    x.status = m.dims.status;
    x.error = m.value.errors > 0;
    m.value.AddExemplar(x);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::string> Dump(const EdgeStore& store, Family f, Tier t) {
  return testing::DumpTier(store, f, t, kM0 + 10 * 1440);
}

size_t ExemplarCount(const Fixture& f) {
  size_t n = 0;
  for (size_t edge = 0; edge < 400; ++edge) {
    Status s = f.store->ScanExemplars(f.nodes[edge % 300], f.nodes[(edge * 7 + 1) % 300], 0,
                                      kM0 + 10 * 1440, [&](int64_t, const Exemplar&) {
                                        ++n;
                                        return true;
                                      });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return n;
}

// For every set of tiers: two WriteTiers calls give, in each tier of the set, the records of two
// ApplyFlush calls with the same rollups, and nothing in the other tiers, no exemplars, no log
// position; compacted, the same.
TEST(EdgeStoreWriteTiers, WritesWhatApplyFlushWritesIntoTheChosenTiersOnly) {
  TempDir dir;
  Fixture ref = OpenStore(dir.Sub("ref"));
  const auto first = Rollups(ref, 1, 3000), second = Rollups(ref, 2, 3000);
  FlushBatch b;
  b.rollups = first;
  b.log_position = 1;
  ASSERT_TRUE(ref.store->ApplyFlush(b).ok());
  b.rollups = second;
  b.log_position = 2;
  ASSERT_TRUE(ref.store->ApplyFlush(b).ok());
  ASSERT_GT(ExemplarCount(ref), 0u);
  for (uint8_t tiers = 1; tiers <= kAllTiers; ++tiers) {
    SCOPED_TRACE("tiers " + std::to_string(tiers));
    Fixture bulk = OpenStore(dir.Sub("bulk" + std::to_string(tiers)));
    ASSERT_EQ(bulk.nodes, ref.nodes);
    ASSERT_TRUE(bulk.store->WriteTiers(first, tiers).ok());
    ASSERT_TRUE(bulk.store->WriteTiers(second, tiers).ok());
    for (bool compacted : {false, true}) {
      if (compacted) {
        ASSERT_TRUE(bulk.store->CompactAll().ok());
      }
      for (Family f : kFamilies) {
        for (Tier t : kTiers) {
          SCOPED_TRACE("family " + std::to_string(static_cast<int>(f)) + " tier " +
                       std::to_string(static_cast<int>(t)) + " compacted " +
                       std::to_string(compacted));
          const auto want = Dump(*ref.store, f, t);
          ASSERT_GT(want.size(), 1000u);
          if ((tiers & TierBit(t)) != 0) {
            EXPECT_EQ(Dump(*bulk.store, f, t), want);
          } else {
            EXPECT_TRUE(Dump(*bulk.store, f, t).empty());
          }
        }
      }
    }
    EXPECT_EQ(ExemplarCount(bulk), 0u);
    EXPECT_EQ(bulk.store->FlushedLogPosition(), 0u);
  }
}

// WriteTiers leaves the log position, the pending state and the expiry counts as the last
// ApplyFlush left them (also after a reopen), and ApplyFlush goes on from that position; the
// tiers hold both writes merged.
TEST(EdgeStoreWriteTiers, LeavesLogPositionPendingAndExpiriesAlone) {
  TempDir dir;
  Fixture ref = OpenStore(dir.Sub("ref"));
  const auto history = Rollups(ref, 3, 500), recent = Rollups(ref, 4, 500);
  FlushBatch all;
  all.rollups = history;
  all.rollups.insert(all.rollups.end(), recent.begin(), recent.end());
  ASSERT_TRUE(ref.store->ApplyFlush(all).ok());

  Fixture f = OpenStore(dir.Sub("db"));
  FlushBatch b;
  b.rollups = recent;
  b.pending_puts = {{"k1", "v1"}};
  b.expiries = {{f.nodes[5], kM0 + 3, ExpiryKind::kServerHalf, 7}};
  b.log_position = 42;
  ASSERT_TRUE(f.store->ApplyFlush(b).ok());
  ASSERT_TRUE(f.store->WriteTiers(history, TierBit(Tier::kHour) | TierBit(Tier::kDay)).ok());
  EXPECT_EQ(f.store->FlushedLogPosition(), 42u);
  f.store.reset();
  f = OpenStore(dir.Sub("db"));
  EXPECT_EQ(f.store->FlushedLogPosition(), 42u);
  std::vector<std::pair<std::string, std::string>> pending;
  ASSERT_TRUE(f.store
                  ->LoadPending([&](std::string_view k, std::string_view v) {
                    pending.emplace_back(std::string(k), std::string(v));
                  })
                  .ok());
  EXPECT_EQ(pending, (std::vector<std::pair<std::string, std::string>>{{"k1", "v1"}}));
  auto sums = f.store->SumExpiries(f.nodes[5], kM0, kM0 + 1440);
  ASSERT_TRUE(sums.ok());
  EXPECT_EQ((*sums)[static_cast<size_t>(ExpiryKind::kServerHalf)], 7u);
  for (Family fam : kFamilies) {
    EXPECT_EQ(Dump(*f.store, fam, Tier::kHour), Dump(*ref.store, fam, Tier::kHour));
    EXPECT_EQ(Dump(*f.store, fam, Tier::kDay), Dump(*ref.store, fam, Tier::kDay));
    EXPECT_NE(Dump(*f.store, fam, Tier::kMinute), Dump(*ref.store, fam, Tier::kMinute));
  }
  FlushBatch next;
  next.log_position = 43;
  ASSERT_TRUE(f.store->ApplyFlush(next).ok());
  EXPECT_EQ(f.store->FlushedLogPosition(), 43u);
}

// Refusals write nothing: an empty or unknown set of tiers, a rollup of an unknown node or
// between two tenants, a read-only store.
TEST(EdgeStoreWriteTiers, RefusesBadInputAndWritesNothing) {
  TempDir dir;
  Fixture f = OpenStore(dir.Sub("db"));
  auto rollups = Rollups(f, 5, 200);
  EXPECT_EQ(f.store->WriteTiers(rollups, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.store->WriteTiers(rollups, 8).code(), StatusCode::kInvalidArgument);
  auto unknown = rollups;
  unknown.back().dims.server = 99'999;
  EXPECT_EQ(f.store->WriteTiers(unknown, kAllTiers).code(), StatusCode::kInvalidArgument);
  auto tenant = f.store->InternTenant("other");
  ASSERT_TRUE(tenant.ok());
  auto foreign = f.store->InternNode(*tenant, NodeKind::kService, "ns-0", "svc-0");
  ASSERT_TRUE(foreign.ok());
  auto crossing = rollups;
  crossing.front().dims.client = *foreign;
  EXPECT_EQ(f.store->WriteTiers(crossing, kAllTiers).code(), StatusCode::kInvalidArgument);
  for (Family fam : kFamilies) {
    for (Tier t : kTiers) EXPECT_TRUE(Dump(*f.store, fam, t).empty());
  }
  f.store.reset();
  StoreOptions o = Options(dir.Sub("db"));
  o.read_only = true;
  auto ro = EdgeStore::Open(o);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_EQ((*ro)->WriteTiers(rollups, kAllTiers).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ew::storage
