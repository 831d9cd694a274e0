// FastDecoder: the first of DecodeOtlpProtobuf's two walkers (otlp_proto.cc explains the pair).
// It accepts a subset of what PreciseDecoder accepts and delivers exactly PreciseDecoder's first
// spans; on anything else it gives up and the precise walk takes over.
#include <bit>
#include <cstring>
#include <initializer_list>
#include <string>

#include "ingest/decoders/otlp_attributes.h"
#include "ingest/decoders/otlp_proto_walkers.h"
#include "ingest/decoders/span_view.h"

namespace ew::ingest {
namespace {

using internal::AttributeMapper;
using internal::AttributeSpec;
using namespace internal::proto_wire;  // NOLINT: the wire types

// ---------------------------------------------------------------------------------------------
// The fast path. Every function returns false where PreciseDecoder would fail (or where this
// walker declines: groups); the caller then stops at once. A field is read in the same order and
// with the same checks as in PreciseDecoder, so a span is delivered only when PreciseDecoder
// would deliver it too, with the same view.

#if defined(__GNUC__)
#define EW_FAST_INLINE inline __attribute__((always_inline))
#define EW_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define EW_FAST_INLINE inline
#define EW_LIKELY(x) (x)
#endif

static_assert(std::endian::native == std::endian::little ||
              std::endian::native == std::endian::big);

using Ptr = const uint8_t*;

// A varint as WireReader::ReadVarint accepts it: at most 10 bytes, the 10th at most 1.
bool VarintSlow(Ptr& p, Ptr end, uint64_t* out) {
  uint64_t value = 0;
  for (int i = 0; i < 10; ++i) {
    if (p == end) return false;
    const uint8_t b = *p++;
    if (i == 9 && b > 1) return false;
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *out = value;
      return true;
    }
  }
  return false;
}

EW_FAST_INLINE bool Varint(Ptr& p, Ptr end, uint64_t* out) {
  if (EW_LIKELY(p != end && *p < 0x80)) {
    *out = *p++;
    return true;
  }
  if (end - p >= 2 && p[1] < 0x80) {
    *out = static_cast<uint64_t>(p[0] & 0x7f) | static_cast<uint64_t>(p[1]) << 7;
    p += 2;
    return true;
  }
  return VarintSlow(p, end, out);
}

// A tag: a varint of at most 32 bits (any encoding length). Field number 0 is left to the
// callers' default case (every tag below 8 is one).
EW_FAST_INLINE bool Tag(Ptr& p, Ptr end, uint32_t* tag) {
  if (EW_LIKELY(*p < 0x80)) {  // callers check p != end
    *tag = *p++;
    return true;
  }
  uint64_t t;
  if (!Varint(p, end, &t) || t > 0xffffffffu) return false;
  *tag = static_cast<uint32_t>(t);
  return true;
}

// A LEN payload: [*begin, *begin + *size) within [p, end).
EW_FAST_INLINE bool Len(Ptr& p, Ptr end, Ptr* begin, size_t* size) {
  uint64_t len;
  if (!Varint(p, end, &len)) return false;
  if (len > static_cast<uint64_t>(end - p)) return false;
  *begin = p;
  *size = static_cast<size_t>(len);
  p += len;
  return true;
}

EW_FAST_INLINE bool Fixed64(Ptr& p, Ptr end, uint64_t* out) {
  if (end - p < 8) return false;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, p, 8);
  } else {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    *out = v;
  }
  p += 8;
  return true;
}

std::string_view View(Ptr begin, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(begin), size);
}

// Skips the value of a field whose tag is not one the caller handles. `known` has a bit for
// each field number (< 32) the caller reads: such a field with another wire type is an error
// in PreciseDecoder. Groups are declined (PreciseDecoder skips them with a depth bound).
bool SkipOther(Ptr& p, Ptr end, uint32_t tag, uint32_t known) {
  const uint32_t number = tag >> 3;
  if (number == 0) return false;
  if (number < 32 && ((known >> number) & 1) != 0) return false;
  switch (tag & 7) {
    case kVarint: {
      uint64_t ignored;
      return Varint(p, end, &ignored);
    }
    case kI64:
      if (end - p < 8) return false;
      p += 8;
      return true;
    case kLen: {
      Ptr begin;
      size_t size;
      return Len(p, end, &begin, &size);
    }
    case kI32:
      if (end - p < 4) return false;
      p += 4;
      return true;
    default:  // start-group (declined), end-group and wire types 6 and 7 (errors)
      return false;
  }
}

