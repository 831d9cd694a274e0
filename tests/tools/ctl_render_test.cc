// edgewise-ctl's renderings (tools/ctl_render.h) of hand-made API answers: natural order against
// a brute-force model, column order, fixed decimals, node labels, the generic renderer's field
// order.
#include "tools/ctl_render.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace ew::tools {
namespace {

TEST(NaturalLess, NumbersCompareByValue) {
  EXPECT_TRUE(NaturalLess("n2", "n10"));
  EXPECT_FALSE(NaturalLess("n10", "n2"));
  EXPECT_TRUE(NaturalLess("svc-9", "svc-10"));
  EXPECT_TRUE(NaturalLess("ns-2/svc-100", "ns-10/svc-1"));
  EXPECT_TRUE(NaturalLess("a", "a1"));
  EXPECT_TRUE(NaturalLess("n7", "n07"));  // equal value: fewer leading zeros first
  EXPECT_FALSE(NaturalLess("n07", "n7"));
  EXPECT_FALSE(NaturalLess("n7", "n7"));
  EXPECT_TRUE(NaturalLess("n99999999999999999999", "n100000000000000000000"));  // past 64 bits
  EXPECT_TRUE(NaturalLess("ab", "b"));
}

// Strings of a prefix and a number, sorted naturally, come out in the order of (prefix,
// number): the model sorts the pairs.
TEST(NaturalLess, AgreesWithAModelOnPrefixNumberPairs) {
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, uint64_t>> model;
  const char* prefixes[] = {"n", "svc-", "ns-", "x"};
  for (int i = 0; i < 3000; ++i) {
    uint64_t n = rng() % (i % 3 == 0 ? 70000 : 300);
    model.emplace_back(prefixes[rng() % 4], n);
  }
  std::sort(model.begin(), model.end());
  model.erase(std::unique(model.begin(), model.end()), model.end());
  std::vector<std::string> strings;
  for (auto& [p, n] : model) strings.push_back(p + std::to_string(n));
  std::vector<std::string> sorted = strings;
  std::shuffle(sorted.begin(), sorted.end(), rng);
  std::sort(sorted.begin(), sorted.end(), NaturalLess);
  // The model orders by prefix bytes; "n" < "ns-" < "svc-" < "x" holds naturally too.
  EXPECT_EQ(sorted, strings);
}

TEST(FormatTable, RightAlignsNumberColumns) {
  EXPECT_EQ(FormatTable({{"NAME", "N"}, {"a", "10"}, {"bbb", "2"}}, {false, true}),
            "NAME   N\n"
            "a     10\n"
            "bbb    2\n");
}

TEST(Fixed, DecimalsAndSigns) {
  EXPECT_EQ(Fixed(0.005464, 3), "0.005");
  EXPECT_EQ(Fixed(12.5, 3), "12.500");
  EXPECT_EQ(Fixed(0.17541, 3, true), "+0.175");
  EXPECT_EQ(Fixed(-0.0001, 2, true), "0.00");
  EXPECT_EQ(Fixed(-1.5, 1, true), "-1.5");
}

constexpr const char* kMap = R"({"start":"S","end":"E","nodes":[
 {"id":"n10","kind":"service","namespace":"shop","name":"svc-10","requests_in":5,"errors_in":0,"requests_out":7,"errors_out":1},
 {"id":"n2","kind":"service","namespace":"shop","name":"svc-2","requests_in":7,"errors_in":1,"requests_out":5,"errors_out":0},
 {"id":"n3","kind":"database","namespace":"","name":"redis","requests_in":0,"errors_in":0,"requests_out":0,"errors_out":0}],
 "edges":[
 {"source":"n10","target":"n2","protocol":"http","requests":7,"errors":1,"rate_per_s":12.5,"error_rate":0.142857,"latency_ms":{"p50":1,"p90":2.5,"p95":3.25,"p99":10}},
 {"source":"n2","target":"n10","protocol":"grpc","requests":5,"errors":0,"rate_per_s":0.005464,"error_rate":0,"latency_ms":{"p50":0.1,"p90":0.2,"p95":0.3,"p99":0.4}}]})";

