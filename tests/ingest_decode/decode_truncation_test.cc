// A request body cut at byte k, for every k, in every encoding the server takes (protobuf, JSON,
// and both gzipped): the decoders either refuse it with the documented error (InvalidArgument,
// which the server answers 400, with a message that says where it broke) or return exactly the
// spans that lie wholly inside the prefix. Which spans those are comes from the encoder, which
// knows where each span's bytes end (tools::TraceIdSlot), and what each must decode to comes from
// decoding the whole body.
//
// The decoders' contract (ingest/otlp_proto.cc, ingest/otlp_json.cc, docs/ingest.md "Export"):
// - protobuf: a prefix is a valid request exactly when it ends between two top-level
//   resource_spans fields; it then yields the spans of the complete ones. Anywhere else the
//   cut field's length (or its tag) runs past the end: InvalidArgument naming a byte offset inside
//   the cut field.
// - JSON: no proper prefix of the request object is a JSON document: InvalidArgument.
// - gzip: a cut stream is malformed gzip (InvalidArgument, "at compressed byte n"), and nothing is
//   decoded; a whole stream of a cut body decodes as that body does.
// On an error the spans already passed to the sink (the service discards them with the request)
// are some first spans of the request, each whole and exactly as in the full body: never a span
// cut short.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"
#include "ingest/pipeline/gzip.h"
#include "tests/ingest_decode/owned_span.h"

