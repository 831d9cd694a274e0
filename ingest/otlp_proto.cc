// DecodeOtlpProtobuf: a zero-copy walker over the protobuf wire format of an
// opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest, written from the public
// field numbers (no libprotobuf). It pulls out only what SpanView needs; every other field, of
// any wire type, is skipped. Strings in the view point into the body. Nothing is allocated per
// span: the view is a stack value reused for every span; only an error message allocates.
//
// Two walkers share that contract. FastDecoder runs first: it dispatches on the raw tag byte,
// returns plain bools and keeps no position bookkeeping. It accepts a subset of what
// PreciseDecoder accepts (never more), and the spans it passes to the sink are exactly the
// first spans PreciseDecoder would pass. When it meets anything it does not accept (any
// malformed input, and groups, which it leaves to PreciseDecoder), it stops and the body is
// walked again by PreciseDecoder, which skips the spans already delivered and then carries on:
// it produces the error message ("resource_spans[2].scope_spans[0].spans[5]: truncated varint
// at byte 812"), or, for a valid body FastDecoder declined, the remaining spans.
#include <bit>
#include <cstring>
#include <initializer_list>
#include <string>

#include "ingest/otlp_attributes.h"
#include "ingest/span_view.h"

namespace ew::ingest {
namespace {

using internal::AttributeMapper;
using internal::AttributeSpec;

enum WireType : uint32_t { kVarint = 0, kI64 = 1, kLen = 2, kSGroup = 3, kEGroup = 4, kI32 = 5 };

constexpr int kMaxGroupDepth = 32;

// Where the walker is, for error messages: "resource_spans[2].scope_spans[0].spans[5]".
struct Where {
  int rs = -1;
  bool resource = false;
  int ss = -1;
  int span = -1;
  int attr = -1;
  const char* field = nullptr;  // e.g. "trace_id"
};

Status Error(const Where& where, const char* what, size_t offset) {
  std::string msg;
  if (where.rs >= 0) msg += "resource_spans[" + std::to_string(where.rs) + "]";
  if (where.resource) msg += ".resource";
  if (where.ss >= 0) msg += ".scope_spans[" + std::to_string(where.ss) + "]";
  if (where.span >= 0) msg += ".spans[" + std::to_string(where.span) + "]";
  if (where.attr >= 0) msg += ".attributes[" + std::to_string(where.attr) + "]";
  if (where.field != nullptr) msg += std::string(msg.empty() ? "" : ".") + where.field;
  if (msg.empty()) msg = "request";
  msg += ": ";
  msg += what;
  msg += " at byte " + std::to_string(offset);
  return Status::InvalidArgument(std::move(msg));
}

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t value = 0;      // varint, fixed32 and fixed64 values
  std::string_view bytes;  // LEN payload
  size_t offset = 0;       // offset of the tag in the body
};

// Reads the fields of one message. Offsets are relative to the whole body, for messages.
class WireReader {
 public:
  WireReader(const uint8_t* body_start, std::string_view message)
      : start_(body_start),
        p_(reinterpret_cast<const uint8_t*>(message.data())),
        end_(p_ + message.size()) {}

  bool Done() const { return p_ == end_; }
  size_t Offset() const { return static_cast<size_t>(p_ - start_); }

  // Reads the next field. On malformed input returns a description and sets *error_offset.
  const char* Next(Field& f, size_t* error_offset) {
    f.offset = Offset();
    uint64_t tag;
    if (const char* e = ReadVarint(&tag, error_offset)) return e;
    if (tag > 0xffffffffu) return Fail("field tag out of range", f.offset, error_offset);
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire = static_cast<uint32_t>(tag & 7);
    if (f.number == 0) return Fail("field number 0", f.offset, error_offset);
    return ReadValue(f, error_offset);
  }

 private:
  const char* Fail(const char* what, size_t offset, size_t* error_offset) {
    *error_offset = offset;
    return what;
  }

