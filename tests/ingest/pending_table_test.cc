// PendingTable against a reference map: inserts (also after a missed Find), overwrites, lookups
// and backward-shift erases in random order, through growth to the final capacity.
#include "ingest/pipeline/pending_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ew::ingest {
namespace {

TEST(PendingTable, MatchesReferenceUnderRandomInsertErase) {
  constexpr size_t kMax = 5000;
  PendingTable t(kMax);
  std::unordered_map<uint64_t, uint32_t> ref;  // span_key -> node
  std::mt19937_64 rng(42);
  for (int step = 0; step < 200'000; ++step) {
    uint64_t key = 1 + rng() % 8000;
    auto lo = static_cast<uint32_t>(key * 31);  // trace key derived from key
    int op = static_cast<int>(rng() % 3);
    if (op < 2 && (ref.count(key) || ref.size() < kMax)) {
      PendingEntry e;
      e.trace_key = lo;
      e.span_key = key;
      e.node = static_cast<uint32_t>(step);
      // Half the inserts go through Find + InsertAfterMiss (the shards' path), growth included.
      PendingTable::Miss miss;
      if ((step & 1) != 0) {
        if (PendingEntry* found = t.Find(lo, key, &miss)) {
          *found = e;
        } else {
          ASSERT_FALSE(ref.count(key));
          t.InsertAfterMiss(e, miss);
        }
      } else {
        t.Insert(e);
      }
      ref[key] = e.node;
    } else if (PendingEntry* e = t.Find(lo, key)) {
      ASSERT_TRUE(ref.count(key));
      t.Erase(e);
      ref.erase(key);
    } else {
      ASSERT_FALSE(ref.count(key));
    }
    ASSERT_EQ(t.size(), ref.size());
  }
  for (const auto& [key, node] : ref) {
    PendingEntry* e = t.Find(static_cast<uint32_t>(key * 31), key);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->node, node);
  }
  EXPECT_LE(static_cast<double>(t.size()) / static_cast<double>(t.capacity()),
            kPendingMaxLoad + 1e-9);
}

TEST(PendingTable, SameSpanIdInOtherTraceIsOtherKey) {
  PendingTable t(10);
  PendingEntry a;
  a.trace_key = 1;
  a.span_key = 7;
  PendingEntry b = a;
  b.trace_key = 2;
  t.Insert(a);
  t.Insert(b);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_NE(t.Find(1, 7), t.Find(2, 7));
  EXPECT_EQ(t.Find(3, 7), nullptr);
}

TEST(PendingTable, PersistedFormRoundTrips) {
  PendingEntry e;
  e.trace_key = 0x01020304;
  e.span_key = 0x1112131415161718;
  e.node = 7;
  e.peer = 9;
  e.path = 11;
  e.minute_method = (29'000'000u << 4) | 3;
  e.duration_bucket = 700;
  e.bits = PendingEntry::PackBits(503, true, true, storage::Protocol::kGrpc);
  e.weight = 0x8000;
  std::string key = EncodePendingKey(e.trace_key, e.span_key);
  EXPECT_EQ(key, std::string("\x01\x02\x03\x04\x11\x12\x13\x14\x15\x16\x17\x18", 12));
  std::string value = EncodePendingValue(e, 1'764'000'000'123);
  PendingEntry d;
  int64_t arrival = 0;
  ASSERT_TRUE(DecodePending(key, value, &d, &arrival).ok());
  EXPECT_EQ(arrival, 1'764'000'000'123);
  EXPECT_EQ(d.trace_key, e.trace_key);
  EXPECT_EQ(d.span_key, e.span_key);
  EXPECT_EQ(d.node, 7u);
  EXPECT_EQ(d.peer, 9u);
  EXPECT_EQ(d.path, 11u);
  EXPECT_EQ(d.minute(), 29'000'000u);
  EXPECT_EQ(d.method(), 3);
  EXPECT_EQ(d.status(), 503);
  EXPECT_TRUE(d.error());
  EXPECT_TRUE(d.server());
  EXPECT_EQ(d.protocol(), storage::Protocol::kGrpc);
  EXPECT_EQ(d.weight, 0x8000);
  EXPECT_FALSE(DecodePending(key, value.substr(1), &d, &arrival).ok());
  EXPECT_FALSE(DecodePending(key.substr(2), value, &d, &arrival).ok());
}