namespace ew::ingest::testing {
namespace {

using tools::Encoding;
using tools::OtlpResourceSpans;
using tools::OtlpSpan;
using tools::TraceIdSlot;

OtlpSpan MakeSpan(uint64_t n, int kind) {
  OtlpSpan s;
  s.trace_id = tools::MakeTraceId(7, n / 3);
  s.span_id = tools::MakeSpanId(7, n);
  s.has_parent = n % 3 != 0;
  s.parent_span_id = tools::MakeSpanId(7, n - 1);
  s.kind = kind;
  s.status_code = static_cast<int>(n % 3);
  s.start_ns = 1764032400000000000ull + n * 1000;
  s.end_ns = s.start_ns + 2500000 + n;
  s.name = "op " + std::to_string(n);
  s.attrs = {Attr::Str("http.request.method", n % 2 ? "GET" : "POST"),
             Attr::Int("http.response.status_code", 200 + static_cast<int64_t>(n % 5) * 100),
             Attr::Str("http.route", "/r/" + std::to_string(n) + "/{id}"),
             Attr::Str("server.address", "svc-" + std::to_string(n % 4))};
  if (n % 4 == 1) s.trace_state = "ot=th:8";
  if (n % 5 == 2) s.status_message = "failed \"badly\"";
  if (n % 6 == 3) s.events = {{s.start_ns + 5, "retry", {Attr::Int("attempt", 2)}}};
  if (n % 7 == 4) {
    s.links = {{tools::MakeTraceId(8, n), tools::MakeSpanId(8, n), "", {}}};
    s.attrs.push_back(Attr::Array("tags", {Attr::Str("", "a"), Attr::Double("", 1.5)}));
  }
  return s;
}

// Four ResourceSpans (one with its resource after the scopes), 1 to 3 scopes each, 40 spans.
std::vector<OtlpResourceSpans> Request() {
  const std::vector<std::vector<int>> shape = {{10}, {5, 5}, {4, 3, 3}, {10}};
  std::vector<OtlpResourceSpans> request;
  uint64_t n = 0;
  for (size_t r = 0; r < shape.size(); ++r) {
    OtlpResourceSpans& rs = request.emplace_back();
    rs.resource = {Attr::Str("service.name", "svc-" + std::to_string(r)),
                   Attr::Str("service.namespace", "ns"),
                   Attr::Int("process.pid", 100 + static_cast<int64_t>(r))};
    rs.resource_after_scopes = r == 2;
    for (int count : shape[r]) {
      std::vector<OtlpSpan>& spans = rs.scopes.emplace_back();
      for (int i = 0; i < count; ++i, ++n)
        spans.push_back(MakeSpan(n, 2 + static_cast<int>(n % 2)));
    }
  }
  return request;
}

Status Decode(std::string_view body, bool json, CollectingSink* sink) {
  if (!json) return DecodeOtlpProtobuf(body, *sink);
  const std::string padded = PaddedJsonCopy(body);
  return DecodeOtlpJson(padded, *sink);
}

// The byte offset in a decoder message "...: <what> at byte <n>"; -1 when there is none.
long long ErrorOffset(const std::string& message) {
  const size_t at = message.rfind(" at byte ");
  if (at == std::string::npos) return -1;
  long long n = -1;
  const char* begin = message.data() + at + 9;
  auto [end, ec] = std::from_chars(begin, message.data() + message.size(), n);
  return ec == std::errc() && end == message.data() + message.size() ? n : -1;
}

struct Encoded {
  std::string body;
  std::vector<TraceIdSlot> slots;  // one per span, in body order
  std::vector<OwnedSpan> spans;    // the whole body, decoded
};

Encoded Encode(Encoding encoding) {
  Encoded e;
  e.body = tools::EncodeRequest(Request(), encoding, {}, &e.slots);
  CollectingSink sink;
  const Status s = Decode(e.body, tools::IsJson(encoding), &sink);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.spans.size(), e.slots.size());
  e.spans = std::move(sink.spans);
  return e;
}

// How many spans lie wholly in the first k bytes.
size_t WholeSpans(const Encoded& e, size_t k) {
  return static_cast<size_t>(std::count_if(e.slots.begin(), e.slots.end(),
                                           [&](const TraceIdSlot& s) { return s.span_end <= k; }));
}

// Where the top-level resource_spans field holding byte k starts (0 for the first).
size_t CutFieldStart(const Encoded& e, size_t k) {
  size_t start = 0;
  for (const TraceIdSlot& s : e.slots) {
    if (s.resource_end <= k) start = s.resource_end;
  }
  return start;
}

bool IsResourceBoundary(const Encoded& e, size_t k) {
  return k == 0 || std::any_of(e.slots.begin(), e.slots.end(),
                               [&](const TraceIdSlot& s) { return s.resource_end == k; });
}

// The prefix of `k` bytes decoded as `got` with status `s`: checks the contract above.
void ExpectPrefixOutcome(const Encoded& e, bool json, size_t k, const Status& s,
                         const std::vector<OwnedSpan>& got) {
  const size_t whole = WholeSpans(e, k);
  const bool valid = json ? k == e.body.size() : IsResourceBoundary(e, k);
  if (valid) {
    ASSERT_TRUE(s.ok()) << "cut at " << k << ": " << s.ToString();
    ASSERT_EQ(got.size(), whole) << "cut at " << k;
  } else {
    ASSERT_EQ(s.code(), StatusCode::kInvalidArgument) << "cut at " << k << ": " << s.ToString();
    ASSERT_LE(got.size(), whole) << "cut at " << k << ": a span cut short was delivered";
    const long long where = ErrorOffset(s.message());
    ASSERT_GE(where, 0) << "cut at " << k << ": the message does not say where: " << s.message();
    ASSERT_LE(where, static_cast<long long>(k)) << s.message();
    if (!json) {  // the cut top-level field, not a complete resource_spans before it
      ASSERT_GE(where, static_cast<long long>(CutFieldStart(e, k))) << s.message();
      ASSERT_EQ(s.message().rfind("request: ", 0), 0u) << "cut at " << k << ": " << s.message();
    }
  }
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], e.spans[i]) << "cut at " << k << ", span " << i << ":\n"
                                  << Describe(got[i]) << "\nwant\n"
                                  << Describe(e.spans[i]);
  }
}

