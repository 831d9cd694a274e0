// One test per derivation rule of DESIGN.md "What an edge is": SpanViews go through the real
// derivation (interning into a real EdgeStore), pairing and aggregation; the test reads the
// rollups a flush would write.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>

#include "ingest/derivation/derive.h"
#include "ingest/pipeline/pending_table.h"
#include "tests/ingest/shard_harness.h"

namespace ew::ingest {
namespace {

using testing::EdgeRow;
using testing::MakeSpan;
using testing::ShardHarness;

constexpr const char* kExtClient = "external_client:/External Client";
constexpr const char* kUnknownExt = "external_service:/Unknown External Service";

const EdgeRow* FindEdge(const std::vector<EdgeRow>& rows, const std::string& client,
                        const std::string& server) {
  for (const auto& r : rows) {
    if (r.client == client && r.server == server) return &r;
  }
  return nullptr;
}

TEST(DeriveRules, NodeIdentityNamespaceK8sThenServiceNamespaceThenEmpty) {
  ShardHarness h;
  SpanView a = MakeSpan(SpanKind::kServer, "api", 1, 10, 0, h.now_ms);
  a.k8s_namespace = "prod";
  a.service_namespace = "shop";
  SpanView b = MakeSpan(SpanKind::kServer, "api", 2, 20, 0, h.now_ms);
  b.service_namespace = "shop";
  SpanView c = MakeSpan(SpanKind::kServer, "api", 3, 30, 0, h.now_ms);
  h.Feed(a);
  h.Feed(b);
  h.Feed(c);
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_NE(FindEdge(rows, kExtClient, "service:prod/api"), nullptr);
  EXPECT_NE(FindEdge(rows, kExtClient, "service:shop/api"), nullptr);
  EXPECT_NE(FindEdge(rows, kExtClient, "service:/api"), nullptr);
}

TEST(DeriveRules, ClientFirstThenServerCompletesAtOnce) {
  ShardHarness h;
  h.Feed(MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms));
  EXPECT_EQ(h.shard().pending(), 1u);
  EXPECT_TRUE(h.Flush().empty());
  h.Feed(MakeSpan(SpanKind::kServer, "api", 1, 200, 100, h.now_ms + 1));
  EXPECT_EQ(h.shard().pending(), 0u);
  auto rows = h.Flush();  // no expiry needed: emitted on completion
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].client, "service:/web");
  EXPECT_EQ(rows[0].server, "service:/api");
  EXPECT_EQ(rows[0].requests, 1u);
  EXPECT_EQ(h.shard().counters().pairs_completed, 1u);
}

TEST(DeriveRules, ServerFirstThenClientCompletesAtOnce) {
  ShardHarness h;
  h.Feed(MakeSpan(SpanKind::kServer, "api", 1, 200, 100, h.now_ms + 1));
  EXPECT_EQ(h.shard().pending(), 1u);
  h.Feed(MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms));
  EXPECT_EQ(h.shard().pending(), 0u);
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].client, "service:/web");
  EXPECT_EQ(rows[0].server, "service:/api");
}

TEST(DeriveRules, PairingNeedsSameTraceAndParentSpan) {
  ShardHarness h;
  h.Feed(MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms));
  h.Feed(MakeSpan(SpanKind::kServer, "api", 2, 200, 100, h.now_ms));  // other trace
  h.Feed(MakeSpan(SpanKind::kServer, "api", 1, 201, 101, h.now_ms));  // other parent
  EXPECT_EQ(h.shard().pending(), 3u);
  EXPECT_TRUE(h.Flush().empty());
}

TEST(DeriveRules, RootServerSpanIsFromExternalClientAtOnce) {
  ShardHarness h;
  h.Feed(MakeSpan(SpanKind::kServer, "frontend", 1, 10, 0, h.now_ms));
  EXPECT_EQ(h.shard().pending(), 0u);
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].client, kExtClient);
  EXPECT_EQ(rows[0].server, "service:/frontend");
  EXPECT_EQ(rows[0].server_samples, 1u);
  EXPECT_EQ(rows[0].client_samples, 0u);
}

TEST(DeriveRules, DatabaseClientSpanIsDatabaseEdgeAtOnce) {
  ShardHarness h;
  SpanView a = MakeSpan(SpanKind::kClient, "orders", 1, 10, 0, h.now_ms);
  a.db_system = "postgresql";
  a.db_namespace = "orders";
  SpanView b = MakeSpan(SpanKind::kClient, "orders", 2, 20, 0, h.now_ms);
  b.db_system = "redis";
  h.Feed(a);
  h.Feed(b);
  EXPECT_EQ(h.shard().pending(), 0u);
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 2u);
  const EdgeRow* pg = FindEdge(rows, "service:/orders", "database:/postgresql/orders");
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->protocol, "database");
  EXPECT_EQ(pg->client_samples, 1u);
  EXPECT_NE(FindEdge(rows, "service:/orders", "database:/redis"), nullptr);
}

