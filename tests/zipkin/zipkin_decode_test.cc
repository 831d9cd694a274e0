// The Zipkin v2 JSON decoder (ingest/decoders/zipkin_json.cc): every field into its SpanView field,
// the id forms, the shared-span rule, tags as OTLP attributes, every malformed form with its
// message, and a body cut at every byte.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/decoders/decoder.h"
#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"
#include "tests/ingest_decode/owned_span.h"

namespace ew::ingest::testing {
namespace {

Status Decode(std::string_view text, CollectingSink* sink) {
  std::string body = PaddedJsonCopy(text);
  return DecodeZipkinJson(body, *sink);
}

std::vector<OwnedSpan> DecodeOk(std::string_view text) {
  CollectingSink sink;
  Status st = Decode(text, &sink);
  EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << text;
  return sink.spans;
}

std::string DecodeError(std::string_view text) {
  CollectingSink sink;
  Status st = Decode(text, &sink);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
  return st.message();
}

std::array<uint8_t, 16> Trace(std::string_view hex32) {
  std::array<uint8_t, 16> out{};
  std::string bytes = FromHex(hex32);
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

std::array<uint8_t, 8> Id(std::string_view hex16) {
  std::array<uint8_t, 8> out{};
  std::string bytes = FromHex(hex16);
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

constexpr std::string_view kFull = R"([{
  "traceId": "0af7651916cd43dd8448eb211c80319c", "id": "b7ad6b7169203331",
  "parentId": "00f067aa0ba902b7", "name": "get /users", "kind": "CLIENT",
  "timestamp": 1764032400123456, "duration": 2500, "debug": false,
  "localEndpoint": {"serviceName": "frontend", "ipv4": "10.0.0.1", "port": 8080},
  "remoteEndpoint": {"serviceName": "users", "ipv6": "::1", "port": 9000},
  "annotations": [{"timestamp": 1764032400123457, "value": "ws"}],
  "tags": {"http.method": "GET", "http.status_code": "503", "http.path": "/users/42",
           "http.route": "/users/{id}", "http.url": "http://users:9000/users/42?x=1",
           "peer.service": "ignored-by-remote", "k8s.namespace.name": "prod",
           "service.namespace": "shop", "error": "boom", "custom": "x",
           "rpc.system": "none", "db.name": "d", "messaging.system": "kafka"}
}])";

TEST(ZipkinDecode, EveryFieldIntoTheView) {
  auto spans = DecodeOk(kFull);
  ASSERT_EQ(spans.size(), 1u);
  const OwnedSpan& s = spans[0];
  OwnedSpan want;
  want.trace_id = Trace("0af7651916cd43dd8448eb211c80319c");
  want.span_id = Id("b7ad6b7169203331");
  want.parent_span_id = Id("00f067aa0ba902b7");
  want.has_parent = true;
  want.kind = SpanKind::kClient;
  want.status = SpanStatus::kError;
  want.start_ns = 1764032400123456000ull;
  want.end_ns = want.start_ns + 2500000;
  want.service_name = "frontend";
  want.service_namespace = "shop";
  want.k8s_namespace = "prod";
  want.http_method = "GET";
  want.http_status = 503;
  want.http_route = "/users/{id}";
  want.url_path = "/users/42";
  want.url_full = "http://users:9000/users/42?x=1";
  want.peer_service = "users";
  want.rpc_system = "none";
  want.db_namespace = "d";
  want.messaging_system = "kafka";
  EXPECT_EQ(s, want) << Describe(s) << "\n" << Describe(want);
}

TEST(ZipkinDecode, ShortTraceIdIsTheLowHalf) {
  auto spans = DecodeOk(
      R"([{"traceId":"8448EB211C80319C","id":"00000000000000ff","kind":"SERVER","timestamp":5}])");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].trace_id, Trace("00000000000000008448eb211c80319c"));
  EXPECT_FALSE(spans[0].has_parent);
  EXPECT_EQ(spans[0].kind, SpanKind::kServer);
  EXPECT_EQ(spans[0].start_ns, 5000u);
  EXPECT_EQ(spans[0].end_ns, 5000u);
}

