// The load generator's OTLP encoders, checked against the real ingest decoders: every field the
// map needs survives protobuf and JSON encoding; trace-id patching lands on the trace ids.
#include "tools/otlp_encoder.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"
#include "tools/topology.h"

namespace ew::tools {
namespace {

struct Seen {
  std::array<uint8_t, 16> trace_id;
  std::array<uint8_t, 8> span_id, parent;
  bool has_parent;
  int kind, status;
  uint64_t start, end;
  std::string service, ns, k8s_ns, method, route, path, server_address, db_system, db_ns;
  int64_t http_status, grpc_status;
};

class Collect : public ingest::SpanSink {
 public:
  Status OnSpan(const ingest::SpanView& s) override {
    seen.push_back({s.trace_id, s.span_id, s.parent_span_id, s.has_parent, static_cast<int>(s.kind),
                    static_cast<int>(s.status), s.start_ns, s.end_ns, std::string(s.service_name),
                    std::string(s.service_namespace), std::string(s.k8s_namespace),
                    std::string(s.http_method), std::string(s.http_route), std::string(s.url_path),
                    std::string(s.server_address), std::string(s.db_system),
                    std::string(s.db_namespace), s.http_status, s.grpc_status});
    return Status::Ok();
  }
  std::vector<Seen> seen;
};

std::vector<GenRequest> SomeTraces(const Topology& topo, int n) {
  TraceGenerator gen(&topo, 42);
  std::vector<GenRequest> reqs;
  for (int i = 0; i < n; ++i) gen.Generate(1'764'000'000'000'000'000ULL + i * 1000, &reqs);
  return reqs;
}

void ExpectSame(const OtlpSpan& want, const Seen& got, const Topology& topo) {
  EXPECT_EQ(got.trace_id, want.trace_id);
  EXPECT_EQ(got.span_id, want.span_id);
  EXPECT_EQ(got.has_parent, want.has_parent);
  if (want.has_parent) {
    EXPECT_EQ(got.parent, want.parent_span_id);
  }
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.status, want.status_code);
  EXPECT_EQ(got.start, want.start_ns);
  EXPECT_EQ(got.end, want.end_ns);
  const ServiceSpec& svc = topo.services()[want.resource];
  EXPECT_EQ(got.service, svc.name);
  EXPECT_EQ(svc.k8s_namespace ? got.k8s_ns : got.ns, svc.ns);
  for (const Attr& a : want.attrs) {
    if (a.key == "http.request.method" || a.key == "http.method") {
      EXPECT_EQ(got.method, a.s);
    }
    if (a.key == "http.route") {
      EXPECT_EQ(got.route, a.s);
    }
    if (a.key == "server.address" && got.server_address != a.s) {
      ADD_FAILURE() << "server.address " << a.s << " decoded as " << got.server_address;
    }
    if (a.key == "http.response.status_code" || a.key == "http.status_code") {
      EXPECT_EQ(got.http_status, a.i);
    }
    if (a.key == "rpc.grpc.status_code") {
      EXPECT_EQ(got.grpc_status, a.i);
    }
    if (a.key == "db.system" || a.key == "db.system.name") {
      EXPECT_EQ(got.db_system, a.s);
    }
    if (a.key == "db.namespace" || a.key == "db.name") {
      EXPECT_EQ(got.db_ns, a.s);
    }
  }
}

void RoundTrip(Encoding enc) {
  Topology topo = Topology::Build({});
  std::vector<GenRequest> reqs = SomeTraces(topo, 30);
  std::vector<const OtlpSpan*> spans;
  for (const GenRequest& r : reqs) {
    for (const OtlpSpan& s : r.halves) spans.push_back(&s);
  }
  ASSERT_GT(spans.size(), 30u);
  std::string body = EncodeTraces(spans, topo.resources(), enc);
  Collect sink;
  if (IsJson(enc)) {
    std::string padded = ingest::PaddedJsonCopy(body);
    ASSERT_TRUE(ingest::DecodeOtlpJson(padded, sink).ok());
  } else {
    ASSERT_TRUE(ingest::DecodeOtlpProtobuf(body, sink).ok());
  }
  ASSERT_EQ(sink.seen.size(), spans.size());
  // The encoder groups spans by resource; match them by span id.
  for (const OtlpSpan* s : spans) {
    bool found = false;
    for (const Seen& g : sink.seen) {
      if (g.span_id != s->span_id) continue;
      found = true;
      ExpectSame(*s, g, topo);
    }
    EXPECT_TRUE(found);
  }
}

TEST(OtlpEncoder, ProtobufDecodesToTheSameSpans) { RoundTrip(Encoding::kProtobuf); }
TEST(OtlpEncoder, JsonDecodesToTheSameSpans) { RoundTrip(Encoding::kJson); }

TEST(OtlpEncoder, PatchedIdsReachTheDecoderAndPairsStayPairs) {
  Topology topo = Topology::Build({});
  std::vector<GenRequest> reqs = SomeTraces(topo, 5);
  std::vector<const OtlpSpan*> spans;
  for (const GenRequest& r : reqs) {
    for (const OtlpSpan& s : r.halves) spans.push_back(&s);
  }
  const uint8_t tag[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (Encoding enc : {Encoding::kProtobuf, Encoding::kJson}) {
    std::vector<TraceIdSlot> slots;
    std::string body = EncodeTraces(spans, topo.resources(), enc, &slots);
    ASSERT_EQ(slots.size(), spans.size());
    PatchTraceIds(&body, slots, IsJson(enc), 0x0102030405060708ULL);
    Collect sink;
    std::string padded = ingest::PaddedJsonCopy(body);
    Status st =
        IsJson(enc) ? ingest::DecodeOtlpJson(padded, sink) : ingest::DecodeOtlpProtobuf(body, sink);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(sink.seen.size(), spans.size());
    for (const OtlpSpan* s : spans) {
      std::array<uint8_t, 8> span = s->span_id, parent = s->parent_span_id;
      std::array<uint8_t, 16> trace = s->trace_id;
      for (int i = 0; i < 8; ++i) {
        span[i] ^= tag[i];
        parent[i] ^= tag[i];
        trace[8 + i] ^= tag[i];
      }
      bool found = false;
      for (const Seen& g : sink.seen) {
        if (g.span_id != span) continue;
        found = true;
        EXPECT_EQ(g.trace_id, trace);
        if (s->has_parent) {
          EXPECT_EQ(g.parent, parent);
        }
      }
      EXPECT_TRUE(found) << EncodingName(enc);
    }
  }
}

TEST(OtlpEncoder, RejectedSpansIsReadFromBothResponseEncodings) {
  // partial_success { rejected_spans: 7, error_message: "too old" }
  std::string proto = std::string("\x0a\x0b\x08\x07\x12\x07too old", 13);
  EXPECT_EQ(RejectedSpans(proto, false), 7);
  EXPECT_EQ(RejectedSpans("", false), 0);
  EXPECT_EQ(RejectedSpans(R"({"partialSuccess":{"rejectedSpans":"12"}})", true), 12);
  EXPECT_EQ(RejectedSpans("{}", true), 0);
  // Strictly: a body that is not a response is told apart from one without rejections.
  EXPECT_EQ(ParseRejectedSpans(proto, false), 7);
  EXPECT_EQ(ParseRejectedSpans("", false), 0);
  EXPECT_EQ(ParseRejectedSpans(proto.substr(0, 5), false), std::nullopt);  // cut short
  EXPECT_EQ(ParseRejectedSpans("\x0f", false), std::nullopt);              // wire type 7
  EXPECT_EQ(ParseRejectedSpans("<html>", true), std::nullopt);
  EXPECT_EQ(ParseRejectedSpans(" {}", true), 0);
}

TEST(Topology, ExternalNamesFollowTheDesignRules) {
  EXPECT_EQ(ExternalNodeFor("Hooks.Slack.com:443").name, "hooks.slack.com");
  EXPECT_EQ(ExternalNodeFor("10.0.3.7").name, "Unknown External Service");
  EXPECT_EQ(ExternalNodeFor("192.168.10.20:8443").name, "Unknown External Service");
  EXPECT_EQ(ExternalNodeFor("2001:db8::1").name, "Unknown External Service");
  EXPECT_EQ(ExternalNodeFor("").name, "Unknown External Service");
}

TEST(Topology, EveryRequestHasItsOutcomes) {
  Topology topo = Topology::Build({});
  std::vector<GenRequest> reqs = SomeTraces(topo, 200);
  int two = 0, errors = 0;
  for (const GenRequest& r : reqs) {
    ASSERT_TRUE(r.both.valid);
    if (r.halves.size() == 2) {
      ++two;
      EXPECT_TRUE(r.client_only.valid);
      EXPECT_TRUE(r.server_only.valid);
      EXPECT_EQ(r.server_only.client.kind, "external_client");
      EXPECT_EQ(r.halves[1].parent_span_id, r.halves[0].span_id);
    }
    errors += r.both.error;
  }
  EXPECT_GT(two, 50);
  EXPECT_GT(errors, 0);
}

// --namespace-prefix: every service's namespace carries the prefix, and no edge of the prefixed
// topology (in any outcome) is an edge of the plain one, so two loadgens never share an edge.
TEST(Topology, NamespacePrefixGivesEdgesOfTheirOwn) {
  TopologyOptions prefixed;
  prefixed.namespace_prefix = "ov-";
  const Topology a = Topology::Build({}), b = Topology::Build(prefixed);
  for (const ServiceSpec& s : b.services()) EXPECT_EQ(s.ns.rfind("ov-", 0), 0u) << s.ns;
  auto edges = [](const Topology& topo) {
    std::set<std::pair<NodeRef, NodeRef>> out;
    for (const GenRequest& r : SomeTraces(topo, 300)) {
      for (const EdgeOutcome* e : {&r.both, &r.client_only, &r.server_only}) {
        if (e->valid) out.insert({e->client, e->server});
      }
    }
    return out;
  };
  const auto plain = edges(a), own = edges(b);
  EXPECT_GT(plain.size(), 20u);
  EXPECT_EQ(own.size(), plain.size());  // the same shape under other names
  for (const auto& e : own)
    EXPECT_EQ(plain.count(e), 0u) << e.first.Label() << " -> " << e.second.Label();
}

}  // namespace
}  // namespace ew::tools
