// Schema-2 tier records and exemplar lists (see record_codec.h, docs/format/storage.md).
#include "storage/record_codec.h"

#include <algorithm>

#include "storage/coding.h"

namespace ew::storage {
namespace {

enum Column : uint8_t {
  kColErrors = 1,
  kColRequestBytes = 2,
  kColResponseBytes = 4,
  kColServer = 8,
  kColClient = 16,
  kColMinuteCounts = 32,
  kColCollapsed = 64,
  kColDeltas = 128,  // requests and minute counts as zigzag deltas from the previous value
};

// The zigzag code of to - from, modulo 2^64 (every pair of values has one).
uint64_t ZigZagDelta(uint64_t from, uint64_t to) {
  const uint64_t d = to - from;
  return (d << 1) ^ (0 - (d >> 63));
}

// Offsets as runs of consecutive values: varint gap from the end of the previous run, varint
// length - 1.
template <typename Get>
void PutOffsets(size_t n, Get get, std::string* out) {
  uint32_t next = 0;  // the end of the previous run
  size_t i = 0;
  while (i < n) {
    const uint32_t start = get(i);
    size_t j = i + 1;
    while (j < n && get(j) == get(j - 1) + 1) ++j;
    coding::PutVarint64(out, start - next);
    coding::PutVarint64(out, j - i - 1);
    next = get(j - 1) + 1;
    i = j;
  }
}

template <typename Set>
bool GetOffsets(std::string_view data, size_t* pos, size_t n, uint32_t limit, Set set) {
  uint64_t next = 0;
  size_t i = 0;
  while (i < n) {
    uint64_t gap = 0, len = 0;
    if (!coding::GetVarint64(data, pos, &gap) || !coding::GetVarint64(data, pos, &len)) {
      return false;
    }
    if (gap > limit || len >= n - i || next + gap + len >= limit) return false;
    for (uint64_t k = 0; k <= len; ++k) set(i++, static_cast<uint16_t>(next + gap + k));
    next += gap + len + 1;
  }
  return true;
}

bool GetBytes(std::string_view data, size_t* pos, std::string_view* out) {
  uint64_t len = 0;
  if (!coding::GetVarint64(data, pos, &len) || len > data.size() - *pos) return false;
  *out = data.substr(*pos, len);
  *pos += len;
  return true;
}

// Replaces zigzag deltas (from the previous value, 0 before the first; modulo 2^64) by the
// values.
template <typename At>
void UndoDeltas(size_t n, At at) {
  uint64_t previous = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t z = at(i);
    previous += (z >> 1) ^ (0 - (z & 1));
    at(i) = previous;
  }
}

Status Bad(const char* what) { return Status::Corruption(std::string("tier record: ") + what); }

// Adds an encoded sketch to acc (validating it).
Status AddEncoded(std::string_view enc, LatencySketch* acc) {
  return LatencySketch::ForEachEncodedBucket(
      enc, [acc](int32_t index, uint64_t count) { acc->AddToBucket(index, count); });
}

// Adds minute counts into *sum (both ascending by offset), minute by minute.
void AddMinuteCounts(const MinuteCounts& more, MinuteCounts* sum) {
  if (sum->empty()) {
    *sum = more;
    return;
  }
  MinuteCounts out;
  out.reserve(sum->size() + more.size());
  size_t a = 0, b = 0;
  while (a < sum->size() || b < more.size()) {
    if (b == more.size() || (a < sum->size() && (*sum)[a].first < more[b].first)) {
      out.push_back((*sum)[a++]);
    } else if (a == sum->size() || more[b].first < (*sum)[a].first) {
      out.push_back(more[b++]);
    } else {
      out.emplace_back((*sum)[a].first, (*sum)[a].second + more[b].second);
      ++a;
      ++b;
    }
  }
  *sum = std::move(out);
}

}  // namespace

RecordLimits LimitsOf(Tier tier) {
  switch (tier) {
    case Tier::kMinute:
      return {60, 0};
    case Tier::kHour:
      return {1, 60};
    case Tier::kDay:
      return {1, 1440};
  }
  return {1, 0};
}