  const char* ReadVarint(uint64_t* out, size_t* error_offset) {
    const size_t at = Offset();
    uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) return Fail("truncated varint", at, error_offset);
      uint8_t b = *p_++;
      if (i == 9 && b > 1) return Fail("varint longer than 64 bits", at, error_offset);
      value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        *out = value;
        return nullptr;
      }
    }
    return Fail("varint longer than 10 bytes", at, error_offset);
  }

  const char* ReadFixed(int width, uint64_t* out, size_t* error_offset) {
    if (end_ - p_ < width) return Fail("truncated fixed-width value", Offset(), error_offset);
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | p_[i];
    p_ += width;
    *out = v;
    return nullptr;
  }

  const char* ReadLen(std::string_view* out, size_t* error_offset) {
    const size_t at = Offset();
    uint64_t len;
    if (const char* e = ReadVarint(&len, error_offset)) return e;
    if (len > static_cast<uint64_t>(end_ - p_)) {
      return Fail("length past the end of the message", at, error_offset);
    }
    *out = std::string_view(reinterpret_cast<const char*>(p_), static_cast<size_t>(len));
    p_ += len;
    return nullptr;
  }

  const char* ReadValue(Field& f, size_t* error_offset) {
    switch (f.wire) {
      case kVarint:
        return ReadVarint(&f.value, error_offset);
      case kI64:
        return ReadFixed(8, &f.value, error_offset);
      case kLen:
        return ReadLen(&f.bytes, error_offset);
      case kI32:
        return ReadFixed(4, &f.value, error_offset);
      case kSGroup:
        return SkipGroup(f.number, error_offset);
      case kEGroup:
        return Fail("unexpected end-group", f.offset, error_offset);
      default:
        return Fail("invalid wire type", f.offset, error_offset);
    }
  }

  // Skips a (deprecated) group up to its matching end-group, with a bounded nesting depth.
  const char* SkipGroup(uint32_t number, size_t* error_offset) {
    uint32_t open[kMaxGroupDepth];
    int depth = 0;
    open[depth++] = number;
    while (depth > 0) {
      Field inner;
      inner.offset = Offset();
      uint64_t tag;
      if (const char* e = ReadVarint(&tag, error_offset)) return e;
      if (tag > 0xffffffffu) return Fail("field tag out of range", inner.offset, error_offset);
      inner.number = static_cast<uint32_t>(tag >> 3);
      inner.wire = static_cast<uint32_t>(tag & 7);
      if (inner.number == 0) return Fail("field number 0", inner.offset, error_offset);
      if (inner.wire == kEGroup) {
        if (open[depth - 1] != inner.number) {
          return Fail("mismatched end-group", inner.offset, error_offset);
        }
        --depth;
      } else if (inner.wire == kSGroup) {
        if (depth == kMaxGroupDepth)
          return Fail("groups nested too deep", inner.offset, error_offset);
        open[depth++] = inner.number;
      } else if (const char* e = ReadValue(inner, error_offset)) {
        return e;
      }
    }
    return nullptr;
  }

  const uint8_t* start_;
  const uint8_t* p_;
  const uint8_t* end_;
};

const uint8_t* BodyStart(std::string_view body) {
  return reinterpret_cast<const uint8_t*>(body.data());
}

class PreciseDecoder {
 public:
  PreciseDecoder(std::string_view body, SpanSink& sink) : body_(body), sink_(sink) {}

  Status Run() {
    WireReader reader(BodyStart(body_), body_);
    Field f;
    size_t err_at = 0;
    while (!reader.Done()) {
      if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
      if (f.number != 1) continue;
      if (f.wire != kLen) return Error(where_, "resource_spans is not length-delimited", f.offset);
      ++rs_count_;
      where_ = Where{};
      where_.rs = rs_count_ - 1;
      EW_RETURN_IF_ERROR(ResourceSpans(f.bytes));
    }
    return Status::Ok();
  }

 private:
  // Resource attributes may follow scope_spans in the bytes: read the resource first, then the
  // scope spans, in two passes over the message.
  Status ResourceSpans(std::string_view msg) {
    base_ = SpanView{};
    Field f;
    size_t err_at = 0;
    {
      WireReader reader(BodyStart(body_), msg);
      while (!reader.Done()) {
        if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
        if (f.number != 1) continue;
        where_.resource = true;
        if (f.wire != kLen) return Error(where_, "resource is not length-delimited", f.offset);
        EW_RETURN_IF_ERROR(Resource(f.bytes));
        where_.resource = false;
      }
    }
    WireReader reader(BodyStart(body_), msg);
    int ss = 0;
    while (!reader.Done()) {
      // Already validated by the first pass.
      if (reader.Next(f, &err_at) != nullptr) return Error(where_, "malformed", err_at);
      if (f.number != 2 && f.number != 1000) continue;  // 1000: instrumentation_library_spans
      where_.ss = ss++;
      if (f.wire != kLen) return Error(where_, "scope_spans is not length-delimited", f.offset);
      EW_RETURN_IF_ERROR(ScopeSpans(f.bytes));
      where_.span = -1;
    }
    where_.ss = -1;
    return Status::Ok();
  }

