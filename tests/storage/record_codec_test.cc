// Schema-2 tier records and exemplar lists (storage/record_codec.*): round trips, the merge rule
// against a brute-force model (random minutes split into random operands, merged in random
// groupings: the result equals the sum, and the busiest minute is exact), collapsing, and
// damaged input (every truncation and many bit flips: Corruption, never a crash).
#include "storage/record_codec.h"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <random>

#include "storage/coding.h"

namespace ew::storage {
namespace {

struct Minute {  // the model of one entry or minute
  uint64_t requests = 0, errors = 0, request_bytes = 0, response_bytes = 0;
  LatencySketch server, client;
};

std::string Encode(const std::map<uint16_t, Minute>& entries, PeakForm form,
                   const MinuteCounts& counts) {
  std::vector<std::string> enc;
  enc.reserve(2 * entries.size());
  std::vector<RecordEntry> es;
  for (const auto& [offset, m] : entries) {
    RecordEntry e{offset, m.requests, m.errors, m.request_bytes, m.response_bytes, {}, {}};
    enc.emplace_back();
    m.server.EncodeTo(&enc.back());
    e.server = enc.back();
    enc.emplace_back();
    m.client.EncodeTo(&enc.back());
    e.client = enc.back();
    es.push_back(e);
  }
  std::string out;
  EncodeRecord(es, form, counts, 0, 0, &out);
  return out;
}

std::map<uint16_t, Minute> Decode(std::string_view data, RecordLimits limits, RecordView* v) {
  EXPECT_TRUE(ParseRecord(data, limits, v).ok());
  std::map<uint16_t, Minute> out;
  for (const RecordEntry& e : v->entries) {
    Minute& m = out[e.offset];
    m.requests = e.requests;
    m.errors = e.errors;
    m.request_bytes = e.request_bytes;
    m.response_bytes = e.response_bytes;
    m.server = *LatencySketch::Decode(e.server);
    m.client = *LatencySketch::Decode(e.client);
  }
  return out;
}

bool Same(const Minute& a, const Minute& b) {
  return a.requests == b.requests && a.errors == b.errors && a.request_bytes == b.request_bytes &&
         a.response_bytes == b.response_bytes && a.server == b.server && a.client == b.client;
}

TEST(RecordCodecTest, MergeOfRandomOperandsEqualsTheSumAndThePeakIsExact) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    const Tier tier = static_cast<Tier>(round % 3);
    const RecordLimits limits = LimitsOf(tier);
    std::map<uint16_t, Minute> want;
    std::map<uint16_t, uint64_t> want_counts;  // per minute of the unit
    std::vector<std::string> operands;
    const int parts = 1 + static_cast<int>(rng() % 12);
    for (int p = 0; p < parts; ++p) {
      std::map<uint16_t, Minute> op;
      MinuteCounts counts;
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < n; ++k) {
        // A minute of the unit; in the hour and day tiers the single entry is at offset 0.
        const auto minute = static_cast<uint16_t>(rng() % (tier == Tier::kDay ? 1440 : 60));
        const uint16_t offset = tier == Tier::kMinute ? minute : 0;
        Minute x;
        x.requests = 1 + rng() % 50;
        x.errors = rng() % 3 == 0 ? rng() % 4 : 0;
        x.response_bytes = rng() % 2 ? rng() % 100000 : 0;
        for (uint64_t i = 0; i < x.requests; ++i) x.server.Add(100 + rng() % 100000);
        if (rng() % 4 == 0) x.client.Add(50 + rng() % 1000, 1 + rng() % 3);
        for (auto* m : {&op[offset], &want[offset]}) {
          m->requests += x.requests;
          m->errors += x.errors;
          m->response_bytes += x.response_bytes;
          m->server.Merge(x.server);
          m->client.Merge(x.client);
        }
        if (tier != Tier::kMinute) {
          bool found = false;
          for (auto& c : counts) {
            if (c.first == minute) c.second += x.requests, found = true;
          }
          if (!found) counts.emplace_back(minute, x.requests);
          want_counts[minute] += x.requests;
        }
      }
      std::sort(counts.begin(), counts.end());
      operands.push_back(
          Encode(op, tier == Tier::kMinute ? PeakForm::kNone : PeakForm::kCounts, counts));
    }
    // Merge in random groups until one record is left (partial merges of partial merges).
    RecordMerger merger;
    while (operands.size() > 1) {
      std::shuffle(operands.begin(), operands.end(), rng);
      const size_t k = 2 + rng() % (operands.size() - 1);
      std::vector<std::string_view> group(operands.end() - static_cast<std::ptrdiff_t>(k),
                                          operands.end());
      std::string merged;
      ASSERT_TRUE(merger.Merge(group, limits, &merged).ok());
      operands.resize(operands.size() - k);
      operands.push_back(std::move(merged));
    }
    RecordView v;
    const auto got = Decode(operands[0], limits, &v);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [offset, m] : want) EXPECT_TRUE(Same(got.at(offset), m)) << offset;
    if (tier != Tier::kMinute) {
      ASSERT_EQ(v.peak_form, PeakForm::kCounts);
      MinuteCounts expect(want_counts.begin(), want_counts.end());
      EXPECT_EQ(v.minute_counts, expect);
      std::pair<uint64_t, uint16_t> peak{0, 0};
      for (const auto& [minute, count] : want_counts) {
        if (count > peak.first) peak = {count, minute};
      }
      EXPECT_EQ(PeakOf(v), peak);
      std::string collapsed;
      ASSERT_TRUE(RecordMerger::Collapse(operands[0], limits, &collapsed));
      RecordView c;
      ASSERT_TRUE(ParseRecord(collapsed, limits, &c).ok());
      EXPECT_EQ(c.peak_form, PeakForm::kCollapsed);
      EXPECT_EQ(PeakOf(c), peak);
      EXPECT_LT(collapsed.size(), operands[0].size() + 4);
    }
  }
}

