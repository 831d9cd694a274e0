// Both OTLP decoders on the same requests: identical SpanViews, per the SpanView contract.
#include <gtest/gtest.h>

#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"
#include "tests/ingest_decode/owned_span.h"

namespace ew::ingest::testing {
namespace {

using tools::EncodeRequest;
using tools::Encoding;
using tools::JsonStyle;
using tools::OtlpResourceSpans;
using tools::OtlpSpan;

std::string ToProtobuf(const std::vector<OtlpResourceSpans>& request) {
  return EncodeRequest(request, Encoding::kProtobuf);
}
std::string ToJson(const std::vector<OtlpResourceSpans>& request,
                   JsonStyle style = {true, false, false, true}) {
  return EncodeRequest(request, Encoding::kJson, style);
}

std::vector<OwnedSpan> DecodeProto(const std::string& body) {
  CollectingSink sink;
  Status s = DecodeOtlpProtobuf(body, sink);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return sink.spans;
}

std::vector<OwnedSpan> DecodeJson(const std::string& text) {
  std::string body = PaddedJsonCopy(text);
  CollectingSink sink;
  Status s = DecodeOtlpJson(body, sink);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << text.substr(0, 400);
  return sink.spans;
}

OtlpSpan MakeSpan(int n, int kind, std::vector<Attr> attrs) {
  OtlpSpan s;
  s.trace_id = tools::TraceIdFromHex("0af7651916cd43dd8448eb211c80319c");
  s.span_id =
      tools::SpanIdFromHex("b7ad6b71692033" + std::string(n < 10 ? "0" : "") + std::to_string(n));
  if (n > 1) {
    s.parent_span_id = tools::SpanIdFromHex("b7ad6b7169203301");
    s.has_parent = true;
  }
  s.kind = kind;
  s.start_ns = 1764032400000000000ull + static_cast<uint64_t>(n) * 1000;
  s.end_ns = s.start_ns + 2500000;
  s.attrs = std::move(attrs);
  s.events = {{s.start_ns + 1, "e", {}}};
  return s;
}

std::vector<OtlpResourceSpans> RichRequest() {
  OtlpResourceSpans frontend;
  frontend.resource = {Attr::Str("service.name", "frontend"),
                       Attr::Str("service.namespace", "shop"),
                       Attr::Str("k8s.namespace.name", "prod"),
                       Attr::Str("telemetry.sdk.language", "go"), Attr::Int("process.pid", 4242)};
  frontend.scopes.push_back({
      MakeSpan(
          1, 2,
          {Attr::Str("http.request.method", "GET"), Attr::Int("http.response.status_code", 200),
           Attr::Str("http.route", "/cart/{id}"), Attr::Str("url.path", "/cart/42"),
           Attr::Int("http.request.body.size", 0), Attr::Int("http.response.body.size", 512)}),
      MakeSpan(2, 3,
               {Attr::Str("http.method", "POST"), Attr::Int("http.status_code", 503),
                Attr::Str("http.url", "http://checkout:8080/checkout?x=1"),
                Attr::Str("http.host", "checkout:8080"), Attr::Str("net.peer.name", "checkout"),
                Attr::Int("http.request_content_length", 17),
                Attr::Int("http.response_content_length", 9)}),
  });
  frontend.scopes[0][1].status_code = 2;
  frontend.scopes[0][1].status_message = "status message";
  frontend.scopes[0][1].trace_state = "ot=th:8";
  frontend.scopes.push_back(
      {MakeSpan(3, 3,
                {Attr::Str("db.system", "postgresql"), Attr::Str("db.name", "orders"),
                 Attr::Str("server.address", "10.0.0.7"), Attr::Bool("db.flag", true)})});
  OtlpResourceSpans payments;
  payments.resource_after_scopes = true;
  payments.resource = {Attr::Str("service.name", "payments"),
                       Attr::Str("service.namespace", "pay")};
  payments.scopes.push_back({
      MakeSpan(4, 2,
               {Attr::Str("rpc.system", "grpc"), Attr::Str("rpc.service", "pay.Payments"),
                Attr::Str("rpc.method", "Charge"), Attr::Int("rpc.grpc.status_code", 14)}),
      MakeSpan(
          5, 4,
          {Attr::Str("messaging.system", "kafka"),
           Attr::Str("messaging.destination.name", "orders"),
           Attr::Str("peer.service", "kafka-cluster"), Attr::Str("url.full", "https://x/é\"q")}),
      MakeSpan(
          6, 5,
          {Attr::Str("messaging.system", "rabbitmq"), Attr::Str("messaging.destination", "jobs"),
           Attr::Str("db.system.name", "redis"), Attr::Str("db.namespace", "0")}),
  });
  payments.scopes[0][0].status_code = 1;
  // Attribute types the map does not read, and a link to another trace: both decoders skip them.
  payments.scopes[0][0].attrs.push_back(Attr::Double("sampling.ratio", 0.25));
  payments.scopes[0][0].attrs.push_back(Attr::Bytes("blob", std::string("\0\xff\x01", 3)));
  payments.scopes[0][0].attrs.push_back(
      Attr::Array("tags", {Attr::Str("", "a"), Attr::Int("", 2), Attr::Array("", {})}));
  payments.scopes[0][0].attrs.push_back(
      Attr::KvList("http.route", {Attr::Str("http.route", "/not-this"), Attr::Bool("b", true)}));
  payments.scopes[0][0].links.push_back({tools::TraceIdFromHex("ffeeddccbbaa99887766554433221100"),
                                         tools::SpanIdFromHex("0102030405060708"),
                                         "ot=th:1",
                                         {Attr::Str("service.name", "linked")}});
  return {frontend, payments};
}

TEST(DecodeAgreement, ProtobufAndJsonGiveIdenticalViews) {
  auto request = RichRequest();
  auto from_proto = DecodeProto(ToProtobuf(request));
  ASSERT_EQ(from_proto.size(), 6u);
  for (JsonStyle style : {JsonStyle{true, false, false, true}, JsonStyle{false, true, true, true},
                          JsonStyle{true, true, false, false}}) {
    auto from_json = DecodeJson(ToJson(request, style));
    ASSERT_EQ(from_json.size(), from_proto.size());
    for (size_t i = 0; i < from_proto.size(); ++i) {
      EXPECT_EQ(from_proto[i], from_json[i])
          << "proto: " << Describe(from_proto[i]) << "\njson:  " << Describe(from_json[i]);
    }
  }
}

TEST(DecodeAgreement, ConcreteValues) {
  auto spans = DecodeProto(ToProtobuf(RichRequest()));
  ASSERT_EQ(spans.size(), 6u);
  const OwnedSpan& server = spans[0];
  EXPECT_EQ(server.service_name, "frontend");
  EXPECT_EQ(server.service_namespace, "shop");
  EXPECT_EQ(server.k8s_namespace, "prod");
  EXPECT_EQ(server.kind, SpanKind::kServer);
  EXPECT_FALSE(server.has_parent);
  EXPECT_EQ(server.http_method, "GET");
  EXPECT_EQ(server.http_status, 200);
  EXPECT_EQ(server.http_route, "/cart/{id}");
  EXPECT_EQ(server.url_path, "/cart/42");
  EXPECT_EQ(server.response_bytes, 512);
  EXPECT_EQ(server.start_ns, 1764032400000001000ull);
  EXPECT_EQ(server.end_ns, 1764032400000001000ull + 2500000);
  EXPECT_EQ(tools::Hex(server.trace_id.data(), 16), "0af7651916cd43dd8448eb211c80319c");

  const OwnedSpan& client = spans[1];  // old semantic conventions
  EXPECT_EQ(client.kind, SpanKind::kClient);
  EXPECT_TRUE(client.has_parent);
  EXPECT_EQ(tools::Hex(client.parent_span_id.data(), 8), "b7ad6b7169203301");
  EXPECT_EQ(client.status, SpanStatus::kError);
  EXPECT_EQ(client.http_method, "POST");
  EXPECT_EQ(client.http_status, 503);
  EXPECT_EQ(client.url_full, "http://checkout:8080/checkout?x=1");
  EXPECT_EQ(client.http_host, "checkout:8080");
  EXPECT_EQ(client.net_peer_name, "checkout");
  EXPECT_EQ(client.request_bytes, 17);
  EXPECT_EQ(client.response_bytes, 9);
  EXPECT_EQ(client.trace_state, "ot=th:8");

  EXPECT_EQ(spans[2].db_system, "postgresql");
  EXPECT_EQ(spans[2].db_namespace, "orders");
  EXPECT_EQ(spans[2].server_address, "10.0.0.7");
  EXPECT_EQ(spans[2].grpc_status, -1);

  // A resource written after the scope spans still applies to them.
  EXPECT_EQ(spans[3].service_name, "payments");
  EXPECT_EQ(spans[3].service_namespace, "pay");
  EXPECT_EQ(spans[3].k8s_namespace, "");
  EXPECT_EQ(spans[3].rpc_system, "grpc");
  EXPECT_EQ(spans[3].rpc_service, "pay.Payments");
  EXPECT_EQ(spans[3].rpc_method, "Charge");
  EXPECT_EQ(spans[3].grpc_status, 14);
  EXPECT_EQ(spans[3].status, SpanStatus::kOk);
  EXPECT_EQ(tools::Hex(spans[3].trace_id.data(), 16), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(spans[3].http_route, "");  // a kvlist value is not a route
  EXPECT_EQ(spans[4].kind, SpanKind::kProducer);
  EXPECT_EQ(spans[4].messaging_destination, "orders");
  EXPECT_EQ(spans[4].peer_service, "kafka-cluster");
  EXPECT_EQ(spans[4].url_full, "https://x/é\"q");
  EXPECT_EQ(spans[5].kind, SpanKind::kConsumer);
  EXPECT_EQ(spans[5].messaging_system, "rabbitmq");
  EXPECT_EQ(spans[5].messaging_destination, "jobs");
  EXPECT_EQ(spans[5].db_system, "redis");
  EXPECT_EQ(spans[5].db_namespace, "0");
}

TEST(DecodeAgreement, StableConventionWinsInEitherOrder) {
  for (bool stable_first : {true, false}) {
    std::vector<Attr> attrs = {Attr::Str("http.method", "OLD"), Attr::Int("http.status_code", 404),
                               Attr::Str("http.target", "/old"), Attr::Str("db.name", "olddb")};
    std::vector<Attr> stable = {Attr::Str("http.request.method", "NEW"),
                                Attr::Int("http.response.status_code", 201),
                                Attr::Str("url.path", "/new"), Attr::Str("db.namespace", "newdb")};
    attrs.insert(stable_first ? attrs.begin() : attrs.end(), stable.begin(), stable.end());
    OtlpResourceSpans rs;
    rs.scopes.push_back({MakeSpan(1, 2, attrs)});
    for (const auto& spans : {DecodeProto(ToProtobuf({rs})), DecodeJson(ToJson({rs}))}) {
      ASSERT_EQ(spans.size(), 1u);
      EXPECT_EQ(spans[0].http_method, "NEW");
      EXPECT_EQ(spans[0].http_status, 201);
      EXPECT_EQ(spans[0].url_path, "/new");
      EXPECT_EQ(spans[0].db_namespace, "newdb");
    }
  }
}

TEST(DecodeAgreement, SpanAttributesOverrideResourceAttributes) {
  OtlpResourceSpans rs;
  rs.resource = {Attr::Str("service.name", "from-resource"),
                 Attr::Str("http.request.method", "PUT"), Attr::Str("peer.service", "res-peer")};
  rs.scopes.push_back(
      {MakeSpan(1, 3, {Attr::Str("service.name", "from-span"), Attr::Str("http.method", "GET")}),
       MakeSpan(2, 3, {})});
  for (const auto& spans : {DecodeProto(ToProtobuf({rs})), DecodeJson(ToJson({rs}))}) {
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(spans[0].service_name, "from-span");
    EXPECT_EQ(spans[0].http_method, "GET");  // the span's old name beats the resource's stable
    EXPECT_EQ(spans[0].peer_service, "res-peer");
    EXPECT_EQ(spans[1].service_name, "from-resource");  // nothing leaks from the previous span
    EXPECT_EQ(spans[1].http_method, "PUT");
  }
}

TEST(DecodeAgreement, IntAttributesGivenAsDecimalStrings) {
  OtlpResourceSpans rs;
  rs.scopes.push_back(
      {MakeSpan(1, 2,
                {Attr::Str("http.status_code", "502"), Attr::Str("rpc.grpc.status_code", "x"),
                 Attr::Int("http.route", 7)})});
  for (const auto& spans : {DecodeProto(ToProtobuf({rs})), DecodeJson(ToJson({rs}))}) {
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(spans[0].http_status, 502);
    EXPECT_EQ(spans[0].grpc_status, -1);  // not a number: ignored
    EXPECT_EQ(spans[0].http_route, "");   // an int where a string belongs: ignored
  }
}

TEST(DecodeAgreement, ResourceSpansDoNotLeakIntoEachOther) {
  OtlpResourceSpans a;
  a.resource = {Attr::Str("service.name", "a"), Attr::Str("k8s.namespace.name", "ka")};
  a.scopes.push_back({MakeSpan(1, 2, {})});
  OtlpResourceSpans b;
  b.resource = {Attr::Str("service.name", "b")};
  b.scopes.push_back({MakeSpan(2, 2, {})});
  for (const auto& spans : {DecodeProto(ToProtobuf({a, b})), DecodeJson(ToJson({a, b}))}) {
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(spans[1].service_name, "b");
    EXPECT_EQ(spans[1].k8s_namespace, "");
  }
}

TEST(DecodeProtobuf, DeprecatedInstrumentationLibrarySpans) {
  std::string span;
  PutLen(1, tools::FromHex("0af7651916cd43dd8448eb211c80319c"), &span);
  PutLen(2, tools::FromHex("b7ad6b7169203331"), &span);
  std::string ils;
  PutLen(2, span, &ils);
  std::string rs;
  PutLen(1000, ils, &rs);
  std::string body;
  PutLen(1, rs, &body);
  auto spans = DecodeProto(body);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].span_id[7], 0x31);
}

TEST(DecodeProtobuf, SkipsUnknownFieldsOfEveryWireType) {
  OtlpResourceSpans rs;
  rs.resource = {Attr::Str("service.name", "svc")};
  rs.scopes.push_back({MakeSpan(1, 2, {Attr::Str("http.route", "/r")})});
  std::string body = ToProtobuf({rs});
  std::string unknown;
  PutTag(99, 0, &unknown);
  PutVarint(0xffffffffffffffffull, &unknown);
  PutTag(98, 1, &unknown);
  unknown.append(8, '\x01');
  PutLen(97, "whatever", &unknown);
  PutTag(96, 5, &unknown);
  unknown.append(4, '\x02');
  PutTag(95, 3, &unknown);  // a group with a nested group and a value inside
  PutTag(94, 3, &unknown);
  PutTag(1, 0, &unknown);
  PutVarint(5, &unknown);
  PutTag(94, 4, &unknown);
  PutTag(95, 4, &unknown);
  // Unknown fields before and after the known ones at the top level.
  auto spans = DecodeProto(unknown + body + unknown);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].service_name, "svc");
  EXPECT_EQ(spans[0].http_route, "/r");
}

