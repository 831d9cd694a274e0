// Keys (ordering, prefixes), value encoding and verification, the merge operators and the
// retention compaction filter, tested directly (the store tests exercise them through RocksDB).
#include <gtest/gtest.h>
#include <rocksdb/slice.h>

#include <algorithm>
#include <deque>
#include <random>
#include <tuple>
#include <vector>

#include "storage/coding.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/rocks_ops.h"
#include "storage/rollup_codec.h"

namespace ew::storage {
namespace {

keys::TierKey Key(StringId ns, NodeId node, uint32_t time, NodeId peer) {
  keys::TierKey k;
  k.ns = ns;
  k.node = node;
  k.time = time;
  k.peer = peer;
  k.protocol = Protocol::kHttp;
  return k;
}

std::string Enc(Family f, const keys::TierKey& k) {
  std::string s;
  keys::EncodeTierKey(f, k, &s);
  return s;
}

TEST(StorageKeysTest, FixedWidthRoundTrip) {
  keys::TierKey k = Key(7, 0x01020304, 29'000'000, 9);
  k.path = 11;
  k.method = 3;
  k.status = 503;
  std::string detail = Enc(Family::kDetail, k);
  ASSERT_EQ(detail.size(), keys::kDetailKeySize);
  keys::TierKey back;
  ASSERT_TRUE(keys::DecodeTierKey(Family::kDetail, detail, &back));
  EXPECT_EQ(back.ns, 7u);
  EXPECT_EQ(back.node, 0x01020304u);
  EXPECT_EQ(back.time, 29'000'000u);
  EXPECT_EQ(back.peer, 9u);
  EXPECT_EQ(back.path, 11u);
  EXPECT_EQ(back.method, 3u);
  EXPECT_EQ(back.status, 503);
  EXPECT_EQ(detail.substr(8, 4), std::string("\x01\x02\x03\x04", 4));  // big-endian
  k.tenant = 0x0a0b0c0d;
  EXPECT_EQ(Enc(Family::kDetail, k).substr(0, 4), std::string("\x0a\x0b\x0c\x0d", 4));
  ASSERT_TRUE(keys::DecodeTierKey(Family::kDetail, Enc(Family::kDetail, k), &back));
  EXPECT_EQ(back.tenant, 0x0a0b0c0du);
  k.tenant = 0;
  std::string edge = Enc(Family::kEdge, k);
  ASSERT_EQ(edge.size(), keys::kEdgeKeySize);
  EXPECT_FALSE(keys::DecodeTierKey(Family::kEdge, detail, &back));
  EdgeDims by_client = keys::DimsOf(Family::kEdgeByClient, k);
  EXPECT_EQ(by_client.client, 0x01020304u);
  EXPECT_EQ(by_client.server, 9u);
  EdgeDims by_server = keys::DimsOf(Family::kEdge, k);
  EXPECT_EQ(by_server.server, 0x01020304u);
  EXPECT_EQ(by_server.client, 9u);
}

TEST(StorageKeysTest, ByteOrderIsTenantNamespaceNodeTimePeerOrder) {
  std::mt19937 rng(7);
  std::vector<keys::TierKey> ks;
  for (int i = 0; i < 2000; ++i) {
    ks.push_back(Key(rng() % 4, rng() % 300, rng() % 100'000 + (i % 2 ? 70'000 : 0), rng() % 50));
    ks.back().tenant = rng() % 3 == 0 ? 0 : rng() % 300;
  }
  std::vector<std::string> enc;
  for (const auto& k : ks) enc.push_back(Enc(Family::kEdge, k));
  std::vector<size_t> by_bytes(ks.size()), by_fields(ks.size());
  for (size_t i = 0; i < ks.size(); ++i) by_bytes[i] = by_fields[i] = i;
  std::stable_sort(by_bytes.begin(), by_bytes.end(),
                   [&](size_t a, size_t b) { return enc[a] < enc[b]; });
  std::stable_sort(by_fields.begin(), by_fields.end(), [&](size_t a, size_t b) {
    const auto &x = ks[a], &y = ks[b];
    return std::tie(x.tenant, x.ns, x.node, x.time, x.peer) <
           std::tie(y.tenant, y.ns, y.node, y.time, y.peer);
  });
  for (size_t i = 0; i < ks.size(); ++i) EXPECT_EQ(enc[by_bytes[i]], enc[by_fields[i]]);
}

TEST(StorageKeysTest, NamespaceAndNodeArePrefixes) {
  keys::TierKey k = Key(5, 77, 1000, 3);
  k.tenant = 9;
  std::string a = Enc(Family::kDetail, k);
  EXPECT_EQ(a.substr(0, 4), keys::TenantPrefix(9));
  EXPECT_EQ(a.substr(0, 8), keys::NsPrefix(9, 5));
  EXPECT_EQ(a.substr(0, 12), keys::NodePrefix(9, 5, 77));
  EXPECT_EQ(a.substr(0, 16), keys::NodeTimePrefix(9, 5, 77, 1000));
  EXPECT_LT(keys::NodePrefix(9, 5, 77), keys::NodePrefix(9, 5, 78));
  EXPECT_LT(keys::NodePrefix(9, 5, 0xffffffff), keys::NodePrefix(9, 6, 0));
  EXPECT_LT(keys::NodePrefix(9, 0xffffffff, 0xffffffff), keys::NodePrefix(10, 0, 0));
  EXPECT_LT(keys::ExemplarKey(0, 1, 2, 99), keys::ExemplarKey(0, 1, 2, 100));
  EXPECT_LT(keys::ExemplarKey(0, 9, 9, 99), keys::ExemplarKey(1, 1, 2, 1));
  EXPECT_LT(keys::ExpiryKey(0, 1, 99, ExpiryKind::kEvicted),
            keys::ExpiryKey(0, 1, 100, ExpiryKind{0}));
  EXPECT_LT(keys::ExpiryKey(0, 7, 99, ExpiryKind::kEvicted),
            keys::ExpiryKey(1, 1, 1, ExpiryKind{0}));
  EXPECT_EQ(keys::ClampTime(-5), 0u);
  EXPECT_EQ(keys::ClampTime(int64_t{1} << 40), UINT32_MAX);
}

RollupValue SampleValue(uint64_t requests, double micros) {
  RollupValue v;
  v.requests = requests;
  v.errors = requests / 10;
  v.request_bytes = 100 * requests;
  v.server_latency.Add(micros, requests);
  v.client_latency.Add(micros * 1.3, requests);
  return v;
}

TEST(StorageValueTest, RollupRoundTripAndVerification) {
  RollupValue v = SampleValue(42, 1500);
  v.response_bytes = 7;
  RollupEncoder enc;
  std::string bytes;
  enc.Encode(v, &bytes);
  RollupValue back;
  ASSERT_TRUE(DecodeRollup(bytes, &back).ok());
  EXPECT_EQ(back.requests, 42u);
  EXPECT_EQ(back.errors, 4u);
  EXPECT_EQ(back.request_bytes, 4200u);
  EXPECT_EQ(back.response_bytes, 7u);
  EXPECT_EQ(back.server_latency, v.server_latency);
  EXPECT_EQ(back.client_latency, v.client_latency);
  RollupValue counts_only;
  ASSERT_TRUE(DecodeRollup(bytes, &counts_only, SketchDecode::kSkip).ok());
  EXPECT_EQ(counts_only.requests, 42u);
  EXPECT_TRUE(counts_only.server_latency.Empty());
  EXPECT_TRUE(counts_only.encoded.server.empty());
  // Encoded mode: counts decoded, the sketches handed over as their stored encodings.
  RollupValue raw;
  ASSERT_TRUE(DecodeRollup(bytes, &raw, SketchDecode::kEncoded).ok());
  EXPECT_EQ(raw.requests, 42u);
  EXPECT_TRUE(raw.server_latency.Empty());
  std::string server_enc, client_enc;
  v.server_latency.EncodeTo(&server_enc);
  v.client_latency.EncodeTo(&client_enc);
  EXPECT_EQ(raw.encoded.server, server_enc);
  EXPECT_EQ(raw.encoded.client, client_enc);
  LatencySketch rebuilt;
  ASSERT_TRUE(LatencySketch::ForEachEncodedBucket(raw.encoded.server, [&](int32_t i, uint64_t c) {
                rebuilt.AddToBucket(i, c);
              }).ok());
  EXPECT_EQ(rebuilt, v.server_latency);
  // Truncations and garbage fail verification instead of being read.
  size_t refused = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    Status st = DecodeRollup(bytes.substr(0, n), &back);
    if (st.ok()) {
      EXPECT_EQ(back.requests, 42u) << n;  // only trailing padding was cut
    } else {
      EXPECT_EQ(st.code(), StatusCode::kCorruption);
      ++refused;
    }
  }
  EXPECT_GE(refused, bytes.size() - 4);
  EXPECT_EQ(DecodeRollup(std::string(64, '\xff'), &back).code(), StatusCode::kCorruption);
}

