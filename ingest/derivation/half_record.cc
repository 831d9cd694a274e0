// HalfRecord encoding. Little-endian fixed-width fields; layout in docs/ingest.md.
#include "ingest/derivation/half_record.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace ew::ingest {
namespace {

constexpr uint8_t kBatchVersion = 1;
constexpr size_t kHeaderSize = 1 + 8 + 4;  // version, arrival_ms, count

constexpr std::string_view kMethodNames[] = {
    "", "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER"};
static_assert(std::size(kMethodNames) == static_cast<size_t>(MethodCode::kCount));

template <typename T>
void Put(std::string* out, T v) {
  char buf[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) {
    buf[i] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * i));
  }
  out->append(buf, sizeof(T));
}

template <typename T>
T Get(const char*& p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  }
  p += sizeof(T);
  return static_cast<T>(v);
}

[[maybe_unused]] void EncodeRecord(const HalfRecord& r, std::string* out) {
  out->append(reinterpret_cast<const char*>(r.trace_id.data()), 16);
  Put<uint64_t>(out, r.span_key);
  Put<uint64_t>(out, static_cast<uint64_t>(r.start_ms));
  Put<uint32_t>(out, r.node);
  Put<uint32_t>(out, r.peer);
  Put<uint32_t>(out, r.path);
  Put<uint32_t>(out, r.duration_us);
  Put<uint32_t>(out, r.request_bytes);
  Put<uint32_t>(out, r.response_bytes);
  Put<uint16_t>(out, r.status);
  Put<uint16_t>(out, r.weight);
  Put<uint8_t>(out, static_cast<uint8_t>(r.role));
  Put<uint8_t>(out, static_cast<uint8_t>(r.protocol));
  Put<uint8_t>(out, static_cast<uint8_t>(r.method));
  Put<uint8_t>(out, r.error ? 1 : 0);
  // 16 + 8 + 8 + 6*4 + 2*2 + 4 = 64
}

bool DecodeRecord(const char* p, HalfRecord* r) {
  std::memcpy(r->trace_id.data(), p, 16);
  p += 16;
  r->span_key = Get<uint64_t>(p);
  r->start_ms = static_cast<int64_t>(Get<uint64_t>(p));
  r->node = Get<uint32_t>(p);
  r->peer = Get<uint32_t>(p);
  r->path = Get<uint32_t>(p);
  r->duration_us = Get<uint32_t>(p);
  r->request_bytes = Get<uint32_t>(p);
  r->response_bytes = Get<uint32_t>(p);
  r->status = Get<uint16_t>(p);
  r->weight = Get<uint16_t>(p);
  uint8_t role = Get<uint8_t>(p);
  uint8_t protocol = Get<uint8_t>(p);
  uint8_t method = Get<uint8_t>(p);
  uint8_t error = Get<uint8_t>(p);
  if (role > 3 || protocol > 4 || method >= static_cast<uint8_t>(MethodCode::kCount) || error > 1) {
    return false;
  }
  r->role = static_cast<HalfRole>(role);
  r->protocol = static_cast<storage::Protocol>(protocol);
  r->method = static_cast<MethodCode>(method);
  r->error = error != 0;
  return true;
}

}  // namespace

std::string_view MethodCodeName(MethodCode m) {
  auto i = static_cast<size_t>(m);
  return i < std::size(kMethodNames) ? kMethodNames[i] : std::string_view();
}

MethodCode ParseMethod(std::string_view method) {
  if (method.empty()) return MethodCode::kNone;
  for (size_t i = 1; i + 1 < std::size(kMethodNames); ++i) {
    if (method == kMethodNames[i]) return static_cast<MethodCode>(i);
  }
  return MethodCode::kOther;
}

double WeightOf(WeightCode code) { return 65536.0 / (65536.0 - code); }

uint64_t WeightFixedOf(WeightCode code) {
  if (code == 0) return kWeightOne;
  // 2^16 * 2^16 / (2^16 - code), rounded to nearest.
  uint64_t den = 65536 - code;
  return ((1ULL << 32) + den / 2) / den;
}

