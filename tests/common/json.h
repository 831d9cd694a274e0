// Json: a read-only JSON document for test assertions (simdjson DOM underneath). Lookups never
// throw: a missing key or wrong type gives an invalid Json whose accessors return defaults, so
// tests read `EXPECT_EQ(doc["nodes"][0]["name"].String(), "frontend")` and a missing path fails
// the comparison instead of crashing.
//
// Thread-safety: a parsed document is immutable; copies share it and may be read concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace simdjson::dom {
class parser;
}

namespace ew::testing {

class Json {
 public:
  Json() = default;  // invalid
  static Result<Json> Parse(std::string_view text);

  bool valid() const { return doc_ != nullptr; }
  bool IsObject() const;
  bool IsArray() const;
  bool IsString() const;
  bool IsNumber() const;
  bool IsBool() const;
  bool IsNull() const;

  // Object member (invalid when absent or not an object).
  Json operator[](std::string_view key) const;
  Json operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  // Array element (invalid when out of range or not an array).
  Json operator[](size_t index) const;
  Json operator[](int index) const { return (*this)[static_cast<size_t>(index)]; }
  bool Has(std::string_view key) const { return (*this)[key].valid(); }
  // Elements of an array / members of an object; 0 otherwise.
  size_t Size() const;
  std::vector<std::string> Keys() const;
  std::vector<Json> Elements() const;

  std::string String(std::string def = "") const;
  int64_t Int(int64_t def = 0) const;  // also accepts an integral string ("123")
  uint64_t Uint(uint64_t def = 0) const;
  double Double(double def = 0) const;  // any number
  bool Bool(bool def = false) const;
  // Minified JSON text of this value ("<invalid>" when invalid).
  std::string Dump() const;

 private:
  struct Doc;
  Json(std::shared_ptr<const Doc> doc, const void* element);
  std::shared_ptr<const Doc> doc_;
  std::shared_ptr<const void> element_;  // simdjson::dom::element
};

}  // namespace ew::testing
