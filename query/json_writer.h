// JsonWriter: a small, fast JSON builder into one std::string (no DOM). Commas are inserted
// automatically; strings are escaped per RFC 8259 (control characters as \u00XX; bytes >= 0x80
// pass through, so UTF-8 stays UTF-8). Non-finite doubles are written as 0.
//
// Thread-safety: a value type; one writer per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ew::query {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  // A key that is a string literal of the code (letters, digits, '_', '-' only: nothing to
  // escape), written as it is.
  template <size_t N>
  JsonWriter& Key(const char (&k)[N]) {
    Sep();
    out_.push_back('"');
    out_.append(k, N - 1);
    out_.append("\":", 2);
    after_key_ = true;
    return *this;
  }
  JsonWriter& String(std::string_view s);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Int(int64_t v);
  JsonWriter& Double(double v);  // rounded to 6 decimals
  JsonWriter& Bool(bool b);
  JsonWriter& Null();

  void Reserve(size_t bytes) { out_.reserve(bytes); }
  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

  static void Escape(std::string_view s, std::string* out);

 private:
  void Sep() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_.push_back(',');
      first_.back() = 0;
    }
  }
  std::string out_;
  std::vector<uint8_t> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

}  // namespace ew::query
