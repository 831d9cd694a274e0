// Fuzz target: GunzipBody (ingest/gzip.cc), the bounded gzip inflater of request bodies.
//
// Each input is used twice:
// - as a compressed body: GunzipBody must agree with a plain zlib reference inflater (members
//   concatenated, nothing else after them) on success, output bytes, and the limit: with the limit
//   at the output's size it succeeds, one byte under it it answers ResourceExhausted. Whatever
//   the outcome, the output buffer never holds more than the limit (plus the padding reserve);
// - as plain data: gzipped by zlib (level, member split and header fields taken from the data),
//   it must inflate back to itself.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "ingest/pipeline/gzip.h"

namespace ew::ingest {
namespace {

constexpr size_t kLimit = 1 << 20;

enum class Outcome { kOk, kMalformed, kTooLarge };

// zlib alone, 4 KiB at a time: every member of the body in turn, up to `limit` bytes of output.
Outcome ReferenceGunzip(std::string_view in, size_t limit, std::string* out) {
  out->clear();
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return Outcome::kMalformed;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  Outcome outcome = Outcome::kMalformed;
  while (true) {
    Bytef chunk[4096];
    z.next_out = chunk;
    z.avail_out = sizeof(chunk);
    const int rc = inflate(&z, Z_NO_FLUSH);
    out->append(reinterpret_cast<char*>(chunk), sizeof(chunk) - z.avail_out);
    if (out->size() > limit) {
      outcome = Outcome::kTooLarge;
      break;
    }
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) {
        outcome = Outcome::kOk;
        break;
      }
      if (inflateReset(&z) != Z_OK) break;
      continue;
    }
    if (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_out == 0)) continue;
    break;  // malformed or truncated
  }
  inflateEnd(&z);
  return outcome;
}

const char* Name(Outcome o) {
  return o == Outcome::kOk ? "ok" : o == Outcome::kMalformed ? "malformed" : "too large";
}

Outcome Gunzip(std::string_view in, size_t limit, std::string* out) {
  const Status s = GunzipBody(in, limit, out);
  FUZZ_CHECK(out->capacity() <= limit + 1 + kGunzipPaddingReserve,
             "output buffer of " + std::to_string(out->capacity()) + " bytes for a limit of " +
                 std::to_string(limit) + " (" + s.ToString() + ")");
  if (s.ok()) {
    FUZZ_CHECK(out->size() <= limit, "output over the limit");
    FUZZ_CHECK(out->capacity() >= out->size() + kGunzipPaddingReserve, "padding reserve");
    return Outcome::kOk;
  }
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kResourceExhausted,
             s.ToString());
  return s.code() == StatusCode::kInvalidArgument ? Outcome::kMalformed : Outcome::kTooLarge;
}

void CheckAgainstReference(std::string_view body) {
  std::string expected;
  const Outcome ref = ReferenceGunzip(body, kLimit, &expected);
  std::string out;
  const Outcome got = Gunzip(body, kLimit, &out);
  FUZZ_CHECK(got == ref, std::string(Name(got)) + " vs reference " + Name(ref));
  if (ref != Outcome::kOk) return;
  FUZZ_CHECK(out == expected, "output differs from the reference");
  // The limit is inclusive and exact.
  FUZZ_CHECK(Gunzip(body, expected.size(), &out) == Outcome::kOk, "limit at the output size");
  FUZZ_CHECK(out == expected, "output differs at the exact limit");
  if (!expected.empty()) {
    FUZZ_CHECK(Gunzip(body, expected.size() - 1, &out) == Outcome::kTooLarge,
               "limit one byte under the output size");
  }
}

// One gzip member of `data` at `level`, with a file name and a header CRC when `header`.
std::string GzipMember(std::string_view data, int level, bool header) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  gz_header h{};
  char name[] = "body.pb";
  if (header) {
    h.name = reinterpret_cast<Bytef*>(name);
    h.hcrc = 1;
    deflateSetHeader(&z, &h);
  }
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  FUZZ_CHECK(rc == Z_STREAM_END, "deflate failed");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void CheckRoundTrip(std::string_view data) {
  const uint8_t knob = data.empty() ? 0 : static_cast<uint8_t>(data[0]);
  const int level = knob % 10;
  const bool header = (knob & 0x10) != 0;
  // Split into two members at a point taken from the data (the second may be empty).
  const size_t split = (knob & 0x20) != 0 ? data.size() / 2 : data.size();
  const std::string body =
      GzipMember(data.substr(0, split), level, header) +
      (split < data.size() ? GzipMember(data.substr(split), level, false) : "");
  std::string out;
  const Status s = GunzipBody(body, kLimit, &out);
  FUZZ_CHECK(s.ok(), "round trip: " + s.ToString());
  FUZZ_CHECK(out == data, "round trip gave other bytes");
}

}  // namespace
}  // namespace ew::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ew::ingest::CheckAgainstReference(bytes);
  ew::ingest::CheckRoundTrip(bytes);
  return 0;
}
