// JSON string escaping shared by every module that writes JSON by hand (query responses, OTLP
// partial-success bodies, server errors, tool ledgers). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ew {

// Appends `text` escaped for the inside of a JSON string literal (no quotes): quotes,
// backslashes and control characters are escaped; bytes >= 0x80 are copied as they are (the
// caller passes UTF-8).
void AppendJsonEscaped(std::string_view text, std::string* out);

// Appends `text` as a JSON string literal, quotes included.
inline void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  AppendJsonEscaped(text, out);
  out->push_back('"');
}

// `text` as a JSON string literal, quotes included.
inline std::string JsonQuoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(text, &out);
  return out;
}

}  // namespace ew