TEST(DecodeJson, UnknownFieldsNullsAndSnakeCaseAreAccepted) {
  std::string text = R"({"extra":{"deep":[1,2,{"x":null}]},"resourceSpans":[{"resource":null,
    "scopeSpans":[{"scope":{"name":"s","attributes":[]},"spans":[{"unknown":[[[]]],
    "trace_id":"0AF7651916CD43DD8448EB211C80319C","span_id":"b7ad6b7169203331",
    "parentSpanId":null,"kind":"SPAN_KIND_CLIENT","start_time_unix_nano":17,
    "endTimeUnixNano":"18","status":{"code":"STATUS_CODE_ERROR"},
    "attributes":[{"value":{"stringValue":"v"},"key":"server.address"},{"key":"k"},
    {"key":"http.status_code","value":{"intValue":503}},{"key":"peer.service","value":null}]}]}]}]})";
  auto spans = DecodeJson(text);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].kind, SpanKind::kClient);
  EXPECT_EQ(spans[0].status, SpanStatus::kError);
  EXPECT_EQ(spans[0].start_ns, 17u);
  EXPECT_EQ(spans[0].end_ns, 18u);
  EXPECT_EQ(spans[0].server_address, "v");
  EXPECT_EQ(spans[0].http_status, 503);
  EXPECT_FALSE(spans[0].has_parent);
  EXPECT_EQ(spans[0].trace_id[0], 0x0a);
}

