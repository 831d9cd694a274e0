// DecodeOtlpJson: OTLP/JSON (the protobuf JSON mapping with hex trace and span ids, enums as
// integers or names, int64 as strings or numbers) read with simdjson On-Demand. Unknown fields
// are skipped without being materialized. Object keys may come in any order; the resource of a
// ResourceSpans is read before its scope spans wherever it sits in the object. Strings in the
// view point into the body or into the parser's string buffer (escaped strings); both live until
// the decoder returns.
#include "ingest/decoders/otlp_json.h"

#include <simdjson.h>

#include <algorithm>
#include <memory>
#include <string>

#include "ingest/decoders/otlp_attributes.h"
#include "ingest/decoders/span_view.h"

namespace ew::ingest {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);

void PadJsonBody(std::string& body) {
  if (!IsJsonPadded(body)) body.reserve(body.size() + kJsonPadding);
}

std::string PaddedJsonCopy(std::string_view text) {
  std::string out;
  out.reserve(text.size() + kJsonPadding);
  out.append(text);
  return out;
}

namespace {

namespace od = simdjson::ondemand;
using internal::AttributeMapper;
using internal::AttributeSpec;

constexpr size_t kMaxJsonDepth = 64;
// Bodies above this are parsed with a parser of their own instead of the thread's cached one, so
// an I/O thread does not keep a huge index allocated after one big request.
constexpr size_t kCachedParserLimit = 8u << 20;

struct Where {
  int rs = -1;
  bool resource = false;
  int ss = -1;
  int span = -1;
  int attr = -1;
  int link = -1;
  const char* field = nullptr;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool DecodeHex(std::string_view hex, uint8_t* out, size_t bytes) {
  if (hex.size() != bytes * 2) return false;
  for (size_t i = 0; i < bytes; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

SpanKind KindFromName(std::string_view name) {
  if (name == "SPAN_KIND_INTERNAL") return SpanKind::kInternal;
  if (name == "SPAN_KIND_SERVER") return SpanKind::kServer;
  if (name == "SPAN_KIND_CLIENT") return SpanKind::kClient;
  if (name == "SPAN_KIND_PRODUCER") return SpanKind::kProducer;
  if (name == "SPAN_KIND_CONSUMER") return SpanKind::kConsumer;
  return SpanKind::kUnspecified;
}

SpanStatus StatusFromName(std::string_view name) {
  if (name == "STATUS_CODE_OK") return SpanStatus::kOk;
  if (name == "STATUS_CODE_ERROR") return SpanStatus::kError;
  return SpanStatus::kUnset;
}

class JsonDecoder {
 public:
  JsonDecoder(std::string_view body, od::document& doc, SpanSink& sink)
      : body_(body), doc_(doc), sink_(sink) {}

  Status Run() {
    od::object root;
    if (auto err = doc_.get_object().get(root)) return Fail("the body is not a JSON object", err);
    for (auto field_result : root) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      if (field.key() != "resourceSpans" && field.key() != "resource_spans") continue;
      if (IsNull(field.value())) continue;
      od::array array;
      if (auto err = field.value().get_array().get(array)) {
        return Fail("resourceSpans is not an array", err);
      }
      for (auto element : array) {
        where_ = Where{};
        where_.rs = rs_count_++;
        od::object object;
        if (auto err = element.get_object().get(object)) return Fail("not an object", err);
        EW_RETURN_IF_ERROR(ResourceSpans(object));
      }
      where_ = Where{};
    }
    const char* trailing = nullptr;
    if (doc_.current_location().get(trailing) == simdjson::SUCCESS) {
      return Fail("trailing content after the JSON object");
    }
    return Status::Ok();
  }

 private:
  size_t Offset() {
    const char* at = nullptr;
    if (doc_.current_location().get(at) != simdjson::SUCCESS || at == nullptr) return body_.size();
    if (at < body_.data() || at > body_.data() + body_.size()) return body_.size();
    return static_cast<size_t>(at - body_.data());
  }

  Status Fail(const char* what, simdjson::error_code err = simdjson::SUCCESS) {
    std::string msg;
    if (where_.rs >= 0) msg += "resourceSpans[" + std::to_string(where_.rs) + "]";
    if (where_.resource) msg += ".resource";
    if (where_.ss >= 0) msg += ".scopeSpans[" + std::to_string(where_.ss) + "]";
    if (where_.span >= 0) msg += ".spans[" + std::to_string(where_.span) + "]";
    if (where_.link >= 0) msg += ".links[" + std::to_string(where_.link) + "]";
    if (where_.attr >= 0) msg += ".attributes[" + std::to_string(where_.attr) + "]";
    if (where_.field != nullptr) msg += std::string(msg.empty() ? "" : ".") + where_.field;
    if (msg.empty()) msg = "request";
    msg += ": ";
    msg += what;
    if (err != simdjson::SUCCESS) {
      msg += " (";
      msg += simdjson::error_message(err);
      msg += ")";
    }
    msg += " at byte " + std::to_string(Offset());
    return Status::InvalidArgument(std::move(msg));
  }

  static bool IsNull(od::value& value) {
    od::json_type type;
    return value.type().get(type) == simdjson::SUCCESS && type == od::json_type::null;
  }

  Status ResourceSpans(od::object& object) {
    base_ = SpanView{};
    od::value resource;
    auto err = object.find_field_unordered("resource").get(resource);
    if (err == simdjson::SUCCESS) {
      where_.resource = true;
      EW_RETURN_IF_ERROR(Resource(resource));
      where_.resource = false;
    } else if (err != simdjson::NO_SUCH_FIELD) {
      return Fail("malformed object", err);
    }
    bool rewound;
    if (auto e = object.reset().get(rewound)) return Fail("malformed object", e);
    int ss = 0;
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return Fail("malformed object", e);
      auto key = field.key();
      if (key != "scopeSpans" && key != "scope_spans" && key != "instrumentationLibrarySpans") {
        continue;
      }
      if (IsNull(field.value())) continue;
      od::array array;
      if (auto e = field.value().get_array().get(array))
        return Fail("scopeSpans is not an array", e);
      for (auto element : array) {
        where_.ss = ss++;
        od::object scope_spans;
        if (auto e = element.get_object().get(scope_spans)) return Fail("not an object", e);
        EW_RETURN_IF_ERROR(ScopeSpans(scope_spans));
        where_.span = -1;
      }
    }
    where_.ss = -1;
    return Status::Ok();
  }

  Status Resource(od::value& value) {
    if (IsNull(value)) return Status::Ok();
    od::object object;
    if (auto err = value.get_object().get(object)) return Fail("not an object", err);
    mapper_.ResetPrecedence();
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      if (field.key() != "attributes") continue;
      EW_RETURN_IF_ERROR(Attributes(field.value(), base_));
    }
    return Status::Ok();
  }