void EncodeRecord(std::span<const RecordEntry> entries, PeakForm form, const MinuteCounts& counts,
                  uint64_t peak, uint16_t peak_offset, std::string* out) {
  uint8_t cols = 0;
  for (const RecordEntry& e : entries) {
    if (e.errors != 0) cols |= kColErrors;
    if (e.request_bytes != 0) cols |= kColRequestBytes;
    if (e.response_bytes != 0) cols |= kColResponseBytes;
    if (!e.server.empty()) cols |= kColServer;
    if (!e.client.empty()) cols |= kColClient;
  }
  cols |= kColDeltas;
  if (form == PeakForm::kCounts) cols |= kColMinuteCounts;
  if (form == PeakForm::kCollapsed) cols |= kColCollapsed;
  out->clear();
  out->push_back(static_cast<char>(kRecordTag));
  out->push_back(static_cast<char>(cols));
  coding::PutVarint64(out, entries.size());
  PutOffsets(
      entries.size(), [&](size_t i) { return uint32_t{entries[i].offset}; }, out);
  uint64_t previous = 0;
  for (const RecordEntry& e : entries) {
    coding::PutVarint64(out, ZigZagDelta(previous, e.requests));
    previous = e.requests;
  }
  if (cols & kColErrors) {
    for (const RecordEntry& e : entries) coding::PutVarint64(out, e.errors);
  }
  if (cols & kColRequestBytes) {
    for (const RecordEntry& e : entries) coding::PutVarint64(out, e.request_bytes);
  }
  if (cols & kColResponseBytes) {
    for (const RecordEntry& e : entries) coding::PutVarint64(out, e.response_bytes);
  }
  if (cols & kColServer) {
    for (const RecordEntry& e : entries) {
      coding::PutVarint64(out, e.server.size());
      out->append(e.server);
    }
  }
  if (cols & kColClient) {
    for (const RecordEntry& e : entries) {
      coding::PutVarint64(out, e.client.size());
      out->append(e.client);
    }
  }
  if (form == PeakForm::kCounts) {
    coding::PutVarint64(out, counts.size());
    PutOffsets(
        counts.size(), [&](size_t i) { return uint32_t{counts[i].first}; }, out);
    previous = 0;
    for (const auto& c : counts) {
      coding::PutVarint64(out, ZigZagDelta(previous, c.second));
      previous = c.second;
    }
  } else if (form == PeakForm::kCollapsed) {
    coding::PutVarint64(out, peak);
    coding::PutVarint64(out, peak_offset);
  }
}

// The minute counts or collapsed peak of a record, from *pos.
static Status ParsePeak(std::string_view data, uint8_t cols, RecordLimits limits, size_t* pos,
                        RecordView* out) {
  if (cols & kColMinuteCounts) {
    uint64_t m = 0;
    if (!coding::GetVarint64(data, pos, &m) || m > limits.count_limit) {
      return Bad("bad minute count number");
    }
    out->minute_counts.resize(m);
    auto& mc = out->minute_counts;
    if (!GetOffsets(data, pos, m, limits.count_limit,
                    [&](size_t i, uint16_t o) { mc[i].first = o; })) {
      return Bad("bad minute offsets");
    }
    for (auto& c : mc) {
      if (!coding::GetVarint64(data, pos, &c.second)) return Bad("truncated minute counts");
    }
    if (cols & kColDeltas) {
      UndoDeltas(m, [&](size_t i) -> uint64_t& { return mc[i].second; });
    }
    out->peak_form = PeakForm::kCounts;
  } else if (cols & kColCollapsed) {
    uint64_t off = 0;
    if (!coding::GetVarint64(data, pos, &out->peak) || !coding::GetVarint64(data, pos, &off) ||
        off >= limits.count_limit) {
      return Bad("bad collapsed peak");
    }
    out->peak_offset = static_cast<uint16_t>(off);
    out->peak_form = PeakForm::kCollapsed;
  }
  return Status::Ok();
}

