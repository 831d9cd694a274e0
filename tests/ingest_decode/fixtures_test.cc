// Real OpenTelemetry JS SDK request bodies (tests/fixtures, see its README): the decoders read
// the values the SDK sent, the halves of each call pair up across services and encodings, and
// every truncation of a real body fails cleanly.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"
#include "ingest/pipeline/gzip.h"
#include "tests/ingest_decode/owned_span.h"
#include "tools/otlp_encoder.h"

namespace ew::ingest::testing {
namespace {

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(EW_SOURCE_DIR) + "/tests/fixtures/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<OwnedSpan> DecodeFixture(const std::string& name) {
  std::string body = ReadFixture(name);
  if (name.ends_with(".gz")) {
    std::string plain;
    Status s = GunzipBody(body, 64 << 20, &plain);
    EXPECT_TRUE(s.ok()) << s.ToString();
    body = std::move(plain);
  }
  CollectingSink sink;
  Status s = name.find(".json") != std::string::npos ? DecodeOtlpJson(PaddedJsonCopy(body), sink)
                                                     : DecodeOtlpProtobuf(body, sink);
  EXPECT_TRUE(s.ok()) << name << ": " << s.ToString();
  return sink.spans;
}

std::string Hex(const std::array<uint8_t, 16>& id) { return tools::Hex(id.data(), 16); }
std::string Hex(const std::array<uint8_t, 8>& id) { return tools::Hex(id.data(), 8); }

TEST(SdkFixtures, ProtobufFromFrontend) {
  auto spans = DecodeFixture("frontend_0.pb");
  ASSERT_EQ(spans.size(), 2u);
  const OwnedSpan& client = spans[0];
  EXPECT_EQ(client.service_name, "frontend");
  EXPECT_EQ(client.service_namespace, "shop");
  EXPECT_EQ(client.kind, SpanKind::kClient);
  EXPECT_EQ(client.status, SpanStatus::kUnset);
  EXPECT_EQ(client.http_method, "GET");
  EXPECT_EQ(client.http_status, 200);
  EXPECT_EQ(client.url_full, "http://127.0.0.1:42919/checkout/42");
  EXPECT_EQ(client.server_address, "127.0.0.1");
  EXPECT_EQ(Hex(client.trace_id), "75a70212a38b404a966f2c80378ece04");
  EXPECT_EQ(Hex(client.span_id), "afc7881cd1b0fc93");
  EXPECT_EQ(Hex(client.parent_span_id), "8fb6892ff3315e26");
  EXPECT_EQ(client.start_ns, 1795574134549000000u);
  EXPECT_EQ(client.end_ns, 1795574135109626053u);
  const OwnedSpan& server = spans[1];
  EXPECT_EQ(server.kind, SpanKind::kServer);
  EXPECT_FALSE(server.has_parent);
  EXPECT_EQ(server.url_path, "/buy/42");
  EXPECT_EQ(server.http_status, 200);
  EXPECT_EQ(Hex(server.span_id), "8fb6892ff3315e26");
}

TEST(SdkFixtures, JsonFromCheckoutWithDuplicatedConventions) {
  auto spans = DecodeFixture("checkout_1.json");
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].kind, SpanKind::kClient);
  EXPECT_EQ(spans[0].http_method, "POST");
  EXPECT_EQ(spans[0].url_full, "http://127.0.0.1:34439/pay");
  EXPECT_EQ(Hex(spans[0].trace_id), "c612477784e8446c4b7b20133e0139e3");
  EXPECT_EQ(Hex(spans[0].span_id), "42f00c6da0e678ff");
  EXPECT_EQ(spans[1].kind, SpanKind::kServer);
  EXPECT_EQ(spans[1].url_path, "/checkout/42");
  EXPECT_EQ(Hex(spans[1].parent_span_id), "15726cc0b30edf30");
  const OwnedSpan& failed = spans[2];
  EXPECT_EQ(failed.kind, SpanKind::kServer);
  EXPECT_EQ(failed.status, SpanStatus::kError);
  EXPECT_EQ(failed.http_status, 500);
  EXPECT_EQ(failed.url_path, "/fail");
  EXPECT_EQ(failed.service_name, "checkout");
  EXPECT_EQ(failed.start_ns, 1795574135777000000u);
  EXPECT_EQ(failed.end_ns, 1795574135777725210u);
}

