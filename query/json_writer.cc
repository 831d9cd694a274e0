#include "query/json_writer.h"

#include <charconv>
#include <cmath>

#include "base/json_escape.h"

namespace ew::query {

JsonWriter& JsonWriter::BeginObject() {
  Sep();
  out_.push_back('{');
  first_.push_back(1);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  if (!first_.empty()) first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Sep();
  out_.push_back('[');
  first_.push_back(1);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_.push_back(']');
  if (!first_.empty()) first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view k) {
  Sep();
  Escape(k, &out_);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  Sep();
  Escape(s, &out_);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t v) {
  Sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  Sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::Double(double v) {
  Sep();
  if (!std::isfinite(v)) v = 0;
  // Six decimals at most. Below 1e9 the value is printed in fixed notation straight from the
  // rounded integer of millionths (the common case: rates, milliseconds); larger values go
  // through to_chars.
  if (std::fabs(v) < 1e9) {
    auto n = static_cast<int64_t>(std::llround(v * 1e6));  // -0.0000001 -> 0: never "-0"
    char buf[32];
    char* p = buf;
    if (n < 0) {
      *p++ = '-';
      n = -n;
    }
    const auto whole = static_cast<uint64_t>(n / 1'000'000);
    auto frac = static_cast<uint32_t>(n % 1'000'000);
    p = std::to_chars(p, buf + sizeof buf, whole).ptr;
    if (frac != 0) {
      char digits[6];
      for (int i = 5; i >= 0; --i) {
        digits[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
      }
      int len = 6;
      while (digits[len - 1] == '0') --len;
      *p++ = '.';
      for (int i = 0; i < len; ++i) *p++ = digits[i];
    }
    out_.append(buf, p);
    return *this;
  }
  double r = std::round(v * 1e6) / 1e6;
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof buf, r);
  out_.append(buf, res.ptr);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool b) {
  Sep();
  out_.append(b ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Sep();
  out_.append("null");
  return *this;
}

void JsonWriter::Escape(std::string_view s, std::string* out) { AppendJsonString(s, out); }

}  // namespace ew::query