Status ParseRecord(std::string_view data, RecordLimits limits, RecordView* out) {
  out->entries.clear();
  out->minute_counts.clear();
  out->peak_form = PeakForm::kNone;
  out->peak = 0;
  out->peak_offset = 0;
  if (data.size() < 3 || static_cast<uint8_t>(data[0]) != kRecordTag) return Bad("bad tag");
  const auto cols = static_cast<uint8_t>(data[1]);
  if ((cols & kColMinuteCounts) && (cols & kColCollapsed)) {
    return Bad("unknown columns");
  }
  if ((cols & (kColMinuteCounts | kColCollapsed)) && limits.count_limit == 0) {
    return Bad("minute counts where none belong");
  }
  size_t pos = 2;
  uint64_t n = 0;
  if (!coding::GetVarint64(data, &pos, &n) || n == 0 || n > limits.entry_limit) {
    return Bad("bad entry count");
  }
  out->entries.resize(n);
  auto& es = out->entries;
  if (!GetOffsets(data, &pos, n, limits.entry_limit,
                  [&](size_t i, uint16_t o) { es[i].offset = o; })) {
    return Bad("bad offsets");
  }
  const auto column = [&](uint8_t bit, uint64_t RecordEntry::*field) {
    if ((cols & bit) == 0 && bit != 0) return true;
    for (auto& e : es) {
      if (!coding::GetVarint64(data, &pos, &(e.*field))) return false;
    }
    return true;
  };
  if (!column(0, &RecordEntry::requests)) return Bad("truncated counts");
  if (cols & kColDeltas) {
    UndoDeltas(es.size(), [&](size_t i) -> uint64_t& { return es[i].requests; });
  }
  if (!column(kColErrors, &RecordEntry::errors) ||
      !column(kColRequestBytes, &RecordEntry::request_bytes) ||
      !column(kColResponseBytes, &RecordEntry::response_bytes)) {
    return Bad("truncated counts");
  }
  for (auto [bit, field] :
       {std::pair{kColServer, &RecordEntry::server}, std::pair{kColClient, &RecordEntry::client}}) {
    if ((cols & bit) == 0) continue;
    for (auto& e : es) {
      if (!GetBytes(data, &pos, &(e.*field))) return Bad("truncated sketch");
    }
  }
  EW_RETURN_IF_ERROR(ParsePeak(data, cols, limits, &pos, out));
  if (pos != data.size()) return Bad("trailing bytes");
  return Status::Ok();
}

std::pair<uint64_t, uint16_t> PeakOf(const RecordView& r) {
  if (r.peak_form == PeakForm::kCollapsed) return {r.peak, r.peak_offset};
  std::pair<uint64_t, uint16_t> best{0, 0};
  for (const auto& [offset, count] : r.minute_counts) {
    if (count > best.first) best = {count, offset};
  }
  return best;
}

Status RecordMerger::Merge(std::span<const std::string_view> inputs, RecordLimits limits,
                           std::string* out) {
  if (views_.size() < inputs.size()) views_.resize(inputs.size());
  all_.clear();
  bool known = true, collapsed = false;
  uint64_t peak = 0;
  uint16_t peak_offset = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    RecordView& v = views_[i];
    EW_RETURN_IF_ERROR(ParseRecord(inputs[i], limits, &v));
    for (const RecordEntry& e : v.entries) all_.emplace_back(e.offset, &e);
    if (v.peak_form == PeakForm::kNone) known = false;
    if (v.peak_form == PeakForm::kCollapsed) {
      collapsed = true;
      if (v.peak > peak || (v.peak == peak && v.peak_offset < peak_offset)) {
        peak = v.peak;
        peak_offset = v.peak_offset;
      }
    }
  }
  EW_RETURN_IF_ERROR(MergeEntries());
  MinuteCounts counts;
  if (known) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const RecordView& v = views_[i];
      if (v.peak_form != PeakForm::kCounts) continue;
      AddMinuteCounts(v.minute_counts, &counts);
    }
    if (collapsed) {
      for (const auto& [offset, count] : counts) {
        if (count > peak || (count == peak && offset < peak_offset)) {
          peak = count;
          peak_offset = offset;
        }
      }
    }
  }
  const PeakForm form = !known      ? PeakForm::kNone
                        : collapsed ? PeakForm::kCollapsed
                                    : PeakForm::kCounts;
  EncodeRecord(merged_, form, counts, peak, peak_offset, out);
  return Status::Ok();
}