  Status Resource(std::string_view msg) {
    mapper_.ResetPrecedence();
    WireReader reader(BodyStart(body_), msg);
    Field f;
    size_t err_at = 0;
    int attr = 0;
    while (!reader.Done()) {
      if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
      if (f.number != 1) continue;
      where_.attr = attr++;
      if (f.wire != kLen) return Error(where_, "attribute is not length-delimited", f.offset);
      EW_RETURN_IF_ERROR(KeyValue(f.bytes, base_));
    }
    where_.attr = -1;
    return Status::Ok();
  }

  Status ScopeSpans(std::string_view msg) {
    WireReader reader(BodyStart(body_), msg);
    Field f;
    size_t err_at = 0;
    int span = 0;
    while (!reader.Done()) {
      if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
      if (f.number != 2) continue;  // 1: scope (not needed), 3: schema_url
      where_.span = span++;
      if (f.wire != kLen) return Error(where_, "span is not length-delimited", f.offset);
      EW_RETURN_IF_ERROR(Span(f.bytes));
    }
    return Status::Ok();
  }

  Status Id(const Field& f, const char* name, size_t want, uint8_t* out) {
    where_.field = name;
    if (f.wire != kLen) return Error(where_, "not length-delimited", f.offset);
    if (f.bytes.size() != want) {
      return Error(where_, want == 16 ? "must be 16 bytes" : "must be 8 bytes", f.offset);
    }
    std::memcpy(out, f.bytes.data(), want);
    where_.field = nullptr;
    return Status::Ok();
  }

  Status Expect(const Field& f, uint32_t wire, const char* name, const char* what) {
    if (f.wire == wire) return Status::Ok();
    where_.field = name;
    return Error(where_, what, f.offset);
  }

  Status SpanField(const Field& f, SpanView& view, bool* has_trace, bool* has_span, int* attr) {
    switch (f.number) {
      case 1:
        *has_trace = true;
        return Id(f, "trace_id", 16, view.trace_id.data());
      case 2:
        *has_span = true;
        return Id(f, "span_id", 8, view.span_id.data());
      case 3:
        EW_RETURN_IF_ERROR(Expect(f, kLen, "trace_state", "not length-delimited"));
        view.trace_state = f.bytes;
        return Status::Ok();
      case 4:
        if (f.wire == kLen && f.bytes.empty()) {
          view.parent_span_id = {};
          return Status::Ok();
        }
        return Id(f, "parent_span_id", 8, view.parent_span_id.data());
      case 6:
        EW_RETURN_IF_ERROR(Expect(f, kVarint, "kind", "not a varint"));
        view.kind = f.value <= 5 ? static_cast<SpanKind>(f.value) : SpanKind::kUnspecified;
        return Status::Ok();
      case 7:
        EW_RETURN_IF_ERROR(Expect(f, kI64, "start_time_unix_nano", "not fixed64"));
        view.start_ns = f.value;
        return Status::Ok();
      case 8:
        EW_RETURN_IF_ERROR(Expect(f, kI64, "end_time_unix_nano", "not fixed64"));
        view.end_ns = f.value;
        return Status::Ok();
      case 9:
        where_.attr = (*attr)++;
        EW_RETURN_IF_ERROR(Expect(f, kLen, nullptr, "attribute is not length-delimited"));
        EW_RETURN_IF_ERROR(KeyValue(f.bytes, view));
        where_.attr = -1;
        return Status::Ok();
      case 15:
        EW_RETURN_IF_ERROR(Expect(f, kLen, "status", "not length-delimited"));
        return StatusMessage(f.bytes, view);
      default:
        return Status::Ok();  // name (5), flags (16), events, links, ...
    }
  }

  Status Span(std::string_view msg) {
    SpanView view = base_;
    mapper_.ResetPrecedence();
    WireReader reader(BodyStart(body_), msg);
    Field f;
    size_t err_at = 0;
    bool has_trace = false;
    bool has_span = false;
    int attr = 0;
    while (!reader.Done()) {
      if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
      EW_RETURN_IF_ERROR(SpanField(f, view, &has_trace, &has_span, &attr));
    }
    if (!has_trace) return Error(where_, "missing trace_id", reader.Offset());
    if (!has_span) return Error(where_, "missing span_id", reader.Offset());
    view.has_parent = false;
    for (uint8_t b : view.parent_span_id) view.has_parent |= b != 0;
    return sink_.OnSpan(view);
  }

  Status StatusMessage(std::string_view msg, SpanView& view) {
    where_.field = "status";
    WireReader reader(BodyStart(body_), msg);
    Field f;
    size_t err_at = 0;
    while (!reader.Done()) {
      if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
      if (f.number != 3) continue;  // 2: message
      if (f.wire != kVarint) return Error(where_, "code is not a varint", f.offset);
      view.status = f.value <= 2 ? static_cast<SpanStatus>(f.value) : SpanStatus::kUnset;
    }
    where_.field = nullptr;
    return Status::Ok();
  }

