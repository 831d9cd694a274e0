// Span links in the three OTLP walkers (fast and precise protobuf, JSON): the same links, in body
// order, at most kMaxSpanLinks kept, a link without an id dropped, an id of the wrong size an
// error that names the link.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/otlp_proto_walkers.h"
#include "ingest/decoders/span_view.h"
#include "tests/ingest_decode/owned_span.h"

namespace ew::ingest::testing {
namespace {

using tools::Encoding;
using tools::OtlpLink;
using tools::OtlpSpan;

OtlpSpan Consumer(size_t links) {
  OtlpSpan s;
  s.trace_id = tools::MakeTraceId(3, 1);
  s.span_id = tools::MakeSpanId(3, 1);
  s.kind = 5;
  s.start_ns = 1764032400000000000ull;
  s.end_ns = s.start_ns + 1000;
  for (size_t i = 0; i < links; ++i) {
    s.links.push_back({tools::MakeTraceId(4, i),
                       tools::MakeSpanId(4, 70000 + i),
                       i % 2 ? "ot=th:8" : "",
                       {tools::Attr::Str("messaging.message.id", "m")}});
  }
  return s;
}

struct Decoded {
  Status status;
  std::vector<OwnedSpan> spans;
};

// Decodes body with the walker named: "precise", "fast" (must not give up) or "json".
Decoded Decode(const std::string& walker, const std::string& body) {
  CollectingSink sink;
  Decoded d;
  if (walker == "json") {
    std::string padded = PaddedJsonCopy(body);
    d.status = DecodeOtlpJson(padded, sink);
  } else if (walker == "fast") {
    size_t delivered = 0;
    Status sink_status;
    EXPECT_TRUE(internal::DecodeOtlpProtobufFastOnly(body, sink, &sink_status, &delivered));
    d.status = sink_status;
  } else {
    d.status = internal::DecodeOtlpProtobufPrecise(body, sink);
  }
  d.spans = std::move(sink.spans);
  return d;
}

std::string Body(const OtlpSpan& s, Encoding e) {
  return tools::EncodeTraces({&s}, {{tools::Attr::Str("service.name", "billing")}}, e);
}

TEST(DecodeLinks, EveryWalkerKeepsTheSameLinksInOrderUpToTheLimit) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{3}, size_t{kMaxSpanLinks},
                   size_t{kMaxSpanLinks + 1}, size_t{200}}) {
    const OtlpSpan span = Consumer(n);
    for (const std::string walker : {"precise", "fast", "json"}) {
      const Decoded d =
          Decode(walker, Body(span, walker == "json" ? Encoding::kJson : Encoding::kProtobuf));
      ASSERT_TRUE(d.status.ok()) << walker << ": " << d.status.ToString();
      ASSERT_EQ(d.spans.size(), 1u);
      const auto& links = d.spans[0].links;
      ASSERT_EQ(links.size(), std::min<size_t>(n, kMaxSpanLinks)) << walker << " " << n;
      for (size_t i = 0; i < links.size(); ++i) {
        EXPECT_EQ(links[i].first, span.links[i].trace_id) << walker << " " << i;
        EXPECT_EQ(links[i].second, span.links[i].span_id) << walker << " " << i;
      }
    }
  }
}

TEST(DecodeLinks, ALinkWithoutAnIdIsDropped) {
  // Span.Link with only a trace_id, then one with only a span_id, then a whole one.
  OtlpSpan span = Consumer(1);
  std::string json = Body(span, Encoding::kJson);
  const std::string whole_json = json;
  // JSON: add two partial links before the whole one.
  const size_t at = json.find("\"links\":[") + 9;
  json.insert(at,
              R"({"traceId":"0102030405060708090a0b0c0d0e0f10"},{"spanId":"0102030405060708"},)");
  Decoded j = Decode("json", json);
  ASSERT_TRUE(j.status.ok()) << j.status.ToString();
  ASSERT_EQ(j.spans.size(), 1u);
  ASSERT_EQ(j.spans[0].links.size(), 1u);
  EXPECT_EQ(j.spans[0].links[0].second, span.links[0].span_id);
  EXPECT_EQ(j.spans[0], Decode("json", whole_json).spans[0]);
}

TEST(DecodeLinks, AWrongSizedLinkIdIsAnErrorNamingTheLink) {
  OtlpSpan span = Consumer(3);
  span.links[2].trace_id = {};
  std::string json = Body(span, Encoding::kJson);
  // The third link's trace id loses two hex digits.
  const std::string hex = "\"traceId\":\"00000000000000000000000000000000\"";
  const size_t at = json.find(hex);
  ASSERT_NE(at, std::string::npos) << json;
  json.replace(at, hex.size(), "\"traceId\":\"000000000000000000000000000000\"");
  Decoded j = Decode("json", json);
  EXPECT_EQ(j.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(j.status.message().find("spans[0].links[2].traceId: must be 32 hex digits"),
            std::string::npos)
      << j.status.message();
  // Protobuf: a 15-byte trace id in the second link.
  OtlpSpan p = Consumer(2);
  std::string proto = Body(p, Encoding::kProtobuf);
  const std::string id(reinterpret_cast<const char*>(p.links[1].trace_id.data()), 16);
  const std::string field = std::string("\x0a\x10", 2) + id;
  const size_t pos = proto.find(field);
  ASSERT_NE(pos, std::string::npos);
  // Same length overall (the enclosing lengths stay right): a 14-byte id and a 2-byte field
  // (number 15, varint 0) the walkers skip.
  proto.replace(pos, field.size(),
                std::string("\x0a\x0e", 2) + id.substr(0, 14) + std::string("\x78\x00", 2));
  Decoded d = Decode("precise", proto);
  EXPECT_EQ(d.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status.message().find("spans[0].links[1].trace_id: must be 16 bytes"),
            std::string::npos)
      << d.status.message();
  CollectingSink sink;  // the full decoder: the fast walker gives up, the precise one explains
  const Status full = DecodeOtlpProtobuf(proto, sink);
  EXPECT_EQ(full.message(), d.status.message());
}

}  // namespace
}  // namespace ew::ingest::testing