TEST(SdkFixtures, GzipProtobufFromPaymentsWithTheUnresolvableCall) {
  auto spans = DecodeFixture("payments_0.pb.gz");
  ASSERT_EQ(spans.size(), 2u);
  const OwnedSpan& external = spans[0];
  EXPECT_EQ(external.kind, SpanKind::kClient);
  EXPECT_EQ(external.status, SpanStatus::kError);
  EXPECT_EQ(external.http_status, 0);  // no response
  EXPECT_EQ(external.server_address, "api.payments-provider.invalid");
  EXPECT_EQ(external.url_full, "http://api.payments-provider.invalid/charge");
  EXPECT_EQ(spans[1].kind, SpanKind::kServer);
  EXPECT_EQ(spans[1].http_method, "POST");
  EXPECT_EQ(spans[1].url_path, "/pay");
  EXPECT_EQ(Hex(spans[1].parent_span_id), "0b9fcb19b51eb1f3");
}

// Client halves (trace, span) against server halves (trace, parent) across all six bodies:
// frontend->checkout x3, checkout->payments x2 pair; the two external calls and the three
// root requests do not.
TEST(SdkFixtures, HalvesPairAcrossServicesAndEncodings) {
  std::map<std::string, std::string> clients;  // trace+span -> service
  std::vector<std::pair<std::string, std::string>> servers;
  for (const char* name : {"frontend_0.pb", "frontend_1.pb", "checkout_0.json", "checkout_1.json",
                           "payments_0.pb.gz", "payments_1.pb.gz"}) {
    for (const OwnedSpan& s : DecodeFixture(name)) {
      if (s.kind == SpanKind::kClient) clients[Hex(s.trace_id) + Hex(s.span_id)] = s.service_name;
      if (s.kind == SpanKind::kServer) {
        servers.emplace_back(s.has_parent ? Hex(s.trace_id) + Hex(s.parent_span_id) : "",
                             s.service_name);
      }
    }
  }
  ASSERT_EQ(clients.size(), 7u);
  ASSERT_EQ(servers.size(), 8u);
  std::map<std::string, int> edges;
  std::set<std::string> paired;
  for (const auto& [key, server] : servers) {
    auto it = clients.find(key);
    if (it == clients.end()) {
      ++edges["External Client->" + server];
      continue;
    }
    ++edges[it->second + "->" + server];
    paired.insert(key);
  }
  EXPECT_EQ(edges, (std::map<std::string, int>{{"External Client->frontend", 3},
                                               {"frontend->checkout", 3},
                                               {"checkout->payments", 2}}));
  EXPECT_EQ(clients.size() - paired.size(), 2u);  // payments -> api.payments-provider.invalid
}

TEST(SdkFixtures, TruncationAtEveryByteOfRealBodies) {
  std::string proto = ReadFixture("frontend_1.pb");
  for (size_t n = 0; n < proto.size(); ++n) {
    CollectingSink sink;
    Status s = DecodeOtlpProtobuf(std::string_view(proto.data(), n), sink);
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n;
    }
  }
  std::string json = ReadFixture("checkout_1.json");
  for (size_t n = 0; n < json.size(); ++n) {
    CollectingSink sink;
    Status s = DecodeOtlpJson(PaddedJsonCopy(std::string_view(json.data(), n)), sink);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n;
  }
  std::string gz = ReadFixture("payments_1.pb.gz");
  for (size_t n = 0; n < gz.size(); ++n) {
    std::string out;
    EXPECT_EQ(GunzipBody(std::string_view(gz.data(), n), 1 << 20, &out).code(),
              StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace ew::ingest::testing