TEST(RecordCodecTest, ARecordWithoutMinuteCountsMakesThePeakUnknown) {
  Minute m;
  m.requests = 5;
  const std::string known = Encode({{0, m}}, PeakForm::kCounts, {{3, 5}});
  const std::string unknown = Encode({{0, m}}, PeakForm::kNone, {});
  RecordMerger merger;
  std::string out;
  std::vector<std::string_view> in{known, unknown};
  ASSERT_TRUE(merger.Merge(in, LimitsOf(Tier::kHour), &out).ok());
  RecordView v;
  ASSERT_TRUE(ParseRecord(out, LimitsOf(Tier::kHour), &v).ok());
  EXPECT_EQ(v.peak_form, PeakForm::kNone);
  EXPECT_EQ(v.entries[0].requests, 10u);
}

TEST(RecordCodecTest, DamagedRecordsAreCorruptionNeverACrash) {
  std::mt19937_64 rng(3);
  Minute a, b;
  a.requests = 300;
  a.errors = 2;
  for (int i = 0; i < 40; ++i) a.server.Add(1000 + i * 37);
  b.requests = 1;
  b.client.Add(77);
  const std::string rec = Encode({{0, a}, {1, b}, {2, a}, {17, b}, {59, a}}, PeakForm::kNone, {});
  const RecordLimits limits = LimitsOf(Tier::kMinute);
  RecordView v;
  ASSERT_TRUE(ParseRecord(rec, limits, &v).ok());
  for (size_t n = 0; n < rec.size(); ++n) {
    EXPECT_FALSE(ParseRecord(rec.substr(0, n), limits, &v).ok()) << n;
  }
  RecordMerger merger;
  for (int i = 0; i < 5000; ++i) {
    std::string bad = rec;
    bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    if (ParseRecord(bad, limits, &v).ok()) {
      for (const auto& e : v.entries) {
        EXPECT_LT(e.offset, 60);
        (void)LatencySketch::Decode(e.server);
      }
    }
    std::string out;
    std::vector<std::string_view> in{bad, rec};
    (void)merger.Merge(in, limits, &out);
  }
  // Counts where the family keeps none, and offsets past the unit.
  EXPECT_FALSE(ParseRecord(Encode({{0, a}}, PeakForm::kCounts, {{1, 300}}), limits, &v).ok());
  std::string past = Encode({{0, a}}, PeakForm::kNone, {});
  past[3] = 60;  // the first run starts at offset 60
  EXPECT_FALSE(ParseRecord(past, limits, &v).ok());
}

