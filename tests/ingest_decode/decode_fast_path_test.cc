// DecodeOtlpProtobuf runs a fast walker first and falls back to the precise one (for the error
// message, or for what the fast one declines). These tests hold the two to the same result: on
// real and hand-made bodies and thousands of random mutations of them, DecodeOtlpProtobuf gives
// the same spans (every SpanView field) and the same Status (code and message) as the precise
// walker alone, and the fast walker on its own never delivers a span the precise one would not.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "ingest/decoders/otlp_proto_walkers.h"
#include "ingest/decoders/span_view.h"
#include "ingest/pipeline/gzip.h"
#include "tests/ingest_decode/owned_span.h"

namespace ew::ingest::testing {
namespace {

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(EW_SOURCE_DIR) + "/tests/fixtures/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string body = buffer.str();
  if (name.ends_with(".gz")) {
    std::string plain;
    Status s = GunzipBody(body, 64 << 20, &plain);
    EXPECT_TRUE(s.ok()) << s.ToString();
    body = std::move(plain);
  }
  return body;
}

// Stops with an error at the `fail_at`-th span (0-based; -1: never).
class RecordingSink : public SpanSink {
 public:
  explicit RecordingSink(int fail_at = -1) : fail_at_(fail_at) {}
  Status OnSpan(const SpanView& span) override {
    if (static_cast<int>(spans.size()) == fail_at_) {
      return Status::ResourceExhausted("sink full at span " + std::to_string(fail_at_));
    }
    spans.push_back(Own(span));
    return Status::Ok();
  }
  std::vector<OwnedSpan> spans;