  // KeyValue { key = 1; value = 2 (AnyValue) }. Unused keys are skipped without reading values.
  Status KeyValue(std::string_view msg, SpanView& view) {
    WireReader reader(BodyStart(body_), msg);
    Field f;
    size_t err_at = 0;
    std::string_view key;
    std::string_view value;
    bool has_value = false;
    while (!reader.Done()) {
      if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
      if (f.number != 1 && f.number != 2) continue;
      if (f.wire != kLen) return Error(where_, "key/value is not length-delimited", f.offset);
      if (f.number == 1) {
        key = f.bytes;
      } else {
        value = f.bytes;
        has_value = true;
      }
    }
    const AttributeSpec* spec = internal::FindAttribute(key);
    if (spec == nullptr || !has_value) return Status::Ok();
    return AnyValue(value, *spec, view);
  }

  // AnyValue: a oneof; the last value field present wins, as in protobuf.
  Status AnyValue(std::string_view msg, const AttributeSpec& spec, SpanView& view) {
    WireReader reader(BodyStart(body_), msg);
    Field f;
    size_t err_at = 0;
    enum { kNone, kString, kInt } which = kNone;
    std::string_view str;
    int64_t num = 0;
    while (!reader.Done()) {
      if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
      if (f.number == 1) {
        if (f.wire != kLen) return Error(where_, "string_value is not length-delimited", f.offset);
        which = kString;
        str = f.bytes;
      } else if (f.number == 3) {
        if (f.wire != kVarint) return Error(where_, "int_value is not a varint", f.offset);
        which = kInt;
        num = static_cast<int64_t>(f.value);
      } else if (f.number >= 2 && f.number <= 7) {
        which = kNone;  // bool, double, array, kvlist, bytes: not used by the map
      }
    }
    if (which == kString) mapper_.SetString(spec, str, view);
    if (which == kInt) mapper_.SetInt(spec, num, view);
    return Status::Ok();
  }

  std::string_view body_;
  SpanSink& sink_;
  Where where_;
  int rs_count_ = 0;
  SpanView base_;
  AttributeMapper mapper_;
};

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

  bool Span(Ptr p, Ptr end) {
    SpanView view = base_;
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
        case TagOf(15, kLen):
          if (!Len(p, end, &begin, &size) || !StatusMessage(begin, begin + size, view)) {
            return false;
          }
          break;
        default:  // name (5), flags (16), events, links, ...
          if (!SkipOther(p, end, tag, Bits({1, 2, 3, 4, 6, 7, 8, 9, 15}))) return false;
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
};

// For the precise walk after FastDecoder gave up: drops the spans FastDecoder delivered already
// (PreciseDecoder delivers the same ones first) and passes on the rest.
class SkippingSink : public SpanSink {
 public:
  SkippingSink(SpanSink& sink, size_t skip) : sink_(sink), skip_(skip) {}
  Status OnSpan(const SpanView& span) override {
    if (skip_ > 0) {
      --skip_;
      return Status::Ok();
    }
    return sink_.OnSpan(span);
  }

 private:
  SpanSink& sink_;
  size_t skip_;
};

}  // namespace

namespace internal {

// For tests (declared there): each walker on its own. The fast one returns false when it gave
// up; *delivered spans went to the sink, and *sink_status is the sink's error, if any.
Status DecodeOtlpProtobufPrecise(std::string_view body, SpanSink& sink) {
  PreciseDecoder decoder(body, sink);
  return decoder.Run();
}

bool DecodeOtlpProtobufFastOnly(std::string_view body, SpanSink& sink, Status* sink_status,
                                size_t* delivered) {
  FastDecoder decoder(body, sink);
  const FastDecoder::Outcome outcome = decoder.Run();
  *delivered = decoder.delivered();
  *sink_status = outcome == FastDecoder::kSinkFailed ? decoder.TakeSinkStatus() : Status::Ok();
  return outcome != FastDecoder::kGaveUp;
}

}  // namespace internal

Status DecodeOtlpProtobuf(std::string_view body, SpanSink& sink) {
  FastDecoder fast(body, sink);
  switch (fast.Run()) {
    case FastDecoder::kDone:
      return Status::Ok();
    case FastDecoder::kSinkFailed:
      return fast.TakeSinkStatus();
    case FastDecoder::kGaveUp:
      break;
  }
  SkippingSink rest(sink, fast.delivered());
  PreciseDecoder precise(body, rest);
  return precise.Run();
}

}  // namespace ew::ingest
