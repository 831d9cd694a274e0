// Errors that help: query-language mistakes, unknown parameters, invalid numbers and unknown
// node ids are answered with a 4xx that names the mistake — never with a 200 and an empty or
// unfiltered answer. Against a real EdgeStore (tests/query/query_fixture.h).
#include <gtest/gtest.h>

#include "tests/query/query_fixture.h"

namespace ew::query::testing {
namespace {

class QueryErrorsTest : public QueryFixture {
 protected:
  // The error of a request that must fail with `status`.
  Json Fails(const std::string& path, std::map<std::string, std::string> params, int status) {
    Json e = Get(path, std::move(params), status);
    EXPECT_FALSE(e["error"].String().empty());
    return e;
  }
  std::map<std::string, std::string> Edge(NodeId s, NodeId t) {
    return {{"source", Id(s)}, {"target", Id(t)}, {"start", Ts(kT0 - 60)}, {"end", Ts(kT0 + 120)}};
  }
};

TEST_F(QueryErrorsTest, QueryTextMistakesAreNamedWithTheirPosition) {
  Json e = Fails("/api/v1/map", {{"query", "service = frontend"}}, 400);
  EXPECT_EQ(e["error"].String(),
            "unknown field 'service' at 0; fields: server.namespace, client.namespace, "
            "server.service.name, client.service.name, server.kind, client.kind, path, method, "
            "status, protocol, error");
  EXPECT_EQ(e["position"].Int(), 0);
  e = Fails("/api/v1/map", {{"query", "status >= 5xx"}}, 400);
  EXPECT_EQ(e["error"].String(), "expected a number after '>=', found '5xx' at 10");
  EXPECT_EQ(e["position"].Int(), 10);
  e = Fails("/api/v1/edge/series", {{"query", "protocol = htp"}}, 400);
  EXPECT_EQ(e["position"].Int(), 11);
  e = Fails("/api/v1/service", {{"name", "cart"}, {"namespace", "shop"}, {"query", "error = 1"}},
            400);
  EXPECT_EQ(e["position"].Int(), 8);
  // Single quotes work like double quotes: the same edges as the double-quoted filter.
  std::map<std::string, std::string> range = {{"start", Ts(kT0 - 60)}, {"end", Ts(kT0 + 1560)}};
  auto with = [&](const std::string& q) {
    auto p = range;
    p["query"] = q;
    return EdgesOf(Get("/api/v1/map", p));
  };
  EXPECT_EQ(with("server.namespace = 'shop'"), with("server.namespace = \"shop\""));
  EXPECT_EQ(with("server.namespace = 'shop'").size(), 2u);  // external -> frontend, -> cart
}

TEST_F(QueryErrorsTest, UnknownParametersAreNamedWithTheEndpointsParameters) {
  Json e = Fails("/api/v1/map", {{"querry", "server.namespace = shop"}}, 400);
  EXPECT_EQ(e["error"].String(),
            "unknown parameter 'querry'; parameters: query, start, end, explain, focus, depth, "
            "compare, min_requests, errors_only, top, top_by, group, format");
  EXPECT_FALSE(e.Has("position"));
  e = Fails("/api/v1/map", {{"strat", "now-1h"}, {"tpo", "3"}}, 400);
  EXPECT_EQ(e["error"].String().rfind("unknown parameters 'strat', 'tpo'; parameters: ", 0), 0u)
      << e["error"].String();
  e = Fails("/api/v1/service", {{"name", "cart"}, {"namespace", "shop"}, {"depth", "2"}}, 400);
  EXPECT_EQ(e["error"].String(),
            "unknown parameter 'depth'; parameters: query, start, end, explain, id, namespace, "
            "name, kind");
  auto p = Edge(frontend_, cart_);
  p["top"] = "1";
  e = Fails("/api/v1/edge/series", p, 400);
  EXPECT_EQ(e["error"].String(),
            "unknown parameter 'top'; parameters: query, start, end, explain, source, target, "
            "step");
  // Exemplars have no request dimensions to filter on: a query is refused, not ignored.
  p = Edge(frontend_, cart_);
  p["query"] = "status >= 500";
  e = Fails("/api/v1/edge/traces", p, 400);
  EXPECT_EQ(e["error"].String(),
            "unknown parameter 'query'; parameters: start, end, source, target, errors, limit");
  // Every parameter each endpoint documents is accepted.
  Get("/api/v1/map", {{"query", ""},
                      {"start", "now-2h"},
                      {"end", "now"},
                      {"explain", "false"},
                      {"focus", Id(cart_)},
                      {"depth", "2"},
                      {"compare", "-1d"},
                      {"min_requests", "0"},
                      {"errors_only", "false"},
                      {"top", "10"},
                      {"top_by", "errors"},
                      {"group", ""}});
  Get("/api/v1/service",
      {{"query", ""}, {"start", "now-2h"}, {"end", "now"}, {"explain", "true"}, {"id", Id(cart_)}});
  p = Edge(frontend_, cart_);
  p.insert({{"query", "status >= 500"}, {"explain", "true"}, {"step", "5m"}});
  Get("/api/v1/edge/series", p);
  p = Edge(frontend_, cart_);
  p.insert({{"errors", "true"}, {"limit", "5"}});
  Get("/api/v1/edge/traces", p);
}

TEST_F(QueryErrorsTest, InvalidNumbersAndEnumerations) {
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"top", "-1"},
                                                        {"top", "1e3"},
                                                        {"top", "2000000"},
                                                        {"depth", "0"},
                                                        {"depth", "101"},
                                                        {"depth", "two"},
                                                        {"min_requests", "1.5"},
                                                        {"min_requests", "-5"},
                                                        {"errors_only", "yes"},
                                                        {"top_by", "latency"},
                                                        {"group", "service"},
                                                        {"compare", "1x"}}) {
    std::map<std::string, std::string> params = {{name, value}};
    if (name == "depth") params["focus"] = Id(cart_);
    Json e = Fails("/api/v1/map", params, 400);
    EXPECT_NE(e["error"].String().find(name), std::string::npos) << e["error"].String();
  }
  Json e = Fails("/api/v1/map", {{"depth", "0"}, {"focus", Id(cart_)}}, 400);
  EXPECT_EQ(e["error"].String(), "depth must be an integer from 1 to 100, not '0'");
  for (const std::string step : {"0", "0m", "30s", "1.5m", "-5m", "x"}) {
    auto p = Edge(frontend_, cart_);
    p["step"] = step;
    Fails("/api/v1/edge/series", p, 400);
  }
  for (const std::string limit : {"0", "1001", "-1", "ten"}) {
    auto p = Edge(frontend_, cart_);
    p["limit"] = limit;
    Fails("/api/v1/edge/traces", p, 400);
  }
  e = Fails("/api/v1/service", {{"name", "cart"}, {"kind", "svc"}}, 400);
  EXPECT_EQ(e["error"].String(),
            "unknown kind 'svc'; kinds: service, external_client, external_service, database, "
            "messaging, namespace");
}