constexpr uint32_t Bits(std::initializer_list<uint32_t> numbers) {
  uint32_t bits = 0;
  for (uint32_t n : numbers) bits |= 1u << n;
  return bits;
}

constexpr uint32_t TagOf(uint32_t number, WireType wire) { return number << 3 | wire; }

class FastDecoder {
 public:
  enum Outcome { kDone, kSinkFailed, kGaveUp };

  FastDecoder(std::string_view body, SpanSink& sink)
      : p_(reinterpret_cast<Ptr>(body.data())), end_(p_ + body.size()), sink_(sink) {}

  Outcome Run() {
    Ptr p = p_;
    while (p != end_) {
      uint32_t tag;
      if (!Tag(p, end_, &tag)) return kGaveUp;
      if (tag == TagOf(1, kLen)) {
        Ptr begin;
        size_t size;
        if (!Len(p, end_, &begin, &size)) return kGaveUp;
        if (!ResourceSpans(begin, begin + size)) return sink_failed_ ? kSinkFailed : kGaveUp;
      } else if (!SkipOther(p, end_, tag, Bits({1}))) {
        return kGaveUp;
      }
    }
    return kDone;
  }

  size_t delivered() const { return delivered_; }
  Status TakeSinkStatus() { return std::move(sink_status_); }

 private:
  bool ResourceSpans(Ptr p, Ptr end) {
    base_ = SpanView{};
    // First pass: the resource (it may follow the scope spans in the bytes).
    for (Ptr q = p; q != end;) {
      uint32_t tag;
      if (!Tag(q, end, &tag)) return false;
      if (tag == TagOf(1, kLen)) {
        Ptr begin;
        size_t size;
        if (!Len(q, end, &begin, &size) || !Resource(begin, begin + size)) return false;
      } else if (!SkipOther(q, end, tag, Bits({1}))) {
        return false;
      }
    }
    // Second pass: scope_spans (2) and the older instrumentation_library_spans (1000).
    while (p != end) {
      uint32_t tag;
      if (!Tag(p, end, &tag)) return false;
      if (tag == TagOf(2, kLen) || tag == TagOf(1000, kLen)) {
        Ptr begin;
        size_t size;
        if (!Len(p, end, &begin, &size) || !ScopeSpans(begin, begin + size)) return false;
      } else if ((tag >> 3) == 1000 || !SkipOther(p, end, tag, Bits({2}))) {
        return false;
      }
    }
    return true;
  }

  bool Resource(Ptr p, Ptr end) {
    mapper_.ResetPrecedence();
    while (p != end) {
      uint32_t tag;
      if (!Tag(p, end, &tag)) return false;
      if (tag == TagOf(1, kLen)) {
        Ptr begin;
        size_t size;
        if (!Len(p, end, &begin, &size) || !KeyValue(begin, begin + size, base_)) return false;
      } else if (!SkipOther(p, end, tag, Bits({1}))) {
        return false;
      }
    }
    return true;
  }

  bool ScopeSpans(Ptr p, Ptr end) {
    while (p != end) {
      uint32_t tag;
      if (!Tag(p, end, &tag)) return false;
      if (tag == TagOf(2, kLen)) {
        Ptr begin;
        size_t size;
        if (!Len(p, end, &begin, &size) || !Span(begin, begin + size)) return false;
      } else if (!SkipOther(p, end, tag, Bits({2}))) {
        return false;
      }
    }
    return true;
  }