TEST(ZipkinDecode, SharedServerLooksUpItsOwnIdAndOthersTheirParent) {
  // B3 single-host: the server half has the client's id (and the client's parent as parentId).
  auto spans = DecodeOk(R"([
    {"traceId":"0000000000000001","id":"000000000000000a","parentId":"0000000000000009",
     "kind":"SERVER","shared":true,"timestamp":1},
    {"traceId":"0000000000000001","id":"000000000000000b","parentId":"000000000000000a",
     "kind":"SERVER","shared":false,"timestamp":1},
    {"traceId":"0000000000000001","id":"000000000000000c","kind":"SERVER","shared":true},
    {"traceId":"0000000000000001","id":"000000000000000d","parentId":"0000000000000009",
     "kind":"CLIENT","shared":true}])");
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[0].parent_span_id, Id("000000000000000a"));
  EXPECT_TRUE(spans[0].has_parent);
  EXPECT_EQ(spans[1].parent_span_id, Id("000000000000000a"));
  EXPECT_EQ(spans[2].parent_span_id, Id("000000000000000c"));  // shared without parentId
  EXPECT_TRUE(spans[2].has_parent);
  EXPECT_EQ(spans[3].parent_span_id, Id("0000000000000009"));  // shared means nothing on a client
}

TEST(ZipkinDecode, KindsStatusAndNulls) {
  auto spans = DecodeOk(R"([
    {"traceId":"0000000000000001","id":"0000000000000001","kind":"PRODUCER",
     "tags":{"otel.status_code":"OK"}},
    {"traceId":"0000000000000001","id":"0000000000000002","kind":"CONSUMER",
     "tags":{"otel.status_code":"ERROR"}},
    {"traceId":"0000000000000001","id":"0000000000000003","kind":null,"parentId":null,
     "localEndpoint":null,"remoteEndpoint":{"ipv4":"10.1.2.3"},"tags":null,"timestamp":null}
  ])");
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].kind, SpanKind::kProducer);
  EXPECT_EQ(spans[0].status, SpanStatus::kOk);
  EXPECT_EQ(spans[1].kind, SpanKind::kConsumer);
  EXPECT_EQ(spans[1].status, SpanStatus::kError);
  EXPECT_EQ(spans[2].kind, SpanKind::kUnspecified);
  EXPECT_EQ(spans[2].service_name, "");
  EXPECT_EQ(spans[2].peer_service, "");
  EXPECT_EQ(spans[2].start_ns, 0u);
  EXPECT_TRUE(DecodeOk("[]").empty());
  EXPECT_TRUE(DecodeOk(" [ ] \n").empty());
}

TEST(ZipkinDecode, TagsOverrideNothingTheEndpointsSay) {
  // service.name in tags (OTel's exporter copies resource attributes there) yields to
  // localEndpoint.serviceName; without an endpoint it is the service.
  auto spans = DecodeOk(R"([
    {"traceId":"0000000000000001","id":"0000000000000001","kind":"CLIENT",
     "tags":{"service.name":"tagged","peer.service":"tag-peer"},
     "localEndpoint":{"serviceName":"local"}},
    {"traceId":"0000000000000001","id":"0000000000000002","kind":"CLIENT",
     "tags":{"service.name":"tagged","peer.service":"tag-peer","http.target":"/t",
             "http.path":"/p"}}])");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].service_name, "local");
  EXPECT_EQ(spans[0].peer_service, "tag-peer");
  EXPECT_EQ(spans[1].service_name, "tagged");
  EXPECT_EQ(spans[1].url_path, "/t");  // http.target (OTLP's own) before Zipkin's http.path
}

