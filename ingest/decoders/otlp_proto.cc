// DecodeOtlpProtobuf: a zero-copy walker over the protobuf wire format of an
// opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest, written from the public
// field numbers (no libprotobuf). It pulls out only what SpanView needs; every other field, of
// any wire type, is skipped. Strings in the view point into the body. Nothing is allocated per
// span: the view is a stack value reused for every span; only an error message allocates.
//
// Two walkers share that contract (this file: PreciseDecoder and the entry point;
// otlp_proto_fast.cc: FastDecoder). FastDecoder runs first: it dispatches on the raw tag byte,
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

#include "ingest/decoders/otlp_attributes.h"
#include "ingest/decoders/otlp_proto_walkers.h"
#include "ingest/decoders/span_view.h"

namespace ew::ingest {
namespace {

using internal::AttributeMapper;
using internal::AttributeSpec;

using namespace internal::proto_wire;  // NOLINT: the wire types

constexpr int kMaxGroupDepth = 32;

// Where the walker is, for error messages: "resource_spans[2].scope_spans[0].spans[5]".
struct Where {
  int rs = -1;
  bool resource = false;
  int ss = -1;
  int span = -1;
  int attr = -1;
  int link = -1;
  const char* field = nullptr;  // e.g. "trace_id"
};

Status Error(const Where& where, const char* what, size_t offset) {
  std::string msg;
  if (where.rs >= 0) msg += "resource_spans[" + std::to_string(where.rs) + "]";
  if (where.resource) msg += ".resource";
  if (where.ss >= 0) msg += ".scope_spans[" + std::to_string(where.ss) + "]";
  if (where.span >= 0) msg += ".spans[" + std::to_string(where.span) + "]";
  if (where.link >= 0) msg += ".links[" + std::to_string(where.link) + "]";
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
      where_ = Where{};  // what follows is read at the request level, not in this one
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

  // Span.Link { trace_id = 1; span_id = 2; ... }: kept (up to kMaxSpanLinks) when both ids are
  // present; an id of the wrong size is an error, as in the span.
  Status Link(std::string_view msg, SpanView& view) {
    WireReader reader(BodyStart(body_), msg);
    Field f;
    size_t err_at = 0;
    SpanLink link;
    bool has_trace = false;
    bool has_span = false;
    while (!reader.Done()) {
      if (const char* e = reader.Next(f, &err_at)) return Error(where_, e, err_at);
      if (f.number == 1) {
        has_trace = true;
        EW_RETURN_IF_ERROR(Id(f, "trace_id", 16, link.trace_id.data()));
      } else if (f.number == 2) {
        has_span = true;
        EW_RETURN_IF_ERROR(Id(f, "span_id", 8, link.span_id.data()));
      }
    }
    if (has_trace && has_span && view.link_count < kMaxSpanLinks) {
      links_[view.link_count++] = link;
    }
    return Status::Ok();
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
      case 13:
        where_.link = link_index_++;
        EW_RETURN_IF_ERROR(Expect(f, kLen, nullptr, "link is not length-delimited"));
        EW_RETURN_IF_ERROR(Link(f.bytes, view));
        where_.link = -1;
        return Status::Ok();
      case 15:
        EW_RETURN_IF_ERROR(Expect(f, kLen, "status", "not length-delimited"));
        return StatusMessage(f.bytes, view);
      default:
        return Status::Ok();  // name (5), flags (16), events, ...
    }
  }

  Status Span(std::string_view msg) {
    SpanView view = base_;
    view.links = links_;
    link_index_ = 0;
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
  int link_index_ = 0;
  SpanLink links_[kMaxSpanLinks];
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

Status DecodeOtlpProtobufPrecise(std::string_view body, SpanSink& sink) {
  PreciseDecoder decoder(body, sink);
  return decoder.Run();
}

}  // namespace internal

Status DecodeOtlpProtobuf(std::string_view body, SpanSink& sink) {
  Status sink_status;
  size_t delivered = 0;
  if (internal::DecodeOtlpProtobufFastOnly(body, sink, &sink_status, &delivered)) {
    return sink_status;  // done, or the sink's own error
  }
  SkippingSink rest(sink, delivered);
  PreciseDecoder precise(body, rest);
  return precise.Run();
}

}  // namespace ew::ingest