Exemplar Ex(uint8_t id, bool error, uint32_t dur, int64_t start) {
  Exemplar e;
  e.trace_id[0] = id;
  e.error = error;
  e.duration_us = dur;
  e.start_ms = start;
  e.status = error ? 500 : 200;
  return e;
}

TEST(StorageValueTest, ExemplarsKeepRoleHoldersNewestFirst) {
  RollupValue v;
  v.AddExemplar(Ex(1, false, 100, 10));
  v.AddExemplar(Ex(2, false, 900, 10));
  v.AddExemplar(Ex(3, true, 5, 10));
  v.AddExemplar(Ex(4, false, 900, 20));
  v.AddExemplar(Ex(5, false, 50, 30));
  v.AddExemplar(Ex(2, false, 900, 10));  // duplicate
  ASSERT_EQ(v.exemplars.size(), 3u);
  EXPECT_EQ(v.exemplars[0].trace_id[0], 5);  // newest success
  EXPECT_EQ(v.exemplars[1].trace_id[0], 4);  // slowest success (the newer of two at 900)
  EXPECT_EQ(v.exemplars[2].trace_id[0], 3);  // the error: newest and slowest error
  std::string bytes;
  EncodeExemplars(v.exemplars, &bytes);
  std::vector<Exemplar> back;
  ASSERT_TRUE(DecodeExemplars(bytes, &back).ok());
  EXPECT_EQ(back, v.exemplars);
  EXPECT_FALSE(DecodeExemplars(bytes.substr(0, bytes.size() - 3), &back).ok());
}