  // Span.Link: as PreciseDecoder::Link (ids of the right size; kept when both are present).
  bool Link(Ptr p, Ptr end, SpanView& view) {
    SpanLink link;
    bool has_trace = false;
    bool has_span = false;
    while (p != end) {
      uint32_t tag;
      if (!Tag(p, end, &tag)) return false;
      Ptr begin;
      size_t size;
      if (tag == TagOf(1, kLen)) {
        if (!Len(p, end, &begin, &size) || size != 16) return false;
        std::memcpy(link.trace_id.data(), begin, 16);
        has_trace = true;
      } else if (tag == TagOf(2, kLen)) {
        if (!Len(p, end, &begin, &size) || size != 8) return false;
        std::memcpy(link.span_id.data(), begin, 8);
        has_span = true;
      } else if (!SkipOther(p, end, tag, Bits({1, 2}))) {
        return false;
      }
    }
    if (has_trace && has_span && view.link_count < kMaxSpanLinks) {
      links_[view.link_count++] = link;
    }
    return true;
  }

  bool Span(Ptr p, Ptr end) {
    SpanView view = base_;
    view.links = links_;
    mapper_.ResetPrecedence();
    bool has_trace = false;
    bool has_span = false;
    while (p != end) {
      uint32_t tag;
      if (!Tag(p, end, &tag)) return false;
      Ptr begin;
      size_t size;
      switch (tag) {
        case TagOf(1, kLen):
          if (!Len(p, end, &begin, &size) || size != 16) return false;
          std::memcpy(view.trace_id.data(), begin, 16);
          has_trace = true;
          break;
        case TagOf(2, kLen):
          if (!Len(p, end, &begin, &size) || size != 8) return false;
          std::memcpy(view.span_id.data(), begin, 8);
          has_span = true;
          break;
        case TagOf(3, kLen):
          if (!Len(p, end, &begin, &size)) return false;
          view.trace_state = View(begin, size);
          break;
        case TagOf(4, kLen):
          if (!Len(p, end, &begin, &size)) return false;
          if (size == 8) {
            std::memcpy(view.parent_span_id.data(), begin, 8);
          } else if (size == 0) {
            view.parent_span_id = {};
          } else {
            return false;
          }
          break;
        case TagOf(6, kVarint): {
          uint64_t kind;
          if (!Varint(p, end, &kind)) return false;
          view.kind = kind <= 5 ? static_cast<SpanKind>(kind) : SpanKind::kUnspecified;
          break;
        }
        case TagOf(7, kI64):
          if (!Fixed64(p, end, &view.start_ns)) return false;
          break;
        case TagOf(8, kI64):
          if (!Fixed64(p, end, &view.end_ns)) return false;
          break;
        case TagOf(9, kLen):
          if (!Len(p, end, &begin, &size) || !KeyValue(begin, begin + size, view)) return false;
          break;
        case TagOf(13, kLen):
          if (!Len(p, end, &begin, &size) || !Link(begin, begin + size, view)) return false;
          break;
        case TagOf(15, kLen):
          if (!Len(p, end, &begin, &size) || !StatusMessage(begin, begin + size, view)) {
            return false;
          }
          break;
        default:  // name (5), flags (16), events, ...
          if (!SkipOther(p, end, tag, Bits({1, 2, 3, 4, 6, 7, 8, 9, 13, 15}))) return false;
          break;
      }
    }
    if (!has_trace || !has_span) return false;
    uint64_t parent;
    std::memcpy(&parent, view.parent_span_id.data(), 8);
    view.has_parent = parent != 0;
    Status s = sink_.OnSpan(view);
    if (!s.ok()) {
      sink_status_ = std::move(s);
      sink_failed_ = true;
      return false;
    }
    ++delivered_;
    return true;
  }

  bool StatusMessage(Ptr p, Ptr end, SpanView& view) {
    while (p != end) {
      uint32_t tag;
      if (!Tag(p, end, &tag)) return false;
      if (tag == TagOf(3, kVarint)) {
        uint64_t code;
        if (!Varint(p, end, &code)) return false;
        view.status = code <= 2 ? static_cast<SpanStatus>(code) : SpanStatus::kUnset;
      } else if (!SkipOther(p, end, tag, Bits({3}))) {
        return false;
      }
    }
    return true;
  }

