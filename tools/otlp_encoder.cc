#include "tools/otlp_encoder.h"

#include <libdeflate.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>

namespace ew::tools {
namespace {

void PutVarint(std::string& o, uint64_t v) {
  while (v >= 0x80) {
    o.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  o.push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutTag(std::string& o, uint32_t field, uint32_t wire) { PutVarint(o, (field << 3) | wire); }

void PutBytes(std::string& o, uint32_t field, std::string_view data) {
  PutTag(o, field, 2);
  PutVarint(o, data.size());
  o.append(data);
}

void PutFixed64(std::string& o, uint32_t field, uint64_t v) {
  PutTag(o, field, 1);
  for (int i = 0; i < 8; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string_view AsView(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// KeyValue { key = 1; value = 2 AnyValue { string_value = 1; bool_value = 2; int_value = 3 } }.
void EncodeKeyValue(std::string& o, uint32_t field, const Attr& a) {
  std::string any;
  switch (a.type) {
    case Attr::Type::kString:
      PutBytes(any, 1, a.s);
      break;
    case Attr::Type::kBool:
      PutTag(any, 2, 0);
      PutVarint(any, a.b ? 1 : 0);
      break;
    case Attr::Type::kInt:
      PutTag(any, 3, 0);
      PutVarint(any, static_cast<uint64_t>(a.i));
      break;
  }
  std::string kv;
  PutBytes(kv, 1, a.key);
  PutBytes(kv, 2, any);
  PutBytes(o, field, kv);
}

// The Span message; its trace id is at offset 2.
std::string EncodeSpanProto(const OtlpSpan& s) {
  std::string o;
  o.reserve(256);
  PutBytes(o, 1, AsView(s.trace_id.data(), 16));
  PutBytes(o, 2, AsView(s.span_id.data(), 8));
  if (s.has_parent) PutBytes(o, 4, AsView(s.parent_span_id.data(), 8));
  PutBytes(o, 5, s.name);
  PutTag(o, 6, 0);
  PutVarint(o, static_cast<uint64_t>(s.kind));
  PutFixed64(o, 7, s.start_ns);
  PutFixed64(o, 8, s.end_ns);
  for (const Attr& a : s.attrs) EncodeKeyValue(o, 9, a);
  if (s.status_code != 0) {
    std::string st;
    PutTag(st, 3, 0);
    PutVarint(st, static_cast<uint64_t>(s.status_code));
    PutBytes(o, 15, st);
  }
  return o;
}

std::vector<std::pair<uint32_t, std::vector<size_t>>> GroupByResource(
    const std::vector<const OtlpSpan*>& spans) {
  std::vector<std::pair<uint32_t, std::vector<size_t>>> groups;
  std::map<uint32_t, size_t> where;
  for (size_t i = 0; i < spans.size(); ++i) {
    auto [it, inserted] = where.emplace(spans[i]->resource, groups.size());
    if (inserted) groups.emplace_back(spans[i]->resource, std::vector<size_t>{});
    groups[it->second].second.push_back(i);
  }
  return groups;
}

// ExportTraceServiceRequest { resource_spans = 1 ResourceSpans { resource = 1 Resource
// { attributes = 1 }; scope_spans = 2 ScopeSpans { scope = 1; spans = 2 } } }.
std::string EncodeProto(const std::vector<const OtlpSpan*>& spans,
                        const std::vector<std::vector<Attr>>& resources,
                        std::vector<TraceIdSlot>* slots) {
  static constexpr std::string_view kScope(
      "\x0a\x10"
      "edgewise-loadgen",
      18);
  std::string out;
  if (slots) slots->assign(spans.size(), {});
  for (const auto& [res, idx] : GroupByResource(spans)) {
    std::string scope;
    PutBytes(scope, 1, kScope);
    std::vector<std::pair<size_t, size_t>> local;  // span index, trace id offset in scope
    for (size_t i : idx) {
      std::string sp = EncodeSpanProto(*spans[i]);
      local.emplace_back(i, scope.size() + 1 + VarintSize(sp.size()));
      PutBytes(scope, 2, sp);
    }
    std::string resource;
    if (res < resources.size()) {
      for (const Attr& a : resources[res]) EncodeKeyValue(resource, 1, a);
    }
    std::string rs;
    PutBytes(rs, 1, resource);
    size_t scope_base = rs.size() + 1 + VarintSize(scope.size());
    PutBytes(rs, 2, scope);
    size_t rs_base = out.size() + 1 + VarintSize(rs.size());
    PutBytes(out, 1, rs);
    if (slots) {
      for (auto [i, off] : local) {
        // Inside the span: trace id at 2, span id at 20, parent (when present) at 30.
        size_t base = rs_base + scope_base + off;
        (*slots)[i].offset = base + 2;
        (*slots)[i].span_offset = base + 20;
        (*slots)[i].parent_offset = spans[i]->has_parent ? base + 30 : 0;
      }
    }
  }
  return out;
}

void JsonString(std::string& o, std::string_view s) {
  o.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o.append(buf);
    } else {
      o.push_back(c);
    }
  }
  o.push_back('"');
}

void JsonAttrs(std::string& o, const std::vector<Attr>& attrs) {
  o.append("[");
  for (size_t i = 0; i < attrs.size(); ++i) {
    const Attr& a = attrs[i];
    if (i) o.push_back(',');
    o.append("{\"key\":");
    JsonString(o, a.key);
    o.append(",\"value\":{");
    if (a.type == Attr::Type::kString) {
      o.append("\"stringValue\":");
      JsonString(o, a.s);
    } else if (a.type == Attr::Type::kInt) {
      o.append("\"intValue\":\"").append(std::to_string(a.i)).append("\"");
    } else {
      o.append("\"boolValue\":").append(a.b ? "true" : "false");
    }
    o.append("}}");
  }
  o.append("]");
}

void JsonSpan(std::string& o, const OtlpSpan& s, TraceIdSlot* slot) {
  o.append("{\"traceId\":\"");
  if (slot) slot->offset = o.size();
  o.append(Hex(s.trace_id.data(), 16)).append("\",\"spanId\":\"");
  if (slot) slot->span_offset = o.size();
  o.append(Hex(s.span_id.data(), 8)).append("\"");
  if (s.has_parent) {
    o.append(",\"parentSpanId\":\"");
    if (slot) slot->parent_offset = o.size();
    o.append(Hex(s.parent_span_id.data(), 8)).append("\"");
  }
  o.append(",\"name\":");
  JsonString(o, s.name);
  o.append(",\"kind\":").append(std::to_string(s.kind));
  o.append(",\"startTimeUnixNano\":\"").append(std::to_string(s.start_ns));
  o.append("\",\"endTimeUnixNano\":\"").append(std::to_string(s.end_ns)).append("\"");
  o.append(",\"attributes\":");
  JsonAttrs(o, s.attrs);
  if (s.status_code != 0) {
    o.append(",\"status\":{\"code\":").append(std::to_string(s.status_code)).append("}");
  }
  o.append("}");
}

std::string EncodeJson(const std::vector<const OtlpSpan*>& spans,
                       const std::vector<std::vector<Attr>>& resources,
                       std::vector<TraceIdSlot>* slots) {
  std::string o;
  if (slots) slots->assign(spans.size(), {});
  o.append("{\"resourceSpans\":[");
  bool first_rs = true;
  for (const auto& [res, idx] : GroupByResource(spans)) {
    if (!first_rs) o.push_back(',');
    first_rs = false;
    o.append("{\"resource\":{\"attributes\":");
    JsonAttrs(o, res < resources.size() ? resources[res] : std::vector<Attr>{});
    o.append("},\"scopeSpans\":[{\"scope\":{\"name\":\"edgewise-loadgen\"},\"spans\":[");
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k) o.push_back(',');
      JsonSpan(o, *spans[idx[k]], slots ? &(*slots)[idx[k]] : nullptr);
    }
    o.append("]}]}");
  }
  o.append("]}");
  return o;
}

bool ReadVarint(std::string_view b, size_t* p, uint64_t* v) {
  *v = 0;
  for (int shift = 0; *p < b.size() && shift < 64; shift += 7) {
    uint8_t c = static_cast<uint8_t>(b[(*p)++]);
    *v |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) return true;
  }
  return false;
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
  }
  return "?";
}

Result<Encoding> ParseEncoding(std::string_view t) {
  if (t == "proto" || t == "protobuf") return Encoding::kProtobuf;
  if (t == "json") return Encoding::kJson;
  if (t == "gzip" || t == "gzip-proto") return Encoding::kGzipProtobuf;
  if (t == "gzip-json") return Encoding::kGzipJson;
  return Status::InvalidArgument("unknown encoding '" + std::string(t) +
                                 "' (proto, json, gzip, gzip-json)");
}

bool IsJson(Encoding e) { return e == Encoding::kJson || e == Encoding::kGzipJson; }
bool IsGzip(Encoding e) { return e == Encoding::kGzipProtobuf || e == Encoding::kGzipJson; }
std::string_view ContentType(Encoding e) {
  return IsJson(e) ? "application/json" : "application/x-protobuf";
}

std::string EncodeTraces(const std::vector<const OtlpSpan*>& spans,
                         const std::vector<std::vector<Attr>>& resources, Encoding encoding,
                         std::vector<TraceIdSlot>* slots) {
  std::vector<TraceIdSlot>* s = IsGzip(encoding) ? nullptr : slots;
  std::string body =
      IsJson(encoding) ? EncodeJson(spans, resources, s) : EncodeProto(spans, resources, s);
  if (!IsGzip(encoding)) return body;
  if (slots) slots->clear();
  return Gzip(body);
}

namespace {

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

}  // namespace

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

int64_t RejectedSpans(std::string_view body, bool json) {
  if (json) {
    size_t p = body.find("\"rejectedSpans\"");
    if (p == std::string_view::npos) return 0;
    p = body.find(':', p);
    if (p == std::string_view::npos) return 0;
    ++p;
    while (p < body.size() && (body[p] == ' ' || body[p] == '"')) ++p;
    int64_t v = 0;
    std::from_chars(body.data() + p, body.data() + body.size(), v);
    return v;
  }
  // ExportTraceServiceResponse { partial_success = 1 { rejected_spans = 1 (int64) } }.
  size_t p = 0;
  uint64_t tag, len;
  while (p < body.size() && ReadVarint(body, &p, &tag)) {
    if ((tag & 7) != 2 || !ReadVarint(body, &p, &len) || len > body.size() - p) return 0;
    if ((tag >> 3) != 1) {
      p += len;
      continue;
    }
    std::string_view ps = body.substr(p, len);
    size_t q = 0;
    uint64_t t2, v;
    while (q < ps.size() && ReadVarint(ps, &q, &t2)) {
      if ((t2 >> 3) == 1 && (t2 & 7) == 0) {
        return ReadVarint(ps, &q, &v) ? static_cast<int64_t>(v) : 0;
      }
      if ((t2 & 7) == 2 && ReadVarint(ps, &q, &v)) {
        q += v;
      } else if ((t2 & 7) != 0 || !ReadVarint(ps, &q, &v)) {
        return 0;
      }
    }
    return 0;
  }
  return 0;
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

}  // namespace ew::tools
