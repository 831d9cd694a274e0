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
  void Sep();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

}  // namespace ew::query
