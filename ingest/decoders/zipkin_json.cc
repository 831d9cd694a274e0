// Zipkin v2 JSON (POST /api/v2/spans): a JSON list of spans, read with simdjson On-Demand into
// the same SpanView the OTLP decoders fill (docs/ingest.md, "Zipkin v2 JSON"):
//   traceId 16 or 32 hex digits (16: the low half of a 128-bit id, as OTLP would carry it),
//   id and parentId 16 hex digits, kind CLIENT/SERVER/PRODUCER/CONSUMER (absent: no edge),
//   timestamp and duration in microseconds, localEndpoint.serviceName the service,
//   remoteEndpoint.serviceName the peer (peer.service), tags (string values) as OTLP attributes
//   of the same name (plus http.path as the path, error / otel.status_code=ERROR as the status).
// A SERVER span with "shared": true carries its client's span id (B3 single-host style): it
// pairs with the client span of that id, so its pairing key is its own id, not its parentId.
// Answers: 202 with an empty body; errors as text/plain with the message.
#include <simdjson.h>

#include <limits>
#include <memory>
#include <string>

#include "ingest/decoders/decoder.h"
#include "ingest/decoders/otlp_attributes.h"
#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"

namespace ew::ingest {
namespace {

namespace od = simdjson::ondemand;
using internal::AttributeMapper;
using internal::AttributeSpec;

constexpr size_t kMaxJsonDepth = 64;
constexpr size_t kCachedParserLimit = 8u << 20;
constexpr uint64_t kMaxMicros = std::numeric_limits<uint64_t>::max() / 1000;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// hex (2 * n digits) into out[0..n).
bool DecodeHex(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

class ZipkinReader {
 public:
  ZipkinReader(std::string_view body, od::document& doc, SpanSink& sink)
      : body_(body), doc_(doc), sink_(sink) {}

  Status Run() {
    od::array spans;
    if (auto err = doc_.get_array().get(spans)) {
      if (err != simdjson::INCORRECT_TYPE) return Fail("not valid JSON", err);
      return Fail("the body is not a JSON array of spans (Zipkin v2)", err);
    }
    int index = 0;
    for (auto element : spans) {
      span_ = index++;
      od::object object;
      if (auto err = element.get_object().get(object)) return Fail("not an object", err);
      EW_RETURN_IF_ERROR(Span(object));
    }
    span_ = -1;
    const char* trailing = nullptr;
    if (doc_.current_location().get(trailing) == simdjson::SUCCESS) {
      return Fail("trailing content after the JSON array");
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
    if (span_ >= 0) msg += "spans[" + std::to_string(span_) + "]";
    if (field_ != nullptr) msg += std::string(msg.empty() ? "" : ".") + field_;
    if (!tag_.empty()) msg += "[\"" + std::string(tag_.substr(0, 64)) + "\"]";
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

  Status String(od::value& value, std::string_view* out) {
    if (auto err = value.get_string().get(*out)) return Fail("not a string", err);
    return Status::Ok();
  }

  // The 128-bit trace id: 32 hex digits, or 16 for the low half (the high half zero).
  Status TraceId(od::value& value, SpanView& view) {
    std::string_view hex;
    EW_RETURN_IF_ERROR(String(value, &hex));
    view.trace_id = {};
    const bool ok = hex.size() == 16 ? DecodeHex(hex, view.trace_id.data() + 8, 8)
                                     : DecodeHex(hex, view.trace_id.data(), 16);
    if (!ok) return Fail("must be 16 or 32 hex digits");
    return Status::Ok();
  }

  Status SpanId(od::value& value, std::array<uint8_t, 8>* out) {
    std::string_view hex;
    EW_RETURN_IF_ERROR(String(value, &hex));
    if (!DecodeHex(hex, out->data(), 8)) return Fail("must be 16 hex digits");
    return Status::Ok();
  }

  Status Micros(od::value& value, uint64_t* out) {
    if (auto err = value.get_uint64().get(*out)) {
      return Fail("not an unsigned integer (microseconds)", err);
    }
    if (*out > kMaxMicros) return Fail("out of range");
    return Status::Ok();
  }

  Status Kind(od::value& value, SpanView& view) {
    std::string_view kind;
    EW_RETURN_IF_ERROR(String(value, &kind));
    if (kind == "CLIENT") {
      view.kind = SpanKind::kClient;
    } else if (kind == "SERVER") {
      view.kind = SpanKind::kServer;
    } else if (kind == "PRODUCER") {
      view.kind = SpanKind::kProducer;
    } else if (kind == "CONSUMER") {
      view.kind = SpanKind::kConsumer;
    } else {
      return Fail("must be CLIENT, SERVER, PRODUCER or CONSUMER");
    }
    return Status::Ok();
  }

  // localEndpoint / remoteEndpoint: {"serviceName": "...", "ipv4": ..., "ipv6": ..., "port": ...}.
  Status Endpoint(od::value& value, std::string_view* service_name) {
    od::object object;
    if (auto err = value.get_object().get(object)) return Fail("not an object", err);
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      if (field.key() != "serviceName" || IsNull(field.value())) continue;
      EW_RETURN_IF_ERROR(String(field.value(), service_name));
    }
    return Status::Ok();
  }

  struct Extra {
    bool trace = false;
    bool id = false;
    bool shared = false;
    bool error = false;
    uint64_t timestamp_us = 0;
    uint64_t duration_us = 0;
    std::string_view local_service;
    std::string_view remote_service;
    std::string_view http_path;
    std::string_view otel_status;
  };

  // tags: {"key": "value", ...}, string values.
  Status Tags(od::value& value, SpanView& view, Extra& extra) {
    od::object object;
    if (auto err = value.get_object().get(object)) return Fail("not an object", err);
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Fail("malformed key", err);
      tag_ = key;  // for an error message (the key lives in the parser's buffer)
      std::string_view text;
      EW_RETURN_IF_ERROR(String(field.value(), &text));
      tag_ = {};
      if (key == "error") {
        extra.error = true;
      } else if (key == "otel.status_code") {
        extra.otel_status = text;
      } else if (key == "http.path") {
        extra.http_path = text;
      } else if (const AttributeSpec* spec = internal::FindAttribute(key)) {
        mapper_.SetString(*spec, text, view);
      }
    }
    return Status::Ok();
  }

  Status Field(od::field& field, SpanView& view, Extra& extra) {
    const auto key = field.key();
    od::value& value = field.value();
    if (key == "traceId") {
      field_ = "traceId";
      extra.trace = true;
      return TraceId(value, view);
    }
    if (key == "id") {
      field_ = "id";
      extra.id = true;
      return SpanId(value, &view.span_id);
    }
    if (key == "parentId") {
      field_ = "parentId";
      return SpanId(value, &view.parent_span_id);
    }
    if (key == "kind") {
      field_ = "kind";
      return Kind(value, view);
    }
    if (key == "timestamp") {
      field_ = "timestamp";
      return Micros(value, &extra.timestamp_us);
    }
    if (key == "duration") {
      field_ = "duration";
      return Micros(value, &extra.duration_us);
    }
    if (key == "localEndpoint") {
      field_ = "localEndpoint";
      return Endpoint(value, &extra.local_service);
    }
    if (key == "remoteEndpoint") {
      field_ = "remoteEndpoint";
      return Endpoint(value, &extra.remote_service);
    }
    if (key == "tags") {
      field_ = "tags";
      return Tags(value, view, extra);
    }
    if (key == "shared") {
      field_ = "shared";
      if (auto err = value.get_bool().get(extra.shared)) return Fail("not a boolean", err);
    }
    return Status::Ok();  // name, debug, annotations, ...: not used by the map
  }

  Status Span(od::object& object) {
    SpanView view;
    Extra extra;
    mapper_.ResetPrecedence();
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return Fail("malformed object", err);
      if (IsNull(field.value())) continue;
      EW_RETURN_IF_ERROR(Field(field, view, extra));
      field_ = nullptr;
    }
    if (!extra.trace) return Fail("missing traceId");
    if (!extra.id) return Fail("missing id");
    Finish(extra, view);
    return sink_.OnSpan(view);
  }

  static void Finish(const Extra& extra, SpanView& view) {
    view.start_ns = extra.timestamp_us * 1000;
    const uint64_t duration_ns = extra.duration_us * 1000;
    view.end_ns = duration_ns > std::numeric_limits<uint64_t>::max() - view.start_ns
                      ? std::numeric_limits<uint64_t>::max()
                      : view.start_ns + duration_ns;
    if (!extra.local_service.empty()) view.service_name = extra.local_service;
    if (!extra.remote_service.empty()) view.peer_service = extra.remote_service;
    if (view.url_path.empty()) view.url_path = extra.http_path;
    if (extra.otel_status == "OK") view.status = SpanStatus::kOk;
    if (extra.error || extra.otel_status == "ERROR") view.status = SpanStatus::kError;
    // A shared SERVER span has its client's span id: it looks its client up by that id.
    if (extra.shared && view.kind == SpanKind::kServer) view.parent_span_id = view.span_id;
    view.has_parent = false;
    for (uint8_t b : view.parent_span_id) view.has_parent |= b != 0;
  }

  std::string_view body_;
  od::document& doc_;
  SpanSink& sink_;
  int span_ = -1;
  const char* field_ = nullptr;
  std::string_view tag_;
  AttributeMapper mapper_;
};

Status DecodeWith(od::parser& parser, std::string_view body, SpanSink& sink) {
  od::document doc;
  simdjson::padded_string_view padded(body.data(), body.size(),
                                      body.size() + simdjson::SIMDJSON_PADDING);
  if (auto err = parser.iterate(padded).get(doc)) {
    std::string msg = std::string("request: not valid JSON (") + simdjson::error_message(err) + ")";
    if (err == simdjson::UNCLOSED_STRING || err == simdjson::EMPTY) {
      msg += " at byte " + std::to_string(body.size());
    }
    return Status::InvalidArgument(std::move(msg));
  }
  ZipkinReader reader(body, doc, sink);
  return reader.Run();
}

class ZipkinJson final : public Decoder {
 public:
  std::string_view Name() const override { return "zipkin-json"; }
  Status Decode(std::string& body, SpanSink& sink) const override {
    PadJsonBody(body);
    return DecodeZipkinJson(body, sink);
  }
  int SuccessStatus() const override { return 202; }
  std::string_view ContentType() const override { return "text/plain; charset=utf-8"; }
  // Zipkin has no partial success: refused spans are counted in ew_spans_refused_total only.
  std::string SuccessBody(uint64_t, std::string_view) const override { return {}; }
  std::string ErrorBody(ExportOutcome, std::string_view message) const override {
    return std::string(message) + "\n";
  }
};

}  // namespace

Status DecodeZipkinJson(std::string_view body, SpanSink& sink) {
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

const Decoder& ZipkinJsonDecoder() {
  static const ZipkinJson decoder;
  return decoder;
}

}  // namespace ew::ingest