 private:
  int fail_at_;
};

void Tag(uint32_t field, uint32_t wire, std::string* out) { PutTag(field, wire, out); }
void Varint(uint32_t field, uint64_t v, std::string* out) {
  PutTag(field, 0, out);
  PutVarint(v, out);
}
void Fixed64(uint32_t field, uint64_t v, std::string* out) {
  PutTag(field, 1, out);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void Fixed32(uint32_t field, uint32_t v, std::string* out) {
  PutTag(field, 5, out);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
// Unknown fields of every wire type, with a 2-byte tag, and a group with nesting among them when
// `groups` (the fast walker leaves bodies with groups to the precise one).
bool groups = false;
std::string Unknowns(uint32_t field) {
  std::string out;
  Varint(field, 300, &out);
  Fixed64(field + 1, 0x0102030405060708ull, &out);
  PutLen(field + 2, "unknown", &out);
  Fixed32(field + 3, 7, &out);
  PutLen(field + 100, "far", &out);
  if (!groups) return out;
  Tag(field + 4, 3, &out);
  Varint(1, 5, &out);
  Tag(2, 3, &out);
  PutLen(3, "in a group", &out);
  Tag(2, 4, &out);
  Tag(field + 4, 4, &out);
  return out;
}
std::string Kv(const std::string& key, const std::string& any) {
  std::string kv;
  PutLen(1, key, &kv);
  PutLen(2, any, &kv);
  return kv;
}
std::string AnyString(const std::string& s) {
  std::string any;
  PutLen(1, s, &any);
  return any;
}
std::string AnyInt(int64_t v) {
  std::string any;
  Varint(3, static_cast<uint64_t>(v), &any);
  return any;
}

// Bodies that use the corners of the format the fast walker must agree on.
std::vector<std::string> HandMadeBodies() {
  std::vector<std::string> bodies;
  const std::string trace = FromHex("0af7651916cd43dd8448eb211c80319c");
  const std::string span_id = FromHex("b7ad6b7169203331");
  const std::string parent = FromHex("b7ad6b7169203301");

  // Every corner in one request, without and with groups.
  for (bool with_groups : {false, true}) {
    groups = with_groups;
    std::string span;
    span += Unknowns(20);
    PutLen(1, trace, &span);
    PutLen(2, span_id, &span);
    PutLen(3, "ot=th:8", &span);
    PutLen(4, parent, &span);
    PutLen(4, "", &span);  // a later empty parent clears it
    PutLen(5, "name", &span);
    Varint(6, 7, &span);  // out of range: unspecified
    Varint(6, 2, &span);
    Fixed64(7, 1764032400000000000ull, &span);
    Fixed64(8, 1764032400002000000ull, &span);
    PutLen(9, Kv("http.method", AnyString("GET")), &span);
    PutLen(9, Kv("http.request.method", AnyString("POST")), &span);
    PutLen(9, Kv("http.method", AnyString("PUT")), &span);  // loses to the stable name
    PutLen(9, Kv("http.status_code", AnyString("404")), &span);
    PutLen(9, Kv("http.request.body.size", AnyString("-12")), &span);
    PutLen(9, Kv("http.response.body.size", AnyString("12x")), &span);
    PutLen(9, Kv("rpc.grpc.status_code", AnyInt(-1)), &span);
    PutLen(9, Kv("url.path", AnyInt(5)), &span);  // int for a string field
    std::string last_wins;
    PutLen(1, "first", &last_wins);
    Varint(3, 42, &last_wins);
    PutLen(1, "second", &last_wins);
    PutLen(9, Kv("http.route", last_wins), &span);
    std::string then_bool = AnyString("/x");
    Varint(2, 1, &then_bool);
    PutLen(9, Kv("url.full", then_bool), &span);
    // A string, then another value type (bool, double, array, kvlist, bytes) or a field past them:
    // the other type wins (the attribute is not used), a field past them is ignored.
    for (uint32_t field = 2; field <= 8; ++field) {
      std::string any = AnyString("/y" + std::to_string(field));
      if (field == 4) {
        Fixed64(4, 0, &any);
      } else if (field == 2 || field == 3) {
        Varint(field, 0, &any);
      } else {
        PutLen(field, "", &any);
      }
      PutLen(9, Kv(field == 8 ? "http.host" : "url.path", any), &span);
    }
    std::string value_first;
    PutLen(2, AnyString("peer"), &value_first);
    value_first += Unknowns(10);
    PutLen(1, "peer.service", &value_first);
    PutLen(9, value_first, &span);
    std::string no_value;
    PutLen(1, "server.address", &no_value);
    PutLen(9, no_value, &span);
    std::string two_keys;
    PutLen(1, "net.peer.name", &two_keys);
    PutLen(2, AnyString("n"), &two_keys);
    PutLen(1, "db.name", &two_keys);
    PutLen(9, two_keys, &span);
    std::string any_unknowns = AnyString("grpc") + Unknowns(10);
    PutLen(9, Kv("rpc.system", any_unknowns), &span);
    std::string status;
    PutLen(2, "message", &status);
    Varint(3, 2, &status);
    status += Unknowns(10);
    PutLen(15, status, &span);
    Varint(16, 257, &span);

    std::string plain;
    PutLen(1, trace, &plain);
    PutLen(2, span_id, &plain);
    PutLen(4, parent, &plain);
    PutLen(9, Kv("http.host", AnyString("h:1")), &plain);
    std::string status_high;
    Varint(3, 9, &status_high);
    PutLen(15, status_high, &plain);

    std::string resource;
    PutLen(1, Kv("service.name", AnyString("svc")), &resource);
    PutLen(1, Kv("k8s.namespace.name", AnyString("prod")), &resource);
    PutLen(1, Kv("http.route", AnyString("/from-resource")), &resource);
    resource += Unknowns(20);
    std::string resource2;
    PutLen(1, Kv("service.namespace", AnyString("shop")), &resource2);
    PutLen(1, Kv("service.name", AnyString("svc2")), &resource2);

    std::string scope;
    PutLen(1, "lib", &scope);
    std::string ss;
    PutLen(1, scope, &ss);
    PutLen(2, span, &ss);
    ss += Unknowns(20);
    PutLen(2, plain, &ss);
    for (const char* id : {"00000000000000ff", "ff00000000000000", "0000000000000000"}) {
      std::string zeros;  // a parent of zero bytes but one, and one of zeros only (no parent)
      PutLen(1, trace, &zeros);
      PutLen(2, span_id, &zeros);
      PutLen(4, FromHex(id), &zeros);
      PutLen(2, zeros, &ss);
    }
    PutLen(3, "https://schema", &ss);

    std::string rs;
    PutLen(2, ss, &rs);
    rs += Unknowns(20);
    PutLen(1000, ss, &rs);     // instrumentation_library_spans
    PutLen(1, resource, &rs);  // after the scope spans
    PutLen(1, resource2, &rs);
    PutLen(3, "https://schema", &rs);

    std::string body;
    body += Unknowns(20);
    PutLen(1, rs, &body);
    PutLen(1, "", &body);  // an empty resource_spans
    std::string rs2;
    PutLen(2, ss, &rs2);
    PutLen(1, rs2, &body);
    bodies.push_back(body);
  }
  groups = false;

  // Non-minimal encodings: a 2-byte tag for field 1 and 3-byte lengths.
  {
    std::string s3;
    s3 += std::string("\x8a\x00", 2);
    s3 += std::string("\x90\x80\x00", 3);
    s3 += trace;
    PutLen(2, span_id, &s3);
    std::string ss3;
    PutLen(2, s3, &ss3);
    std::string rs4;
    PutLen(2, ss3, &rs4);
    std::string b;
    b += std::string("\x8a\x80\x80\x80\x00", 5);
    PutVarint(rs4.size(), &b);
    b += rs4;
    bodies.push_back(b);
  }

  // From the encoder: several resources and scopes, the resource after the scopes.
  tools::OtlpResourceSpans a;
  a.resource = {Attr::Str("service.name", "frontend"), Attr::Str("service.namespace", "shop"),
                Attr::Bool("sampled", true)};
  tools::OtlpSpan s;
  s.trace_id = tools::TraceIdFromHex("0af7651916cd43dd8448eb211c80319c");
  s.span_id = tools::SpanIdFromHex("b7ad6b7169203331");
  s.parent_span_id = tools::SpanIdFromHex("b7ad6b7169203301");
  s.has_parent = true;
  s.trace_state = "ot=th:c";
  s.kind = 3;
  s.status_code = 2;
  s.status_message = "status message";
  s.start_ns = 1764032400000000000ull;
  s.end_ns = 1764032400002000000ull;
  s.attrs = {Attr::Str("http.request.method", "GET"),
             Attr::Int("http.response.status_code", 500),
             Attr::Str("url.full", "http://api.payments-provider.invalid/charge"),
             Attr::Str("server.address", "api.payments-provider.invalid"),
             Attr::Int("server.port", 80),
             Attr::Str("db.system", "postgresql"),
             Attr::Str("messaging.destination.name", "orders")};
  tools::OtlpSpan root = s;
  root.has_parent = false;
  root.kind = 2;
  root.attrs = {Attr::Str("url.path", "/a"), Attr::Str("http.target", "/b"),
                Attr::Str("http.route", "/{id}")};
  a.scopes = {{s, root}, {root}};
  tools::OtlpResourceSpans b = a;
  b.resource_after_scopes = true;
  b.resource = {Attr::Str("service.name", "checkout"), Attr::Str("k8s.namespace.name", "prod")};
  bodies.push_back(tools::EncodeRequest({a, b, a}, tools::Encoding::kProtobuf));
  return bodies;
}

std::vector<std::string> SeedBodies() {
  std::vector<std::string> bodies = HandMadeBodies();
  for (const char* name :
       {"frontend_0.pb", "frontend_1.pb", "payments_0.pb.gz", "payments_1.pb.gz"}) {
    bodies.push_back(ReadFixture(name));
  }
  return bodies;
}

// DecodeOtlpProtobuf against the precise walker alone, and the fast walker alone against both.
void ExpectSameAsPrecise(const std::string& body, const std::string& what, int fail_at = -1) {
  RecordingSink precise_sink(fail_at);
  const Status precise = internal::DecodeOtlpProtobufPrecise(body, precise_sink);
  RecordingSink sink(fail_at);
  const Status s = DecodeOtlpProtobuf(body, sink);
  ASSERT_EQ(s.code(), precise.code())
      << what << ": " << s.ToString() << " vs " << precise.ToString();
  ASSERT_EQ(s.message(), precise.message()) << what;
  ASSERT_EQ(sink.spans.size(), precise_sink.spans.size()) << what;
  for (size_t i = 0; i < sink.spans.size(); ++i) {
    ASSERT_EQ(sink.spans[i], precise_sink.spans[i]) << what << " span " << i << ":\n"
                                                    << Describe(sink.spans[i]) << "\nvs\n"
                                                    << Describe(precise_sink.spans[i]);
  }

  RecordingSink fast_sink(fail_at);
  Status sink_status;
  size_t delivered = 0;
  const bool complete =
      internal::DecodeOtlpProtobufFastOnly(body, fast_sink, &sink_status, &delivered);
  ASSERT_EQ(delivered, fast_sink.spans.size()) << what;
  ASSERT_LE(delivered, precise_sink.spans.size()) << what;
  for (size_t i = 0; i < delivered; ++i) ASSERT_EQ(fast_sink.spans[i], precise_sink.spans[i]);
  if (complete) {  // it finished, or the sink stopped it: the precise walker agrees
    ASSERT_EQ(sink_status.code(), precise.code()) << what << ": " << precise.ToString();
    ASSERT_EQ(sink_status.message(), precise.message()) << what;
    ASSERT_EQ(delivered, precise_sink.spans.size()) << what;
  }
}

TEST(DecodeProtobufFastPath, SeedBodiesDecodeOnTheFastPath) {
  std::vector<std::string> seeds = SeedBodies();
  for (size_t i = 0; i < seeds.size(); ++i) {
    RecordingSink precise_sink;
    const Status s = internal::DecodeOtlpProtobufPrecise(seeds[i], precise_sink);
    ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
    ASSERT_FALSE(precise_sink.spans.empty()) << i;
    RecordingSink fast_sink;
    Status sink_status;
    size_t delivered = 0;
    const bool complete =
        internal::DecodeOtlpProtobufFastOnly(seeds[i], fast_sink, &sink_status, &delivered);
    // The second hand-made body has groups, which the fast walker declines; all others are
    // decoded by it from end to end.
    EXPECT_EQ(complete, i != 1) << i;
    if (complete) {
      EXPECT_EQ(fast_sink.spans, precise_sink.spans) << i;
    }
    ExpectSameAsPrecise(seeds[i], "seed " + std::to_string(i));
  }
}

TEST(DecodeProtobufFastPath, EveryTruncationAndSinkStop) {
  for (const std::string& body : SeedBodies()) {
    for (size_t n = 0; n <= body.size(); ++n) {
      ExpectSameAsPrecise(body.substr(0, n), "truncated to " + std::to_string(n));
      if (::testing::Test::HasFatalFailure()) return;
    }
    for (int fail_at = 0; fail_at < 8; ++fail_at) {
      ExpectSameAsPrecise(body, "sink fails at " + std::to_string(fail_at), fail_at);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// Every field the walkers read, in every message, with every wire type (and an unknown field
// number and number 0 likewise), added to a valid request.
TEST(DecodeProtobufFastPath, EveryKnownFieldWithEveryWireType) {
  enum Level { kRequest, kResourceSpans, kResource, kScopeSpans, kSpan, kStatus, kKeyValue, kAny };
  const std::vector<std::vector<uint32_t>> fields = {{1, 0, 20},
                                                     {1, 2, 1000, 0, 20},
                                                     {1, 0, 20},
                                                     {2, 0, 20},
                                                     {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 0, 16, 20},
                                                     {3, 0, 2, 20},
                                                     {1, 2, 0, 20},
                                                     {1, 2, 3, 4, 5, 6, 7, 0, 20}};
  auto body_with = [](Level level, const std::string& extra) {
    auto at = [&](Level l) { return l == level ? extra : std::string(); };
    std::string any = AnyString("GET") + at(kAny);
    std::string kv;
    PutLen(1, "http.method", &kv);
    PutLen(2, any, &kv);
    kv += at(kKeyValue);
    std::string status;
    Varint(3, 1, &status);
    status += at(kStatus);
    std::string span;
    PutLen(1, FromHex("0af7651916cd43dd8448eb211c80319c"), &span);
    PutLen(2, FromHex("b7ad6b7169203331"), &span);
    PutLen(9, kv, &span);
    PutLen(15, status, &span);
    span += at(kSpan);
    std::string ss;
    PutLen(2, span, &ss);
    ss += at(kScopeSpans);
    PutLen(2, span, &ss);
    std::string resource;
    PutLen(1, Kv("service.name", AnyString("svc")), &resource);
    resource += at(kResource);
    std::string rs;
    PutLen(1, resource, &rs);
    PutLen(2, ss, &rs);
    rs += at(kResourceSpans);
    std::string body;
    PutLen(1, rs, &body);
    body += at(kRequest);
    PutLen(1, rs, &body);
    return body;
  };
  for (int level = kRequest; level <= kAny; ++level) {
    for (uint32_t field : fields[level]) {
      for (uint32_t wire = 0; wire < 8; ++wire) {
        std::string extra;
        PutTag(field, wire, &extra);
        switch (wire) {
          case 0:
            PutVarint(1, &extra);
            break;
          case 1:
            extra.append(8, '\0');
            break;
          case 2:
            PutVarint(0, &extra);
            break;
          case 3:
            PutTag(field, 4, &extra);
            break;
          case 5:
            extra.append(4, '\0');
            break;
          default:
            break;
        }
        ExpectSameAsPrecise(body_with(static_cast<Level>(level), extra),
                            "level " + std::to_string(level) + " field " + std::to_string(field) +
                                " wire " + std::to_string(wire));
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

// A KeyValue or AnyValue whose length byte would be its remaining size if it were a 1-byte
// varint, but is the first byte of a longer one.
TEST(DecodeProtobufFastPath, LengthBytesOfLongerVarints) {
  for (size_t size : {128u, 133u, 200u, 255u}) {
    for (uint8_t next : {0x00, 0x01, 0x7f, 0x80}) {
      std::string payload(size, 'a');
      payload[0] = static_cast<char>(next);
      std::string kv;  // key, then a value "of `size` bytes"
      PutLen(1, "http.route", &kv);
      kv.push_back(0x12);
      kv.push_back(static_cast<char>(size));
      kv += payload;
      std::string any;  // a string_value "of `size` bytes"
      any.push_back(0x0a);
      any.push_back(static_cast<char>(size));
      any += payload;
      std::string kv2;
      PutLen(1, "http.route", &kv2);
      PutLen(2, any, &kv2);
      for (const std::string& attr : {kv, kv2}) {
        std::string span;
        PutLen(1, FromHex("0af7651916cd43dd8448eb211c80319c"), &span);
        PutLen(2, FromHex("b7ad6b7169203331"), &span);
        PutLen(9, attr, &span);
        std::string ss;
        PutLen(2, span, &ss);
        std::string rs;
        PutLen(2, ss, &rs);
        std::string body;
        PutLen(1, rs, &body);
        ExpectSameAsPrecise(body, "size " + std::to_string(size));
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

// Every byte with each wire type in its low 3 bits: a tag of every field becomes one of every
// wire type (and much else changes too).
TEST(DecodeProtobufFastPath, EveryWireTypeAtEveryByte) {
  const std::vector<std::string> bodies = HandMadeBodies();
  for (const std::string& body : {bodies[0], bodies[2]}) {  // the corners, without groups
    for (size_t i = 0; i < body.size(); ++i) {
      for (uint8_t wire = 0; wire < 8; ++wire) {
        std::string copy = body;
        copy[i] = static_cast<char>((static_cast<uint8_t>(copy[i]) & ~7u) | wire);
        ExpectSameAsPrecise(copy, "byte " + std::to_string(i) + " wire " + std::to_string(wire));
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

std::string Mutate(std::string body, std::mt19937_64& rng) {
  static constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x07, 0x08,
                                             0x0a, 0x10, 0x12, 0x18, 0x22, 0x39, 0x41, 0x4a,
                                             0x7a, 0x7f, 0x80, 0x81, 0xc2, 0xff};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const int edits = 1 + static_cast<int>(pick(3));
  for (int e = 0; e < edits; ++e) {
    const size_t at = body.empty() ? 0 : pick(body.size());
    switch (pick(7)) {
      case 0:  // flip bits
        if (!body.empty()) body[at] = static_cast<char>(body[at] ^ (1 + pick(255)));
        break;
      case 1:  // an interesting byte
        if (!body.empty()) body[at] = static_cast<char>(kInteresting[pick(sizeof kInteresting)]);
        break;
      case 2:  // truncate
        body.resize(at);
        break;
      case 3:  // insert bytes
        for (size_t i = 1 + pick(3); i > 0; --i) {
          body.insert(body.begin() + static_cast<std::ptrdiff_t>(at),
                      static_cast<char>(pick(2) ? kInteresting[pick(sizeof kInteresting)]
                                                : static_cast<uint8_t>(rng())));
        }
        break;
      case 4:  // delete bytes
        body.erase(at, 1 + pick(4));
        break;
      case 5:  // nudge a byte (a length or a varint by one)
        if (!body.empty()) body[at] = static_cast<char>(body[at] + (pick(2) ? 1 : -1));
        break;
      default:  // duplicate a short range
        if (!body.empty()) body.insert(at, body.substr(pick(body.size()), 1 + pick(16)));
        break;
    }
  }
  return body;
}

TEST(DecodeProtobufFastPath, RandomMutationsAgreeWithThePreciseWalker) {
  std::mt19937_64 rng(20251202);
  const std::vector<std::string> seeds = SeedBodies();
  int mutations = 0;
  int failed = 0;
  for (int round = 0; round < 5000; ++round) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      std::string body = Mutate(seeds[i], rng);
      RecordingSink sink;
      if (!internal::DecodeOtlpProtobufPrecise(body, sink).ok()) ++failed;
      ExpectSameAsPrecise(body, "seed " + std::to_string(i) + " round " + std::to_string(round));
      if (::testing::Test::HasFatalFailure()) return;
      ++mutations;
    }
  }
  // Both outcomes are well represented.
  EXPECT_GT(failed, mutations / 5);
  EXPECT_LT(failed, mutations * 9 / 10);
}

}  // namespace
}  // namespace ew::ingest::testing