TEST(ZipkinDecode, MalformedBodiesSayWhatAndWhere) {
  struct Case {
    std::string body;
    std::string message;
  };
  const std::string ok_ids = R"("traceId":"0000000000000001","id":"0000000000000001")";
  const std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"{}", "request: the body is not a JSON array of spans"},
      {"[1]", "spans[0]: not an object"},
      {R"([{"id":"0000000000000001"}])", "spans[0]: missing traceId"},
      {R"([{"traceId":"0000000000000001"}])", "spans[0]: missing id"},
      {R"([{"traceId":"00000000000001","id":"0000000000000001"}])",
       "spans[0].traceId: must be 16 or 32 hex digits"},
      {R"([{"traceId":"000000000000000g","id":"0000000000000001"}])",
       "spans[0].traceId: must be 16 or 32 hex digits"},
      {R"([{"traceId":1,"id":"0000000000000001"}])", "spans[0].traceId: not a string"},
      {R"([{"traceId":"0000000000000001","id":"01"}])", "spans[0].id: must be 16 hex digits"},
      {"[{" + ok_ids + R"(,"parentId":"xyz"}])", "spans[0].parentId: must be 16 hex digits"},
      {"[{" + ok_ids + R"(,"kind":"INTERNAL"}])",
       "spans[0].kind: must be CLIENT, SERVER, PRODUCER or CONSUMER"},
      {"[{" + ok_ids + R"(,"kind":3}])", "spans[0].kind: not a string"},
      {"[{" + ok_ids + R"(,"timestamp":-1}])", "spans[0].timestamp: not an unsigned integer"},
      {"[{" + ok_ids + R"(,"timestamp":1.5}])", "spans[0].timestamp: not an unsigned integer"},
      {"[{" + ok_ids + R"(,"timestamp":"1"}])", "spans[0].timestamp: not an unsigned integer"},
      {"[{" + ok_ids + R"(,"timestamp":18446744073709552}])", "spans[0].timestamp: out of range"},
      {"[{" + ok_ids + R"(,"duration":18446744073709551615}])", "spans[0].duration: out of range"},
      {"[{" + ok_ids + R"(,"localEndpoint":"svc"}])", "spans[0].localEndpoint: not an object"},
      {"[{" + ok_ids + R"(,"localEndpoint":{"serviceName":7}}])",
       "spans[0].localEndpoint: not a string"},
      {"[{" + ok_ids + R"(,"remoteEndpoint":[]}])", "spans[0].remoteEndpoint: not an object"},
      {"[{" + ok_ids + R"(,"tags":[]}])", "spans[0].tags: not an object"},
      {"[{" + ok_ids + R"(,"tags":{"http.status_code":200}}])",
       "spans[0].tags[\"http.status_code\"]: not a string"},
      {"[{" + ok_ids + R"(,"shared":"yes"}])", "spans[0].shared: not a boolean"},
      {"[{" + ok_ids + "}] x", "request: not valid JSON"},
      {"[{" + ok_ids + "}] []", "trailing content after the JSON array"},
      {"[{" + ok_ids + "},{" + ok_ids + R"(,"id":5}])", "spans[1].id: not a string"},
  };
  for (const Case& c : cases) {
    const std::string message = DecodeError(c.body);
    EXPECT_NE(message.find(c.message), std::string::npos) << c.body << " -> " << message;
    if (!c.body.empty()) {
      EXPECT_NE(message.find(" at byte "), std::string::npos) << message;
    }
  }
}

TEST(ZipkinDecode, EveryTruncationIsRefusedAndDeliversOnlyWholeSpans) {
  std::string text = "[";
  for (int i = 0; i < 6; ++i) {
    if (i > 0) text += ",";
    std::string span(kFull.substr(1, kFull.size() - 2));  // one span object
    const std::string id = "b7ad6b716920333" + std::to_string(i);
    span.replace(span.find("b7ad6b7169203331"), 16, id);
    text += span;
  }
  text += "]";
  const std::vector<OwnedSpan> whole = DecodeOk(text);
  ASSERT_EQ(whole.size(), 6u);
  for (size_t cut = 0; cut < text.size(); ++cut) {
    const std::string prefix = text.substr(0, cut);
    // A prefix that is whitespace-trimmed JSON of its own would be valid; none is but "" here.
    CollectingSink sink;
    Status st = Decode(prefix, &sink);
    ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << "cut at " << cut;
    ASSERT_LE(sink.spans.size(), whole.size());
    for (size_t i = 0; i < sink.spans.size(); ++i) {
      ASSERT_EQ(sink.spans[i], whole[i]) << "cut at " << cut;
    }
  }
}

TEST(ZipkinDecode, DecoderAnswersAsZipkinDoes) {
  const Decoder& d = ZipkinJsonDecoder();
  EXPECT_EQ(d.Name(), "zipkin-json");
  EXPECT_EQ(d.SuccessStatus(), 202);
  EXPECT_EQ(d.SuccessBody(3, "3 spans refused"), "");
  EXPECT_EQ(d.ErrorBody(ExportOutcome::kMalformed, "spans[0]: bad"), "spans[0]: bad\n");
  EXPECT_EQ(FindDecoder("/api/v2/spans", "application/json"), &d);
  EXPECT_EQ(FindDecoder("/api/v2/spans", "application/x-protobuf"), nullptr);
  EXPECT_EQ(FindDecoder("/v1/traces", "application/json"), &OtlpJsonDecoder());
  EXPECT_TRUE(IsDecoderPath("/api/v2/spans"));
  EXPECT_FALSE(IsDecoderPath("/api/v2/span"));
  EXPECT_EQ(AcceptedMediaTypes("/api/v2/spans"), "application/json");
  // Decode pads the body itself: a string with no spare capacity is fine.
  std::string tight = R"([{"traceId":"0000000000000001","id":"0000000000000001"}])";
  tight.shrink_to_fit();
  CollectingSink sink;
  ASSERT_TRUE(d.Decode(tight, sink).ok());
  EXPECT_EQ(sink.spans.size(), 1u);
}

}  // namespace
}  // namespace ew::ingest::testing