// Stores written before version 3 keyed a half by the whole low half of its trace id: those
// 16-byte keys decode to the trace key a new half of the same trace gets.
TEST(PendingTable, SixteenByteKeysOfOlderStoresFoldToTheTraceKey) {
  const uint64_t trace_lo = 0x0102030405060708;
  std::string old_key("\x01\x02\x03\x04\x05\x06\x07\x08\x11\x12\x13\x14\x15\x16\x17\x18", 16);
  uint32_t trace_key = 0;
  uint64_t span_key = 0;
  ASSERT_TRUE(DecodePendingKey(old_key, &trace_key, &span_key));
  EXPECT_EQ(trace_key, TraceKeyOf(trace_lo));
  EXPECT_EQ(span_key, 0x1112131415161718u);
  EXPECT_FALSE(DecodePendingKey(old_key.substr(1), &trace_key, &span_key));
  PendingEntry e;
  e.span_key = span_key;
  e.node = 5;
  PendingEntry d;
  int64_t arrival = 0;
  ASSERT_TRUE(DecodePending(old_key, EncodePendingValue(e, 77), &d, &arrival).ok());
  EXPECT_EQ(d.trace_key, TraceKeyOf(trace_lo));
  EXPECT_EQ(d.node, 5u);
  size_t record = 0, key_bytes = 0;
  ASSERT_TRUE(PendingChunkSizes(kPendingChunkVersionV2, &record, &key_bytes));
  EXPECT_EQ(record, 47u);
  EXPECT_EQ(key_bytes, 16u);
  ASSERT_TRUE(PendingChunkSizes(kPendingChunkVersion, &record, &key_bytes));
  EXPECT_EQ(record, 43u);
  EXPECT_EQ(key_bytes, 12u);
  EXPECT_FALSE(PendingChunkSizes(1, &record, &key_bytes));
}

// The growth policy's memory bound: past the doubling limit, at every count, a table costs at
// most 37 * 1.1 / 0.875 = 46.5 bytes per half, and never runs fuller than the load ceiling.
TEST(PendingTable, FineGrowthKeepsEveryCountUnderFortySevenBytesPerHalf) {
  constexpr size_t kMax = 2'000'000;
  PendingTable t(kMax);
  PendingEntry e;
  double worst = 0;
  for (size_t i = 1; i <= kMax; ++i) {
    e.span_key = MixHash(i) | 1;
    e.trace_key = static_cast<uint32_t>(i);
    t.Insert(e);
    if (t.capacity() > (size_t{1} << 20) && i % 1000 == 0) {
      worst = std::max(worst, static_cast<double>(t.MemoryBytes()) / static_cast<double>(i));
    }
    ASSERT_LE(static_cast<double>(t.size()), kPendingMaxLoad * static_cast<double>(t.capacity()));
  }
  EXPECT_GT(worst, 0);
  EXPECT_LE(worst, 46.6);
}

