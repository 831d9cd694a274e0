// End-to-end tests of the beyond-the-peers map parameters (focus/depth, compare, min_requests,
// errors_only, top/top_by, group), /api/v1/service, /api/v1/edge/series, /api/v1/edge/traces,
// FlatBuffers output and error answers, against a real EdgeStore.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <set>

#include "schemas/query_generated.h"
#include "tests/query/query_fixture.h"

namespace ew::query::testing {
namespace {

class QueryEndpointsTest : public QueryFixture {
 protected:
  static constexpr int64_t kStart = kT0 - 60;
  static constexpr int64_t kEnd = kT0 + 1560;
  Json Map(std::map<std::string, std::string> extra) {
    extra.emplace("start", Ts(kStart));
    extra.emplace("end", Ts(kEnd));
    return Get("/api/v1/map", std::move(extra));
  }
  using Edge = std::pair<std::string, std::string>;
  static std::set<Edge> EdgeList(const Json& map) {
    std::set<Edge> out;
    for (const auto& [k, v] : EdgesOf(map)) out.insert(k);
    return out;
  }
};

TEST_F(QueryEndpointsTest, FocusAndDepth) {
  // Edges in the range: ext->frontend, frontend->cart, cart->payments, cart->db,
  // payments->stripe.
  EXPECT_EQ(EdgeList(Map({})).size(), 5u);
  auto e = EdgeList(Map({{"focus", Id(cart_)}, {"depth", "1"}}));
  EXPECT_EQ(
      e, (std::set<Edge>{
             {Id(cart_), Id(payments_)}, {Id(cart_), Id(orders_db_)}, {Id(frontend_), Id(cart_)}}));
  e = EdgeList(Map({{"focus", Id(cart_)}, {"depth", "2"}}));
  EXPECT_EQ(e.size(), 5u);
  // Downstream of payments only stripe; upstream: cart, then frontend (not cart's db).
  e = EdgeList(Map({{"focus", Id(payments_)}, {"depth", "2"}}));
  EXPECT_EQ(e, (std::set<Edge>{{Id(cart_), Id(payments_)},
                               {Id(frontend_), Id(cart_)},
                               {Id(payments_), Id(stripe_)}}));
  Json m = Map({{"focus", Id(external_)}});  // depth defaults to 1
  EXPECT_EQ(EdgeList(m), (std::set<Edge>{{Id(external_), Id(frontend_)}}));
  EXPECT_EQ(m["nodes"].Size(), 2u);
  // A node with no traffic in the range gives an empty map; an unknown one is a 404.
  EXPECT_EQ(Get("/api/v1/map",
                {{"focus", Id(stripe_)}, {"start", Ts(kT0)}, {"end", Ts(kT0 + 60)}})["edges"]
                .Size(),
            0u);
  Get("/api/v1/map", {{"focus", "n9999"}}, 404);
  Get("/api/v1/map", {{"focus", "frontend"}}, 400);
}

TEST_F(QueryEndpointsTest, CompareToAShiftedRange) {
  // [kT0, kT0+60) against the day before: frontend->cart had 50, ext->frontend nothing.
  Json m = Get("/api/v1/map", {{"start", Ts(kT0)}, {"end", Ts(kT0 + 60)}, {"compare", "-1d"}});
  ASSERT_EQ(m["edges"].Size(), 2u);
  for (const auto& e : m["edges"].Elements()) {
    if (e["source"].String() == Id(frontend_)) {
      EXPECT_EQ(e["change"].String(), "same");
      EXPECT_EQ(e["requests"].Uint(), 138u);
      EXPECT_EQ(e["previous"]["requests"].Uint(), 50u);
      EXPECT_NEAR(e["delta"]["rate_per_s"].Double(), 88.0 / 3600, 1e-6);
      EXPECT_NEAR(e["delta"]["error_rate"].Double(), 7.0 / 138, 1e-6);
      EXPECT_NEAR(e["delta"]["p99_ms"].Double(), 50.0 - 4.0, 0.6);
    } else {
      EXPECT_EQ(e["change"].String(), "new");
      EXPECT_EQ(e["previous"]["requests"].Uint(), 0u);
    }
  }
  for (const auto& n : m["nodes"].Elements()) {
    EXPECT_EQ(n["change"].String(), n["id"].String() == Id(external_) ? "new" : "same");
  }
  // The other way round: ext->frontend is gone.
  m = Get("/api/v1/map", {{"start", Ts(kT0 - 1440)}, {"end", Ts(kT0 - 1380)}, {"compare", "+1d"}});
  ASSERT_EQ(m["edges"].Size(), 2u);
  for (const auto& e : m["edges"].Elements()) {
    bool gone = e["source"].String() == Id(external_);
    EXPECT_EQ(e["change"].String(), gone ? "gone" : "same");
    EXPECT_EQ(e["requests"].Uint(), gone ? 0u : 50u);
  }
  EXPECT_TRUE(m["compare_plan"].valid() == false);  // only with explain
  m = Get("/api/v1/map",
          {{"start", Ts(kT0)}, {"end", Ts(kT0 + 60)}, {"compare", "-1d"}, {"explain", "true"}});
  EXPECT_EQ(m["compare_plan"]["ranges"][0]["start"].String(), "2024-10-03T00:00:00Z");
  Get("/api/v1/map", {{"compare", "yesterday"}}, 400);
  Get("/api/v1/map", {{"compare", "30s"}}, 400);
  Get("/api/v1/map", {{"compare", "-100000w"}}, 400);
  Get("/api/v1/map", {{"start", "0"}, {"end", "60"}, {"compare", "-1d"}}, 400);
}

TEST_F(QueryEndpointsTest, PruningParameters) {
  // Requests per edge over the range: ext->frontend 10, frontend->cart 141 (7+3 errors),
  // cart->payments 24 (4 errors), cart->db 40 (1 error, before kStart? no: at kT0-30),
  // payments->stripe 6.
  auto edges = EdgesOf(Map({}));
  EXPECT_EQ((edges[{Id(frontend_), Id(cart_)}]), (std::pair<uint64_t, uint64_t>{141, 10}));
  EXPECT_EQ(EdgeList(Map({{"min_requests", "24"}})), (std::set<Edge>{{Id(cart_), Id(payments_)},
                                                                     {Id(cart_), Id(orders_db_)},
                                                                     {Id(frontend_), Id(cart_)}}));
  EXPECT_EQ(EdgeList(Map({{"errors_only", "true"}})), (std::set<Edge>{{Id(cart_), Id(payments_)},
                                                                      {Id(cart_), Id(orders_db_)},
                                                                      {Id(frontend_), Id(cart_)}}));
  EXPECT_EQ(EdgeList(Map({{"top", "2"}})),
            (std::set<Edge>{{Id(cart_), Id(orders_db_)}, {Id(frontend_), Id(cart_)}}));
  EXPECT_EQ(EdgeList(Map({{"top", "2"}, {"top_by", "errors"}})),
            (std::set<Edge>{{Id(cart_), Id(payments_)}, {Id(frontend_), Id(cart_)}}));
  Json m = Map({{"top", "1"}});
  EXPECT_EQ(m["nodes"].Size(), 2u);  // only the ends of the kept edge
  Get("/api/v1/map", {{"top", "x"}}, 400);
  Get("/api/v1/map", {{"top_by", "latency"}}, 400);
  Get("/api/v1/map", {{"errors_only", "maybe"}}, 400);
}

TEST_F(QueryEndpointsTest, GroupByNamespace) {
  Json m = Map({{"group", "namespace"}});
  auto edges = EdgesOf(m);
  EXPECT_EQ((edges[{"ns:shop", "ns:shop"}]), (std::pair<uint64_t, uint64_t>{141, 10}));
  EXPECT_EQ((edges[{"ns:shop", "ns:pay"}]), (std::pair<uint64_t, uint64_t>{24, 4}));
  EXPECT_EQ((edges[{"ns:shop", Id(orders_db_)}]), (std::pair<uint64_t, uint64_t>{40, 1}));
  EXPECT_EQ((edges[{Id(external_), "ns:shop"}]), (std::pair<uint64_t, uint64_t>{10, 0}));
  EXPECT_EQ((edges[{"ns:pay", Id(stripe_)}]), (std::pair<uint64_t, uint64_t>{6, 0}));
  EXPECT_EQ(edges.size(), 5u);
  for (const auto& n : m["nodes"].Elements()) {
    if (n["id"].String() == "ns:shop") {
      EXPECT_EQ(n["kind"].String(), "namespace");
      EXPECT_EQ(n["requests_in"].Uint(), 151u);
    }
  }
  // Grouping composes with focus on a group id.
  EXPECT_EQ(EdgeList(Map({{"group", "namespace"}, {"focus", "ns:pay"}})).size(), 2u);
  Get("/api/v1/map", {{"group", "service"}}, 400);
}

TEST_F(QueryEndpointsTest, ServiceNeighbourhoodAndMissingEdges) {
  Json s = Get("/api/v1/service",
               {{"namespace", "shop"}, {"name", "cart"}, {"start", Ts(kStart)}, {"end", Ts(kEnd)}});
  EXPECT_EQ(s["node"]["id"].String(), Id(cart_));
  EXPECT_EQ(s["node"]["requests_in"].Uint(), 141u);
  EXPECT_EQ(s["node"]["requests_out"].Uint(), 64u);
  ASSERT_EQ(s["incoming"].Size(), 1u);
  EXPECT_EQ(s["incoming"][0]["source"].String(), Id(frontend_));
  EXPECT_EQ(s["incoming"][0]["errors"].Uint(), 10u);
  EXPECT_EQ(s["outgoing"].Size(), 2u);
  EXPECT_EQ(s["nodes"].Size(), 4u);  // cart, frontend, payments, db
  EXPECT_EQ(s["missing_edges"]["client_halves_expired"].Uint(), 3u);
  EXPECT_EQ(s["missing_edges"]["server_halves_expired"].Uint(), 2u);  // not the older 100
  EXPECT_EQ(s["missing_edges"]["evicted"].Uint(), 0u);
  // With a filter: only the 5xx part.
  s = Get("/api/v1/service", {{"namespace", "shop"},
                              {"name", "cart"},
                              {"query", "status >= 500"},
                              {"start", Ts(kStart)},
                              {"end", Ts(kEnd)}});
  EXPECT_EQ(s["node"]["requests_in"].Uint(), 10u);
  EXPECT_EQ(s["node"]["requests_out"].Uint(), 0u);
  s = Get("/api/v1/service", {{"name", "postgresql/orders"},
                              {"kind", "database"},
                              {"start", Ts(kStart)},
                              {"end", Ts(kEnd)}});
  EXPECT_EQ(s["node"]["requests_in"].Uint(), 40u);
  Get("/api/v1/service", {{"namespace", "shop"}, {"name", "nope"}}, 404);
  Get("/api/v1/service", {{"namespace", "shop"}}, 400);
}

TEST_F(QueryEndpointsTest, EdgeSeries) {
  Json s = Get("/api/v1/edge/series", {{"source", Id(frontend_)},
                                       {"target", Id(cart_)},
                                       {"start", Ts(kT0)},
                                       {"end", Ts(kT0 + 120)},
                                       {"step", "1h"}});
  EXPECT_EQ(s["step_s"].Int(), 3600);
  ASSERT_EQ(s["points"].Size(), 2u);
  EXPECT_EQ(s["points"][0]["time"].String(), "2024-10-04T00:00:00Z");
  EXPECT_EQ(s["points"][0]["requests"].Uint(), 138u);
  EXPECT_EQ(s["points"][0]["errors"].Uint(), 7u);
  EXPECT_EQ(s["points"][1]["requests"].Uint(), 3u);
  EXPECT_NEAR(s["points"][1]["latency_ms"]["p50"].Double(), 80.0, 0.8);
  // Steps aligned to the epoch: a ragged start is rounded down to the step.
  s = Get("/api/v1/edge/series", {{"source", Id(frontend_)},
                                  {"target", Id(cart_)},
                                  {"start", Ts(kT0 + 3)},
                                  {"end", Ts(kT0 + 7)},
                                  {"step", "5m"}});
  ASSERT_EQ(s["points"].Size(), 2u);
  EXPECT_EQ(s["points"][0]["requests"].Uint(), 0u);
  EXPECT_EQ(s["points"][1]["requests"].Uint(), 138u);
  // With query= instead of an edge: everything 5xx, one point per day.
  s = Get("/api/v1/edge/series", {{"query", "status >= 500 or error = true"},
                                  {"start", Ts(kT0 - 1440)},
                                  {"end", Ts(kT0 + 2 * 1440)},
                                  {"step", "1d"}});
  ASSERT_EQ(s["points"].Size(), 3u);
  EXPECT_EQ(s["points"][0]["requests"].Uint(), 1u);   // the db error
  EXPECT_EQ(s["points"][1]["requests"].Uint(), 14u);  // 7 + 3 + 4
  EXPECT_EQ(s["points"][2]["requests"].Uint(), 0u);
  Get("/api/v1/edge/series", {{"source", Id(frontend_)}, {"target", Id(cart_)}, {"step", "30s"}},
      400);
  Get("/api/v1/edge/series", {{"source", Id(frontend_)}}, 400);
  Get("/api/v1/edge/series", {}, 400);
  Get("/api/v1/edge/series", {{"query", "status > 1"}, {"start", "now-7d"}, {"step", "1m"}}, 400);
}

TEST_F(QueryEndpointsTest, EdgeTracesNewestFirstAndErrorsOnly) {
  std::map<std::string, std::string> p = {{"source", Id(frontend_)},
                                          {"target", Id(cart_)},
                                          {"start", Ts(kT0 - 1440)},
                                          {"end", Ts(kT0 + 120)}};
  Json t = Get("/api/v1/edge/traces", p);
  ASSERT_GE(t["traces"].Size(), 3u);
  int64_t prev = INT64_MAX;
  for (const auto& x : t["traces"].Elements()) {
    EXPECT_LE(x["start_ms"].Int(), prev);
    prev = x["start_ms"].Int();
    EXPECT_EQ(x["trace_id"].String().size(), 32u);
  }
  EXPECT_EQ(t["traces"][0]["minute"].String(), "2024-10-04T01:05:00Z");
  EXPECT_TRUE(t["traces"][0]["error"].Bool());
  p["errors"] = "true";
  p["start"] = Ts(kT0);
  p["end"] = Ts(kT0 + 60);
  t = Get("/api/v1/edge/traces", p);
  ASSERT_EQ(t["traces"].Size(), 1u);  // errors=true: error traces only
  EXPECT_TRUE(t["traces"][0]["error"].Bool());
  EXPECT_EQ(t["traces"][0]["status"].Uint(), 500u);
  Get("/api/v1/edge/traces", {}, 400);
}

TEST_F(QueryEndpointsTest, FlatBuffersMap) {
  ApiResponse r = Raw("/api/v1/map", {{"start", Ts(kStart)}, {"end", Ts(kEnd)}}, true);
  ASSERT_EQ(r.http_status, 200);
  EXPECT_EQ(r.content_type, "application/x-flatbuffers");
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(r.body.data()), r.body.size());
  ASSERT_TRUE(fb::VerifyMapResponseBuffer(v));
  const fb::MapResponse* m = fb::GetMapResponse(r.body.data());
  ASSERT_EQ(m->edges()->size(), 5u);
  uint64_t total = 0;
  for (const auto* e : *m->edges()) total += e->requests();
  EXPECT_EQ(total, 10u + 141 + 24 + 40 + 6);
  EXPECT_EQ(m->nodes()->size(), 6u);
  EXPECT_EQ(m->start()->str(), "2024-10-03T23:00:00Z");
}

TEST_F(QueryEndpointsTest, ErrorAnswers) {
  Json e = Get("/api/v1/map", {{"query", "server.namespace ="}}, 400);
  EXPECT_EQ(e["error"].String(), "expected a value after '=' at 18");
  EXPECT_EQ(e["position"].Int(), 18);
  e = Get("/api/v1/map", {{"query", "path =~ \"[\""}}, 400);
  EXPECT_EQ(e["position"].Int(), 0);
  e = Get("/api/v1/map", {{"start", "yesterday"}}, 400);
  EXPECT_FALSE(e.Has("position"));
  Get("/api/v1/map", {{"start", "now"}, {"end", "now-1h"}}, 400);
  Get("/api/v1/map", {{"explain", "perhaps"}}, 400);
  Get("/api/v1/map", {{"start", "-600"}, {"end", "60"}}, 400);
  Get("/api/v1/map", {{"start", "0"}, {"end", "now"}}, 400);  // longer than 6 years
  e = Get("/api/v1/nope", {}, 404);
  EXPECT_FALSE(e["error"].String().empty());
  // Defaults: end = now, start = end - 1h; relative times.
  Json m = Get("/api/v1/map", {});
  EXPECT_EQ(m["end"].String(), "2024-10-07T00:00:00Z");
  EXPECT_EQ(m["start"].String(), "2024-10-06T23:00:00Z");
  m = Get("/api/v1/map", {{"start", "now-3d"}, {"end", "now-2d"}});
  EXPECT_EQ(m["edges"].Size(), 3u);
}

}  // namespace
}  // namespace ew::query::testing
