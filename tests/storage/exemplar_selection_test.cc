// The exemplar selection rule (docs/format/storage.md "Exemplars") against a brute-force model:
// random sequences of requests of one edge-minute, added one by one in any order, grouped into
// rollups merged in any order, and merged through the RocksDB merge operator (full and partial
// merges, as flushes and compactions do), must keep exactly the model's role holders — the newest
// error, the newest success, the slowest error and the slowest success — so the kept set always
// holds the newest error, the newest success and the slowest request.
#include <gtest/gtest.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice.h>

#include <algorithm>
#include <deque>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/rocks_ops.h"
#include "storage/rollup_codec.h"
#include "tests/common/exemplar_model.h"

namespace ew::storage {
namespace {

// Requests with few distinct values, so that starts, durations and trace ids tie often, and
// with repeats of earlier requests (a resent or replayed span).
std::vector<Exemplar> RandomRequests(std::mt19937_64& rng) {
  std::vector<Exemplar> all(1 + rng() % 40);
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0 && rng() % 6 == 0) {
      all[i] = all[rng() % i];
      continue;
    }
    Exemplar& e = all[i];
    e.trace_id[0] = static_cast<uint8_t>(rng() % 4);
    e.trace_id[15] = static_cast<uint8_t>(rng() % 3);
    e.start_ms = 60'000 * 1000 + static_cast<int64_t>(rng() % 6);
    e.duration_us = static_cast<uint32_t>(rng() % 5) * 1000;
    e.error = rng() % 3 == 0;
    e.status = e.error ? (rng() % 2 ? 500 : 503) : 200;
  }
  return all;
}

RollupValue AddAll(const std::vector<Exemplar>& list) {
  RollupValue v;
  for (const auto& e : list) v.AddExemplar(e);
  return v;
}

// Splits list (shuffled) into 1..6 groups.
std::vector<std::vector<Exemplar>> Groups(std::vector<Exemplar> list, std::mt19937_64& rng) {
  std::shuffle(list.begin(), list.end(), rng);
  std::vector<std::vector<Exemplar>> groups(1 + rng() % 6);
  for (const auto& e : list) groups[rng() % groups.size()].push_back(e);
  return groups;
}

// What the contract promises, checked apart from the model's exact set.
void CheckContract(const std::vector<Exemplar>& all, const std::vector<Exemplar>& kept) {
  ASSERT_LE(kept.size(), kMaxExemplars);
  for (const auto& k : kept) EXPECT_NE(std::find(all.begin(), all.end(), k), all.end());
  int64_t newest_error = -1, newest_success = -1;
  uint32_t slowest = 0;
  for (const auto& x : all) {
    (x.error ? newest_error : newest_success) =
        std::max(x.error ? newest_error : newest_success, x.start_ms);
    slowest = std::max(slowest, x.duration_us);
  }
  auto has = [&](auto pred) { return std::any_of(kept.begin(), kept.end(), pred); };
  if (newest_error >= 0) {
    EXPECT_TRUE(has([&](const Exemplar& k) { return k.error && k.start_ms == newest_error; }));
  }
  if (newest_success >= 0) {
    EXPECT_TRUE(has([&](const Exemplar& k) { return !k.error && k.start_ms == newest_success; }));
  }
  EXPECT_TRUE(has([&](const Exemplar& k) { return k.duration_us == slowest; }));
}

TEST(ExemplarSelectionTest, AnyAddOrderKeepsTheModelsRoleHolders) {
  std::mt19937_64 rng(15);
  for (int round = 0; round < 3000; ++round) {
    std::vector<Exemplar> all = RandomRequests(rng);
    const std::vector<Exemplar> want = ew::testing::ExemplarRoleHolders(all);
    std::vector<Exemplar> order = all;
    std::shuffle(order.begin(), order.end(), rng);
    const RollupValue v = AddAll(order);
    ASSERT_EQ(v.exemplars, want) << "round " << round;
    CheckContract(all, v.exemplars);
  }
}

TEST(ExemplarSelectionTest, AnyMergeTreeKeepsTheModelsRoleHolders) {
  std::mt19937_64 rng(1515);
  for (int round = 0; round < 2000; ++round) {
    std::vector<Exemplar> all = RandomRequests(rng);
    const std::vector<Exemplar> want = ew::testing::ExemplarRoleHolders(all);
    // Rollups of one flush per group, merged pairwise in a random order (flushes of the same
    // minute, and rollups of different paths of the edge).
    std::vector<RollupValue> values;
    for (const auto& g : Groups(all, rng)) values.push_back(AddAll(g));
    while (values.size() > 1) {
      const size_t i = rng() % values.size();
      size_t j = rng() % (values.size() - 1);
      if (j >= i) ++j;
      values[i].Merge(values[j]);
      values.erase(values.begin() + static_cast<std::ptrdiff_t>(j));
    }
    ASSERT_EQ(values[0].exemplars, want) << "round " << round;
  }
}