TEST(DeriveRules, UnpairedClientBecomesExternalServiceByHostname) {
  ShardHarness h(/*pair_wait_ms=*/1000);
  SpanView a = MakeSpan(SpanKind::kClient, "web", 1, 10, 0, h.now_ms);
  a.peer_service = "Payments";
  a.server_address = "ignored.example.com";
  SpanView b = MakeSpan(SpanKind::kClient, "web", 2, 20, 0, h.now_ms);
  b.server_address = "API.Stripe.com:443";
  SpanView c = MakeSpan(SpanKind::kClient, "web", 3, 30, 0, h.now_ms);
  c.net_peer_name = "legacy.example.org";
  SpanView d = MakeSpan(SpanKind::kClient, "web", 4, 40, 0, h.now_ms);
  d.http_host = "Hosted.Example.net:8080";
  SpanView e = MakeSpan(SpanKind::kClient, "web", 5, 50, 0, h.now_ms);
  e.url_full = "https://user@Files.Example.com:8443/a/b?q=1";
  for (auto* s : {&a, &b, &c, &d, &e}) h.Feed(*s);
  EXPECT_TRUE(h.Flush().empty());
  h.Advance(1000 + 100);
  auto rows = h.Flush();
  EXPECT_EQ(rows.size(), 5u);
  for (const char* host : {"payments", "api.stripe.com", "legacy.example.org", "hosted.example.net",
                           "files.example.com"}) {
    std::string name = "external_service:/";
    name.append(host);
    const EdgeRow* r = FindEdge(rows, "service:/web", name);
    ASSERT_NE(r, nullptr) << host;
    EXPECT_EQ(r->requests, 1u);
    EXPECT_EQ(r->client_samples, 1u);
  }
  EXPECT_EQ(h.shard().counters().expired[0], 5u);
}

TEST(DeriveRules, UnpairedClientWithIpOrNoNameIsUnknownExternalService) {
  ShardHarness h(1000);
  SpanView a = MakeSpan(SpanKind::kClient, "web", 1, 10, 0, h.now_ms);
  a.server_address = "10.1.2.3";
  SpanView b = MakeSpan(SpanKind::kClient, "web", 2, 20, 0, h.now_ms);
  b.server_address = "[2001:db8::1]:443";
  SpanView c = MakeSpan(SpanKind::kClient, "web", 3, 30, 0, h.now_ms);
  c.url_full = "http://192.168.0.1:8080/x";
  SpanView d = MakeSpan(SpanKind::kClient, "web", 4, 40, 0, h.now_ms);  // nothing
  for (auto* s : {&a, &b, &c, &d}) h.Feed(*s);
  h.Advance(1100);
  auto rows = h.Flush();
  uint64_t total = 0;
  for (const auto& r : rows) {
    EXPECT_EQ(r.server, kUnknownExt);
    total += r.requests;
  }
  EXPECT_EQ(total, 4u);
}

TEST(DeriveRules, UnpairedServerWithParentComesFromExternalClientAfterWait) {
  ShardHarness h(2000);
  h.Feed(MakeSpan(SpanKind::kServer, "api", 1, 200, 100, h.now_ms));
  h.Advance(1000);
  EXPECT_EQ(h.shard().pending(), 1u) << "must wait the whole pair-wait";
  EXPECT_TRUE(h.Flush().empty());
  h.Advance(1200);
  EXPECT_EQ(h.shard().pending(), 0u);
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].client, kExtClient);
  EXPECT_EQ(rows[0].server, "service:/api");
  EXPECT_EQ(h.shard().counters().expired[1], 1u);
  ASSERT_EQ(h.last_flush().expiries.size(), 1u);
  EXPECT_EQ(h.last_flush().expiries[0].kind, storage::ExpiryKind::kServerHalf);
}

TEST(DeriveRules, MessagingProducerConsumerPairLikeClientServer) {
  ShardHarness h;
  SpanView p = MakeSpan(SpanKind::kProducer, "orders", 1, 100, 0, h.now_ms);
  p.messaging_system = "kafka";
  p.messaging_destination = "orders";
  SpanView c = MakeSpan(SpanKind::kConsumer, "billing", 1, 200, 100, h.now_ms + 5);
  c.messaging_system = "kafka";
  c.messaging_destination = "orders";
  h.Feed(p);
  h.Feed(c);
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].client, "service:/orders");
  EXPECT_EQ(rows[0].server, "service:/billing");
  EXPECT_EQ(rows[0].protocol, "messaging");
}

