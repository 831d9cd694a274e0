#include "tests/fault/otlp_builder.h"

#include "base/hash.h"

namespace ew::testing {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutTag(int field, int wire_type, std::string* out) {
  PutVarint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type), out);
}

void PutBytes(int field, std::string_view bytes, std::string* out) {
  PutTag(field, 2, out);
  PutVarint(bytes.size(), out);
  out->append(bytes);
}

void PutVarintField(int field, uint64_t v, std::string* out) {
  PutTag(field, 0, out);
  PutVarint(v, out);
}

void PutFixed64(int field, uint64_t v, std::string* out) {
  PutTag(field, 1, out);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string_value = 1; int_value = 3 }.
std::string EncodeKeyValue(const OtlpAttr& a) {
  std::string any;
  if (a.int_value) {
    PutVarintField(3, static_cast<uint64_t>(*a.int_value), &any);
  } else {
    PutBytes(1, a.str, &any);
  }
  std::string kv;
  PutBytes(1, a.key, &kv);
  PutBytes(2, any, &kv);
  return kv;
}

template <size_t N>
std::string_view IdBytes(const std::array<uint8_t, N>& id) {
  return {reinterpret_cast<const char*>(id.data()), N};
}

// Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7 and end 8 (fixed64),
// attributes 9, status 15 (Status.code 3).
std::string EncodeSpan(const OtlpSpan& s) {
  std::string out;
  PutBytes(1, IdBytes(s.trace_id), &out);
  PutBytes(2, IdBytes(s.span_id), &out);
  if (s.parent_span_id) PutBytes(4, IdBytes(*s.parent_span_id), &out);
  PutBytes(5, s.name, &out);
  PutVarintField(6, static_cast<uint64_t>(s.kind), &out);
  PutFixed64(7, s.start_ns, &out);
  PutFixed64(8, s.end_ns, &out);
  for (const OtlpAttr& a : s.attributes) PutBytes(9, EncodeKeyValue(a), &out);
  if (s.status_code != 0) {
    std::string status;
    PutVarintField(3, static_cast<uint64_t>(s.status_code), &status);
    PutBytes(15, status, &out);
  }
  return out;
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
bool SkipField(int wire_type, std::string_view* in) {
  uint64_t v = 0;
  switch (wire_type) {
    case 0:
      return ReadVarint(in, &v);
    case 1:
      if (in->size() < 8) return false;
      in->remove_prefix(8);
      return true;
    case 2:
      if (!ReadVarint(in, &v) || v > in->size()) return false;
      in->remove_prefix(v);
      return true;
    case 5:
      if (in->size() < 4) return false;
      in->remove_prefix(4);
      return true;
    default:
      return false;
  }
}

// ExportTracePartialSuccess { rejected_spans = 1; error_message = 2 }.
bool ReadPartialSuccess(std::string_view ps, int64_t* rejected) {
  while (!ps.empty()) {
    uint64_t t = 0;
    if (!ReadVarint(&ps, &t)) return false;
    if ((t >> 3) == 1 && (t & 7) == 0) {
      uint64_t v = 0;
      if (!ReadVarint(&ps, &v)) return false;
      *rejected = static_cast<int64_t>(v);
    } else if (!SkipField(static_cast<int>(t & 7), &ps)) {
      return false;
    }
  }
  return true;
}

}  // namespace

// ExportTraceServiceRequest.resource_spans 1; ResourceSpans.resource 1, scope_spans 2;
// Resource.attributes 1; ScopeSpans.spans 2.
std::string EncodeExportRequest(const std::vector<OtlpResourceSpans>& resources) {
  std::string req;
  for (const OtlpResourceSpans& rs : resources) {
    std::string resource;
    for (const OtlpAttr& a : rs.resource) PutBytes(1, EncodeKeyValue(a), &resource);
    std::string scope_spans;
    for (const OtlpSpan& s : rs.spans) PutBytes(2, EncodeSpan(s), &scope_spans);
    std::string resource_spans;
    PutBytes(1, resource, &resource_spans);
    PutBytes(2, scope_spans, &resource_spans);
    PutBytes(1, resource_spans, &req);
  }
  return req;
}

std::optional<int64_t> RejectedSpans(std::string_view body) {
  int64_t rejected = 0;
  while (!body.empty()) {
    uint64_t tag = 0;
    if (!ReadVarint(&body, &tag)) return std::nullopt;
    const int wire = static_cast<int>(tag & 7);
    if ((tag >> 3) == 1 && wire == 2) {  // partial_success
      uint64_t len = 0;
      if (!ReadVarint(&body, &len) || len > body.size()) return std::nullopt;
      if (!ReadPartialSuccess(body.substr(0, len), &rejected)) return std::nullopt;
      body.remove_prefix(len);
    } else if (!SkipField(wire, &body)) {
      return std::nullopt;
    }
  }
  return rejected;
}

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

}  // namespace ew::testing
