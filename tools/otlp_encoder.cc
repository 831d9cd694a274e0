#include "tools/otlp_encoder.h"

#include <libdeflate.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "base/hash.h"

namespace ew::tools {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutTag(uint32_t field, uint32_t wire, std::string* out) {
  PutVarint((static_cast<uint64_t>(field) << 3) | wire, out);
}

void PutLen(uint32_t field, std::string_view payload, std::string* out) {
  PutTag(field, 2, out);
  PutVarint(payload.size(), out);
  out->append(payload);
}

void PutFixed64(uint32_t field, uint64_t v, std::string* out) {
  PutTag(field, 1, out);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

namespace {

// PutLen, returning where the payload starts in *out.
size_t PutLenAt(uint32_t field, std::string_view payload, std::string* out) {
  PutTag(field, 2, out);
  PutVarint(payload.size(), out);
  const size_t at = out->size();
  out->append(payload);
  return at;
}

void PutVarintField(uint32_t field, uint64_t v, std::string* out) {
  PutTag(field, 0, out);
  PutVarint(v, out);
}

std::string_view AsView(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// Moves a slot's offsets from a message to the message that embeds it at `by`.
void Shift(TraceIdSlot& s, size_t by) {
  s.offset += by;
  s.span_offset += by;
  if (s.parent_offset != 0) s.parent_offset += by;
  s.span_begin += by;
  s.span_end += by;
}

std::string KeyValueProto(const Attr& a);

// AnyValue { string_value 1; bool_value 2; int_value 3; double_value 4; array_value 5
// ArrayValue { values 1 }; kvlist_value 6 KeyValueList { values 1 }; bytes_value 7 }.
std::string AnyProto(const Attr& a) {
  std::string any;
  switch (a.type) {
    case Attr::Type::kString:
      PutLen(1, a.s, &any);
      break;
    case Attr::Type::kBool:
      PutVarintField(2, a.b ? 1 : 0, &any);
      break;
    case Attr::Type::kInt:
      PutVarintField(3, static_cast<uint64_t>(a.i), &any);
      break;
    case Attr::Type::kDouble:
      PutFixed64(4, std::bit_cast<uint64_t>(a.d), &any);
      break;
    case Attr::Type::kArray: {
      std::string values;
      for (const Attr& item : a.items) PutLen(1, AnyProto(item), &values);
      PutLen(5, values, &any);
      break;
    }
    case Attr::Type::kKvList: {
      std::string values;
      for (const Attr& item : a.items) PutLen(1, KeyValueProto(item), &values);
      PutLen(6, values, &any);
      break;
    }
    case Attr::Type::kBytes:
      PutLen(7, a.s, &any);
      break;
  }
  return any;
}

// KeyValue { key 1; value 2 }.
std::string KeyValueProto(const Attr& a) {
  std::string kv;
  PutLen(1, a.key, &kv);
  PutLen(2, AnyProto(a), &kv);
  return kv;
}

void AttrsProto(uint32_t field, const std::vector<Attr>& attrs, std::string* out) {
  for (const Attr& a : attrs) PutLen(field, KeyValueProto(a), out);
}

// Span.Event { time_unix_nano 1; name 2; attributes 3 } and Span.Link { trace_id 1; span_id 2;
// trace_state 3; attributes 4 }.
void EventsAndLinksProto(const OtlpSpan& s, std::string* out) {
  for (const OtlpEvent& e : s.events) {
    std::string ev;
    PutFixed64(1, e.time_ns, &ev);
    PutLen(2, e.name, &ev);
    AttrsProto(3, e.attrs, &ev);
    PutLen(11, ev, out);
  }
  for (const OtlpLink& l : s.links) {
    std::string link;
    PutLen(1, AsView(l.trace_id.data(), 16), &link);
    PutLen(2, AsView(l.span_id.data(), 8), &link);
    if (!l.trace_state.empty()) PutLen(3, l.trace_state, &link);
    AttrsProto(4, l.attrs, &link);
    PutLen(13, link, out);
  }
}

// The Span message; `ids` gets where its ids are, relative to the message.
std::string SpanProto(const OtlpSpan& s, TraceIdSlot* ids) {
  std::string o;
  o.reserve(256);
  PutLen(1, AsView(s.trace_id.data(), 16), &o);
  ids->offset = o.size() - 16;
  PutLen(2, AsView(s.span_id.data(), 8), &o);
  ids->span_offset = o.size() - 8;
  if (!s.trace_state.empty()) PutLen(3, s.trace_state, &o);
  if (s.has_parent) {
    PutLen(4, AsView(s.parent_span_id.data(), 8), &o);
    ids->parent_offset = o.size() - 8;
  }
  PutLen(5, s.name, &o);
  PutVarintField(6, static_cast<uint64_t>(s.kind), &o);
  PutFixed64(7, s.start_ns, &o);
  PutFixed64(8, s.end_ns, &o);
  AttrsProto(9, s.attrs, &o);
  EventsAndLinksProto(s, &o);
  if (s.status_code != 0 || !s.status_message.empty()) {  // Status { message 2; code 3 }
    std::string st;
    if (!s.status_message.empty()) PutLen(2, s.status_message, &st);
    if (s.status_code != 0) PutVarintField(3, static_cast<uint64_t>(s.status_code), &st);
    PutLen(15, st, &o);
  }
  return o;
}

// The request as both encoders see it: ResourceSpans of ScopeSpans of spans, each span with the
// index of its slot.
struct SpanRef {
  const OtlpSpan* span;
  size_t index;
};
struct Group {
  const std::vector<Attr>* resource;
  std::vector<std::vector<SpanRef>> scopes;
  bool resource_after_scopes = false;
};

constexpr std::string_view kScopeName = "edgewise-loadgen";

// ExportTraceServiceRequest { resource_spans 1 ResourceSpans { resource 1 Resource
// { attributes 1 }; scope_spans 2 ScopeSpans { scope 1 { name 1 }; spans 2 } } }.
std::string EncodeProto(const std::vector<Group>& groups, std::vector<TraceIdSlot>* slots) {
  std::string scope;
  PutLen(1, kScopeName, &scope);
  std::string out;
  for (const Group& g : groups) {
    std::string resource;
    AttrsProto(1, *g.resource, &resource);
    std::string rs;
    if (!g.resource_after_scopes) PutLen(1, resource, &rs);
    std::vector<std::pair<size_t, TraceIdSlot>> local;  // slot index, slot within rs
    for (const std::vector<SpanRef>& spans : g.scopes) {
      std::string ss;
      PutLen(1, scope, &ss);
      const size_t first = local.size();
      for (const SpanRef& ref : spans) {
        TraceIdSlot slot;
        const std::string sp = SpanProto(*ref.span, &slot);
        const size_t begin = ss.size();
        Shift(slot, PutLenAt(2, sp, &ss));
        slot.span_begin = begin;
        slot.span_end = ss.size();
        local.emplace_back(ref.index, slot);
      }
      const size_t at = PutLenAt(2, ss, &rs);
      for (size_t i = first; i < local.size(); ++i) Shift(local[i].second, at);
    }
    if (g.resource_after_scopes) PutLen(1, resource, &rs);
    const size_t at = PutLenAt(1, rs, &out);
    for (auto& [index, slot] : local) {
      Shift(slot, at);
      slot.resource_end = out.size();
      if (slots) (*slots)[index] = slot;
    }
  }
  return out;
}

}  // namespace

namespace {

const char* const kKindNames[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                  "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                  "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
const char* const kStatusNames[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

std::string Base64(std::string_view data) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < data.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    if (i + 2 < data.size()) v |= static_cast<uint8_t>(data[i + 2]);
    for (size_t k = 0; k < 4; ++k) {
      out.push_back(i + k <= data.size() ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=');
    }
  }
  return out;
}

// Writes OTLP JSON in one style into *out; offsets in slots are positions in *out.
class JsonWriter {
 public:
  JsonWriter(const JsonStyle& style, std::string* out) : style_(style), o_(*out) {}

  void Request(const std::vector<Group>& groups, std::vector<TraceIdSlot>* slots) {
    o_.append("{\"resourceSpans\":[");
    for (size_t g = 0; g < groups.size(); ++g) {
      if (g) o_.push_back(',');
      ResourceSpans(groups[g], slots);
    }
    o_.append("]}");
  }

 private:
  void ResourceSpans(const Group& g, std::vector<TraceIdSlot>* slots) {
    o_.push_back('{');
    if (!g.resource_after_scopes) Resource(*g.resource, true);
    o_.append("\"scopeSpans\":[");
    for (size_t i = 0; i < g.scopes.size(); ++i) {
      if (i) o_.push_back(',');
      o_.append("{\"scope\":{\"name\":");
      String(kScopeName);
      o_.append("},\"spans\":[");
      for (size_t k = 0; k < g.scopes[i].size(); ++k) {
        if (k) o_.push_back(',');
        const SpanRef& ref = g.scopes[i][k];
        TraceIdSlot slot;
        Span(*ref.span, &slot);
        if (slots) (*slots)[ref.index] = slot;
      }
      o_.append("]}");
    }
    o_.push_back(']');
    if (g.resource_after_scopes) Resource(*g.resource, false);
    if (style_.sdk_extras) o_.append(",\"schemaUrl\":\"\"");
    o_.push_back('}');
    if (slots) {
      for (const auto& spans : g.scopes) {
        for (const SpanRef& ref : spans) (*slots)[ref.index].resource_end = o_.size();
      }
    }
  }

  void Resource(const std::vector<Attr>& attrs, bool first) {
    if (!first) o_.push_back(',');
    o_.append("\"resource\":{\"attributes\":");
    Attrs(attrs);
    if (style_.sdk_extras) o_.append(",\"droppedAttributesCount\":0");
    o_.push_back('}');
    if (first) o_.push_back(',');
  }

  void Span(const OtlpSpan& s, TraceIdSlot* slot) {
    slot->span_begin = o_.size();
    o_.append("{\"traceId\":");
    slot->offset = Id(s.trace_id.data(), 16);
    o_.append(",\"spanId\":");
    slot->span_offset = Id(s.span_id.data(), 8);
    if (!s.trace_state.empty()) {
      o_.append(",\"traceState\":");
      String(s.trace_state);
    }
    if (s.has_parent) {
      o_.append(",\"parentSpanId\":");
      slot->parent_offset = Id(s.parent_span_id.data(), 8);
    } else if (style_.sdk_extras) {
      o_.append(",\"parentSpanId\":\"\"");
    }
    o_.append(",\"name\":");
    String(s.name);
    o_.append(",\"kind\":");
    Enum(s.kind, kKindNames, 6);
    o_.append(",\"startTimeUnixNano\":");
    Number(std::to_string(s.start_ns));
    o_.append(",\"endTimeUnixNano\":");
    Number(std::to_string(s.end_ns));
    o_.append(",\"attributes\":");
    Attrs(s.attrs);
    if (style_.sdk_extras) o_.append(",\"droppedAttributesCount\":0");
    EventsAndLinks(s);
    if (s.status_code != 0 || !s.status_message.empty()) {
      o_.append(",\"status\":{");
      if (!s.status_message.empty()) {
        o_.append("\"message\":");
        String(s.status_message);
        o_.push_back(',');
      }
      o_.append("\"code\":");
      Enum(s.status_code, kStatusNames, 3);
      o_.push_back('}');
    }
    o_.push_back('}');
    slot->span_end = o_.size();
  }

  void EventsAndLinks(const OtlpSpan& s) {
    if (!s.events.empty()) {
      o_.append(",\"events\":[");
      for (size_t i = 0; i < s.events.size(); ++i) {
        if (i) o_.push_back(',');
        o_.append("{\"timeUnixNano\":");
        Number(std::to_string(s.events[i].time_ns));
        o_.append(",\"name\":");
        String(s.events[i].name);
        o_.append(",\"attributes\":");
        Attrs(s.events[i].attrs);
        o_.push_back('}');
      }
      o_.push_back(']');
    }
    if (s.links.empty()) return;
    o_.append(",\"links\":[");
    for (size_t i = 0; i < s.links.size(); ++i) {
      const OtlpLink& l = s.links[i];
      if (i) o_.push_back(',');
      o_.append("{\"traceId\":");
      Id(l.trace_id.data(), 16);
      o_.append(",\"spanId\":");
      Id(l.span_id.data(), 8);
      if (!l.trace_state.empty()) {
        o_.append(",\"traceState\":");
        String(l.trace_state);
      }
      o_.append(",\"attributes\":");
      Attrs(l.attrs);
      o_.push_back('}');
    }
    o_.push_back(']');
  }

  void Attrs(const std::vector<Attr>& attrs) {
    o_.push_back('[');
    for (size_t i = 0; i < attrs.size(); ++i) {
      if (i) o_.push_back(',');
      o_.append("{\"key\":");
      String(attrs[i].key);
      o_.append(",\"value\":");
      Any(attrs[i]);
      o_.push_back('}');
    }
    o_.push_back(']');
  }

  void Any(const Attr& a) {
    switch (a.type) {
      case Attr::Type::kString:
        o_.append("{\"stringValue\":");
        String(a.s);
        break;
      case Attr::Type::kInt:
        o_.append("{\"intValue\":");
        Number(std::to_string(a.i));
        break;
      case Attr::Type::kBool:
        o_.append("{\"boolValue\":").append(a.b ? "true" : "false");
        break;
      case Attr::Type::kDouble:
        o_.append("{\"doubleValue\":");
        Double(a.d);
        break;
      case Attr::Type::kBytes:
        o_.append("{\"bytesValue\":\"").append(Base64(a.s)).append("\"");
        break;
      case Attr::Type::kArray:
        o_.append("{\"arrayValue\":{\"values\":[");
        for (size_t i = 0; i < a.items.size(); ++i) {
          if (i) o_.push_back(',');
          Any(a.items[i]);
        }
        o_.append("]}");
        break;
      case Attr::Type::kKvList:
        o_.append("{\"kvlistValue\":{\"values\":");
        Attrs(a.items);
        o_.push_back('}');
        break;
    }
    o_.push_back('}');
  }

  void String(std::string_view s) {
    o_.push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') {
        o_.push_back('\\');
        o_.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        o_.append(buf);
      } else {
        o_.push_back(c);
      }
    }
    o_.push_back('"');
  }

  // A quoted hex id; returns where its digits start.
  size_t Id(const uint8_t* data, size_t n) {
    o_.push_back('"');
    const size_t at = o_.size();
    std::string hex = Hex(data, n);
    if (style_.upper_hex) {
      for (char& c : hex) c = static_cast<char>(c >= 'a' ? c - 'a' + 'A' : c);
    }
    o_.append(hex).push_back('"');
    return at;
  }

  void Number(const std::string& digits) {
    if (style_.numbers_as_strings) o_.push_back('"');
    o_.append(digits);
    if (style_.numbers_as_strings) o_.push_back('"');
  }

  void Double(double d) {
    if (std::isnan(d)) {
      o_.append("\"NaN\"");
    } else if (std::isinf(d)) {
      o_.append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
      o_.append(buf, end);
    }
  }

  void Enum(int value, const char* const* names, int count) {
    if (style_.enum_names && value >= 0 && value < count) {
      o_.push_back('"');
      o_.append(names[value]).push_back('"');
    } else {
      o_.append(std::to_string(value));
    }
  }

  const JsonStyle& style_;
  std::string& o_;
};

// EncodeTraces' grouping: one ResourceSpans per resource index (first-seen order), one scope.
std::vector<Group> GroupByResource(const std::vector<const OtlpSpan*>& spans,
                                   const std::vector<std::vector<Attr>>& resources) {
  static const std::vector<Attr> kNoAttrs;
  std::vector<Group> groups;
  std::map<uint32_t, size_t> where;
  for (size_t i = 0; i < spans.size(); ++i) {
    const uint32_t res = spans[i]->resource;
    auto [it, inserted] = where.emplace(res, groups.size());
    if (inserted) {
      groups.push_back({res < resources.size() ? &resources[res] : &kNoAttrs,
                        std::vector<std::vector<SpanRef>>(1), false});
    }
    groups[it->second].scopes[0].push_back({spans[i], i});
  }
  return groups;
}

std::string Encode(const std::vector<Group>& groups, size_t span_count, Encoding encoding,
                   const JsonStyle& style, std::vector<TraceIdSlot>* slots) {
  std::vector<TraceIdSlot>* s = IsGzip(encoding) ? nullptr : slots;
  if (s) s->assign(span_count, {});
  std::string body;
  if (IsJson(encoding)) {
    JsonWriter(style, &body).Request(groups, s);
  } else {
    body = EncodeProto(groups, s);
  }
  if (!IsGzip(encoding)) return body;
  if (slots) slots->clear();
  return Gzip(body);
}

bool ReadVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in->empty()) return false;
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Skips one field of the given wire type; false on malformed input.
bool SkipField(uint64_t wire, std::string_view* in) {
  uint64_t v = 0;
  size_t width = 0;
  switch (wire) {
    case 0:
      return ReadVarint(in, &v);
    case 1:
      width = 8;
      break;
    case 2:
      if (!ReadVarint(in, &v) || v > in->size()) return false;
      width = static_cast<size_t>(v);
      break;
    case 5:
      width = 4;
      break;
    default:
      return false;
  }
  if (in->size() < width) return false;
  in->remove_prefix(width);
  return true;
}

// ExportTracePartialSuccess { rejected_spans 1; error_message 2 }.
bool ReadPartialSuccess(std::string_view ps, int64_t* rejected) {
  while (!ps.empty()) {
    uint64_t tag = 0;
    if (!ReadVarint(&ps, &tag)) return false;
    if (tag == (1 << 3 | 0)) {
      uint64_t v = 0;
      if (!ReadVarint(&ps, &v)) return false;
      *rejected = static_cast<int64_t>(v);
    } else if (!SkipField(tag & 7, &ps)) {
      return false;
    }
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

// XORs the 8 bytes of `tag` (big-endian) into 8 id bytes at `at`.
void XorId(std::string* body, size_t at, bool json, const uint8_t tag[8]) {
  static const char kHex[] = "0123456789abcdef";
  char* p = body->data() + at;
  for (int i = 0; i < 8; ++i) {
    if (json) {
      int v = (HexValue(p[2 * i]) << 4 | HexValue(p[2 * i + 1])) ^ tag[i];
      p[2 * i] = kHex[v >> 4];
      p[2 * i + 1] = kHex[v & 15];
    } else {
      p[i] = static_cast<char>(static_cast<uint8_t>(p[i]) ^ tag[i]);
    }
  }
}

template <size_t N>
std::array<uint8_t, N> IdFromHex(std::string_view hex) {
  std::array<uint8_t, N> id{};
  const std::string bytes = FromHex(hex);
  std::memcpy(id.data(), bytes.data(), std::min(N, bytes.size()));
  return id;
}

}  // namespace

std::string_view EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kProtobuf:
      return "proto";
    case Encoding::kJson:
      return "json";
    case Encoding::kGzipProtobuf:
      return "gzip";
    case Encoding::kGzipJson:
      return "gzip-json";
    case Encoding::kZipkin:
      return "zipkin";
    case Encoding::kGzipZipkin:
      return "gzip-zipkin";
  }
  return "?";
}

Result<Encoding> ParseEncoding(std::string_view t) {
  if (t == "proto" || t == "protobuf") return Encoding::kProtobuf;
  if (t == "json") return Encoding::kJson;
  if (t == "gzip" || t == "gzip-proto") return Encoding::kGzipProtobuf;
  if (t == "gzip-json") return Encoding::kGzipJson;
  if (t == "zipkin") return Encoding::kZipkin;
  if (t == "gzip-zipkin") return Encoding::kGzipZipkin;
  return Status::InvalidArgument("unknown encoding '" + std::string(t) +
                                 "' (proto, json, gzip, gzip-json, zipkin, gzip-zipkin)");
}

bool IsZipkin(Encoding e) { return e == Encoding::kZipkin || e == Encoding::kGzipZipkin; }
bool IsJson(Encoding e) { return e == Encoding::kJson || e == Encoding::kGzipJson || IsZipkin(e); }
bool IsGzip(Encoding e) {
  return e == Encoding::kGzipProtobuf || e == Encoding::kGzipJson || e == Encoding::kGzipZipkin;
}
Encoding Uncompressed(Encoding e) {
  if (IsZipkin(e)) return Encoding::kZipkin;
  return IsJson(e) ? Encoding::kJson : Encoding::kProtobuf;
}
std::string_view IngestPath(Encoding e) { return IsZipkin(e) ? "/api/v2/spans" : "/v1/traces"; }
std::string_view ContentType(Encoding e) {
  return IsJson(e) ? "application/json" : "application/x-protobuf";
}

std::string EncodeTraces(const std::vector<const OtlpSpan*>& spans,
                         const std::vector<std::vector<Attr>>& resources, Encoding encoding,
                         std::vector<TraceIdSlot>* slots) {
  return Encode(GroupByResource(spans, resources), spans.size(), encoding, JsonStyle{}, slots);
}

std::string EncodeRequest(const std::vector<OtlpResourceSpans>& request, Encoding encoding,
                          const JsonStyle& json, std::vector<TraceIdSlot>* slots) {
  std::vector<Group> groups;
  size_t n = 0;
  for (const OtlpResourceSpans& rs : request) {
    Group& g = groups.emplace_back(Group{&rs.resource, {}, rs.resource_after_scopes});
    for (const std::vector<OtlpSpan>& scope : rs.scopes) {
      auto& refs = g.scopes.emplace_back();
      for (const OtlpSpan& s : scope) refs.push_back({&s, n++});
    }
  }
  return Encode(groups, n, encoding, json, slots);
}

void PatchTraceIds(std::string* body, const std::vector<TraceIdSlot>& slots, bool json,
                   uint64_t tag) {
  uint8_t be[8];
  for (int i = 0; i < 8; ++i) be[i] = static_cast<uint8_t>(tag >> (56 - 8 * i));
  const size_t low_half = json ? 16 : 8;  // the last 8 bytes of the trace id
  for (const TraceIdSlot& s : slots) {
    XorId(body, s.offset + low_half, json, be);
    XorId(body, s.span_offset, json, be);
    if (s.parent_offset != 0) XorId(body, s.parent_offset, json, be);
  }
}

std::string Gzip(std::string_view data) {
  // libdeflate at zlib's default level: the same kind of body as an SDK's zlib sends, at a
  // fraction of the load generator's CPU (it compresses every body it sends, on the same cores
  // as the server it measures).
  struct Compressor {
    libdeflate_compressor* c = libdeflate_alloc_compressor(6);
    ~Compressor() { libdeflate_free_compressor(c); }
  };
  thread_local Compressor compressor;
  std::string out(libdeflate_gzip_compress_bound(compressor.c, data.size()), '\0');
  const size_t n =
      libdeflate_gzip_compress(compressor.c, data.data(), data.size(), out.data(), out.size());
  out.resize(n);
  return out;
}

std::optional<int64_t> ParseRejectedSpans(std::string_view body, bool json) {
  if (json) {
    const size_t open = body.find_first_not_of(" \t\r\n");
    if (open == std::string_view::npos) return 0;
    if (body[open] != '{') return std::nullopt;
    size_t p = body.find("\"rejectedSpans\"");
    if (p == std::string_view::npos) return 0;
    p = body.find(':', p);
    if (p == std::string_view::npos) return std::nullopt;
    ++p;
    while (p < body.size() && (body[p] == ' ' || body[p] == '"')) ++p;
    int64_t v = 0;
    if (std::from_chars(body.data() + p, body.data() + body.size(), v).ec != std::errc()) {
      return std::nullopt;
    }
    return v;
  }
  // ExportTraceServiceResponse { partial_success 1 { rejected_spans 1 (int64) } }.
  int64_t rejected = 0;
  while (!body.empty()) {
    uint64_t tag = 0;
    if (!ReadVarint(&body, &tag)) return std::nullopt;
    if (tag == (1 << 3 | 2)) {
      uint64_t len = 0;
      if (!ReadVarint(&body, &len) || len > body.size()) return std::nullopt;
      if (!ReadPartialSuccess(body.substr(0, len), &rejected)) return std::nullopt;
      body.remove_prefix(len);
    } else if (!SkipField(tag & 7, &body)) {
      return std::nullopt;
    }
  }
  return rejected;
}

int64_t RejectedSpans(std::string_view body, bool json) {
  return ParseRejectedSpans(body, json).value_or(0);
}

std::string Hex(const uint8_t* data, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kHex[data[i] >> 4];
    s[2 * i + 1] = kHex[data[i] & 15];
  }
  return s;
}

std::string FromHex(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(HexValue(hex[i]) << 4 | HexValue(hex[i + 1])));
  }
  return out;
}

std::array<uint8_t, 16> TraceIdFromHex(std::string_view hex) { return IdFromHex<16>(hex); }
std::array<uint8_t, 8> SpanIdFromHex(std::string_view hex) { return IdFromHex<8>(hex); }

std::array<uint8_t, 16> MakeTraceId(uint64_t seed, uint64_t n) {
  std::array<uint8_t, 16> id{};
  const uint64_t a = MixHash(seed ^ (n * 2 + 1));
  const uint64_t b = MixHash(a + n) | 1;
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<uint8_t>(a >> (8 * i));
    id[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  return id;
}

std::array<uint8_t, 8> MakeSpanId(uint64_t seed, uint64_t n) {
  std::array<uint8_t, 8> id{};
  const uint64_t a = MixHash(seed * 31 + n) | 1;
  for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(a >> (8 * i));
  return id;
}

}  // namespace ew::tools
