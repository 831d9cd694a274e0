// URL helpers for the HTTP listener: percent-decoding and query-string parsing.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ew::server {

// Decodes %XX escapes (and '+' as space when plus_is_space). nullopt on a malformed escape.
std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space);

// Parses "a=1&b=x%20y" into {a: "1", b: "x y"}; the first occurrence of a key wins; keys without
// '=' map to "". nullopt when an escape is malformed.
std::optional<std::map<std::string, std::string>> ParseQueryString(std::string_view query);

}  // namespace ew::server
