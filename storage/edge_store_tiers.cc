// EdgeStore: the tier records of one flush (docs/format/storage.md, "Values: rollup records" and
// "One flush = one WriteBatch"). Each minute aggregate's sketches are encoded once; the minute
// record (per key and hour, one entry per minute), the hour and the day record (one entry plus
// minute counts) are assembled from those bytes, and only a coarser key fed by several minutes
// merges sketches.
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <bit>

#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/tier_scan.h"

namespace ew::storage {
namespace {

// One minute aggregate of the flush, and the record entry it becomes.
struct Aggregate {
  const std::string* key = nullptr;  // the family's tier key with the minute as its time
  const RollupValue* value = nullptr;
  uint32_t minute = 0;
  std::string server, client;  // encoded sketches (what the family keeps)
};

// The tier key of an aggregate in a tier: its key with the time in the tier's unit.
struct Item {
  std::string key;
  uint32_t minute = 0;
  size_t index = 0;  // into the aggregates
};

bool KeepsMinuteCounts(Family f) { return f != Family::kDetail; }

// The minute-tier entries of items [i, j) (one key and hour, one per minute). Counts only in the
// edge and client families: edge-level minute sketches are the sum of the detail family's.
void MinuteEntries(Family f, const std::vector<Aggregate>& aggs, const std::vector<Item>& items,
                   size_t i, size_t j, std::vector<RecordEntry>* entries) {
  for (size_t k = i; k < j; ++k) {
    const Aggregate& a = aggs[items[k].index];
    const RollupValue& v = *a.value;
    RecordEntry e{static_cast<uint16_t>(items[k].minute % 60),
                  v.requests,
                  v.errors,
                  v.request_bytes,
                  v.response_bytes,
                  {},
                  {}};
    if (f == Family::kDetail) {
      e.server = a.server;
      e.client = a.client;
    }
    entries->push_back(e);
  }
}

struct Scratch {
  LatencySketch server_acc, client_acc;
  std::string server, client;
};

// The hour or day entry of items [i, j) (one key), and its minute counts (offsets in the unit).
// One minute aggregate reuses its encoded sketches; several are merged and encoded again.
RecordEntry CoarseEntry(Family f, uint32_t unit, const std::vector<Aggregate>& aggs,
                        const std::vector<Item>& items, size_t i, size_t j, Scratch* s,
                        MinuteCounts* counts) {
  const Aggregate& first = aggs[items[i].index];
  RecordEntry e{0, 0, 0, 0, 0, first.server, first.client};
  const bool merge = j - i > 1 && f != Family::kEdgeByClient;
  if (merge) {
    s->server_acc.Clear();
    s->client_acc.Clear();
  }
  for (size_t k = i; k < j; ++k) {
    const RollupValue& v = *aggs[items[k].index].value;
    e.requests += v.requests;
    e.errors += v.errors;
    e.request_bytes += v.request_bytes;
    e.response_bytes += v.response_bytes;
    if (merge) {
      s->server_acc.Merge(v.server_latency);
      s->client_acc.Merge(v.client_latency);
    }
    if (v.requests > 0) {
      const auto offset = static_cast<uint16_t>(items[k].minute % unit);
      if (!counts->empty() && counts->back().first == offset) {
        counts->back().second += v.requests;
      } else {
        counts->emplace_back(offset, v.requests);
      }
    }
  }
  if (merge) {
    s->server.clear();
    s->client.clear();
    s->server_acc.EncodeTo(&s->server);
    s->client_acc.EncodeTo(&s->client);
    e.server = s->server;
    e.client = s->client;
  }
  return e;
}

}  // namespace

void EdgeStoreImpl::WriteFamilyTiers(Family f,
                                     const std::unordered_map<std::string, RollupValue>& minute,
                                     rocksdb::WriteBatch* wb, uint8_t tiers) {
  std::vector<Aggregate> aggs;
  aggs.reserve(minute.size());
  for (const auto& [k, v] : minute) {
    Aggregate a;
    a.key = &k;
    a.value = &v;
    a.minute = coding::GetBE32(k.data() + keys::kTimeOffset);
    if (f != Family::kEdgeByClient) {
      v.server_latency.EncodeTo(&a.server);
      v.client_latency.EncodeTo(&a.client);
    }
    aggs.push_back(std::move(a));
  }
  std::vector<Item> items(aggs.size());
  std::vector<RecordEntry> entries;
  MinuteCounts counts;
  std::string value;
  Scratch scratch;
  for (Tier tier : {Tier::kMinute, Tier::kHour, Tier::kDay}) {
    if ((tiers & TierBit(tier)) == 0) continue;
    const uint32_t unit = tier == Tier::kDay ? 1440 : 60;  // the minute tier's keys are per hour
    for (size_t i = 0; i < aggs.size(); ++i) {
      items[i].key = *aggs[i].key;
      items[i].minute = aggs[i].minute;
      items[i].index = i;
      coding::PutBE32(items[i].key.data() + keys::kTimeOffset, aggs[i].minute / unit);
    }
    // Keys go into the batch in order: the memtable skip list then inserts each one next to the
    // previous one (random order made skip-list search the largest cost of a flush).
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      const int c = a.key.compare(b.key);
      return c != 0 ? c < 0 : a.minute < b.minute;
    });
    rocksdb::ColumnFamilyHandle* cf = handles_[TierCf(f, tier)];
    for (size_t i = 0; i < items.size();) {
      size_t j = i + 1;
      while (j < items.size() && items[j].key == items[i].key) ++j;
      entries.clear();
      counts.clear();
      if (tier == Tier::kMinute) {
        MinuteEntries(f, aggs, items, i, j, &entries);
      } else {
        entries.push_back(CoarseEntry(f, unit, aggs, items, i, j, &scratch, &counts));
      }
      const PeakForm form =
          tier != Tier::kMinute && KeepsMinuteCounts(f) ? PeakForm::kCounts : PeakForm::kNone;
      EncodeRecord(entries, form, counts, 0, 0, &value);
      wb->Merge(cf, items[i].key, value).PermitUncheckedError();
      if (f == Family::kEdge && tier == Tier::kDay) {
        AddLateBlockOperands(items[i].key, entries[0], wb);
      }
      i = j;
    }
  }
}

}  // namespace ew::storage

