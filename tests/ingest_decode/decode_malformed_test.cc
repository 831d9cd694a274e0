// Hostile input for both OTLP decoders: every malformed class gives InvalidArgument with a
// message that says where, and nothing crashes (these tests also run under ASan+UBSan).
#include <gtest/gtest.h>

#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"
#include "tests/ingest_decode/owned_span.h"

namespace ew::ingest::testing {
namespace {

Status Proto(const std::string& body) {
  CollectingSink sink;
  return DecodeOtlpProtobuf(body, sink);
}

Status Json(std::string_view text) {
  std::string body = PaddedJsonCopy(text);
  CollectingSink sink;
  return DecodeOtlpJson(body, sink);
}

void ExpectInvalid(const Status& s, std::string_view where) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(where), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("at byte"), std::string::npos) << s.message();
}

std::string SpanWith(const std::string& extra_fields) {
  std::string span;
  PutLen(1, FromHex("0af7651916cd43dd8448eb211c80319c"), &span);
  PutLen(2, FromHex("b7ad6b7169203331"), &span);
  span += extra_fields;
  return span;
}

// ExportTraceServiceRequest with one resource_spans, one scope_spans and the given spans.
std::string Wrap(const std::vector<std::string>& spans) {
  std::string ss;
  for (const auto& s : spans) PutLen(2, s, &ss);
  std::string rs;
  PutLen(2, ss, &rs);
  std::string body;
  PutLen(1, rs, &body);
  return body;
}

tools::OtlpResourceSpans Sample() {
  tools::OtlpResourceSpans rs;
  rs.resource = {Attr::Str("service.name", "frontend"), Attr::Str("service.namespace", "shop")};
  tools::OtlpSpan s;
  s.trace_id = tools::TraceIdFromHex("0af7651916cd43dd8448eb211c80319c");
  s.span_id = tools::SpanIdFromHex("b7ad6b7169203331");
  s.parent_span_id = tools::SpanIdFromHex("b7ad6b7169203301");
  s.has_parent = true;
  s.kind = 3;
  s.status_code = 2;
  s.start_ns = 1764032400000000000ull;
  s.end_ns = 1764032400002000000ull;
  s.attrs = {Attr::Str("http.request.method", "GET"), Attr::Int("http.response.status_code", 500),
             Attr::Str("url.full", "http://api.payments-provider.invalid/charge")};
  rs.scopes.push_back({s, s});
  return rs;
}

TEST(DecodeProtobufMalformed, ValidBaselineDecodes) {
  EXPECT_TRUE(Proto(Wrap({SpanWith("")})).ok());
  EXPECT_TRUE(Proto(tools::EncodeRequest({Sample()}, tools::Encoding::kProtobuf)).ok());
}

TEST(DecodeProtobufMalformed, BadWireTypes) {
  for (uint32_t wire : {6u, 7u}) {
    std::string extra;
    PutTag(20, wire, &extra);
    ExpectInvalid(Proto(Wrap({SpanWith(extra)})), "resource_spans[0].scope_spans[0].spans[0]");
  }
  std::string stray_end;
  PutTag(20, 4, &stray_end);
  ExpectInvalid(Proto(Wrap({SpanWith(stray_end)})), "unexpected end-group");
}

TEST(DecodeProtobufMalformed, KnownFieldsWithWrongWireType) {
  std::string kind_as_len;
  PutLen(6, "x", &kind_as_len);
  ExpectInvalid(Proto(Wrap({SpanWith(kind_as_len)})), "spans[0].kind");
  std::string start_as_varint;
  PutTag(7, 0, &start_as_varint);
  PutVarint(5, &start_as_varint);
  ExpectInvalid(Proto(Wrap({SpanWith(start_as_varint)})), "start_time_unix_nano");
  std::string body;
  PutTag(1, 0, &body);  // resource_spans as a varint
  PutVarint(1, &body);
  ExpectInvalid(Proto(body), "request");
}

TEST(DecodeProtobufMalformed, WrongIdLengths) {
  std::string span;
  PutLen(1, FromHex("0af7651916cd43dd8448eb211c8031"), &span);  // 15 bytes
  PutLen(2, FromHex("b7ad6b7169203331"), &span);
  ExpectInvalid(Proto(Wrap({span})), "trace_id: must be 16 bytes");
  span.clear();
  PutLen(1, FromHex("0af7651916cd43dd8448eb211c80319c"), &span);
  PutLen(2, FromHex("b7ad6b716920333132"), &span);  // 9 bytes
  ExpectInvalid(Proto(Wrap({span})), "span_id: must be 8 bytes");
  std::string parent;
  PutLen(4, FromHex("b7ad"), &parent);
  ExpectInvalid(Proto(Wrap({SpanWith(""), SpanWith(parent)})), "spans[1].parent_span_id");
  span.clear();
  PutLen(2, FromHex("b7ad6b7169203331"), &span);
  ExpectInvalid(Proto(Wrap({span})), "missing trace_id");
  span.clear();
  PutLen(1, FromHex("0af7651916cd43dd8448eb211c80319c"), &span);
  ExpectInvalid(Proto(Wrap({span})), "missing span_id");
}

