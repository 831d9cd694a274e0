// End-to-end map tests against a real EdgeStore: exact counts for every field and operator, and
// ranges crossing minute, hour and day boundaries (each checked edge by edge against an oracle).
#include <gtest/gtest.h>

#include <regex>

#include "query/map_builder.h"
#include "query/planner.h"
#include "query/predicate.h"
#include "query/query_language.h"
#include "tests/query/query_fixture.h"

namespace ew::query::testing {
namespace {

class QueryMapTest : public QueryFixture {
 protected:
  // The wide range: from 01:00 the day before kT0's day... through 02:00 the day after.
  static constexpr int64_t kStart = kT0 - 1440 + 60;
  static constexpr int64_t kEnd = kT0 + 1440 + 120;
  void Check(const std::string& q, const std::function<bool(const Rec&, bool)>& pred) {
    ExpectMap(q, pred, kStart, kEnd);
  }
};

TEST_F(QueryMapTest, EmptyQuerySelectsEverything) {
  Check("", [](const Rec&, bool) { return true; });
  Json map = Get("/api/v1/map", {{"start", Ts(kT0)}, {"end", Ts(kT0 + 60)}});
  EXPECT_EQ(map["start"].String(), "2024-10-04T00:00:00Z");
  EXPECT_EQ(map["end"].String(), "2024-10-04T01:00:00Z");
  // frontend -> cart in the first hour: 101 + 7 + 30 requests, 7 errors.
  auto edges = EdgesOf(map);
  EXPECT_EQ((edges[{Id(frontend_), Id(cart_)}]), (std::pair<uint64_t, uint64_t>{138, 7}));
  EXPECT_EQ((edges[{Id(external_), Id(frontend_)}]), (std::pair<uint64_t, uint64_t>{10, 0}));
  EXPECT_EQ(edges.size(), 2u);
}

TEST_F(QueryMapTest, ParallelScansGiveTheSameEdgesAsOne) {
  Dictionary dict(store_.get());
  size_t pos = 0;
  auto pred = Predicate::Compile(nullptr, &dict, &pos);
  ASSERT_TRUE(pred.ok());
  for (auto [start, end] : {std::pair{kStart, kEnd}, std::pair{kT0, kT0 + 60},
                            std::pair{kT0 - 3 * 1440, kT0 + 3 * 1440}}) {
    Plan plan = MakePlan(nullptr, start, end, *store_);
    auto one = AggregateEdges(plan, *store_, pred->get(), 1);
    ASSERT_TRUE(one.ok());
    ASSERT_FALSE(one->empty());
    for (int threads : {2, 3, 4}) {
      auto many = AggregateEdges(plan, *store_, pred->get(), threads);
      ASSERT_TRUE(many.ok());
      ASSERT_EQ(many->size(), one->size()) << threads;
      for (auto& [key, stats] : *one) {
        EdgeStats& other = (*many)[key];
        EXPECT_EQ(other.requests, stats.requests);
        EXPECT_EQ(other.errors, stats.errors);
        EXPECT_EQ(other.by_protocol, stats.by_protocol);
        EXPECT_EQ(other.Latency().p50, stats.Latency().p50);
        EXPECT_EQ(other.Latency().p99, stats.Latency().p99);
      }
    }
  }
}

TEST_F(QueryMapTest, NodeFields) {
  Check("server.namespace = shop", [&](const Rec& r, bool) { return NsOf(r.server) == "shop"; });
  Check("server.namespace != shop", [&](const Rec& r, bool) { return NsOf(r.server) != "shop"; });
  Check("server.namespace =~ \"^sh\"",
        [&](const Rec& r, bool) { return NsOf(r.server).starts_with("sh"); });
  Check("server.namespace !~ h",
        [&](const Rec& r, bool) { return NsOf(r.server).find('h') == std::string::npos; });
  Check("server.namespace in (shop, pay)",
        [&](const Rec& r, bool) { return NsOf(r.server) == "shop" || NsOf(r.server) == "pay"; });
  Check("server.namespace = \"\"", [&](const Rec& r, bool) { return NsOf(r.server).empty(); });
  Check("server.namespace = nope", [](const Rec&, bool) { return false; });
  Check("client.namespace = shop", [&](const Rec& r, bool) { return NsOf(r.client) == "shop"; });
  Check("client.namespace in (pay, \"\")",
        [&](const Rec& r, bool) { return NsOf(r.client) == "pay" || NsOf(r.client).empty(); });
  Check("server.service.name = cart", [&](const Rec& r, bool) { return r.server == cart_; });
  Check("server.service.name = api.stripe.com",
        [&](const Rec& r, bool) { return r.server == stripe_; });
  Check("client.service.name = frontend",
        [&](const Rec& r, bool) { return r.client == frontend_; });
  Check("client.service.name =~ \"^(cart|pay)\"",
        [&](const Rec& r, bool) { return r.client == cart_ || r.client == payments_; });
  Check("client.service.name != frontend and server.namespace = shop",
        [&](const Rec& r, bool) { return r.client != frontend_ && NsOf(r.server) == "shop"; });
  Check("server.kind = database", [&](const Rec& r, bool) { return r.server == orders_db_; });
  Check("server.kind = DATABASE", [&](const Rec& r, bool) { return r.server == orders_db_; });
  Check("client.kind = external_client", [&](const Rec& r, bool) { return r.client == external_; });
  Check("server.kind != service",
        [&](const Rec& r, bool) { return KindOf(r.server) != "service"; });
}

// A namespace named twice in `in (...)` is one key prefix, scanned once (found by the
// differential test, tests/model: `server.namespace in ("", "")` counted every request twice).
TEST_F(QueryMapTest, RepeatedNamespaceValuesCountOnce) {
  Check("server.namespace in (shop, shop)",
        [&](const Rec& r, bool) { return NsOf(r.server) == "shop"; });
  Check("server.namespace in (\"\", pay, \"\", pay)",
        [&](const Rec& r, bool) { return NsOf(r.server).empty() || NsOf(r.server) == "pay"; });
  Check("client.namespace in (shop, shop, pay)",
        [&](const Rec& r, bool) { return NsOf(r.client) == "shop" || NsOf(r.client) == "pay"; });
}

TEST_F(QueryMapTest, RequestFields) {
  Check("path = \"/v1/cart/{id}\"", [](const Rec& r, bool) { return r.path == "/v1/cart/{id}"; });
  Check("path =~ cart",
        [](const Rec& r, bool) { return r.path.find("cart") != std::string::npos; });
  Check("v1.traces", [](const Rec& r, bool) { return r.path == "/v1/traces"; });
  Check("\"^/v1/\"", [](const Rec& r, bool) { return r.path.starts_with("/v1/"); });
  Check("path != /health", [](const Rec& r, bool) { return r.path != "/health"; });
  Check("path !~ v1", [](const Rec& r, bool) { return r.path.find("v1") == std::string::npos; });
  Check("path = \"\"", [](const Rec& r, bool) { return r.path.empty(); });
  Check("method = POST", [](const Rec& r, bool) { return r.method == "POST"; });
  Check("method = post", [](const Rec& r, bool) { return r.method == "POST"; });
  Check("method in (GET, POST)", [](const Rec& r, bool) { return !r.method.empty(); });
  Check("method != GET", [](const Rec& r, bool) { return r.method != "GET"; });
  Check("status >= 500", [](const Rec& r, bool) { return r.status >= 500; });
  Check("status > 500", [](const Rec& r, bool) { return r.status > 500; });
  Check("status < 300", [](const Rec& r, bool) { return r.status != 0 && r.status < 300; });
  Check("status <= 200", [](const Rec& r, bool) { return r.status != 0 && r.status <= 200; });
  Check("status = 200", [](const Rec& r, bool) { return r.status == 200; });
  Check("status != 200", [](const Rec& r, bool) { return r.status != 200; });
  Check("status = \"\"", [](const Rec& r, bool) { return r.status == 0; });
  Check("status =~ \"^5\"", [](const Rec& r, bool) { return r.status / 100 == 5; });
  Check("status in (14, 503)",
        [](const Rec& r, bool) { return r.status == 14 || r.status == 503; });
  // Missing fields hold "": every numeric comparison on them is false.
  Check("method < 5", [](const Rec&, bool) { return false; });
  Check("not method >= 0", [](const Rec&, bool) { return true; });
  Check("protocol = grpc", [](const Rec& r, bool) { return r.protocol == Protocol::kGrpc; });
  Check("protocol != http", [](const Rec& r, bool) { return r.protocol != Protocol::kHttp; });
  Check("protocol in (database, GRPC)", [](const Rec& r, bool) {
    return r.protocol == Protocol::kDatabase || r.protocol == Protocol::kGrpc;
  });
}

TEST_F(QueryMapTest, ErrorFieldSplitsRecordsExactly) {
  Check("error = true", [](const Rec&, bool err) { return err; });
  Check("error = false", [](const Rec&, bool err) { return !err; });
  Check("error != true and server.service.name = orders", [](const Rec&, bool) { return false; });
  Check("error = true or server.kind = database",
        [&](const Rec& r, bool err) { return err || r.server == orders_db_; });
  Check("not error = true and protocol = database",
        [](const Rec& r, bool err) { return !err && r.protocol == Protocol::kDatabase; });
  // The database edge: 40 requests of which 1 error.
  Json map = Get("/api/v1/map", {{"query", "error = false and server.kind = database"},
                                 {"start", Ts(kStart)},
                                 {"end", Ts(kEnd)}});
  EXPECT_EQ((EdgesOf(map)[{Id(cart_), Id(orders_db_)}]), (std::pair<uint64_t, uint64_t>{39, 0}));
}

// The latency of the part an `error` filter selects is that of the whole edge rollup in every
// tier: a minute range (read from the detail family for unfiltered maps) answers as the hour
// range over the same requests. frontend -> cart at kT0 + 5: 101 at 5 ms, 30 at 2 ms, 7 errors at
// 50 ms (server side).
TEST_F(QueryMapTest, ErrorFilteredLatencyIsTheWholeEdgeRollupsInEveryTier) {
  for (const auto& [start, end] : {std::pair{kT0 + 1, kT0 + 60}, std::pair{kT0, kT0 + 60}}) {
    Json map = Get("/api/v1/map", {{"query", "error = true and server.service.name = cart"},
                                   {"start", Ts(start)},
                                   {"end", Ts(end)}});
    ASSERT_EQ(map["edges"].Size(), 1u) << start;
    const Json e = map["edges"][0];
    EXPECT_EQ(e["requests"].Uint(), 7u);
    EXPECT_EQ(e["errors"].Uint(), 7u);
    EXPECT_NEAR(e["latency_ms"]["p50"].Double(), 5.0, 0.05) << start;
    EXPECT_NEAR(e["latency_ms"]["p99"].Double(), 50.0, 0.5) << start;
  }
}

TEST_F(QueryMapTest, BooleanStructure) {
  Check("client.namespace = shop and not client.service.name = frontend",
        [&](const Rec& r, bool) { return r.client == cart_; });
  Check("server.namespace = pay or server.kind = database",
        [&](const Rec& r, bool) { return r.server == payments_ || r.server == orders_db_; });
  Check("(method = GET or method = POST) and status >= 500",
        [](const Rec& r, bool) { return !r.method.empty() && r.status >= 500; });
  Check("not (status >= 500 or protocol = grpc)",
        [](const Rec& r, bool) { return !(r.status >= 500 || r.protocol == Protocol::kGrpc); });
}

TEST_F(QueryMapTest, RangesCrossingMinuteHourAndDayBoundaries) {
  auto all = [](const Rec&, bool) { return true; };
  const int64_t ranges[][2] = {
      {kT0 + 5, kT0 + 6},            // one minute
      {kT0 + 4, kT0 + 5},            // the minute before: nothing
      {kT0 - 45, kT0 + 70},          // minutes, hour, minutes across midnight
      {kT0 - 60, kT0 + 1560},        // hour, day, hours
      {kT0 + 30, kT0 + 1501},        // ragged both ends across two hour boundaries and midnight
      {kT0 - 1440, kT0 + 2 * 1440},  // whole days
      {kT0 - 1436, kT0 - 1434},      // the previous day's single minute
      {kT0 + 66, kT0 + 1500},        // just after and just before records
  };
  for (const auto& r : ranges) {
    ExpectMap("", all, r[0], r[1]);
    ExpectMap(
        "status >= 500 or path = \"\"",
        [](const Rec& x, bool) { return x.status >= 500 || x.path.empty(); }, r[0], r[1]);
    ExpectMap(
        "client.service.name = cart", [&](const Rec& x, bool) { return x.client == cart_; }, r[0],
        r[1]);
  }
}

TEST_F(QueryMapTest, NodesAndEdgesCarryTheContractFields) {
  Json map = Get("/api/v1/map", {{"start", Ts(kT0)}, {"end", Ts(kT0 + 60)}});
  bool saw_frontend = false;
  for (const auto& n : map["nodes"].Elements()) {
    if (n["id"].String() != Id(frontend_)) continue;
    saw_frontend = true;
    EXPECT_EQ(n["kind"].String(), "service");
    EXPECT_EQ(n["namespace"].String(), "shop");
    EXPECT_EQ(n["name"].String(), "frontend");
    EXPECT_EQ(n["requests_in"].Uint(), 10u);
    EXPECT_EQ(n["errors_in"].Uint(), 0u);
    EXPECT_EQ(n["requests_out"].Uint(), 138u);
    EXPECT_EQ(n["errors_out"].Uint(), 7u);
  }
  EXPECT_TRUE(saw_frontend);
  for (const auto& e : map["edges"].Elements()) {
    if (e["source"].String() != Id(frontend_)) continue;
    EXPECT_EQ(e["protocol"].String(), "http");
    EXPECT_NEAR(e["rate_per_s"].Double(), 138.0 / 3600.0, 1e-6);
    EXPECT_NEAR(e["error_rate"].Double(), 7.0 / 138.0, 1e-6);
    // 101 at 5 ms, 30 at 2 ms, 7 at 50 ms (server side): p50 5 ms, p99 50 ms, within 1 %.
    EXPECT_NEAR(e["latency_ms"]["p50"].Double(), 5.0, 0.05);
    EXPECT_NEAR(e["latency_ms"]["p90"].Double(), 5.0, 0.05);
    EXPECT_NEAR(e["latency_ms"]["p99"].Double(), 50.0, 0.5);
  }
  // Client-side latency where no server half exists (the database edge: 2 ms).
  map = Get("/api/v1/map", {{"start", Ts(kT0 - 60)}, {"end", Ts(kT0)}});
  ASSERT_EQ(map["edges"].Size(), 1u);
  EXPECT_EQ(map["edges"][0]["protocol"].String(), "database");
  EXPECT_NEAR(map["edges"][0]["latency_ms"]["p50"].Double(), 2.0, 0.02);
}

TEST_F(QueryMapTest, PlannerUsesKeyPrefixesAndFamilies) {
  auto plan = [&](const std::string& q) {
    size_t pos = 0;
    auto parsed = ParseQuery(q, &pos);
    EXPECT_TRUE(parsed.ok());
    return MakePlan(parsed->root.get(), kT0 - 45, kT0 + 70, *store_);
  };
  Plan p = plan("");
  EXPECT_EQ(p.family, storage::Family::kEdge);
  EXPECT_TRUE(p.prefixes.empty());
  EXPECT_EQ(p.ranges.size(), 3u);
  p = plan("server.namespace = shop and method = GET");
  EXPECT_EQ(p.family, storage::Family::kDetail);
  ASSERT_EQ(p.prefixes.size(), 1u);
  EXPECT_EQ(p.prefixes[0].label, "ns=shop");
  EXPECT_FALSE(p.prefixes[0].node.has_value());
  p = plan("client.service.name = cart and error = true");
  EXPECT_EQ(p.family, storage::Family::kEdgeByClient);
  ASSERT_EQ(p.prefixes.size(), 1u);
  EXPECT_EQ(p.prefixes[0].node, cart_);
  p = plan("server.service.name in (cart, payments) and client.namespace = shop");
  EXPECT_EQ(p.family, storage::Family::kEdge);
  EXPECT_EQ(p.prefixes.size(), 2u);
  EXPECT_EQ(p.Specs().size(), 6u);                                // 3 ranges x 2 prefixes
  p = plan("server.namespace = shop or server.namespace = pay");  // no top-level conjunct
  EXPECT_TRUE(p.prefixes.empty());
  p = plan("server.namespace = nope");
  EXPECT_TRUE(p.nothing);
  EXPECT_TRUE(p.Specs().empty());

  Json map = Get("/api/v1/map", {{"query", "client.service.name = cart"},
                                 {"start", Ts(kT0 - 45)},
                                 {"end", Ts(kT0 + 70)},
                                 {"explain", "true"}});
  EXPECT_EQ(map["plan"]["family"].String(), "edge_by_client");
  ASSERT_EQ(map["plan"]["ranges"].Size(), 3u);
  EXPECT_EQ(map["plan"]["ranges"][0]["tier"].String(), "minute");
  EXPECT_EQ(map["plan"]["ranges"][1]["tier"].String(), "hour");
  EXPECT_EQ(map["plan"]["ranges"][1]["start"].String(), "2024-10-04T00:00:00Z");
  EXPECT_EQ(map["plan"]["ranges"][2]["tier"].String(), "minute");
  EXPECT_EQ(map["plan"]["prefixes"][0].String(), "node=shop/cart");
  EXPECT_EQ(map["query"].String(), "client.service.name = \"cart\"");
}

}  // namespace
}  // namespace ew::query::testing
