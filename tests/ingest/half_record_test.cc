// The log form of a HalfBatch (docs/ingest.md, "Log record"): the bytes are fixed, whichever way
// EncodeHalfBatch produces them (a copy of the records on little-endian machines).
#include "ingest/derivation/half_record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ew::ingest {
namespace {

HalfRecord Sample(uint8_t seed) {
  HalfRecord r;
  for (int i = 0; i < 16; ++i) r.trace_id[i] = static_cast<uint8_t>(seed + i);
  r.span_key = 0x0102030405060708ULL + seed;
  r.start_ms = -2 - seed;  // negative: the two's complement bytes
  r.node = 0x11121314;
  r.peer = 0x21222324;
  r.path = 0x31323334;
  r.duration_us = 0x41424344;
  r.request_bytes = 0x51525354;
  r.response_bytes = 0x61626364;
  r.status = 0x0203;
  r.weight = 0x0405;
  r.role = HalfRole::kServerPending;
  r.protocol = storage::Protocol::kGrpc;
  r.method = MethodCode::kPatch;
  r.error = true;
  return r;
}

// The field-by-field little-endian form the format documents.
std::string Documented(const HalfRecord& r) {
  std::string out(reinterpret_cast<const char*>(r.trace_id.data()), 16);
  auto put = [&out](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  put(r.span_key, 8);
  put(static_cast<uint64_t>(r.start_ms), 8);
  for (uint32_t v : {r.node, r.peer, r.path, r.duration_us, r.request_bytes, r.response_bytes}) {
    put(v, 4);
  }
  put(r.status, 2);
  put(r.weight, 2);
  put(static_cast<uint8_t>(r.role), 1);
  put(static_cast<uint8_t>(r.protocol), 1);
  put(static_cast<uint8_t>(r.method), 1);
  put(r.error ? 1 : 0, 1);
  return out;
}

TEST(HalfBatchFormat, EncodingIsTheDocumentedLittleEndianLayout) {
  HalfBatch batch;
  batch.arrival_ms = 0x0A0B0C0D0E0F1011LL;
  for (uint8_t i = 0; i < 3; ++i) batch.records.push_back(Sample(i));
  batch.records[1].error = false;
  batch.records[2].role = HalfRole::kClientAlone;
  std::string want;
  want.push_back(1);  // version
  for (int i = 0; i < 8; ++i) want.push_back(static_cast<char>(batch.arrival_ms >> (8 * i)));
  for (int i = 0; i < 4; ++i) want.push_back(static_cast<char>(uint32_t{3} >> (8 * i)));
  for (const HalfRecord& r : batch.records) want += Documented(r);
  std::string got = "prefix";  // appends
  EncodeHalfBatch(batch, &got);
  ASSERT_EQ(got.size(), 6 + 13 + 3 * kEncodedHalfRecordSize);
  EXPECT_EQ(got.substr(6), want);

  // In groups (the log's gathered write): the head and the pieces concatenated are the same bytes.
  std::vector<std::vector<HalfRecord>> groups = {
      {batch.records[0]}, {}, {batch.records[1], batch.records[2]}};
  std::string head = "prefix";
  std::vector<std::string_view> bodies = {"stale"};
  EncodeHalfBatchGroups(batch.arrival_ms, groups, &head, &bodies);
  for (std::string_view piece : bodies) head.append(piece);
  EXPECT_EQ(head, got);

  HalfBatch back;
  ASSERT_TRUE(DecodeHalfBatch(std::string_view(got).substr(6), &back).ok());
  EXPECT_EQ(back.arrival_ms, batch.arrival_ms);
  ASSERT_EQ(back.records.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(Documented(back.records[i]), Documented(batch.records[i]));
}

TEST(HalfBatchFormat, DecodeRefusesBadRecordsAndSizes) {
  HalfBatch batch;
  batch.records.push_back(Sample(7));
  std::string enc;
  EncodeHalfBatch(batch, &enc);
  HalfBatch out;
  EXPECT_FALSE(DecodeHalfBatch(std::string_view(enc).substr(0, enc.size() - 1), &out).ok());
  std::string bad = enc;
  bad[13 + 60] = 9;  // role
  EXPECT_FALSE(DecodeHalfBatch(bad, &out).ok());
  bad = enc;
  bad[13 + 63] = 2;  // error flag
  EXPECT_FALSE(DecodeHalfBatch(bad, &out).ok());
  bad = enc;
  bad[0] = 2;  // version
  EXPECT_FALSE(DecodeHalfBatch(bad, &out).ok());
}

}  // namespace
}  // namespace ew::ingest
