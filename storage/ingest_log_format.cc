#include "storage/ingest_log_format.h"

#include <cstring>

#include "base/hash.h"

namespace ew::storage::ingest_log_format {
namespace {

void PutU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return v;
}

}  // namespace

uint64_t PositionSeed(uint64_t position) {
  // Never 0 (the legacy seed), and different positions give different seeds (MixHash is a
  // bijection).
  const uint64_t m = MixHash(position ^ 0x9e3779b97f4a7c15ULL);
  return m == 0 ? 1 : m;
}

uint32_t RecordChecksum(std::string_view payload, uint64_t position_seed) {
  const uint64_t h =
      Hash64(payload, kChecksumSeed ^ static_cast<uint64_t>(payload.size()) ^ position_seed);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

namespace {
uint64_t PayloadSize(std::string_view head, std::string_view body,
                     std::span<const std::string_view> more) {
  uint64_t n = head.size() + body.size();
  for (std::string_view p : more) n += p.size();
  return n;
}
}  // namespace

uint32_t RecordChecksum(std::string_view head, std::string_view body,
                        std::span<const std::string_view> more, uint64_t position_seed) {
  const uint64_t h =
      Hash64Concat(head, body, more, kChecksumSeed ^ PayloadSize(head, body, more) ^ position_seed);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

void FrameHeader(std::string_view head, std::string_view body, char out[8],
                 std::span<const std::string_view> more, uint64_t position_seed) {
  PutU32(static_cast<uint32_t>(PayloadSize(head, body, more)), out);
  PutU32(RecordChecksum(head, body, more, position_seed), out + 4);
}

namespace {
void AppendFramedWithSeed(std::string_view payload, uint64_t position_seed, std::string* out) {
  char header[kHeaderBytes];
  FrameHeader(payload, {}, header, {}, position_seed);
  out->append(header, kHeaderBytes);
  out->append(payload);
}

std::string NumberedName(uint64_t start, std::string_view suffix) {
  std::string digits = std::to_string(start);
  return std::string(20 - digits.size(), '0') + digits + std::string(suffix);
}

bool ParseNumberedName(std::string_view name, std::string_view suffix, uint64_t* start) {
  if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;  // over 2^64-1
    v = v * 10 + digit;
  }
  *start = v;
  return true;
}
}  // namespace

void AppendFramed(std::string_view payload, uint64_t position, std::string* out) {
  AppendFramedWithSeed(payload, PositionSeed(position), out);
}

void AppendFramedLegacy(std::string_view payload, std::string* out) {
  AppendFramedWithSeed(payload, 0, out);
}

std::string SegmentFileName(uint64_t start) { return NumberedName(start, kSegmentSuffix); }
std::string LegacySegmentFileName(uint64_t start) {
  return NumberedName(start, kLegacySegmentSuffix);
}
std::string FreeFileName(uint64_t start) { return NumberedName(start, kFreeSuffix); }
std::string ReusedMarkerName(uint64_t start) { return NumberedName(start, kReusedSuffix); }

bool ParseSegmentFileName(std::string_view name, uint64_t* start, bool* legacy) {
  bool is_legacy = false;
  if (!ParseNumberedName(name, kSegmentSuffix, start)) {
    if (!ParseNumberedName(name, kLegacySegmentSuffix, start)) return false;
    is_legacy = true;
  }
  if (legacy != nullptr) *legacy = is_legacy;
  return true;
}

bool ParseFreeFileName(std::string_view name, uint64_t* start) {
  return ParseNumberedName(name, kFreeSuffix, start);
}

bool ParseReusedMarkerName(std::string_view name, uint64_t* start) {
  return ParseNumberedName(name, kReusedSuffix, start);
}

bool RecordChecksOutAt(std::string_view data, uint64_t offset, SegmentFraming framing) {
  if (offset > data.size() || data.size() - offset < kHeaderBytes) return false;
  const uint32_t length = GetU32(data.data() + offset);
  if (length > kMaxRecordBytes || data.size() - offset - kHeaderBytes < length) return false;
  const std::string_view payload = data.substr(offset + kHeaderBytes, length);
  return RecordChecksum(payload, framing.SeedAt(offset)) == GetU32(data.data() + offset + 4);
}

bool ValidRecordFollows(std::string_view data, uint64_t offset, SegmentFraming framing) {
  if (offset > data.size() || data.size() - offset < kHeaderBytes) return false;
  const uint32_t length = GetU32(data.data() + offset);
  if (length > kMaxRecordBytes) return false;
  return RecordChecksOutAt(data, offset + kHeaderBytes + length, framing);
}

ParseOutcome ParseRecords(
    std::string_view data, SegmentFraming framing,
    const std::function<Status(uint64_t offset, uint64_t end, std::string_view payload)>& fn,
    Status* fn_status) {
  ParseOutcome out;
  uint64_t off = 0;
  const uint64_t size = data.size();
  while (off < size) {
    if (size - off < kHeaderBytes) {
      out.problem = "torn header (" + std::to_string(size - off) + " of 8 bytes)";
      break;
    }
    const uint32_t length = GetU32(data.data() + off);
    const uint32_t checksum = GetU32(data.data() + off + 4);
    if (length > kMaxRecordBytes) {
      out.problem = "record length " + std::to_string(length) + " over the limit";
      break;
    }
    if (size - off - kHeaderBytes < length) {
      out.problem = "torn record (length " + std::to_string(length) + ", " +
                    std::to_string(size - off - kHeaderBytes) + " bytes present)";
      break;
    }
    const std::string_view payload = data.substr(off + kHeaderBytes, length);
    if (RecordChecksum(payload, framing.SeedAt(off)) != checksum) {
      out.problem = "checksum mismatch (record length " + std::to_string(length) + ")";
      break;
    }
    const uint64_t end = off + kHeaderBytes + length;
    if (fn) {
      Status s = fn(off, end, payload);
      if (!s.ok()) {
        *fn_status = std::move(s);
        out.valid_end = off;
        return out;
      }
    }
    off = end;
    out.valid_end = off;
  }
  return out;
}

}  // namespace ew::storage::ingest_log_format
