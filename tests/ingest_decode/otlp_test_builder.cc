#include "tests/ingest_decode/otlp_test_builder.h"

#include <cstdio>
#include <cstring>

#include "ingest/otlp_response.h"

namespace ew::ingest::testing {

TestAttr Str(std::string key, std::string value) {
  TestAttr a;
  a.key = std::move(key);
  a.s = std::move(value);
  return a;
}
TestAttr Int(std::string key, int64_t value) {
  TestAttr a;
  a.key = std::move(key);
  a.type = TestAttr::kInt;
  a.i = value;
  return a;
}
TestAttr Bool(std::string key, bool value) {
  TestAttr a;
  a.key = std::move(key);
  a.type = TestAttr::kBool;
  a.b = value;
  return a;
}

std::string Bytes(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

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
void PutLen(uint32_t field, const std::string& payload, std::string* out) {
  PutTag(field, 2, out);
  PutVarint(payload.size(), out);
  out->append(payload);
}

namespace {

void PutFixed64(uint32_t field, uint64_t v, std::string* out) {
  PutTag(field, 1, out);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string ProtoAttr(const TestAttr& a) {
  std::string any;
  switch (a.type) {
    case TestAttr::kString:
      PutLen(1, a.s, &any);
      break;
    case TestAttr::kBool:
      PutTag(2, 0, &any);
      PutVarint(a.b ? 1 : 0, &any);
      break;
    case TestAttr::kInt:
      PutTag(3, 0, &any);
      PutVarint(static_cast<uint64_t>(a.i), &any);
      break;
    case TestAttr::kDouble: {
      PutTag(4, 1, &any);
      uint64_t bits;
      std::memcpy(&bits, &a.d, 8);
      for (int i = 0; i < 8; ++i) any.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
      break;
    }
  }
  std::string kv;
  PutLen(1, a.key, &kv);
  PutLen(2, any, &kv);
  return kv;
}

std::string ProtoSpan(const TestSpan& s) {
  std::string out;
  PutLen(1, s.trace_id, &out);
  PutLen(2, s.span_id, &out);
  if (!s.trace_state.empty()) PutLen(3, s.trace_state, &out);
  if (!s.parent_span_id.empty()) PutLen(4, s.parent_span_id, &out);
  PutLen(5, s.name, &out);
  if (s.kind != 0) {
    PutTag(6, 0, &out);
    PutVarint(static_cast<uint64_t>(s.kind), &out);
  }
  PutFixed64(7, s.start_ns, &out);
  PutFixed64(8, s.end_ns, &out);
  for (const auto& a : s.attrs) PutLen(9, ProtoAttr(a), &out);
  if (s.status != 0) {
    std::string status;
    PutLen(2, "status message", &status);
    PutTag(3, 0, &status);
    PutVarint(static_cast<uint64_t>(s.status), &status);
    PutLen(15, status, &out);
  }
  return out;
}

}  // namespace

std::string ToProtobuf(const std::vector<TestResourceSpans>& request) {
  std::string out;
  for (const auto& rs : request) {
    std::string resource;
    for (const auto& a : rs.resource) PutLen(1, ProtoAttr(a), &resource);
    std::string scopes;
    for (const auto& scope : rs.scopes) {
      std::string ss;
      std::string scope_msg;
      PutLen(1, "test-scope", &scope_msg);
      PutLen(1, scope_msg, &ss);
      for (const auto& span : scope) PutLen(2, ProtoSpan(span), &ss);
      PutLen(2, ss, &scopes);
    }
    std::string body;
    if (rs.resource_after_scopes) {
      body = scopes;
      PutLen(1, resource, &body);
    } else {
      PutLen(1, resource, &body);
      body += scopes;
    }
    PutLen(1, body, &out);
  }
  return out;
}

std::string HexOf(const uint8_t* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 15]);
  }
  return out;
}