TEST(DecodeProtobufMalformed, OverlongAndTruncatedVarints) {
  std::string extra;
  PutTag(20, 0, &extra);
  extra.append(10, '\xff');
  extra.push_back('\x01');
  ExpectInvalid(Proto(Wrap({SpanWith(extra)})), "varint");
  std::string ten;  // a 10-byte varint whose last byte carries more than one bit
  PutTag(20, 0, &ten);
  ten.append(9, '\xff');
  ten.push_back('\x02');
  ExpectInvalid(Proto(Wrap({SpanWith(ten)})), "longer than 64 bits");
  std::string body = "\x0a\xff\xff";  // length varint cut short
  ExpectInvalid(Proto(body), "truncated varint at byte 1");
  std::string zero_field = std::string("\x00\x01", 2);
  ExpectInvalid(Proto(zero_field), "field number 0");
}

TEST(DecodeProtobufMalformed, LengthsPastTheEndAndHuge) {
  std::string body;
  PutTag(1, 2, &body);
  PutVarint(1000, &body);
  body += "short";
  ExpectInvalid(Proto(body), "length past the end");
  for (uint64_t len : {0xffffffffull, 0x7fffffffffffffffull, 0xffffffffffffffffull}) {
    std::string huge;
    PutTag(1, 2, &huge);
    PutVarint(len, &huge);  // a "negative" int32/int64 length encodes like this
    huge += "abc";
    ExpectInvalid(Proto(huge), "length past the end");
  }
  // A nested length that fits the body but not its enclosing message.
  std::string span = SpanWith("");
  std::string ss;
  PutTag(2, 2, &ss);
  PutVarint(span.size() + 5, &ss);
  ss += span;
  std::string rs;
  PutLen(2, ss, &rs);
  std::string outer;
  PutLen(1, rs, &outer);
  outer += "xxxxxxxx";
  ExpectInvalid(Proto(outer), "resource_spans[0].scope_spans[0]");
}

TEST(DecodeProtobufMalformed, GroupNestingIsBounded) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) PutTag(20, 3, &deep);
  ExpectInvalid(Proto(Wrap({SpanWith(deep)})), "nested too deep");
  std::string mismatched;
  PutTag(20, 3, &mismatched);
  PutTag(21, 4, &mismatched);
  ExpectInvalid(Proto(Wrap({SpanWith(mismatched)})), "mismatched end-group");
  std::string unterminated;
  PutTag(20, 3, &unterminated);
  ExpectInvalid(Proto(Wrap({SpanWith(unterminated)})), "truncated");
}

TEST(DecodeProtobufMalformed, AttributeErrorsNameTheAttribute) {
  std::string kv;
  PutLen(1, "service.name", &kv);
  PutTag(2, 0, &kv);  // value as a varint
  PutVarint(3, &kv);
  std::string resource;
  PutLen(1, kv, &resource);
  std::string rs;
  PutLen(1, resource, &rs);
  std::string body;
  PutLen(1, rs, &body);
  ExpectInvalid(Proto(body), "resource_spans[0].resource.attributes[0]");
}

// Flipping bytes must never crash, and errors are always InvalidArgument.
TEST(DecodeProtobufMalformed, CorruptedBytes) {
  std::string body = tools::EncodeRequest({Sample()}, tools::Encoding::kProtobuf);
  for (size_t i = 0; i < body.size(); ++i) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      std::string copy = body;
      copy[i] = static_cast<char>(copy[i] ^ x);
      CollectingSink sink;
      Status s = DecodeOtlpProtobuf(copy, sink);
      if (!s.ok()) {
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST(DecodeJsonMalformed, NotAnObject) {
  for (const char* text : {"", "   ", "[]", "5", "\"x\"", "null", "true", "{", "{\"a\":}"}) {
    EXPECT_EQ(Json(text).code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(DecodeJsonMalformed, WrongTypes) {
  ExpectInvalid(Json(R"({"resourceSpans":{}})"), "resourceSpans is not an array");
  ExpectInvalid(Json(R"({"resourceSpans":[5]})"), "resourceSpans[0]");
  ExpectInvalid(Json(R"({"resourceSpans":[{"scopeSpans":"x"}]})"), "resourceSpans[0]");
  ExpectInvalid(Json(R"({"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]})"),
                "resourceSpans[0].scopeSpans[0]");
  const std::string ids =
      R"("traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331")";
  auto span = [&](const std::string& fields) {
    return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{)" + ids + "," + fields + "}]}]}]}";
  };
  ExpectInvalid(Json(span(R"("kind":true)")), "spans[0].kind");
  ExpectInvalid(Json(span(R"("kind":{})")), "spans[0].kind");
  ExpectInvalid(Json(span(R"("startTimeUnixNano":-5)")), "startTimeUnixNano");
  ExpectInvalid(Json(span(R"("startTimeUnixNano":"12x")")), "startTimeUnixNano");
  ExpectInvalid(Json(span(R"("endTimeUnixNano":1.5)")), "endTimeUnixNano");
  ExpectInvalid(Json(span(R"("attributes":{})")), "attributes");
  ExpectInvalid(Json(span(R"("attributes":[5])")), "attributes[0]");
  ExpectInvalid(Json(span(R"("attributes":[{"key":5}])")), "attributes[0]");
  ExpectInvalid(Json(span(R"("attributes":[{"key":"http.route","value":5}])")), "attributes[0]");
  ExpectInvalid(
      Json(span(R"("attributes":[{"key":"http.status_code","value":{"intValue":"5x"}}])")),
      "attributes[0]");
  ExpectInvalid(Json(span(R"("status":[])")), "status");
  ExpectInvalid(Json(span(R"("status":{"code":"x"},"traceState":5)")), "traceState");
}