TEST(ExemplarSelectionTest, MergeOperatorFullAndPartialMergesKeepTheModelsRoleHolders) {
  auto op = NewExemplarMergeOperator(keys::kExemplarTimeOffset, 60'000);
  const std::string key = keys::ExemplarKey(0, 3, 4, 0);  // minute 0: times relative to 0
  const rocksdb::Slice key_slice(key);
  std::mt19937_64 rng(151515);
  for (int round = 0; round < 1000; ++round) {
    std::vector<Exemplar> all = RandomRequests(rng);
    const std::vector<Exemplar> want = ew::testing::ExemplarRoleHolders(all);
    std::vector<std::string> encoded;
    for (const auto& g : Groups(all, rng)) {
      encoded.emplace_back();
      EncodeExemplarList(AddAll(g).exemplars, 0, &encoded.back());
    }
    // A compaction first collapses a run of operands (partial merge), then a read or a later
    // compaction merges the rest onto an existing value (full merge).
    const size_t split = rng() % encoded.size();
    std::deque<rocksdb::Slice> run;
    for (size_t i = split; i < encoded.size(); ++i) run.emplace_back(encoded[i]);
    std::string partial;
    ASSERT_TRUE(op->PartialMergeMulti(key_slice, run, &partial, nullptr));
    std::vector<rocksdb::Slice> operands;
    for (size_t i = 1; i < split; ++i) operands.emplace_back(encoded[i]);
    operands.emplace_back(partial);
    rocksdb::Slice existing(encoded[0]);
    std::string out;
    rocksdb::Slice existing_operand;
    rocksdb::MergeOperator::MergeOperationInput in(key_slice, split > 0 ? &existing : nullptr,
                                                   operands, nullptr);
    rocksdb::MergeOperator::MergeOperationOutput result(out, existing_operand);
    ASSERT_TRUE(op->FullMergeV2(in, &result));
    std::vector<Exemplar> back;
    ASSERT_TRUE(DecodeExemplarList(out, 0, &back).ok());
    ASSERT_EQ(back, want) << "round " << round;
  }
}

Exemplar Req(uint8_t id, bool error, uint32_t duration_us, int64_t start_ms) {
  Exemplar e;
  e.trace_id[15] = id;
  e.error = error;
  e.duration_us = duration_us;
  e.start_ms = start_ms;
  e.status = error ? 500 : 200;
  return e;
}

// Stores written before the role rule kept the best four by "errors first, then slowest, then
// newest": an edge-minute with four errors held no success, and no later success got in. Such a
// (schema-1) list still decodes, the upgrade re-encodes it as it is, and merging onto it applies
// the role rule.
TEST(ExemplarSelectionTest, ListsOfTheOlderRuleStillDecodeAndMerge) {
  const std::vector<Exemplar> older = {Req(1, true, 900, 50), Req(2, true, 800, 40),
                                       Req(3, true, 700, 30), Req(4, true, 600, 20)};
  std::string stored;
  EncodeExemplars(older, &stored);
  std::vector<Exemplar> back;
  ASSERT_TRUE(DecodeExemplars(stored, &back).ok());
  EXPECT_EQ(back, older);

  std::string upgraded, operand;
  EncodeExemplarList(back, 0, &upgraded);
  EncodeExemplarList({Req(5, false, 10, 45)}, 0, &operand);
  auto op = NewExemplarMergeOperator(keys::kExemplarTimeOffset, 60'000);
  const std::string key = keys::ExemplarKey(0, 3, 4, 0);
  rocksdb::Slice existing(upgraded), existing_operand, key_slice(key);
  std::vector<rocksdb::Slice> operands = {rocksdb::Slice(operand)};
  std::string out;
  rocksdb::MergeOperator::MergeOperationInput in(key_slice, &existing, operands, nullptr);
  rocksdb::MergeOperator::MergeOperationOutput result(out, existing_operand);
  ASSERT_TRUE(op->FullMergeV2(in, &result));
  ASSERT_TRUE(DecodeExemplarList(out, 0, &back).ok());
  // The newest (and slowest) error 1 and the only success 5.
  EXPECT_EQ(back, (std::vector<Exemplar>{Req(1, true, 900, 50), Req(5, false, 10, 45)}));
}

}  // namespace
}  // namespace ew::storage