// An ExemplarList written by hand, with its vector of ExemplarEntry structs (8-byte aligned) at
// an aligned position or 4 bytes off. FlatBuffers' verifier checks only the vector's 4-byte
// length for alignment, so both pass it; no builder writes the second.
std::string HandMadeExemplarList(bool misaligned) {
  const size_t vector_at = misaligned ? 24 : 20;  // the entries follow the 4-byte length
  std::string b(vector_at + 4 + 32, '\0');
  auto put32 = [&b](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
  };
  put32(0, 12);               // root: the table at 12
  put32(4, 6 | 8u << 16);     // vtable at 4: 6 bytes long, a table of 8 bytes,
  b[8] = 4;                   // field 0 (exemplars) at table + 4
  put32(12, 8);               // table: its vtable 8 bytes before it
  put32(16, vector_at - 16);  // field 0: the vector
  put32(vector_at, 1);        // one entry:
  const size_t e = vector_at + 4;
  b[e] = 7;                       // trace_id[0]
  put32(e + 16, 1000);            // start_ms (low half)
  put32(e + 24, 250);             // duration_us
  put32(e + 28, 503 | 1u << 16);  // status, error
  return b;
}

// Found by fuzz/stored_value_fuzzer (UBSan: member call on a misaligned ExemplarEntry).
TEST(StorageValueTest, ExemplarListWithMisalignedEntriesIsCorruption) {
  std::vector<Exemplar> back;
  ASSERT_TRUE(DecodeExemplars(HandMadeExemplarList(false), &back).ok());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].trace_id[0], 7);
  EXPECT_EQ(back[0].start_ms, 1000);
  EXPECT_EQ(back[0].duration_us, 250u);
  EXPECT_EQ(back[0].status, 503);
  EXPECT_TRUE(back[0].error);
  EXPECT_EQ(DecodeExemplars(HandMadeExemplarList(true), &back).code(), StatusCode::kCorruption);
  EXPECT_TRUE(back.empty());
}

// A schema-2 hour record of v: one entry and the minute counts given.
std::string HourRecord(const RollupValue& v, const MinuteCounts& counts) {
  std::string server, client, out;
  v.server_latency.EncodeTo(&server);
  v.client_latency.EncodeTo(&client);
  RecordEntry e{0, v.requests, v.errors, v.request_bytes, v.response_bytes, server, client};
  EncodeRecord(std::span<const RecordEntry>(&e, 1), PeakForm::kCounts, counts, 0, 0, &out);
  return out;
}