namespace ew::storage {

Status FillFromEntry(const RecordEntry& e, SketchDecode mode, RollupValue* v) {
  v->requests = e.requests;
  v->errors = e.errors;
  v->request_bytes = e.request_bytes;
  v->response_bytes = e.response_bytes;
  v->exemplars.clear();
  v->encoded = {};
  if (mode != SketchDecode::kDecode) {
    v->server_latency.Clear();
    v->client_latency.Clear();
    if (mode == SketchDecode::kEncoded) v->encoded = {e.server, e.client};
    return Status::Ok();
  }
  EW_RETURN_IF_ERROR(LatencySketch::DecodeInto(e.server, &v->server_latency));
  return LatencySketch::DecodeInto(e.client, &v->client_latency);
}

void FillMinutePeak(int64_t minute, bool need_counts, RollupValue* v) {
  v->peak_requests = v->requests;
  v->peak_minute = minute;
  v->minute_counts.clear();
  if (need_counts && v->requests > 0) v->minute_counts.emplace_back(0, v->requests);
}

void FillPeak(Tier tier, int64_t time, const RecordView& r, bool need_counts, RollupValue* v) {
  const auto [peak, offset] = PeakOf(r);
  v->peak_requests = peak;
  v->peak_minute = r.peak_form == PeakForm::kNone ? 0 : time * TierUnitMinutes(tier) + offset;
  v->minute_counts.clear();
  if (need_counts) v->minute_counts = r.minute_counts;
}

void EdgeHourSums::Clear() {
  for (uint64_t u = used_; u != 0; u &= u - 1) {
    RollupValue& m = minutes_[static_cast<size_t>(std::countr_zero(u))];
    m.requests = m.errors = m.request_bytes = m.response_bytes = 0;
    m.server_latency.Clear();
    m.client_latency.Clear();
  }
  used_ = 0;
}

Status EdgeHourSums::Add(const RecordView& detail) {
  for (const RecordEntry& e : detail.entries) {
    if (e.offset >= 60) return Status::Corruption("tier record: minute offset past the hour");
    RollupValue& m = minutes_[e.offset];
    used_ |= uint64_t{1} << e.offset;
    m.requests += e.requests;
    m.errors += e.errors;
    m.request_bytes += e.request_bytes;
    m.response_bytes += e.response_bytes;
    for (auto [enc, sketch] :
         {std::pair{e.server, &m.server_latency}, std::pair{e.client, &m.client_latency}}) {
      // The first series of a minute decodes in place; the others decode apart and merge in one
      // linear pass (adding bucket by bucket inserted into the middle of the sorted buckets).
      if (enc.empty()) continue;
      if (sketch->Empty()) {
        EW_RETURN_IF_ERROR(LatencySketch::DecodeInto(enc, sketch));
      } else {
        EW_RETURN_IF_ERROR(LatencySketch::DecodeInto(enc, &scratch_));
        sketch->Merge(scratch_);
      }
    }
  }
  return Status::Ok();
}

}  // namespace ew::storage
