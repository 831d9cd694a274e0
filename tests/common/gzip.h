// Gzip helpers for tests (zlib): compress a request body, inflate a response.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace ew::testing {

// A complete gzip member (RFC 1952) holding `data`.
std::string GzipCompress(std::string_view data, int level = 6);
// Inflates a gzip stream; returns false on corrupt input.
bool GzipDecompress(std::string_view data, std::string* out);

}  // namespace ew::testing