Status RecordMerger::MergeEntries() {
  std::stable_sort(all_.begin(), all_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  merged_.clear();
  owned_.clear();
  for (size_t i = 0; i < all_.size();) {
    size_t j = i + 1;
    while (j < all_.size() && all_[j].first == all_[i].first) ++j;
    RecordEntry e = *all_[i].second;
    if (j - i > 1) {
      server_.Clear();
      client_.Clear();
      EW_RETURN_IF_ERROR(AddEncoded(e.server, &server_));
      EW_RETURN_IF_ERROR(AddEncoded(e.client, &client_));
      for (size_t k = i + 1; k < j; ++k) {
        const RecordEntry& x = *all_[k].second;
        e.requests += x.requests;
        e.errors += x.errors;
        e.request_bytes += x.request_bytes;
        e.response_bytes += x.response_bytes;
        EW_RETURN_IF_ERROR(AddEncoded(x.server, &server_));
        EW_RETURN_IF_ERROR(AddEncoded(x.client, &client_));
      }
      owned_.emplace_back();
      server_.EncodeTo(&owned_.back());
      e.server = owned_.back();
      owned_.emplace_back();
      client_.EncodeTo(&owned_.back());
      e.client = owned_.back();
    }
    merged_.push_back(e);
    i = j;
  }
  return Status::Ok();
}

bool RecordMerger::Collapse(std::string_view data, RecordLimits limits, std::string* out) {
  thread_local RecordView v;
  if (!ParseRecord(data, limits, &v).ok() || v.peak_form != PeakForm::kCounts) return false;
  const auto [peak, offset] = PeakOf(v);
  EncodeRecord(v.entries, PeakForm::kCollapsed, {}, peak, offset, out);
  return true;
}

void EncodeExemplarList(const std::vector<Exemplar>& list, int64_t base_ms, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kExemplarListTag));
  coding::PutVarint64(out, list.size());
  for (const Exemplar& e : list) {
    out->append(reinterpret_cast<const char*>(e.trace_id.data()), e.trace_id.size());
    // Two's-complement difference (wraps instead of overflowing; the decoder wraps it back).
    const auto d =
        static_cast<int64_t>(static_cast<uint64_t>(e.start_ms) - static_cast<uint64_t>(base_ms));
    coding::PutVarint64(out, (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63));
    coding::PutVarint64(out, e.duration_us);
    coding::PutVarint64(out, (uint64_t{e.status} << 1) | (e.error ? 1 : 0));
  }
}

Status DecodeExemplarList(std::string_view data, int64_t base_ms, std::vector<Exemplar>* out) {
  out->clear();
  const auto bad = [] { return Status::Corruption("exemplar list: malformed"); };
  if (data.empty() || static_cast<uint8_t>(data[0]) != kExemplarListTag) return bad();
  size_t pos = 1;
  uint64_t n = 0;
  if (!coding::GetVarint64(data, &pos, &n) || n > kMaxExemplars) return bad();
  for (uint64_t i = 0; i < n; ++i) {
    Exemplar e;
    if (data.size() - pos < e.trace_id.size()) return bad();
    std::copy_n(data.data() + pos, e.trace_id.size(), reinterpret_cast<char*>(e.trace_id.data()));
    pos += e.trace_id.size();
    uint64_t zz = 0, dur = 0, st = 0;
    if (!coding::GetVarint64(data, &pos, &zz) || !coding::GetVarint64(data, &pos, &dur) ||
        !coding::GetVarint64(data, &pos, &st) || dur > UINT32_MAX || (st >> 1) > UINT16_MAX) {
      return bad();
    }
    const uint64_t d = (zz >> 1) ^ (~(zz & 1) + 1);
    // Wrapping addition: any stored bytes decode without overflow (found by the fuzzer).
    e.start_ms = static_cast<int64_t>(static_cast<uint64_t>(base_ms) + d);
    e.duration_us = static_cast<uint32_t>(dur);
    e.status = static_cast<uint16_t>(st >> 1);
    e.error = (st & 1) != 0;
    out->push_back(e);
  }
  if (pos != data.size()) return bad();
  return Status::Ok();
}

}  // namespace ew::storage