TEST(RenderMap, ColumnsInOrderFixedDecimalsNaturalRows) {
  auto text = RenderMap(kMap);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text,
            "S .. E\n\n"
            "3 nodes\n"
            "KIND      NAMESPACE  NAME    REQ IN  ERR IN  REQ OUT  ERR OUT  ID\n"
            "database  -          redis        0       0        0        0  n3\n"
            "service   shop       svc-2        7       1        5        0  n2\n"
            "service   shop       svc-10       5       0        7        1  n10\n"
            "\n"
            "2 edges\n"
            "SOURCE       TARGET       PROTOCOL  REQUESTS  RATE/S  ERRORS  ERROR%  P50 MS  P90 MS  "
            "P95 MS  P99 MS\n"
            "shop/svc-2   shop/svc-10  grpc             5   0.005       0    0.00    0.10    0.20  "
            "  0.30    0.40\n"
            "shop/svc-10  shop/svc-2   http             7  12.500       1   14.29    1.00    2.50  "
            "  3.25   10.00\n");
}

TEST(RenderMap, CompareColumnsWithSignedChanges) {
  auto text = RenderMap(
      R"({"start":"S","end":"E","nodes":[{"id":"n1","kind":"service","namespace":"","name":"a",)"
      R"("requests_in":0,"errors_in":0,"requests_out":4,"errors_out":0,"change":"same",)"
      R"("previous":{"requests_in":0,"errors_in":0,"requests_out":6,"errors_out":0}}],)"
      R"("edges":[{"source":"n1","target":"n1","protocol":"http","requests":4,"errors":0,)"
      R"("rate_per_s":0.5,"error_rate":0,"latency_ms":{"p50":1,"p90":1,"p95":1,"p99":1},)"
      R"("change":"same","previous":{"requests":6},)"
      R"("delta":{"rate_per_s":-0.25,"error_rate":-0.01,"p99_ms":0.5}}]})");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("CHANGE  PREV REQ IN  PREV REQ OUT  ID\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("P99 MS  CHANGE  PREV REQUESTS  RATE/S CHG  ERROR% CHG  P99 MS CHG\n"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("same                6      -0.250       -1.00       +0.50\n"),
            std::string::npos)
      << *text;
}

TEST(RenderSeries, RatePerStepAndNoLatencyWithoutRequests) {
  auto text = RenderSeries(
      R"({"start":"S","end":"E","step_s":60,"points":[)"
      R"({"time":"T1","requests":0,"errors":0,"latency_ms":{"p50":0,"p90":0,"p95":0,"p99":0}},)"
      R"({"time":"T2","requests":30,"errors":3,"latency_ms":{"p50":1,"p90":2,"p95":3,"p99":4}}]})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "S .. E  step 60s\n\n"
            "2 points\n"
            "TIME  REQUESTS  RATE/S  ERRORS  ERROR%  P50 MS  P90 MS  P95 MS  P99 MS\n"
            "T1           0   0.000       0    0.00       -       -       -       -\n"
            "T2          30   0.500       3   10.00    1.00    2.00    3.00    4.00\n");
}

TEST(RenderTraces, StartWithMillisecondsAndUrls) {
  auto text = RenderTraces(
      R"({"start":"S","end":"E","traces":[{"trace_id":"ab","minute":"M","start_ms":1796665263104,)"
      R"("duration_ms":13.557,"status":503,"error":true,"trace_url":"http://j/ab"}]})");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("START                     TRACE ID  DURATION MS  STATUS  ERROR  URL\n"
                       "2026-12-07T17:41:03.104Z  ab              13.56     503  true   "
                       "http://j/ab\n"),
            std::string::npos)
      << *text;
}

TEST(RenderGeneric, ColumnsInTheJsonFieldOrder) {
  auto text = RenderGeneric(R"({"family":"edge","prefixes":["ns=a","ns=b"],"none":[],)"
                            R"("rows":[{"zeta":1,"alpha":"x"},{"zeta":2,"alpha":"y"}]})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "family: edge\n"
            "prefixes: ns=a, ns=b\n"
            "none: -\n"
            "\n"
            "rows (2)\n"
            "zeta  alpha\n"
            "1     x\n"
            "2     y\n");
}

}  // namespace
}  // namespace ew::tools