void EveryCut(Encoding encoding, bool gzip_the_prefix) {
  const Encoded e = Encode(encoding);
  ASSERT_EQ(e.spans.size(), 40u);
  const bool json = tools::IsJson(encoding);
  size_t refused = 0;
  for (size_t k = 0; k <= e.body.size(); ++k) {
    const std::string_view prefix(e.body.data(), k);
    std::string plain;
    if (gzip_the_prefix) {
      const Status g = GunzipBody(tools::Gzip(prefix), 1 << 20, &plain);
      ASSERT_TRUE(g.ok()) << g.ToString();
      ASSERT_EQ(plain, prefix);
    } else {
      plain.assign(prefix);
    }
    CollectingSink sink;
    const Status s = Decode(plain, json, &sink);
    if (!s.ok()) ++refused;
    ExpectPrefixOutcome(e, json, k, s, sink.spans);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // Only the ends of the four resource_spans (and the empty body) are valid protobuf prefixes.
  EXPECT_EQ(refused, e.body.size() + 1 - (json ? 1 : 5));
}

TEST(DecodeTruncation, ProtobufCutAtEveryByte) { EveryCut(Encoding::kProtobuf, false); }
TEST(DecodeTruncation, JsonCutAtEveryByte) { EveryCut(Encoding::kJson, false); }
TEST(DecodeTruncation, GzippedProtobufOfEveryCut) { EveryCut(Encoding::kProtobuf, true); }
TEST(DecodeTruncation, GzippedJsonOfEveryCut) { EveryCut(Encoding::kJson, true); }

// The gzip stream itself cut at every byte: refused before anything is decoded, with the
// compressed byte offset; the whole stream gives the whole body back.
TEST(DecodeTruncation, GzipStreamCutAtEveryByte) {
  for (Encoding encoding : {Encoding::kGzipProtobuf, Encoding::kGzipJson}) {
    const std::string plain = tools::EncodeRequest(
        Request(), tools::IsJson(encoding) ? Encoding::kJson : Encoding::kProtobuf);
    const std::string gz = tools::EncodeRequest(Request(), encoding);
    std::string out;
    for (size_t k = 0; k < gz.size(); ++k) {
      const Status s = GunzipBody(std::string_view(gz.data(), k), 1 << 20, &out);
      ASSERT_EQ(s.code(), StatusCode::kInvalidArgument) << "cut at " << k;
      ASSERT_NE(s.message().find("at compressed byte"), std::string::npos) << s.message();
    }
    ASSERT_TRUE(GunzipBody(gz, 1 << 20, &out).ok());
    EXPECT_EQ(out, plain);
  }
}

// The encoder's span extents are what the test relies on: each [span_begin, span_end) is one
// span field (protobuf) or object (JSON) that decodes, wrapped alone, to the same span.
TEST(DecodeTruncation, EncoderSpanExtentsAreTheSpans) {
  for (Encoding encoding : {Encoding::kProtobuf, Encoding::kJson}) {
    const Encoded e = Encode(encoding);
    const bool json = tools::IsJson(encoding);
    for (size_t i = 0; i < e.slots.size(); ++i) {
      const TraceIdSlot& s = e.slots[i];
      ASSERT_LT(s.span_begin, s.span_end);
      ASSERT_LE(s.span_end, s.resource_end);
      if (i > 0) {
        ASSERT_LE(e.slots[i - 1].span_end, s.span_begin);
      }
      const std::string span = e.body.substr(s.span_begin, s.span_end - s.span_begin);
      std::string body;
      if (json) {
        body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[)" + span + "]}]}]}";
      } else {
        std::string rs;  // `span` is a ScopeSpans.spans field: it makes a ScopeSpans alone
        tools::PutLen(2, span, &rs);
        tools::PutLen(1, rs, &body);
      }
      CollectingSink sink;
      const Status st = Decode(body, json, &sink);
      ASSERT_TRUE(st.ok()) << i << ": " << st.ToString();
      ASSERT_EQ(sink.spans.size(), 1u);
      OwnedSpan want = e.spans[i];  // the resource's attributes are not in the wrapper
      want.service_name = want.service_namespace = "";
      EXPECT_EQ(sink.spans[0], want) << i;
    }
  }
}

}  // namespace
}  // namespace ew::ingest::testing