TEST(DecodeJsonMalformed, BadHexAndWrongIdLengths) {
  auto one = [](const std::string& trace, const std::string& span, const std::string& parent) {
    return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")" + trace +
           R"(","spanId":")" + span + R"(","parentSpanId":")" + parent + R"("}]}]}]})";
  };
  const std::string t = "0af7651916cd43dd8448eb211c80319c";
  const std::string s = "b7ad6b7169203331";
  EXPECT_TRUE(Json(one(t, s, "")).ok());
  EXPECT_TRUE(Json(one(t, s, s)).ok());
  ExpectInvalid(Json(one("0af7651916cd43dd8448eb211c80319", s, "")), "traceId: must be 32 hex");
  ExpectInvalid(Json(one("0af7651916cd43dd8448eb211c80319g", s, "")), "traceId");
  ExpectInvalid(Json(one(t, "b7ad6b71692033", "")), "spanId: must be 16 hex");
  ExpectInvalid(Json(one(t, "b7ad6b716920333z", "")), "spanId");
  ExpectInvalid(Json(one(t, s, "b7ad")), "parentSpanId");
  ExpectInvalid(Json(one("", s, "")), "traceId");
  ExpectInvalid(
      Json(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":")" + s + R"("}]}]}]})"),
      "missing traceId");
  ExpectInvalid(
      Json(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")" + t + R"("}]}]}]})"),
      "missing spanId");
}

// Deeply nested values where the decoder does not look are skipped without recursion (valid
// JSON, so the span still decodes); unbalanced nesting is an error. Nothing overflows the stack.
TEST(DecodeJsonMalformed, DeepNesting) {
  const std::string ids =
      R"("traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331")";
  std::string arrays = std::string(200000, '[') + std::string(200000, ']');
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += '1';  // (not "1" + std::string(...): GCC 12 warns falsely, -Wrestrict)
  objects.append(100000, '}');
  for (const std::string& deep : {arrays, objects}) {
    std::string in_span = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{)" + ids +
                          R"(,"unknown":)" + deep + "}]}]}]}";
    std::string body = PaddedJsonCopy(in_span);
    CollectingSink sink;
    EXPECT_TRUE(DecodeOtlpJson(body, sink).ok());
    EXPECT_EQ(sink.spans.size(), 1u);
    std::string in_value = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{)" + ids +
                           R"(,"attributes":[{"key":"http.route","value":{"arrayValue":)" + deep +
                           "}}]}]}]}]}";
    EXPECT_TRUE(Json(in_value).ok());
    EXPECT_EQ(Json(in_span.substr(0, in_span.size() - 1000)).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Json(std::string(100000, '[')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Json("{\"x\":" + std::string(100000, '[')).code(), StatusCode::kInvalidArgument);
}

TEST(DecodeJsonMalformed, TrailingContent) {
  EXPECT_EQ(Json(R"({"resourceSpans":[]} {"resourceSpans":[]})").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Json(R"({"resourceSpans":[]}])").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Json("{\"resourceSpans\":[]}  \n").ok());
}

TEST(DecodeJsonMalformed, CorruptedBytes) {
  std::string text = tools::EncodeRequest({Sample()}, tools::Encoding::kJson);
  for (size_t i = 0; i < text.size(); ++i) {
    for (char c : {'"', '{', ']', '\0', '\\', 'x'}) {
      std::string copy = text;
      copy[i] = c;
      Status s = Json(copy);
      if (!s.ok()) {
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << i;
      }
    }
  }
}

}  // namespace
}  // namespace ew::ingest::testing
