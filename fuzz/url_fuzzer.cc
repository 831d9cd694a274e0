// Fuzz target: URL percent-decoding and query-string parsing (server/url.cc), the first code
// that reads a request's target.
//
// Relations checked: decoding never grows the text; text without '%' decodes to itself ('+' to
// a space when asked); any bytes percent-encoded decode back to themselves; and a query string
// built from keys and values taken from the input (every byte escaped) parses back to them, the
// first occurrence of a key winning.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "server/url.h"

namespace ew::server {
namespace {

std::string PercentEncode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    // Escape every byte that could mean something in a query string; keep the rest plain.
    if (std::isalnum(b) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

void CheckDecode(std::string_view text) {
  for (bool plus_is_space : {false, true}) {
    const auto decoded = UrlDecode(text, plus_is_space);
    if (text.find('%') == std::string_view::npos) {
      FUZZ_CHECK(decoded.has_value(), "text without '%' rejected");
      std::string expected(text);
      if (plus_is_space) std::replace(expected.begin(), expected.end(), '+', ' ');
      FUZZ_CHECK(*decoded == expected, "text without '%' changed");
    }
    if (decoded) FUZZ_CHECK(decoded->size() <= text.size(), "decoding grew the text");
  }
  const auto round_trip = UrlDecode(PercentEncode(text), true);
  FUZZ_CHECK(round_trip && *round_trip == text, "percent-encoded bytes do not decode back");
}

// Keys and values: the input split at NUL bytes, alternately.
void CheckQueryString(std::string_view input) {
  std::map<std::string, std::string> expected;
  std::string query;
  size_t pos = 0;
  while (pos <= input.size()) {
    const size_t key_end = std::min(input.find('\0', pos), input.size());
    const std::string_view key = input.substr(pos, key_end - pos);
    const size_t value_start = std::min(key_end + 1, input.size());
    const size_t value_end = std::min(input.find('\0', value_start), input.size());
    const std::string_view value = input.substr(value_start, value_end - value_start);
    pos = value_end + 1;
    if (key.empty() && value.empty()) continue;  // "=" alone: an empty key, kept by the parser
    expected.emplace(std::string(key), std::string(value));
    if (!query.empty()) query += '&';
    query += PercentEncode(key) + "=" + PercentEncode(value);
  }
  const auto parsed = ParseQueryString(query);
  FUZZ_CHECK(parsed.has_value(), "well-formed query string rejected: " + query);
  FUZZ_CHECK(*parsed == expected, "query string parsed to other pairs: " + query);
}

}  // namespace
}  // namespace ew::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ew::server::CheckDecode(text);
  (void)ew::server::ParseQueryString(text);
  ew::server::CheckQueryString(text);
  return 0;
}
