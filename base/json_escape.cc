#include "base/json_escape.h"

namespace ew {

void AppendJsonEscaped(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  while (!text.empty()) {
    // Fast path: copy the run of characters that need no escaping in one append.
    size_t plain = 0;
    while (plain < text.size()) {
      auto c = static_cast<unsigned char>(text[plain]);
      if (c < 0x20 || c == '"' || c == '\\') break;
      ++plain;
    }
    out->append(text.data(), plain);
    text.remove_prefix(plain);
    if (text.empty()) break;
    auto c = static_cast<unsigned char>(text.front());
    text.remove_prefix(1);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
}

}  // namespace ew