  // KeyValue { key = 1; value = 2 }: as in PreciseDecoder, the value is read only for a key the
  // map uses.
  bool KeyValue(Ptr p, Ptr end, SpanView& view) {
    Ptr key = nullptr;
    size_t key_size = 0;
    Ptr value = nullptr;
    size_t value_size = 0;
    bool has_value = false;
    // The usual layout, key then value with 1-byte lengths and nothing else, read directly.
    const size_t size = static_cast<size_t>(end - p);
    if (size >= 4 && p[0] == TagOf(1, kLen) && p[1] < 0x80 && p[1] + 4u <= size &&
        p[2 + p[1]] == TagOf(2, kLen) && p[3 + p[1]] < 0x80 && p[3 + p[1]] == size - 4 - p[1]) {
      key = p + 2;
      key_size = p[1];
      value = key + key_size + 2;
      value_size = size - 4 - key_size;
      p = end;
      has_value = true;
    }
    while (p != end) {
      uint32_t tag;
      if (!Tag(p, end, &tag)) return false;
      if (tag == TagOf(1, kLen)) {
        if (!Len(p, end, &key, &key_size)) return false;
      } else if (tag == TagOf(2, kLen)) {
        if (!Len(p, end, &value, &value_size)) return false;
        has_value = true;
      } else if (!SkipOther(p, end, tag, Bits({1, 2}))) {
        return false;
      }
    }
    if (!has_value) return true;
    const AttributeSpec* spec = internal::FindAttribute(View(key, key_size));
    if (spec == nullptr) return true;
    return AnyValue(value, value + value_size, *spec, view);
  }

  // AnyValue: a oneof; the last value field present wins.
  bool AnyValue(Ptr p, Ptr end, const AttributeSpec& spec, SpanView& view) {
    enum { kNone, kString, kInt } which = kNone;
    Ptr str = nullptr;
    size_t str_size = 0;
    uint64_t num = 0;
    // The usual layouts, one string_value or one int_value, read directly.
    const size_t size = static_cast<size_t>(end - p);
    if (size >= 2 && p[0] == TagOf(1, kLen) && p[1] < 0x80 && p[1] == size - 2) {
      mapper_.SetString(spec, View(p + 2, size - 2), view);
      return true;
    }
    while (p != end) {
      uint32_t tag;
      if (!Tag(p, end, &tag)) return false;
      if (tag == TagOf(1, kLen)) {
        if (!Len(p, end, &str, &str_size)) return false;
        which = kString;
      } else if (tag == TagOf(3, kVarint)) {
        if (!Varint(p, end, &num)) return false;
        which = kInt;
      } else {
        if (!SkipOther(p, end, tag, Bits({1, 3}))) return false;
        const uint32_t number = tag >> 3;
        if (number >= 2 && number <= 7) which = kNone;  // bool, double, array, kvlist, bytes
      }
    }
    if (which == kString) mapper_.SetString(spec, View(str, str_size), view);
    if (which == kInt) mapper_.SetInt(spec, static_cast<int64_t>(num), view);
    return true;
  }

  Ptr p_;
  Ptr end_;
  SpanSink& sink_;
  size_t delivered_ = 0;
  bool sink_failed_ = false;
  Status sink_status_;
  SpanView base_;
  AttributeMapper mapper_;
  SpanLink links_[kMaxSpanLinks];
};

}  // namespace

namespace internal {

bool DecodeOtlpProtobufFastOnly(std::string_view body, SpanSink& sink, Status* sink_status,
                                size_t* delivered) {
  FastDecoder decoder(body, sink);
  const FastDecoder::Outcome outcome = decoder.Run();
  *delivered = decoder.delivered();
  *sink_status = outcome == FastDecoder::kSinkFailed ? decoder.TakeSinkStatus() : Status::Ok();
  return outcome != FastDecoder::kGaveUp;
}

}  // namespace internal
}  // namespace ew::ingest
