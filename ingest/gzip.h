// Gzip (and zlib) decompression of request bodies with a hard output limit, so a small
// decompression bomb costs at most `max_output` bytes of memory and the time to produce them.
//
// Thread-safety: a plain function; no shared state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ew::ingest {

// Inflates a gzip member stream (RFC 1952; concatenated members are inflated in turn) into `out`
// (replaced). Stops as soon as the output would exceed `max_output` bytes and returns
// ResourceExhausted (the server answers 413). Malformed or truncated input, or trailing bytes
// that are not another gzip member, give InvalidArgument naming the compressed byte offset.
// `out` gets kGunzipPaddingReserve bytes of spare capacity, so JSON bodies need no second copy.
Status GunzipBody(std::string_view compressed, size_t max_output, std::string* out);

inline constexpr size_t kGunzipPaddingReserve = 64;

}  // namespace ew::ingest