TEST(StorageMergeOperatorTest, RecordFullAndPartialMerge) {
  auto op = NewRecordMergeOperator(LimitsOf(Tier::kHour), keys::kV1EdgeKeySize);
  std::string a = HourRecord(SampleValue(10, 1000), {{3, 10}});
  std::string b = HourRecord(SampleValue(5, 80'000), {{3, 2}, {59, 3}});
  std::string c = HourRecord(SampleValue(1, 3'000'000), {{4, 1}});
  // MergeOperationInput keeps a reference to its key: a named slice, not a temporary.
  const rocksdb::Slice key("k");
  rocksdb::Slice existing(a);
  std::vector<rocksdb::Slice> operands = {rocksdb::Slice(b), rocksdb::Slice(c)};
  std::string out;
  rocksdb::Slice existing_operand;
  rocksdb::MergeOperator::MergeOperationInput in(key, &existing, operands, nullptr);
  rocksdb::MergeOperator::MergeOperationOutput result(out, existing_operand);
  ASSERT_TRUE(op->FullMergeV2(in, &result));
  RecordView merged;
  ASSERT_TRUE(ParseRecord(out, LimitsOf(Tier::kHour), &merged).ok());
  RollupValue expect = SampleValue(10, 1000);
  expect.Merge(SampleValue(5, 80'000));
  expect.Merge(SampleValue(1, 3'000'000));
  ASSERT_EQ(merged.entries.size(), 1u);
  EXPECT_EQ(merged.entries[0].requests, 16u);
  EXPECT_EQ(merged.entries[0].errors, expect.errors);
  EXPECT_EQ(merged.entries[0].request_bytes, expect.request_bytes);
  EXPECT_EQ(*LatencySketch::Decode(merged.entries[0].server), expect.server_latency);
  EXPECT_EQ(*LatencySketch::Decode(merged.entries[0].client), expect.client_latency);
  EXPECT_EQ(merged.minute_counts, (MinuteCounts{{3, 12}, {4, 1}, {59, 3}}));
  EXPECT_EQ(PeakOf(merged), (std::pair<uint64_t, uint16_t>{12, 3}));

  std::deque<rocksdb::Slice> partial = {rocksdb::Slice(b), rocksdb::Slice(c)};
  std::string p;
  ASSERT_TRUE(op->PartialMergeMulti(key, partial, &p, nullptr));
  ASSERT_TRUE(ParseRecord(p, LimitsOf(Tier::kHour), &merged).ok());
  EXPECT_EQ(merged.entries[0].requests, 6u);

  std::string garbage = "not a record";
  std::vector<rocksdb::Slice> bad = {rocksdb::Slice(garbage)};
  rocksdb::MergeOperator::MergeOperationInput bad_in(key, nullptr, bad, nullptr);
  EXPECT_FALSE(op->FullMergeV2(bad_in, &result));
}

TEST(StorageMergeOperatorTest, ExemplarsAndCounters) {
  auto op = NewExemplarMergeOperator(keys::kExemplarTimeOffset, 60'000);
  std::string a, b, out;
  const std::string key = keys::ExemplarKey(0, 1, 2, 0);  // minute 0: start_ms relative to 0
  EncodeExemplarList({Ex(1, false, 100, 1), Ex(2, false, 200, 1)}, 0, &a);
  EncodeExemplarList({Ex(3, true, 1, 2), Ex(4, false, 300, 2), Ex(5, false, 1, 9)}, 0, &b);
  rocksdb::Slice existing(a), existing_operand, key_slice(key);
  std::vector<rocksdb::Slice> operands = {rocksdb::Slice(b)};
  rocksdb::MergeOperator::MergeOperationInput in(key_slice, &existing, operands, nullptr);
  rocksdb::MergeOperator::MergeOperationOutput result(out, existing_operand);
  ASSERT_TRUE(op->FullMergeV2(in, &result));
  std::vector<Exemplar> back;
  ASSERT_TRUE(DecodeExemplarList(out, 0, &back).ok());
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].trace_id[0], 5);  // newest success
  EXPECT_EQ(back[1].trace_id[0], 4);  // slowest success (start 2, listed before the error)
  EXPECT_EQ(back[2].trace_id[0], 3);  // the error (start 2, 1 us)

  auto add = NewCounterAddOperator();
  std::string x, y, sum;
  coding::PutFixed64LE(&x, 40);
  coding::PutFixed64LE(&y, 2);
  rocksdb::Slice xs(x);
  std::vector<rocksdb::Slice> ys = {rocksdb::Slice(y), rocksdb::Slice(y)};
  rocksdb::MergeOperator::MergeOperationInput add_in(key_slice, &xs, ys, nullptr);
  rocksdb::MergeOperator::MergeOperationOutput add_out(sum, existing_operand);
  ASSERT_TRUE(add->FullMergeV2(add_in, &add_out));
  ASSERT_EQ(sum.size(), 8u);
  EXPECT_EQ(coding::GetFixed64LE(sum.data()), 44u);
}

TEST(StorageRetentionTest, FilterDropsUnitsThatEndedBeforeTheCutoff) {
  const int64_t hour_ms = 3'600'000;
  const int64_t now = 1000 * hour_ms + 123;
  RetentionFilter f("test", keys::kEdgeKeySize, keys::kTimeOffset, hour_ms, 24 * hour_ms, now);
  auto decide = [&](uint32_t hour, rocksdb::CompactionFilter::ValueType type) {
    std::string key = Enc(Family::kEdge, Key(1, 2, hour, 3));
    std::string nv, skip;
    return f.FilterV2(1, key, type, rocksdb::Slice(), &nv, &skip);
  };
  using D = rocksdb::CompactionFilter::Decision;
  using T = rocksdb::CompactionFilter::ValueType;
  EXPECT_EQ(decide(975, T::kValue), D::kRemove);  // ended at hour 976, before now - 24 h
  EXPECT_EQ(decide(976, T::kValue), D::kKeep);    // still partly inside the window
  EXPECT_EQ(decide(999, T::kValue), D::kKeep);
  EXPECT_EQ(decide(10, T::kMergeOperand), D::kRemove);
  std::string nv, skip;
  EXPECT_EQ(f.FilterV2(1, rocksdb::Slice("short"), T::kValue, rocksdb::Slice(), &nv, &skip),
            D::kKeep);
  // A schema-1 key (no tenant; 4 bytes shorter) waiting for the upgrade is never dropped, even
  // when the bytes at the time offset would say it expired.
  const std::string v1_key = Enc(Family::kEdge, Key(1, 2, 10, 3)).substr(4);
  EXPECT_EQ(f.FilterV2(1, v1_key, T::kValue, rocksdb::Slice(), &nv, &skip), D::kKeep);
}

// Day records past the exactness window keep their busiest minute only; operands and younger
// records are left alone.
TEST(StorageRetentionTest, DayRecordsPastTheWindowCollapseToTheirPeak) {
  const int64_t day_ms = 86'400'000;
  const int64_t now = 1000 * day_ms;
  RetentionFilter f("test", keys::kEdgeKeySize, keys::kTimeOffset, day_ms, 365 * day_ms, now,
                    14 * day_ms, LimitsOf(Tier::kDay));
  const std::string rec = HourRecord(SampleValue(9, 1000), {{7, 4}, {1439, 5}});
  using D = rocksdb::CompactionFilter::Decision;
  using T = rocksdb::CompactionFilter::ValueType;
  const auto decide = [&](uint32_t day, T type, std::string* nv) {
    std::string key = Enc(Family::kEdge, Key(1, 2, day, 3)), skip;
    return f.FilterV2(1, key, type, rec, nv, &skip);
  };
  std::string nv;
  EXPECT_EQ(decide(990, T::kValue, &nv), D::kKeep);
  EXPECT_EQ(decide(980, T::kMergeOperand, &nv), D::kKeep);
  ASSERT_EQ(decide(980, T::kValue, &nv), D::kChangeValue);
  RecordView v;
  ASSERT_TRUE(ParseRecord(nv, LimitsOf(Tier::kDay), &v).ok());
  EXPECT_EQ(v.peak_form, PeakForm::kCollapsed);
  EXPECT_EQ(PeakOf(v), (std::pair<uint64_t, uint16_t>{5, 1439}));
  EXPECT_EQ(v.entries[0].requests, 9u);
  EXPECT_TRUE(v.minute_counts.empty());
}

}  // namespace
}  // namespace ew::storage
