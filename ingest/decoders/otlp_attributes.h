// OTLP attribute mapping shared by the protobuf and JSON decoders: which attribute keys fill
// which SpanView field, and the "first present wins as listed" precedence between the stable
// and the old semantic conventions (http.request.method before http.method, ...).
//
// Both decoders feed every (key, value) pair of a resource and then of a span through one
// AttributeMapper, so they fill SpanView identically for the same data. Span attributes are
// applied after resource ones with the precedence reset, so a span attribute always overrides a
// resource attribute of the same field.
//
// Thread-safety: AttributeMapper is per-decoder scratch state; use one per thread. The lookup
// table is immutable.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "ingest/decoders/span_view.h"

namespace ew::ingest::internal {

// One known attribute key: the SpanView field it fills and its precedence (0 wins over 1).
struct AttributeSpec {
  std::string_view key;
  uint8_t slot;  // index into the precedence array: one per SpanView field
  uint8_t rank;  // lower wins when several keys fill one field
  bool is_int;   // the field is an int64 (string values that are decimal integers count too)
  std::string_view SpanView::*str_field;  // when !is_int
  int64_t SpanView::*int_field;           // when is_int
};

// The spec for `key`, or nullptr when the map does not use that attribute.
const AttributeSpec* FindAttribute(std::string_view key);

// Parses an optionally signed decimal integer that fills the whole string.
bool ParseDecimalInt64(std::string_view text, int64_t* out);

inline constexpr size_t kAttributeSlots = 24;

class AttributeMapper {
 public:
  // Call before the attributes of a resource, and again before those of each span.
  void ResetPrecedence() { ranks_.fill(0xff); }

  void SetString(const AttributeSpec& spec, std::string_view value, SpanView& view) {
    if (spec.is_int) {
      int64_t parsed;
      if (ParseDecimalInt64(value, &parsed)) SetInt(spec, parsed, view);
      return;
    }
    if (!Claim(spec)) return;
    view.*spec.str_field = value;
  }
  void SetInt(const AttributeSpec& spec, int64_t value, SpanView& view) {
    if (!spec.is_int || !Claim(spec)) return;
    view.*spec.int_field = value;
  }

 private:
  bool Claim(const AttributeSpec& spec) {
    if (spec.rank > ranks_[spec.slot]) return false;
    ranks_[spec.slot] = spec.rank;
    return true;
  }
  std::array<uint8_t, kAttributeSlots> ranks_{};
};

}  // namespace ew::ingest::internal