TEST(DeriveRules, UnpairedMessagingHalvesEndAtMessagingNode) {
  ShardHarness h(1000);
  SpanView p = MakeSpan(SpanKind::kProducer, "orders", 1, 100, 0, h.now_ms);
  p.messaging_system = "kafka";
  p.messaging_destination = "orders";
  SpanView c = MakeSpan(SpanKind::kConsumer, "billing", 2, 200, 300, h.now_ms);
  c.messaging_system = "kafka";
  c.messaging_destination = "invoices";
  h.Feed(p);
  h.Feed(c);
  h.Advance(1100);
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(FindEdge(rows, "service:/orders", "messaging:/kafka/orders"), nullptr);
  EXPECT_NE(FindEdge(rows, "messaging:/kafka/invoices", "service:/billing"), nullptr);
}

TEST(DeriveRules, ErrorWhenEitherHalfSees5xxOrErrorStatus) {
  ShardHarness h;
  // 1: server 503; 2: client sees 502 only; 3: client span status ERROR; 4: server 404 (no error).
  SpanView c1 = MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms);
  SpanView s1 = MakeSpan(SpanKind::kServer, "api", 1, 200, 100, h.now_ms);
  s1.http_status = 503;
  SpanView c2 = MakeSpan(SpanKind::kClient, "web", 2, 100, 0, h.now_ms);
  c2.http_status = 502;
  SpanView s2 = MakeSpan(SpanKind::kServer, "api", 2, 200, 100, h.now_ms);
  SpanView c3 = MakeSpan(SpanKind::kClient, "web", 3, 100, 0, h.now_ms);
  c3.status = SpanStatus::kError;
  SpanView s3 = MakeSpan(SpanKind::kServer, "api", 3, 200, 100, h.now_ms);
  SpanView c4 = MakeSpan(SpanKind::kClient, "web", 4, 100, 0, h.now_ms);
  SpanView s4 = MakeSpan(SpanKind::kServer, "api", 4, 200, 100, h.now_ms);
  s4.http_status = 404;
  for (auto* s : {&c1, &s1, &c2, &s2, &c3, &s3, &c4, &s4}) h.Feed(*s);
  auto rows = h.Flush();
  uint64_t requests = 0, errors = 0;
  for (const auto& r : rows) {
    requests += r.requests;
    errors += r.errors;
  }
  EXPECT_EQ(requests, 4u);
  EXPECT_EQ(errors, 3u);
}

TEST(DeriveRules, GrpcServerErrorCodesAreErrors) {
  ShardHarness h;
  uint64_t trace = 1;
  for (int code = 0; code <= 16; ++code) {
    SpanView s = MakeSpan(SpanKind::kServer, "grpc-svc", trace++, 10, 0, h.now_ms);
    s.rpc_system = "grpc";
    s.grpc_status = code;
    h.Feed(s);
  }
  auto rows = h.Flush();
  std::set<uint16_t> error_codes;
  for (const auto& r : rows) {
    EXPECT_EQ(r.protocol, "grpc");
    if (r.errors > 0) error_codes.insert(r.status);
  }
  EXPECT_EQ(error_codes, (std::set<uint16_t>{2, 4, 12, 13, 14, 15}));
}