uint64_t HalfRecord::TraceHigh() const {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | trace_id[i];
  return v;
}

// On a little-endian machine the in-memory HalfRecord is byte for byte its encoding (the
// fields are declared in encoding order, with no padding), so a batch is encoded with one copy.
constexpr bool kRecordIsItsEncoding =
    std::endian::native == std::endian::little && sizeof(HalfRecord) == kEncodedHalfRecordSize &&
    offsetof(HalfRecord, span_key) == 16 && offsetof(HalfRecord, start_ms) == 24 &&
    offsetof(HalfRecord, node) == 32 && offsetof(HalfRecord, peer) == 36 &&
    offsetof(HalfRecord, path) == 40 && offsetof(HalfRecord, duration_us) == 44 &&
    offsetof(HalfRecord, request_bytes) == 48 && offsetof(HalfRecord, response_bytes) == 52 &&
    offsetof(HalfRecord, status) == 56 && offsetof(HalfRecord, weight) == 58 &&
    offsetof(HalfRecord, role) == 60 && offsetof(HalfRecord, protocol) == 61 &&
    offsetof(HalfRecord, method) == 62 && offsetof(HalfRecord, error) == 63 &&
    sizeof(HalfRole) == 1 && sizeof(storage::Protocol) == 1 && sizeof(MethodCode) == 1 &&
    sizeof(bool) == 1 && std::is_trivially_copyable_v<HalfRecord>;

void EncodeHalfBatch(const HalfBatch& batch, std::string* out) {
  out->reserve(out->size() + kHeaderSize + batch.records.size() * kEncodedHalfRecordSize);
  Put<uint8_t>(out, kBatchVersion);
  Put<uint64_t>(out, static_cast<uint64_t>(batch.arrival_ms));
  Put<uint32_t>(out, static_cast<uint32_t>(batch.records.size()));
  if constexpr (kRecordIsItsEncoding) {
    out->append(reinterpret_cast<const char*>(batch.records.data()),
                batch.records.size() * kEncodedHalfRecordSize);
  } else {
    for (const HalfRecord& r : batch.records) EncodeRecord(r, out);
  }
}

void EncodeHalfBatchGroups(int64_t arrival_ms, std::span<const std::vector<HalfRecord>> groups,
                           std::string* head, std::vector<std::string_view>* bodies) {
  bodies->clear();
  size_t count = 0;
  for (const std::vector<HalfRecord>& g : groups) count += g.size();
  Put<uint8_t>(head, kBatchVersion);
  Put<uint64_t>(head, static_cast<uint64_t>(arrival_ms));
  Put<uint32_t>(head, static_cast<uint32_t>(count));
  for (const std::vector<HalfRecord>& g : groups) {
    if (g.empty()) continue;
    if constexpr (kRecordIsItsEncoding) {
      bodies->emplace_back(reinterpret_cast<const char*>(g.data()),
                           g.size() * kEncodedHalfRecordSize);
    } else {
      for (const HalfRecord& r : g) EncodeRecord(r, head);
    }
  }
}

Status DecodeHalfBatch(std::string_view data, HalfBatch* out) {
  if (data.size() < kHeaderSize) return Status::Corruption("half batch: short header");
  const char* p = data.data();
  uint8_t version = Get<uint8_t>(p);
  if (version != kBatchVersion) {
    return Status::Corruption("half batch: unknown version " + std::to_string(version));
  }
  out->arrival_ms = static_cast<int64_t>(Get<uint64_t>(p));
  uint32_t count = Get<uint32_t>(p);
  if (data.size() != kHeaderSize + static_cast<size_t>(count) * kEncodedHalfRecordSize) {
    return Status::Corruption("half batch: size does not match count " + std::to_string(count));
  }
  out->records.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (!DecodeRecord(p, &out->records[i])) {
      return Status::Corruption("half batch: bad record " + std::to_string(i));
    }
    p += kEncodedHalfRecordSize;
  }
  return Status::Ok();
}

}  // namespace ew::ingest
