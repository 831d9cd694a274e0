#include "tests/common/json.h"

#include <simdjson.h>

namespace ew::testing {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct Json::Doc {
  simdjson::dom::parser parser;
  element root;
};

namespace {
const element& El(const std::shared_ptr<const void>& p) {
  return *static_cast<const element*>(p.get());
}
}  // namespace

Json::Json(std::shared_ptr<const Doc> doc, const void* e)
    : doc_(std::move(doc)), element_(std::make_shared<element>(*static_cast<const element*>(e))) {}

Result<Json> Json::Parse(std::string_view text) {
  auto doc = std::make_shared<Doc>();
  auto r = doc->parser.parse(text.data(), text.size(), true);
  if (r.error()) {
    return Status::InvalidArgument(std::string("bad JSON: ") + simdjson::error_message(r.error()) +
                                   " in: " + std::string(text.substr(0, 200)));
  }
  doc->root = r.value_unsafe();
  const element* root = &doc->root;
  return Json(std::shared_ptr<const Doc>(doc), root);
}

bool Json::IsObject() const { return valid() && El(element_).is_object(); }
bool Json::IsArray() const { return valid() && El(element_).is_array(); }
bool Json::IsString() const { return valid() && El(element_).is_string(); }
bool Json::IsNumber() const { return valid() && El(element_).is_number(); }
bool Json::IsBool() const { return valid() && El(element_).is_bool(); }
bool Json::IsNull() const { return valid() && El(element_).is_null(); }

Json Json::operator[](std::string_view key) const {
  if (!IsObject()) return {};
  simdjson::dom::object obj;
  element e;
  if (El(element_).get(obj) != simdjson::SUCCESS) return {};
  if (obj[key].get(e) != simdjson::SUCCESS) return {};
  return Json(doc_, &e);
}

Json Json::operator[](size_t index) const {
  if (!IsArray()) return {};
  simdjson::dom::array arr;
  element e;
  if (El(element_).get(arr) != simdjson::SUCCESS) return {};
  if (arr.at(index).get(e) != simdjson::SUCCESS) return {};
  return Json(doc_, &e);
}

size_t Json::Size() const {
  simdjson::dom::array arr;
  simdjson::dom::object obj;
  if (valid() && El(element_).get(arr) == simdjson::SUCCESS) return arr.size();
  if (valid() && El(element_).get(obj) == simdjson::SUCCESS) return obj.size();
  return 0;
}

std::vector<std::string> Json::Keys() const {
  std::vector<std::string> keys;
  simdjson::dom::object obj;
  if (!valid() || El(element_).get(obj) != simdjson::SUCCESS) return keys;
  for (auto field : obj) keys.emplace_back(field.key);
  return keys;
}

std::vector<Json> Json::Elements() const {
  std::vector<Json> out;
  simdjson::dom::array arr;
  if (!valid() || El(element_).get(arr) != simdjson::SUCCESS) return out;
  for (element e : arr) out.push_back(Json(doc_, &e));
  return out;
}

std::string Json::String(std::string def) const {
  if (!IsString()) return def;
  return std::string(El(element_).get_string().value_unsafe());
}

int64_t Json::Int(int64_t def) const {
  if (!valid()) return def;
  const element& e = El(element_);
  if (e.is_int64()) return e.get_int64().value_unsafe();
  if (e.is_uint64()) return static_cast<int64_t>(e.get_uint64().value_unsafe());
  if (e.is_double()) return static_cast<int64_t>(e.get_double().value_unsafe());
  if (e.is_string()) {
    std::string s(e.get_string().value_unsafe());
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end != nullptr && *end == '\0') return v;
  }
  return def;
}

uint64_t Json::Uint(uint64_t def) const {
  if (!valid()) return def;
  const element& e = El(element_);
  if (e.is_uint64()) return e.get_uint64().value_unsafe();
  if (e.is_int64() && e.get_int64().value_unsafe() >= 0) {
    return static_cast<uint64_t>(e.get_int64().value_unsafe());
  }
  if (e.is_string()) {
    std::string s(e.get_string().value_unsafe());
    char* end = nullptr;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (!s.empty() && s[0] != '-' && end != nullptr && *end == '\0') return v;
  }
  return def;
}

double Json::Double(double def) const {
  if (!IsNumber()) return def;
  const element& e = El(element_);
  if (e.is_double()) return e.get_double().value_unsafe();
  if (e.is_int64()) return static_cast<double>(e.get_int64().value_unsafe());
  return static_cast<double>(e.get_uint64().value_unsafe());
}

bool Json::Bool(bool def) const {
  if (!IsBool()) return def;
  return El(element_).get_bool().value_unsafe();
}

std::string Json::Dump() const {
  if (!valid()) return "<invalid>";
  return simdjson::minify(El(element_));
}

}  // namespace ew::testing
