#include "ingest/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace ew::ingest {
namespace {

constexpr size_t kFirstChunk = 64 << 10;

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

}  // namespace

Status GunzipBody(std::string_view compressed, size_t max_output, std::string* out) {
  out->clear();
  Inflater inflater;
  if (!inflater.Init()) return Status::Internal("gzip: inflateInit2 failed");
  z_stream& z = inflater.z();
  const auto* in = reinterpret_cast<const Bytef*>(compressed.data());
  size_t consumed = 0;
  size_t produced = 0;
  out->resize(std::min(std::max(compressed.size() * 4, kFirstChunk), max_output + 1));
  while (true) {
    if (produced == out->size()) {
      if (produced > max_output) break;
      out->resize(std::min(out->size() * 2, max_output + 1));
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
  out->clear();
  return Status::ResourceExhausted("gzip: decompressed body exceeds " + std::to_string(max_output) +
                                   " bytes");
}

}  // namespace ew::ingest