namespace {

std::string Hex(const std::string& bytes, bool upper) {
  std::string out;
  char buf[3];
  for (unsigned char c : bytes) {
    std::snprintf(buf, sizeof(buf), upper ? "%02X" : "%02x", c);
    out += buf;
  }
  return out;
}

template <typename T>
std::string Number(T v, bool as_string) {
  std::string digits = std::to_string(v);
  if (!as_string) return digits;
  std::string out;
  out.reserve(digits.size() + 2);
  out.push_back('"');
  out.append(digits);
  out.push_back('"');
  return out;
}

std::string JsonAttrs(const std::vector<TestAttr>& attrs, const JsonStyle& style) {
  std::string out = "[";
  for (size_t i = 0; i < attrs.size(); ++i) {
    const TestAttr& a = attrs[i];
    if (i > 0) out += ",";
    out += "{\"key\":";
    AppendJsonString(a.key, &out);
    out += ",\"value\":{";
    switch (a.type) {
      case TestAttr::kString:
        out += "\"stringValue\":";
        AppendJsonString(a.s, &out);
        break;
      case TestAttr::kInt:
        out += "\"intValue\":" + Number(a.i, style.numbers_as_strings);
        break;
      case TestAttr::kBool:
        out += std::string("\"boolValue\":") + (a.b ? "true" : "false");
        break;
      case TestAttr::kDouble:
        out += "\"doubleValue\":" + std::to_string(a.d);
        break;
    }
    out += "}}";
  }
  return out + "]";
}

const char* kKindNames[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                            "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
const char* kStatusNames[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

std::string JsonSpan(const TestSpan& s, const JsonStyle& style) {
  std::string out = "{\"traceId\":\"" + Hex(s.trace_id, style.upper_hex) + "\",\"spanId\":\"" +
                    Hex(s.span_id, style.upper_hex) + "\"";
  if (!s.trace_state.empty()) {
    out += ",\"traceState\":";
    AppendJsonString(s.trace_state, &out);
  }
  out += ",\"parentSpanId\":\"" + Hex(s.parent_span_id, style.upper_hex) + "\"";
  out += ",\"name\":";
  AppendJsonString(s.name, &out);
  out += ",\"kind\":" + (style.enum_names && s.kind >= 0 && s.kind <= 5
                             ? std::string("\"") + kKindNames[s.kind] + "\""
                             : std::to_string(s.kind));
  out += ",\"startTimeUnixNano\":" + Number(s.start_ns, style.numbers_as_strings);
  out += ",\"endTimeUnixNano\":" + Number(s.end_ns, style.numbers_as_strings);
  out += ",\"attributes\":" + JsonAttrs(s.attrs, style);
  out += ",\"droppedAttributesCount\":0,\"events\":[{\"name\":\"e\",\"attributes\":[]}]";
  if (s.status != 0) {
    out += ",\"status\":{\"message\":\"status message\",\"code\":" +
           (style.enum_names && s.status >= 0 && s.status <= 2
                ? std::string("\"") + kStatusNames[s.status] + "\""
                : std::to_string(s.status)) +
           "}";
  }
  return out + "}";
}

}  // namespace

std::string ToJson(const std::vector<TestResourceSpans>& request, JsonStyle style) {
  std::string out = "{\"resourceSpans\":[";
  for (size_t r = 0; r < request.size(); ++r) {
    const auto& rs = request[r];
    if (r > 0) out += ",";
    std::string resource = "\"resource\":{\"attributes\":" + JsonAttrs(rs.resource, style) +
                           ",\"droppedAttributesCount\":0}";
    std::string scopes = "\"scopeSpans\":[";
    for (size_t i = 0; i < rs.scopes.size(); ++i) {
      if (i > 0) scopes += ",";
      scopes += "{\"scope\":{\"name\":\"test-scope\"},\"spans\":[";
      for (size_t j = 0; j < rs.scopes[i].size(); ++j) {
        if (j > 0) scopes += ",";
        scopes += JsonSpan(rs.scopes[i][j], style);
      }
      scopes += "]}";
    }
    scopes += "]";
    out.push_back('{');
    out.append(rs.resource_after_scopes ? scopes : resource);
    out.push_back(',');
    out.append(rs.resource_after_scopes ? resource : scopes);
    out.append(",\"schemaUrl\":\"\"}");
  }
  return out + "]}";
}

OwnedSpan Own(const SpanView& v) {
  OwnedSpan o;
  o.trace_id = v.trace_id;
  o.span_id = v.span_id;
  o.parent_span_id = v.parent_span_id;
  o.has_parent = v.has_parent;
  o.kind = v.kind;
  o.status = v.status;
  o.start_ns = v.start_ns;
  o.end_ns = v.end_ns;
  o.trace_state = v.trace_state;
  o.service_name = v.service_name;
  o.service_namespace = v.service_namespace;
  o.k8s_namespace = v.k8s_namespace;
  o.http_method = v.http_method;
  o.http_status = v.http_status;
  o.http_route = v.http_route;
  o.url_path = v.url_path;
  o.url_full = v.url_full;
  o.http_host = v.http_host;
  o.request_bytes = v.request_bytes;
  o.response_bytes = v.response_bytes;
  o.peer_service = v.peer_service;
  o.server_address = v.server_address;
  o.net_peer_name = v.net_peer_name;
  o.rpc_system = v.rpc_system;
  o.rpc_service = v.rpc_service;
  o.rpc_method = v.rpc_method;
  o.grpc_status = v.grpc_status;
  o.db_system = v.db_system;
  o.db_namespace = v.db_namespace;
  o.messaging_system = v.messaging_system;
  o.messaging_destination = v.messaging_destination;
  return o;
}

std::string Describe(const OwnedSpan& s) {
  return "span " + HexOf(s.span_id.data(), 8) +
         " kind=" + std::to_string(static_cast<int>(s.kind)) +
         " status=" + std::to_string(static_cast<int>(s.status)) + " svc=" + s.service_name +
         " ns=" + s.service_namespace + "/" + s.k8s_namespace + " method=" + s.http_method +
         " http_status=" + std::to_string(s.http_status) + " route=" + s.http_route +
         " path=" + s.url_path + " full=" + s.url_full + " host=" + s.http_host +
         " peer=" + s.peer_service + "/" + s.server_address + "/" + s.net_peer_name +
         " rpc=" + s.rpc_system + "/" + s.rpc_service + "/" + s.rpc_method +
         " grpc=" + std::to_string(s.grpc_status) + " db=" + s.db_system + "/" + s.db_namespace +
         " msg=" + s.messaging_system + "/" + s.messaging_destination +
         " start=" + std::to_string(s.start_ns) + " end=" + std::to_string(s.end_ns) +
         " ts=" + s.trace_state;
}

}  // namespace ew::ingest::testing