TEST_F(QueryErrorsTest, UnknownNodeIdsAreNotFound) {
  Json e = Fails("/api/v1/map", {{"focus", "n999"}}, 404);
  EXPECT_EQ(e["error"].String(), "focus: unknown node n999");
  Fails("/api/v1/map", {{"focus", "ns:nowhere"}, {"group", "namespace"}}, 404);
  Fails("/api/v1/map", {{"focus", "n0"}}, 400);
  Fails("/api/v1/map", {{"focus", "cart"}}, 400);
  // A namespace node exists only in a grouped map.
  e = Fails("/api/v1/map", {{"focus", "ns:shop"}}, 400);
  EXPECT_EQ(e["error"].String(), "focus ns:shop is a namespace node: add group=namespace");
  for (const std::string path : {"/api/v1/edge/series", "/api/v1/edge/traces"}) {
    auto p = Edge(frontend_, cart_);
    p["target"] = "n70000";
    e = Fails(path, p, 404);
    EXPECT_EQ(e["error"].String(), "target: unknown node n70000");
    p = Edge(frontend_, cart_);
    p["source"] = "ns:nowhere";
    e = Fails(path, p, 404);
    EXPECT_EQ(e["error"].String(), "source: unknown node ns:nowhere");
    p["source"] = "frontend";
    Fails(path, p, 400);
  }
  e = Fails("/api/v1/service", {{"namespace", "shop"}, {"name", "nope"}}, 404);
  EXPECT_EQ(e["error"].String(), "unknown node shop/nope (kind service)");
  Fails("/api/v1/service", {{"id", "n999"}}, 404);
  Fails("/api/v1/service", {{"id", "ns:nowhere"}}, 404);
  Fails("/api/v1/service", {{"kind", "namespace"}, {"namespace", "nowhere"}}, 404);
  Fails("/api/v1/service", {{"id", Id(cart_)}, {"name", "cart"}}, 400);
}

TEST_F(QueryErrorsTest, FocusOnAServiceOfAGroupedMapIsItsNamespace) {
  std::map<std::string, std::string> p = {
      {"group", "namespace"}, {"start", Ts(kT0 - 60)}, {"end", Ts(kT0 + 1560)}};
  auto by_ns = p;
  by_ns["focus"] = "ns:pay";
  auto by_service = p;
  by_service["focus"] = Id(payments_);
  EXPECT_EQ(EdgesOf(Get("/api/v1/map", by_service)), EdgesOf(Get("/api/v1/map", by_ns)));
  EXPECT_EQ(EdgesOf(Get("/api/v1/map", by_ns)).size(), 2u);
}

}  // namespace
}  // namespace ew::query::testing
