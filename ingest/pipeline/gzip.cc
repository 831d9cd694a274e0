#include "ingest/pipeline/gzip.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>

namespace ew::ingest {
namespace {

constexpr size_t kFirstChunk = 64 << 10;

// A gzip member is at least a 10-byte header, 2 bytes of deflate data and an 8-byte trailer
// (CRC32, ISIZE); libdeflate refuses anything shorter anyway.
constexpr size_t kGzipMinMember = 20;
constexpr uint8_t kGzipFlagHeaderCrc = 0x02;  // FHCRC
// Deflate cannot expand by more than 1032:1 (a 258-byte match in two 1-bit codes), so an ISIZE
// above this many times the compressed size is a lie, and not worth allocating for.
constexpr size_t kMaxDeflateRatio = 1032;

// RAII for a z_stream set up for inflation.
class Inflater {
 public:
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() {
    if (ready_) inflateEnd(&z_);
  }
  bool Init() {
    // 16 + MAX_WBITS: gzip wrapper only.
    ready_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
    return ready_;
  }
  z_stream& z() { return z_; }

 private:
  z_stream z_{};
  bool ready_ = false;
};

Status Malformed(const char* what, size_t offset) {
  return Status::InvalidArgument(std::string("gzip: ") + what + " at compressed byte " +
                                 std::to_string(offset));
}

struct DecompressorFree {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// One libdeflate decompressor per thread (it holds ~10 KB of decode tables and no stream state).
libdeflate_decompressor* ThreadDecompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorFree> d(
      libdeflate_alloc_decompressor());
  return d.get();
}

uint32_t LoadLe32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
         static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
}

// The fast path: libdeflate into a buffer sized from the trailer's ISIZE (the uncompressed size of
// the last member, mod 2^32). Returns true when the whole body inflated into exactly that buffer,
// with every member's CRC32 and ISIZE checked. Returns false, leaving `out` to be replaced, in
// every other case (ISIZE over the limit or implausible, output not fitting, malformed data, a
// header CRC, which libdeflate skips without checking): the zlib path then decides, so limits,
// error codes and messages stay those of the streaming inflater.
bool InflateWithLibdeflate(std::string_view compressed, size_t max_output, std::string* out) {
  const std::optional<size_t> trusted = internal::TrustedIsize(compressed, max_output);
  if (!trusted) return false;
  const size_t isize = *trusted;
  libdeflate_decompressor* d = ThreadDecompressor();
  if (d == nullptr) return false;
  if (out->capacity() < isize + kGunzipPaddingReserve) {
    // Drop the old buffer first: growing it would round the capacity up (to twice the old one).
    std::string().swap(*out);
    out->reserve(isize + kGunzipPaddingReserve);
  }
  out->resize(isize);
  size_t consumed = 0;
  size_t produced = 0;
  while (consumed < compressed.size()) {
    const size_t left = compressed.size() - consumed;
    if (left < kGzipMinMember ||
        (static_cast<uint8_t>(compressed[consumed + 3]) & kGzipFlagHeaderCrc) != 0) {
      return false;
    }
    size_t in_used = 0;
    size_t out_used = 0;
    if (libdeflate_gzip_decompress_ex(d, compressed.data() + consumed, left, out->data() + produced,
                                      isize - produced, &in_used,
                                      &out_used) != LIBDEFLATE_SUCCESS) {
      return false;
    }
    consumed += in_used;
    produced += out_used;
  }
  // The last member alone fills ISIZE bytes, so earlier ones were empty and produced == isize;
  // kept exact in any case.
  out->resize(produced);
  return true;
}

// Resizes `out` (holding `produced` bytes) to `size` with a capacity of exactly that plus the
// padding reserve: growing a std::string in place rounds the capacity up to twice the old one,
// which near the limit meant reserving up to twice --max-decompressed (also when the padding was
// reserved after the last byte).
void GrowExactly(std::string* out, size_t produced, size_t size) {
  if (size + kGunzipPaddingReserve <= out->capacity()) {
    out->resize(size);
    return;
  }
  std::string bigger;
  bigger.reserve(size + kGunzipPaddingReserve);
  bigger.append(out->data(), produced);
  bigger.resize(size);
  out->swap(bigger);
}

// The streaming path (zlib): grows the output up to max_output + 1 bytes, so it stops at the
// limit whatever the trailer claims.
Status InflateWithZlib(std::string_view compressed, size_t max_output, std::string* out) {
  out->clear();
  Inflater inflater;
  if (!inflater.Init()) return Status::Internal("gzip: inflateInit2 failed");
  z_stream& z = inflater.z();
  const auto* in = reinterpret_cast<const Bytef*>(compressed.data());
  size_t consumed = 0;
  size_t produced = 0;
  GrowExactly(out, 0, std::min(std::max(compressed.size() * 4, kFirstChunk), max_output + 1));
  while (true) {
    if (produced == out->size()) {
      if (produced > max_output) break;
      GrowExactly(out, produced, std::min(out->size() * 2, max_output + 1));
    }
    size_t in_avail = compressed.size() - consumed;
    size_t out_avail = out->size() - produced;
    z.next_in = const_cast<Bytef*>(in + consumed);
    z.avail_in = static_cast<uInt>(std::min<size_t>(in_avail, std::numeric_limits<uInt>::max()));
    z.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    z.avail_out = static_cast<uInt>(std::min<size_t>(out_avail, std::numeric_limits<uInt>::max()));
    const uInt in_before = z.avail_in;
    const uInt out_before = z.avail_out;
    int rc = inflate(&z, Z_NO_FLUSH);
    consumed += in_before - z.avail_in;
    produced += out_before - z.avail_out;
    if (produced > max_output) break;
    if (rc == Z_STREAM_END) {
      if (consumed == compressed.size()) {
        out->resize(produced);
        out->reserve(produced + kGunzipPaddingReserve);
        return Status::Ok();
      }
      // Another gzip member follows (RFC 1952 allows concatenation).
      if (inflateReset(&z) != Z_OK) return Status::Internal("gzip: inflateReset failed");
      continue;
    }
    if (rc == Z_BUF_ERROR) {
      if (z.avail_out == 0) continue;  // needs more output space
      return Malformed("truncated stream", consumed);
    }
    if (rc != Z_OK) return Malformed(z.msg != nullptr ? z.msg : "invalid data", consumed);
    if (consumed == compressed.size() && z.avail_out != 0) {
      return Malformed("truncated stream", consumed);
    }
  }
  std::string().swap(*out);  // the buffer of the limit's size goes too
  return Status::ResourceExhausted("gzip: decompressed body exceeds " + std::to_string(max_output) +
                                   " bytes");
}

}  // namespace

namespace internal {

std::optional<size_t> TrustedIsize(std::string_view compressed, size_t max_output) {
  if (compressed.size() < kGzipMinMember) return std::nullopt;
  const size_t isize = LoadLe32(compressed.data() + compressed.size() - 4);
  if (isize > max_output || isize / kMaxDeflateRatio > compressed.size()) return std::nullopt;
  return isize;
}

}  // namespace internal

Status GunzipBody(std::string_view compressed, size_t max_output, std::string* out) {
  if (InflateWithLibdeflate(compressed, max_output, out)) return Status::Ok();
  // Start the streaming path from nothing, as before, so the buffer the trailer asked for and
  // the one the streaming path grows never add up.
  std::string().swap(*out);
  return InflateWithZlib(compressed, max_output, out);
}

}  // namespace ew::ingest