TEST(DeriveRules, LatencyOfEachHalfFromItsOwnClock) {
  ShardHarness h;
  // The server's clock is 5 s behind; each half's duration is its own end - start.
  h.Feed(MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms, /*dur_us=*/50'000));
  h.Feed(MakeSpan(SpanKind::kServer, "api", 1, 200, 100, h.now_ms - 5000, /*dur_us=*/30'000));
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NEAR(rows[0].client_p50_us, 50'000, 500);
  EXPECT_NEAR(rows[0].server_p50_us, 30'000, 300);
}

// The sketches a flush writes hold exactly the bucket of every half, whatever order the
// durations come in (the shard counts them in a dense window that grows both ways) and however
// heavy the sampling weights (a bucket's count past 2^32 within one flush goes to the sketch).
TEST(DeriveRules, LatencySketchesHoldEveryHalfExactly) {
  ShardHarness h;
  storage::LatencySketch want_server, want_client;
  std::vector<uint64_t> durations;
  for (uint64_t d = 400'000; d >= 3; d = d * 9 / 10) durations.push_back(d);         // descending
  for (uint64_t d = 2; d < 9'000'000; d = d * 7 / 5 + 1) durations.push_back(d);     // ascending
  for (uint64_t i = 0; i < 500; ++i) durations.push_back(1 + (i * 7919) % 100'000);  // scattered
  uint64_t trace = 1;
  for (uint64_t d : durations) {
    h.Feed(MakeSpan(SpanKind::kClient, "web", trace, 100, 0, h.now_ms, d + 17));
    h.Feed(MakeSpan(SpanKind::kServer, "api", trace, 200, 100, h.now_ms, d));
    want_client.Add(static_cast<double>(d + 17));
    want_server.Add(static_cast<double>(d));
    ++trace;
  }
  // 70,000 halves of weight 65,536 each in one bucket: 4.6e9 > 2^32.
  for (int i = 0; i < 70'000; ++i) {
    SpanView s = MakeSpan(SpanKind::kServer, "heavy", trace++, 10, 0, h.now_ms, 5000);
    s.trace_state = "ot=th:ffff";
    h.Feed(s);
  }
  h.Flush();
  const storage::RollupValue* pair = nullptr;
  const storage::RollupValue* heavy = nullptr;
  for (const auto& r : h.last_flush().rollups) {
    (r.value.client_latency.Empty() ? heavy : pair) = &r.value;
  }
  ASSERT_NE(pair, nullptr);
  ASSERT_NE(heavy, nullptr);
  EXPECT_EQ(pair->server_latency.Buckets(), want_server.Buckets());
  EXPECT_EQ(pair->client_latency.Buckets(), want_client.Buckets());
  ASSERT_EQ(heavy->server_latency.Buckets().size(), 1u);
  EXPECT_EQ(heavy->server_latency.Buckets()[0].first, storage::LatencySketch::BucketOf(5000));
  EXPECT_EQ(heavy->server_latency.Count(), 70'000ull * 65'536ull);
}

TEST(DeriveRules, MinuteIsTheClientHalfStartWhenPaired) {
  ShardHarness h;
  // Client starts in minute M, the (skewed) server half in M-1: the edge is in M.
  h.Feed(MakeSpan(SpanKind::kServer, "api", 1, 200, 100, h.now_ms - 30'000));
  h.Feed(MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms));
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].minute, h.Minute());
  // Unpaired or single halves use their own start.
  h.Feed(MakeSpan(SpanKind::kServer, "api", 2, 300, 0, h.now_ms - 120'000));
  rows = h.Flush();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].minute, h.Minute() - 2);
}

TEST(DeriveRules, ProtocolGrpcDatabaseMessagingHttpOther) {
  SpanView s;
  s.rpc_system = "grpc";
  s.http_method = "POST";
  EXPECT_EQ(ProtocolOf(s), storage::Protocol::kGrpc);
  s = SpanView{};
  s.db_system = "mysql";
  EXPECT_EQ(ProtocolOf(s), storage::Protocol::kDatabase);
  s = SpanView{};
  s.messaging_system = "kafka";
  EXPECT_EQ(ProtocolOf(s), storage::Protocol::kMessaging);
  s = SpanView{};
  s.url_full = "http://x/y";
  EXPECT_EQ(ProtocolOf(s), storage::Protocol::kHttp);
  s = SpanView{};
  s.http_status = 200;
  EXPECT_EQ(ProtocolOf(s), storage::Protocol::kHttp);
  EXPECT_EQ(ProtocolOf(SpanView{}), storage::Protocol::kOther);
}

TEST(DeriveRules, PathFromRouteElseUrlPathWithoutQueryIdsNormalized) {
  SpanView s;
  s.http_route = "/users/:id";
  s.url_path = "/users/42";
  EXPECT_EQ(NormalizePath(s), "/users/:id");
  s = SpanView{};
  s.url_path = "/users/42/orders/550e8400-e29b-41d4-a716-446655440000?x=1";
  EXPECT_EQ(NormalizePath(s), "/users/{id}/orders/{id}");
  s = SpanView{};
  s.url_full = "https://h.example.com:8443/blob/deadbeefcafe1234/raw#frag";
  EXPECT_EQ(NormalizePath(s), "/blob/{id}/raw");
  s = SpanView{};
  s.url_full = "https://h.example.com?q=1";
  EXPECT_EQ(NormalizePath(s), "/");
  EXPECT_EQ(NormalizePathSegments("/v1/traces"), "/v1/traces");  // short words stay
  EXPECT_EQ(NormalizePathSegments("/api/v2/items/abcdef"), "/api/v2/items/abcdef");
  EXPECT_EQ(NormalizePath(SpanView{}), "");
}

// The deriver remembers the last service, path and destination lookups by their raw inputs;
// consecutive spans whose inputs differ in any part (or come from another attribute) must still
// get their own ids.
TEST(DeriveRules, ConsecutiveSpansGetTheirOwnIdsWhateverTheLastSpanHad) {
  ShardHarness h(/*pair_wait_ms=*/1000);
  std::vector<SpanView> spans;
  auto server = [&](const char* ns, const char* name, uint8_t trace) {
    SpanView s = MakeSpan(SpanKind::kServer, name, trace, trace, 0, h.now_ms);
    s.service_namespace = ns;
    s.has_parent = false;
    return s;
  };
  spans.push_back(server("a", "bc", 1));
  spans.back().url_path = "https://h.example.com/y/7";
  spans.push_back(server("ab", "c", 2));                // same bytes split differently
  spans.back().url_full = "https://h.example.com/y/7";  // same bytes, another attribute
  spans.push_back(server("ab", "c", 3));
  spans.back().http_route = "https://h.example.com/y/7";
  spans.push_back(server("ab", "c", 4));  // no path at all
  spans.push_back(server("ab", "c", 5));
  spans.back().url_path = "https://h.example.com/y/7";
  for (const SpanView& s : spans) h.Feed(s);
  auto rows = h.Flush();
  std::map<std::pair<std::string, std::string>, uint64_t> got, want;
  for (const auto& r : rows) got[{r.server, r.path}] += r.requests;
  for (const SpanView& s : spans) {
    ++want[{"service:" + std::string(s.service_namespace) + "/" + std::string(s.service_name),
            NormalizePath(s)}];
  }
  EXPECT_EQ(got, want);
  // Destinations: the same host through another attribute, then another host from the same one.
  std::vector<SpanView> calls;
  for (int i = 0; i < 4; ++i)
    calls.push_back(MakeSpan(SpanKind::kClient, "web", 10 + i, 10 + i, 0, h.now_ms));
  calls[0].peer_service = "one.example.com";
  calls[1].server_address = "one.example.com";
  calls[2].server_address = "two.example.com";
  calls[3].server_address = "10.0.0.1";
  for (const SpanView& s : calls) h.Feed(s);
  h.Advance(1000 + 100);
  rows = h.Flush();
  std::map<std::string, uint64_t> by_server;
  for (const auto& r : rows) by_server[r.server] += r.requests;
  EXPECT_EQ(by_server["external_service:/one.example.com"], 2u);
  EXPECT_EQ(by_server["external_service:/two.example.com"], 1u);
  EXPECT_EQ(by_server[kUnknownExt], 1u);
  // A deriver's very first destination lookup, with no naming attribute at all.
  ShardHarness fresh(/*pair_wait_ms=*/1000);
  fresh.Feed(MakeSpan(SpanKind::kClient, "web", 20, 20, 0, fresh.now_ms));
  fresh.Advance(1000 + 100);
  rows = fresh.Flush();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].server, kUnknownExt);
}

// The per-thread DeriveCache (raw path or destination -> id, across requests) gives exactly the
// ids that normalizing and interning give: the same raw bytes through different attributes,
// values that share a slot (3,000 raws in 1,024 slots), long values past the cache's limit, and
// a cache that changes owner.
TEST(DeriveRules, DeriveCacheGivesTheIdsDerivationGives) {
  ew::testing::TempDir dir("ew-derive-cache-");
  storage::StoreOptions so;
  so.dir = dir.Sub("db");
  auto store = storage::EdgeStore::Open(so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  StoreInterner interner(store->get());
  auto ids = InternWellKnown(&interner);
  ASSERT_TRUE(ids.ok());
  const int64_t now = WallNowMs();
  std::vector<std::string> raws;
  for (int i = 0; i < 1000; ++i) {
    raws.push_back("/v1/items/" + std::to_string(i * 7919));           // path-like
    raws.push_back("api-" + std::to_string(i) + ".Example.com:8443");  // host-like
    raws.push_back("https://h" + std::to_string(i % 50) + ".example.com/x/" + std::to_string(i) +
                   "?q=1");  // URL
  }
  raws.push_back(std::string(600, 'a') + "/1");  // not cached
  raws.push_back("10.1.2.3:80");
  std::mt19937_64 rng(17);
  DeriveCache cache;
  cache.Reset(1);
  std::unique_ptr<HalfDeriver> cached;
  for (int n = 0; n < 40'000; ++n) {
    if (n % 7 == 0) {  // a new request
      cached = std::make_unique<HalfDeriver>(&interner, *ids, DeriveLimits{}, &cache);
    }
    if (n == 20'000) cache.Reset(2);
    const std::string& raw = raws[rng() % raws.size()];
    const bool client = rng() & 1;
    SpanView s =
        MakeSpan(client ? SpanKind::kClient : SpanKind::kServer, "svc", n + 1, n + 1, 0, now);
    s.has_parent = false;
    // (path attribute, destination attribute); the last takes its destination from url.full.
    using Field = std::string_view SpanView::*;
    static const std::pair<Field, Field> kFields[] = {
        {&SpanView::http_route, &SpanView::peer_service},
        {&SpanView::url_path, &SpanView::server_address},
        {&SpanView::url_full, &SpanView::net_peer_name},
        {&SpanView::url_path, &SpanView::http_host},
        {&SpanView::url_full, nullptr}};
    const auto& [path_field, host_field] = kFields[rng() % std::size(kFields)];
    s.*path_field = raw;
    if (host_field != nullptr) s.*host_field = raw;
    // Some database and messaging calls: their nodes are cached by name.
    // (SpanView holds views: the strings live to the end of the iteration.)
    const std::string name = std::to_string(rng() % 40);
    const std::string topic = "topic-" + name;
    switch (rng() % 8) {
      case 0:
        s.db_system = rng() & 1 ? "postgresql" : "redis";
        s.db_namespace = name;
        break;
      case 1:
        s.messaging_system = "kafka";
        s.messaging_destination = topic;
        break;
      default:
        break;
    }
    HalfDeriver plain(&interner, *ids, DeriveLimits{});
    HalfRecord want, got;
    ASSERT_TRUE(plain.Derive(s, now, &want).ok());
    ASSERT_TRUE(cached->Derive(s, now, &got).ok());
    ASSERT_EQ(got.path, want.path) << n << " " << raw;
    ASSERT_EQ(got.peer, want.peer) << n << " " << raw;
    ASSERT_EQ(got.node, want.node);
  }
}

TEST(DeriveRules, PathCapPerEdgeOverflowsToOther) {
  ShardHarness h(10'000, 1'000'000, /*max_paths=*/2);
  for (int i = 0; i < 4; ++i) {
    SpanView s = MakeSpan(SpanKind::kServer, "api", 10 + i, 10, 0, h.now_ms);
    std::string path = "/p";
    path.push_back(static_cast<char>('a' + i));
    s.http_route = path;
    h.Feed(s);
  }
  auto rows = h.Flush();
  std::map<std::string, uint64_t> by_path;
  for (const auto& r : rows) by_path[r.path] += r.requests;
  EXPECT_EQ(by_path, (std::map<std::string, uint64_t>{{"/pa", 1}, {"/pb", 1}, {"{other}", 2}}));
}

TEST(DeriveRules, MethodAndStatusAreDimensions) {
  ShardHarness h;
  SpanView a = MakeSpan(SpanKind::kServer, "api", 1, 10, 0, h.now_ms);
  a.http_method = "POST";
  a.http_status = 201;
  SpanView b = MakeSpan(SpanKind::kServer, "api", 2, 10, 0, h.now_ms);
  b.http_method = "FROB";
  b.http_status = 999;  // not a status: dropped
  h.Feed(a);
  h.Feed(b);
  auto rows = h.Flush();
  ASSERT_EQ(rows.size(), 2u);
  std::set<std::pair<std::string, uint16_t>> dims;
  for (const auto& r : rows) dims.insert({r.method, r.status});
  EXPECT_EQ(dims, (std::set<std::pair<std::string, uint16_t>>{{"POST", 201}, {"_OTHER", 0}}));
}

TEST(DeriveRules, LatenessWindowRefusesTooOldAndTooFarInFuture) {
  ShardHarness h;
  EXPECT_EQ(h.Feed(MakeSpan(SpanKind::kServer, "api", 1, 10, 0, h.now_ms - 25 * kMsPerHour)),
            DeriveResult::kTooOld);
  EXPECT_EQ(h.Feed(MakeSpan(SpanKind::kServer, "api", 2, 10, 0, h.now_ms + 11 * kMsPerMinute)),
            DeriveResult::kTooNew);
  EXPECT_EQ(h.Feed(MakeSpan(SpanKind::kServer, "api", 3, 10, 0, h.now_ms - 23 * kMsPerHour)),
            DeriveResult::kHalf);
  EXPECT_EQ(h.Feed(MakeSpan(SpanKind::kServer, "api", 4, 10, 0, h.now_ms + 9 * kMsPerMinute)),
            DeriveResult::kHalf);
  auto rows = h.Flush();
  EXPECT_EQ(h.TotalRequests(rows), 2u);  // late spans land in their own minutes
  EXPECT_EQ(rows.size(), 2u);
}

TEST(DeriveRules, SamplingWeightFromTracestateScalesCounts) {
  EXPECT_EQ(WeightCodeOf(""), 0);
  EXPECT_EQ(WeightCodeOf("ot=th:8"), 0x8000);
  EXPECT_EQ(WeightCodeOf("vendor=x,ot=rv:abc;th:c"), 0xc000);
  EXPECT_EQ(WeightCodeOf("ot=th:zz"), 0);
  EXPECT_DOUBLE_EQ(WeightOf(0x8000), 2.0);
  EXPECT_DOUBLE_EQ(WeightOf(0xc000), 4.0);
  ShardHarness h;
  for (int i = 0; i < 3; ++i) {  // p = 1/2: each counts 2
    SpanView s = MakeSpan(SpanKind::kServer, "api", 1 + i, 10, 0, h.now_ms);
    s.trace_state = "ot=th:8";
    s.http_status = 500;
    h.Feed(s);
  }
  for (int i = 0; i < 10; ++i) {  // p = 0.3 (th = 1 - 0.3 = 0.b333): weight 3.33 each
    SpanView s = MakeSpan(SpanKind::kServer, "db-proxy", 100 + i, 10, 0, h.now_ms);
    s.trace_state = "ot=th:b333";
    h.Feed(s);
  }
  auto rows = h.Flush();
  const EdgeRow* api = FindEdge(rows, kExtClient, "service:/api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->requests, 6u);
  EXPECT_EQ(api->errors, 6u);
  const EdgeRow* proxy = FindEdge(rows, kExtClient, "service:/db-proxy");
  ASSERT_NE(proxy, nullptr);
  EXPECT_EQ(proxy->requests, 33u);  // 10 * 3.333.. rounded once per flush
}

TEST(DeriveRules, InternalSpansMakeNoEdge) {
  ShardHarness h;
  EXPECT_EQ(h.Feed(MakeSpan(SpanKind::kInternal, "api", 1, 10, 5, h.now_ms)),
            DeriveResult::kNoEdge);
  EXPECT_EQ(h.Feed(MakeSpan(SpanKind::kUnspecified, "api", 1, 11, 5, h.now_ms)),
            DeriveResult::kNoEdge);
  EXPECT_TRUE(h.Flush().empty());
}

TEST(DeriveRules, FullPendingTableEvictsOldestEarlyAndCountsIt) {
  ShardHarness h(60'000, /*max_pending=*/256);
  for (int i = 0; i < 256; ++i) {
    h.Feed(MakeSpan(SpanKind::kClient, "web", 1000 + i, 7, 0, h.now_ms), h.now_ms);
  }
  EXPECT_EQ(h.shard().pending(), 256u);
  // A newer half arrives: the oldest (all from one tick here) make room.
  h.Feed(MakeSpan(SpanKind::kClient, "web", 5000, 7, 0, h.now_ms + 5000), h.now_ms + 5000);
  EXPECT_LE(h.shard().pending(), 256u);
  uint64_t evicted = h.shard().counters().expired[2];
  EXPECT_GE(evicted, 1u);
  EXPECT_EQ(h.shard().pending() + evicted, 257u);
  auto rows = h.Flush();
  EXPECT_EQ(h.TotalRequests(rows), evicted);  // evicted halves still became their edge
  bool found_evicted_kind = false;
  for (const auto& e : h.last_flush().expiries) {
    found_evicted_kind |= e.kind == storage::ExpiryKind::kEvicted;
  }
  EXPECT_TRUE(found_evicted_kind);
  // The newest half survived.
  EXPECT_NE(h.shard().table().size(), 0u);
}

TEST(DeriveRules, ResentDuplicateHalfIsKeptOnce) {
  ShardHarness h;
  h.Feed(MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms));
  h.Feed(MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms));
  EXPECT_EQ(h.shard().pending(), 1u);
  h.Feed(MakeSpan(SpanKind::kServer, "api", 1, 200, 100, h.now_ms));
  EXPECT_EQ(h.TotalRequests(h.Flush()), 1u);
}

// A store written with a larger --max-pending: its chunks may add a half that a later chunk of
// the same store drops (it was paired or expired, and counted, in that run). Loading must not
// evict such a half on the way (that would count it again); what is over the bound after the
// whole load is evicted once.
TEST(DeriveRules, ReloadUnderASmallerBoundCountsNoDroppedHalfAgain) {
  ShardHarness h;
  for (uint64_t t = 1; t <= 10; ++t)
    h.Feed(MakeSpan(SpanKind::kClient, "web", t, 100, 0, h.now_ms));
  h.Flush();
  ASSERT_EQ(h.last_flush().pending_adds.size(), 1u);
  const std::string chunk = h.last_flush().pending_adds[0];
  ASSERT_EQ(chunk.size(), 1 + 10 * kPendingRecordBytes);
  auto key_of = [&](int i) { return chunk.substr(1 + i * kPendingRecordBytes, kPendingKeyBytes); };
  auto value_of = [&](int i) {
    return chunk.substr(1 + i * kPendingRecordBytes + kPendingKeyBytes, kPendingValueBytes);
  };
  ShardOptions small = h.options();
  small.max_pending = 4;
  ShardState fresh(small);
  fresh.SetNow(h.now_ms);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(fresh.LoadPending(key_of(i), value_of(i), h.now_ms).ok());
  for (int i = 0; i < 5; ++i) fresh.DropPending(key_of(i));  // paired in the previous run
  EXPECT_EQ(fresh.counters().expired[2], 0u) << "evicted while loading";
  EXPECT_EQ(fresh.pending(), 5u);
  fresh.FinishLoad();
  EXPECT_LE(fresh.pending(), 4u);
  const uint64_t evicted = fresh.counters().expired[2];
  EXPECT_EQ(fresh.pending() + evicted, 5u);
  ShardFlush f;
  fresh.TakeFlush(&f);
  uint64_t requests = 0;
  for (const auto& r : f.rollups) requests += r.value.requests;
  EXPECT_EQ(requests, evicted);  // each evicted half counted once, no dropped one at all
  // Their persisted records are dropped with that flush.
  EXPECT_EQ(f.pending_drops.size(), evicted * kPendingKeyBytes);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(f.pending_drops.find(key_of(i)), std::string::npos) << "dropped half " << i;
  }
}

TEST(DeriveRules, PendingHalvesPersistAndPairAfterReload) {
  ShardHarness h;
  h.Feed(MakeSpan(SpanKind::kClient, "web", 1, 100, 0, h.now_ms));
  h.Feed(MakeSpan(SpanKind::kClient, "web", 2, 100, 0, h.now_ms));
  h.Flush();
  // One chunk: the version byte and two 43-byte records (key | value).
  ASSERT_EQ(h.last_flush().pending_adds.size(), 1u);
  const std::string chunk = h.last_flush().pending_adds[0];
  ASSERT_EQ(chunk.size(), 1 + 2 * kPendingRecordBytes);
  EXPECT_EQ(static_cast<uint8_t>(chunk[0]), kPendingChunkVersion);
  EXPECT_TRUE(h.last_flush().pending_drops.empty());
  EXPECT_EQ(h.last_flush().pending_now, 2u);
  auto key_of = [&](int i) { return chunk.substr(1 + i * kPendingRecordBytes, kPendingKeyBytes); };
  auto value_of = [&](int i) {
    return chunk.substr(1 + i * kPendingRecordBytes + kPendingKeyBytes, kPendingValueBytes);
  };
  // Records are the same bytes as the one-record-per-key form.
  PendingEntry e0;
  int64_t arrival = 0;
  ASSERT_TRUE(DecodePending(key_of(0), value_of(0), &e0, &arrival).ok());
  EXPECT_EQ(key_of(0), EncodePendingKey(e0.trace_key, e0.span_key));
  EXPECT_EQ(value_of(0), EncodePendingValue(e0, arrival));
  // trace 2's record
  const int paired = key_of(0) == EncodePendingKey(TraceKeyOf(2), 100) ? 0 : 1;
  // Pairing one of them drops its persisted record at the next flush.
  h.Feed(MakeSpan(SpanKind::kServer, "api", 2, 200, 100, h.now_ms));
  h.Flush();
  EXPECT_TRUE(h.last_flush().pending_adds.empty());
  EXPECT_EQ(h.last_flush().pending_drops, key_of(paired));
  EXPECT_EQ(h.last_flush().pending_now, 1u);
  // A full flush (snapshot) writes every pending half again and no drops.
  h.Feed(MakeSpan(SpanKind::kServer, "api", 9, 200, 100, h.now_ms));  // waits
  ShardFlush full;
  h.shard().TakeFlush(&full, /*full=*/true);
  ASSERT_EQ(full.pending_adds.size(), 1u);
  EXPECT_EQ(full.pending_adds[0].size(), 1 + 2 * kPendingRecordBytes);
  EXPECT_TRUE(full.pending_drops.empty());
  // A fresh shard loads both records, drops the paired one again, and pairs the other.
  ShardState fresh(h.options());
  fresh.SetNow(h.now_ms);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(fresh.LoadPending(key_of(i), value_of(i), h.now_ms).ok());
  EXPECT_EQ(fresh.pending(), 2u);
  fresh.DropPending(key_of(paired));
  EXPECT_EQ(fresh.pending(), 1u);
  HalfRecord server;
  server.trace_id = testing::TraceId(0xabc, 1);
  server.span_key = 100;
  server.role = HalfRole::kServerPending;
  server.node = h.ids().external_client;  // any node id
  server.peer = h.ids().external_client;
  fresh.Apply(server, h.now_ms);
  EXPECT_EQ(fresh.pending(), 0u);
  EXPECT_EQ(fresh.counters().pairs_completed, 1u);
  ShardFlush f;
  fresh.TakeFlush(&f);
  ASSERT_EQ(f.rollups.size(), 1u);
  EXPECT_EQ(f.pending_drops, key_of(1 - paired));  // the loaded record is gone from the store too
  EXPECT_EQ(DecodePending("short", "", nullptr, nullptr).code(), StatusCode::kCorruption);
}

TEST(DeriveRules, HostNameHelpers) {
  EXPECT_TRUE(IsIpLiteral("1.2.3.4"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_TRUE(IsIpLiteral("2001:db8::8a2e:370:7334"));
  EXPECT_FALSE(IsIpLiteral("1.2.3.4.example.com"));
  EXPECT_FALSE(IsIpLiteral("cafe"));
  EXPECT_EQ(UrlHost("https://a:b@Host.Example:1/x"), "Host.Example:1");
  EXPECT_EQ(UrlHost("/relative"), "");
}

TEST(PendingEntryLayout, ThirtySixBytesAndAtMostFortyEightPerHalfAtMaxLoad) {
  static_assert(sizeof(PendingEntry) == 36);
  static_assert(kPendingBytesPerHalfAtMaxLoad <= 48.0);
  PendingTable t(10'000);
  for (uint64_t i = 1; i <= 10'000; ++i) {
    PendingEntry e;
    e.trace_key = static_cast<uint32_t>(i * 7919);
    e.span_key = i;
    t.Insert(e);
  }
  EXPECT_EQ(t.size(), 10'000u);
  EXPECT_LE(static_cast<double>(t.MemoryBytes()) / 10'000.0, 48.0);
}

}  // namespace
}  // namespace ew::ingest