// Records written before the deltas (bit 7 clear: plain varint requests and minute counts) still
// parse; new ones carry bit 7 and round-trip values that fall, rise and reach 2^64 - 1 (deltas
// are modulo 2^64).
TEST(RecordCodecTest, DeltaCodedCountsRoundTripAndOldRecordsStillParse) {
  std::string old;  // an hour record as written before: requests 300, minute counts 7@3, 2@59
  old.push_back(static_cast<char>(kRecordTag));
  old.push_back(static_cast<char>(32));  // minute counts only
  for (uint64_t v : {1, 0, 0, 300, 2, 3, 0, 55, 0, 7, 2}) coding::PutVarint64(&old, v);
  RecordView v;
  ASSERT_TRUE(ParseRecord(old, LimitsOf(Tier::kHour), &v).ok());
  EXPECT_EQ(v.entries[0].requests, 300u);
  EXPECT_EQ(v.minute_counts, (MinuteCounts{{3, 7}, {59, 2}}));

  std::map<uint16_t, Minute> entries;
  const uint64_t values[] = {5, 3, 0, UINT64_MAX, 1, UINT64_MAX - 1, 200, 200, 17};
  for (uint16_t i = 0; i < std::size(values); ++i) entries[i * 6].requests = values[i];
  const std::string rec = Encode(entries, PeakForm::kNone, {});
  EXPECT_NE(static_cast<uint8_t>(rec[1]) & 0x80, 0);
  const auto back = Decode(rec, LimitsOf(Tier::kMinute), &v);
  ASSERT_EQ(back.size(), entries.size());
  for (const auto& [offset, m] : entries) EXPECT_EQ(back.at(offset).requests, m.requests);

  Minute one;
  one.requests = 9;
  const MinuteCounts counts{{0, 9}, {1, 2}, {2, UINT64_MAX}, {30, 1}, {59, 4000}};
  const std::string hour = Encode({{0, one}}, PeakForm::kCounts, counts);
  ASSERT_TRUE(ParseRecord(hour, LimitsOf(Tier::kHour), &v).ok());
  EXPECT_EQ(v.minute_counts, counts);
}

TEST(RecordCodecTest, ExemplarListsRoundTripRelativeToTheirUnit) {
  std::vector<Exemplar> list(3);
  const int64_t base = 29'000'000LL * 60'000;
  for (size_t i = 0; i < list.size(); ++i) {
    for (auto& byte : list[i].trace_id) byte = static_cast<uint8_t>(i * 31 + 7);
    list[i].start_ms = base + static_cast<int64_t>(i) * 1000 - 5;  // one before the unit
    list[i].duration_us = 4'000'000'000u - static_cast<uint32_t>(i);
    list[i].status = static_cast<uint16_t>(200 + i * 150);
    list[i].error = i == 1;
  }
  std::string enc;
  EncodeExemplarList(list, base, &enc);
  std::vector<Exemplar> back;
  ASSERT_TRUE(DecodeExemplarList(enc, base, &back).ok());
  EXPECT_EQ(back, list);
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(DecodeExemplarList(enc.substr(0, n), base, &back).ok());
  }
}

}  // namespace
}  // namespace ew::storage