// The same (trace, span) key sent 1,000 times — a retrying client, or hostile input — holds one
// slot: a probe for it visits one slot, and the keys around it are not pushed away.
TEST(PendingTable, ThousandIdenticalKeysHoldOneSlotWithShortProbes) {
  PendingTable t(4000);
  t.Reserve(4000);
  PendingEntry e;
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint32_t, uint64_t>> others;
  for (int i = 0; i < 1000; ++i) {
    e.trace_key = 0xC0FFEE;
    e.span_key = 0x1234;
    e.node = static_cast<uint32_t>(i);
    PendingTable::Miss miss;
    if (PendingEntry* same = t.Find(e.trace_key, e.span_key, &miss)) {
      *same = e;
    } else {
      t.InsertAfterMiss(e, miss);
    }
    t.Insert(e);
    PendingEntry other;  // a distinct key between the repeats
    other.trace_key = static_cast<uint32_t>(rng());
    other.span_key = rng() | 1;
    t.Insert(other);
    others.emplace_back(uint32_t{other.trace_key}, uint64_t{other.span_key});
  }
  EXPECT_EQ(t.size(), 1001u);
  ASSERT_NE(t.Find(0xC0FFEE, 0x1234), nullptr);
  EXPECT_EQ(t.Find(0xC0FFEE, 0x1234)->node, 999u);
  EXPECT_LE(t.ProbeLength(0xC0FFEE, 0x1234), 16u);
  size_t longest = 0;
  for (const auto& [trace_key, span_key] : others) {
    longest = std::max(longest, t.ProbeLength(trace_key, span_key));
  }
  // 1,001 keys in 4,573 slots: a few slots at most (a run of 1,000 without the merge); the
  // bound leaves room for chance.
  EXPECT_LE(longest, 32u);
}

// Keys chosen to share a home under the table's hash without its seed (what an attacker who
// reads the source could send): 1,000 of them must not line up into one long probe run.
TEST(PendingTable, KeysCraftedToCollideUnseededSpreadOut) {
  constexpr size_t kMax = 100'000;
  PendingTable t(kMax);
  t.Reserve(kMax);
  const size_t capacity = t.capacity();
  // The unseeded hash: every key whose hash lies in the first 8 / capacity of the range has one
  // of the first 8 homes.
  const uint64_t limit = UINT64_MAX / capacity * 8;
  std::vector<std::pair<uint32_t, uint64_t>> crafted;
  for (uint64_t span = 1; crafted.size() < 1000; ++span) {
    const auto trace_key = static_cast<uint32_t>(span * 0x9E3779B9u);
    if (MixHash(trace_key ^ MixHash(span)) < limit) crafted.emplace_back(trace_key, span);
  }
  PendingEntry e;
  for (const auto& [trace_key, span] : crafted) {
    e.trace_key = trace_key;
    e.span_key = span;
    t.Insert(e);
  }
  ASSERT_EQ(t.size(), crafted.size());
  size_t longest = 0;
  for (const auto& [trace_key, span] : crafted) {
    longest = std::max(longest, t.ProbeLength(trace_key, span));
  }
  EXPECT_LE(longest, 16u) << "1,000 keys in " << capacity << " slots";
}

// Reserve makes room for a known count in one step: inserting that many never grows the table
// again (loading the persisted state moves each half once), and the reserved table still costs
// at most 48 bytes per half.
TEST(PendingTable, ReserveMakesRoomOnceForTheWholeLoad) {
  constexpr size_t kCount = 300'000;
  PendingTable t(1000);
  EXPECT_EQ(t.grows(), 0u);
  t.Reserve(kCount);
  EXPECT_EQ(t.grows(), 1u);
  EXPECT_GE(t.max_entries(), kCount);
  PendingEntry e;
  for (size_t i = 1; i <= kCount; ++i) {
    e.span_key = MixHash(i) | 1;
    e.trace_key = static_cast<uint32_t>(i);
    t.Insert(e);
  }
  EXPECT_EQ(t.grows(), 1u);
  EXPECT_EQ(t.size(), kCount);
  EXPECT_LE(static_cast<double>(t.MemoryBytes()) / kCount, 48.0);
  EXPECT_LE(static_cast<double>(t.size()), kPendingMaxLoad * static_cast<double>(t.capacity()));
  t.Reserve(kCount / 2);  // never shrinks
  EXPECT_EQ(t.grows(), 1u);
  // Without the reservation the same inserts grow step by step.
  PendingTable grown(1000);
  grown.SetMaxEntries(kCount);
  for (size_t i = 1; i <= kCount; ++i) {
    e.span_key = MixHash(i) | 1;
    e.trace_key = static_cast<uint32_t>(i);
    grown.Insert(e);
  }
  EXPECT_GT(grown.grows(), 5u);
}

}  // namespace
}  // namespace ew::ingest