  Status ScopeSpans(od::object& object) {
    int span = 0;
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      if (field.key() != "spans" || IsNull(field.value())) continue;
      od::array array;
      if (auto err = field.value().get_array().get(array))
        return Fail("spans is not an array", err);
      for (auto element : array) {
        where_.span = span++;
        od::object span_object;
        if (auto err = element.get_object().get(span_object)) return Fail("not an object", err);
        EW_RETURN_IF_ERROR(Span(span_object));
      }
    }
    return Status::Ok();
  }

  Status Id(od::value& value, const char* name, size_t bytes, uint8_t* out, bool allow_empty) {
    where_.field = name;
    std::string_view hex;
    if (auto err = value.get_string().get(hex)) return Fail("not a string", err);
    if (allow_empty && hex.empty()) {
      std::fill(out, out + bytes, 0);
    } else if (!DecodeHex(hex, out, bytes)) {
      return Fail(bytes == 16 ? "must be 32 hex digits" : "must be 16 hex digits");
    }
    where_.field = nullptr;
    return Status::Ok();
  }

  Status Time(od::value& value, const char* name, uint64_t* out) {
    where_.field = name;
    od::json_type type;
    if (auto err = value.type().get(type)) return Fail("malformed value", err);
    auto err = type == od::json_type::string ? value.get_uint64_in_string().get(*out)
                                             : value.get_uint64().get(*out);
    if (err) return Fail("not an unsigned 64-bit integer", err);
    where_.field = nullptr;
    return Status::Ok();
  }

  // An enum: an integer or the enum value's name.
  Status Enum(od::value& value, const char* name, int64_t* number, std::string_view* text) {
    where_.field = name;
    od::json_type type;
    if (auto err = value.type().get(type)) return Fail("malformed value", err);
    if (type == od::json_type::string) {
      if (auto err = value.get_string().get(*text)) return Fail("malformed string", err);
    } else if (auto err = value.get_int64().get(*number)) {
      return Fail("not an integer or enum name", err);
    }
    where_.field = nullptr;
    return Status::Ok();
  }