TEST(DecodeJson, EscapedStringsAreUnescaped) {
  std::string text = R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",
    "value":{"stringValue":"caf\u00e9 \"svc\""}}]},"scopeSpans":[{"spans":[{
    "traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","kind":2}]}]}]})";
  auto spans = DecodeJson(text);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].service_name, "café \"svc\"");
}

TEST(DecodeBoth, EmptyRequestsDecodeToNothing) {
  EXPECT_TRUE(DecodeProto("").empty());
  EXPECT_TRUE(DecodeJson("{}").empty());
  EXPECT_TRUE(DecodeJson(R"({"resourceSpans":[]})").empty());
  EXPECT_TRUE(DecodeJson(R"({"resourceSpans":null})").empty());
  EXPECT_TRUE(DecodeJson(R"({"resourceSpans":[{"scopeSpans":[{"spans":null}]}]})").empty());
}

class StopAfter : public SpanSink {
 public:
  explicit StopAfter(int n) : left_(n) {}
  Status OnSpan(const SpanView&) override {
    ++seen;
    return --left_ == 0 ? Status::ResourceExhausted("stop") : Status::Ok();
  }
  int seen = 0;

 private:
  int left_;
};

TEST(DecodeBoth, SinkErrorStopsDecoding) {
  auto request = RichRequest();
  StopAfter proto_sink(2);
  Status s = DecodeOtlpProtobuf(ToProtobuf(request), proto_sink);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(proto_sink.seen, 2);
  StopAfter json_sink(2);
  std::string body = PaddedJsonCopy(ToJson(request));
  s = DecodeOtlpJson(body, json_sink);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(json_sink.seen, 2);
}

}  // namespace
}  // namespace ew::ingest::testing
