// Padding for OTLP JSON bodies. DecodeOtlpJson (span_view.h) parses with simdjson, which reads up
// to kJsonPadding bytes past the end of the text, so the body must sit in a buffer with that much
// readable capacity after size(). These helpers make such a buffer without a second copy where
// they can: PadJsonBody grows a std::string's capacity in place (at most one reallocation).
//
// Thread-safety: plain functions on caller-owned values.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ew::ingest {

// Bytes of readable capacity DecodeOtlpJson needs past the end of the body (>= SIMDJSON_PADDING).
inline constexpr size_t kJsonPadding = 64;

// Ensures body.capacity() >= body.size() + kJsonPadding, keeping its contents. After this, and
// as long as `body` is not modified, std::string_view(body) may be passed to DecodeOtlpJson.
void PadJsonBody(std::string& body);

// A padded copy of `text`: the returned string may be passed to DecodeOtlpJson.
std::string PaddedJsonCopy(std::string_view text);

// True when a view of `body` may be passed to DecodeOtlpJson as it is.
inline bool IsJsonPadded(const std::string& body) {
  return body.capacity() >= body.size() + kJsonPadding;
}

}  // namespace ew::ingest