  Status Kind(od::value& value, SpanView& view) {
    int64_t number = -1;
    std::string_view name;
    EW_RETURN_IF_ERROR(Enum(value, "kind", &number, &name));
    if (!name.empty()) {
      view.kind = KindFromName(name);
    } else {
      view.kind =
          number >= 0 && number <= 5 ? static_cast<SpanKind>(number) : SpanKind::kUnspecified;
    }
    return Status::Ok();
  }

  Status SpanStatusObject(od::value& value, SpanView& view) {
    od::object object;
    where_.field = "status";
    if (auto err = value.get_object().get(object)) return Fail("not an object", err);
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      if (field.key() != "code" || IsNull(field.value())) continue;
      int64_t number = -1;
      std::string_view name;
      EW_RETURN_IF_ERROR(Enum(field.value(), "status.code", &number, &name));
      if (!name.empty()) {
        view.status = StatusFromName(name);
      } else {
        view.status =
            number >= 0 && number <= 2 ? static_cast<SpanStatus>(number) : SpanStatus::kUnset;
      }
    }
    where_.field = nullptr;
    return Status::Ok();
  }

  struct SpanSeen {
    bool trace = false;
    bool span = false;
  };

  Status SpanField(od::field& field, SpanView& view, SpanSeen& seen) {
    auto key = field.key();
    od::value& value = field.value();
    if (key == "traceId" || key == "trace_id") {
      seen.trace = true;
      return Id(value, "traceId", 16, view.trace_id.data(), false);
    }
    if (key == "spanId" || key == "span_id") {
      seen.span = true;
      return Id(value, "spanId", 8, view.span_id.data(), false);
    }
    if (key == "parentSpanId" || key == "parent_span_id") {
      return Id(value, "parentSpanId", 8, view.parent_span_id.data(), true);
    }
    if (key == "kind") return Kind(value, view);
    if (key == "startTimeUnixNano" || key == "start_time_unix_nano") {
      return Time(value, "startTimeUnixNano", &view.start_ns);
    }
    if (key == "endTimeUnixNano" || key == "end_time_unix_nano") {
      return Time(value, "endTimeUnixNano", &view.end_ns);
    }
    if (key == "attributes") return Attributes(value, view);
    if (key == "links") return Links(value, view);
    if (key == "status") return SpanStatusObject(value, view);
    if (key == "traceState" || key == "trace_state") {
      where_.field = "traceState";
      if (auto err = value.get_string().get(view.trace_state)) return Fail("not a string", err);
      where_.field = nullptr;
    }
    return Status::Ok();
  }

  // [{"traceId": "...", "spanId": "...", ...}, ...]: as the protobuf walkers, a link is kept (up to
  // kMaxSpanLinks) when both ids are present, and an id of the wrong form is an error.
  Status Links(od::value& value, SpanView& view) {
    od::array array;
    if (auto err = value.get_array().get(array)) return Fail("links is not an array", err);
    int index = 0;
    for (auto element : array) {
      where_.link = index++;
      od::object object;
      if (auto err = element.get_object().get(object)) return Fail("not an object", err);
      SpanLink link;
      bool has_trace = false;
      bool has_span = false;
      for (auto field_result : object) {
        od::field field;
        if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
        const auto key = field.key();
        if (IsNull(field.value())) continue;
        if (key == "traceId" || key == "trace_id") {
          has_trace = true;
          EW_RETURN_IF_ERROR(Id(field.value(), "traceId", 16, link.trace_id.data(), false));
        } else if (key == "spanId" || key == "span_id") {
          has_span = true;
          EW_RETURN_IF_ERROR(Id(field.value(), "spanId", 8, link.span_id.data(), false));
        }
      }
      if (has_trace && has_span && view.link_count < kMaxSpanLinks) {
        links_[view.link_count++] = link;
      }
    }
    where_.link = -1;
    return Status::Ok();
  }

  Status Span(od::object& object) {
    SpanView view = base_;
    view.links = links_;
    mapper_.ResetPrecedence();
    SpanSeen seen;
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      if (IsNull(field.value())) continue;
      EW_RETURN_IF_ERROR(SpanField(field, view, seen));
    }
    if (!seen.trace) return Fail("missing traceId");
    if (!seen.span) return Fail("missing spanId");
    view.has_parent = false;
    for (uint8_t b : view.parent_span_id) view.has_parent |= b != 0;
    return sink_.OnSpan(view);
  }

  // [{"key": "...", "value": {"stringValue": ...}}, ...]
  Status Attributes(od::value& value, SpanView& view) {
    if (IsNull(value)) return Status::Ok();
    od::array array;
    if (auto err = value.get_array().get(array)) return Fail("attributes is not an array", err);
    int attr = 0;
    for (auto element : array) {
      where_.attr = attr++;
      od::object kv;
      if (auto err = element.get_object().get(kv)) return Fail("not an object", err);
      std::string_view key;
      auto err = kv.find_field_unordered("key").get_string().get(key);
      if (err == simdjson::NO_SUCH_FIELD) continue;
      if (err) return Fail("key is not a string", err);
      const AttributeSpec* spec = internal::FindAttribute(key);
      if (spec == nullptr) continue;
      od::value any;
      err = kv.find_field_unordered("value").get(any);
      if (err == simdjson::NO_SUCH_FIELD) continue;
      if (err) return Fail("malformed value", err);
      EW_RETURN_IF_ERROR(AnyValue(any, *spec, view));
    }
    where_.attr = -1;
    return Status::Ok();
  }

  // AnyValue: one of stringValue, intValue, boolValue, ...; the last one present wins.
  Status AnyValue(od::value& value, const AttributeSpec& spec, SpanView& view) {
    if (IsNull(value)) return Status::Ok();
    od::object object;
    if (auto err = value.get_object().get(object)) return Fail("value is not an object", err);
    enum { kNone, kString, kInt } which = kNone;
    std::string_view str;
    int64_t num = 0;
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      auto key = field.key();
      if (key == "stringValue") {
        if (auto err = field.value().get_string().get(str)) return Fail("stringValue", err);
        which = kString;
      } else if (key == "intValue") {
        od::json_type type;
        if (auto err = field.value().type().get(type)) return Fail("intValue", err);
        auto err = type == od::json_type::string ? field.value().get_int64_in_string().get(num)
                                                 : field.value().get_int64().get(num);
        if (err) return Fail("intValue is not a 64-bit integer", err);
        which = kInt;
      } else if (key == "boolValue" || key == "doubleValue" || key == "arrayValue" ||
                 key == "kvlistValue" || key == "bytesValue") {
        which = kNone;
      }
    }
    if (which == kString) mapper_.SetString(spec, str, view);
    if (which == kInt) mapper_.SetInt(spec, num, view);
    return Status::Ok();
  }

  std::string_view body_;
  od::document& doc_;
  SpanSink& sink_;
  Where where_;
  int rs_count_ = 0;
  SpanView base_;
  AttributeMapper mapper_;
  SpanLink links_[kMaxSpanLinks];
};

