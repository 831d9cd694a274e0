// Gzip (and zlib) decompression of request bodies with a hard output limit, so a small
// decompression bomb costs at most `max_output` bytes of memory and the time to produce them.
//
// Thread-safety: plain functions, no shared state (libdeflate decompressors are per thread).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ew::ingest {

// Inflates a gzip member stream (RFC 1952; concatenated members are inflated in turn) into `out`
// (replaced). Usually with libdeflate into a buffer of the size the gzip trailer announces; when
// that does not work out (trailer over the limit or wrong, several members, malformed data) with
// zlib, streaming, which decides the outcome and the error message. Stops as soon as the output
// would exceed `max_output` bytes and returns ResourceExhausted (the server answers 413). Malformed
// or truncated input, or trailing bytes that are not another gzip member, give InvalidArgument
// naming the compressed byte offset. `out` gets kGunzipPaddingReserve bytes of spare capacity, so
// JSON bodies need no second copy.
Status GunzipBody(std::string_view compressed, size_t max_output, std::string* out);

inline constexpr size_t kGunzipPaddingReserve = 64;

namespace internal {

// The output size GunzipBody allocates up front for `compressed`: the trailer's ISIZE when it is
// at most `max_output` and plausible (deflate expands at most 1032:1); nullopt when the trailer
// is not trusted and the streaming path grows the output instead. Exposed for tests.
std::optional<size_t> TrustedIsize(std::string_view compressed, size_t max_output);

}  // namespace internal

}  // namespace ew::ingest