Status DecodeWith(od::parser& parser, std::string_view body, SpanSink& sink) {
  od::document doc;
  simdjson::padded_string_view padded(body.data(), body.size(),
                                      body.size() + simdjson::SIMDJSON_PADDING);
  if (auto err = parser.iterate(padded).get(doc)) {
    std::string msg = std::string("request: not valid JSON (") + simdjson::error_message(err) + ")";
    // Where these two broke is known: the body ends inside a string, or holds nothing.
    if (err == simdjson::UNCLOSED_STRING || err == simdjson::EMPTY) {
      msg += " at byte " + std::to_string(body.size());
    }
    return Status::InvalidArgument(std::move(msg));
  }
  JsonDecoder decoder(body, doc, sink);
  return decoder.Run();
}

}  // namespace

Status DecodeOtlpJson(std::string_view body, SpanSink& sink) {
  if (body.size() > kCachedParserLimit) {
    auto parser = std::make_unique<od::parser>();
    if (parser->allocate(body.size(), kMaxJsonDepth) != simdjson::SUCCESS) {
      return Status::ResourceExhausted("cannot allocate a JSON parser for the body");
    }
    return DecodeWith(*parser, body, sink);
  }
  thread_local od::parser parser;
  thread_local bool allocated = false;
  if (!allocated) {
    if (parser.allocate(64 << 10, kMaxJsonDepth) != simdjson::SUCCESS) {
      return Status::ResourceExhausted("cannot allocate a JSON parser");
    }
    allocated = true;
  }
  return DecodeWith(parser, body, sink);
}

}  // namespace ew::ingest
