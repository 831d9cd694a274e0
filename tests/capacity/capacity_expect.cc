// The comparisons of the capacity ledger: every figure of an answer against the model.
#include <algorithm>
#include <cmath>

#include "base/time.h"
#include "query/map_builder.h"
#include "query/render.h"
#include "tests/capacity/capacity_ledger.h"

namespace ew::query::testing {

namespace {

// JSON doubles carry 6 decimals.
constexpr double kJsonTolerance = 2e-6;

void ExpectOptional(const Json& got, const std::optional<double>& want, const std::string& what) {
  if (!want) {
    EXPECT_TRUE(got.IsNull()) << what << ": " << got.Dump();
    return;
  }
  ASSERT_TRUE(got.IsNumber()) << what << ": " << got.Dump();
  EXPECT_NEAR(got.Double(), *want, kJsonTolerance + 1e-9 * std::abs(*want)) << what;
}

// Compares one service or edge of the answer with its model cells; returns the model's growth
// in % per day (for the order check).
std::optional<double> ExpectGroup(const Json& g, const std::vector<ModelCell>& cells, int64_t s,
                                  int64_t step, const std::string& who, bool may_be_unknown) {
  const Json points = g["points"];
  EXPECT_EQ(points.Size(), cells.size()) << who;
  std::vector<double> peaks;
  bool unknown = false;
  for (size_t i = 0; i < cells.size() && i < points.Size(); ++i) {
    const ModelCell& c = cells[i];
    const Json p = points[i];
    const std::string at = who + " step " + std::to_string(i);
    EXPECT_EQ(p["time"].String(), MinuteToRfc3339(s + static_cast<int64_t>(i) * step)) << at;
    EXPECT_EQ(p["requests"].Uint(), c.requests) << at;
    EXPECT_EQ(p["errors"].Uint(), c.errors) << at;
    const double rate = c.requests ? static_cast<double>(c.errors) / c.requests : 0;
    EXPECT_NEAR(p["error_rate"].Double(), rate, kJsonTolerance) << at;
    peaks.push_back(c.peak / 60.0);
    if (may_be_unknown && p["peak_rate_per_s"].IsNull()) {
      EXPECT_TRUE(p["peak_minute"].IsNull()) << at;
      unknown = true;
    } else {
      EXPECT_NEAR(p["peak_rate_per_s"].Double(-1), c.peak / 60.0, kJsonTolerance) << at;
      if (c.peak > 0) {
        EXPECT_EQ(p["peak_minute"].String(), MinuteToRfc3339(c.peak_minute)) << at;
      } else {
        EXPECT_TRUE(p["peak_minute"].IsNull()) << at;
      }
    }
    const double p99_ms = NearestRank(c.latencies, 0.99) / 1000.0;
    EXPECT_NEAR(p["latency_ms"]["p99"].Double(), p99_ms, p99_ms * 0.01 + kJsonTolerance) << at;
  }
  if (unknown) {  // a step without a known peak: no growth
    EXPECT_TRUE(g["growth"]["slope_per_day"].IsNull()) << who;
    return std::nullopt;
  }
  const ModelGrowth m = ModelGrowthOf(peaks, step);
  ExpectOptional(g["growth"]["slope_per_day"], m.slope, who + " slope");
  ExpectOptional(g["growth"]["pct_per_day"], m.pct, who + " pct_per_day");
  ExpectOptional(g["growth"]["change_pct"], m.change, who + " change_pct");
  EXPECT_NEAR(g["latest_peak_rate_per_s"].Double(), peaks.empty() ? 0 : peaks.back(),
              kJsonTolerance)
      << who;
  return m.pct;
}

// Fastest growth first, undefined growth last.
void ExpectOrdered(const std::vector<std::optional<double>>& pcts, const std::string& what) {
  for (size_t i = 1; i < pcts.size(); ++i) {
    if (!pcts[i]) continue;
    ASSERT_TRUE(pcts[i - 1].has_value()) << what << " #" << i << ": defined after undefined";
    EXPECT_GE(*pcts[i - 1] + 1e-9, *pcts[i]) << what << " #" << i;
  }
}

}  // namespace

void CapacityLedgerTest::ExpectCapacity(const std::string& query,
                                        const std::function<bool(const LedgerRec&)>& pred,
                                        int64_t start, int64_t end, const std::string& step,
                                        int64_t step_minutes, bool peaks_may_be_unknown) {
  SCOPED_TRACE("capacity query '" + query + "' step " + step);
  const Json j = Get("/api/v1/capacity", {{"query", query},
                                          {"start", std::to_string(start * 60)},
                                          {"end", std::to_string(end * 60)},
                                          {"step", step}});
  const int64_t s = FloorDiv(start, step_minutes) * step_minutes;
  const int64_t e = -FloorDiv(-end, step_minutes) * step_minutes;
  EXPECT_EQ(j["start"].String(), MinuteToRfc3339(s));
  EXPECT_EQ(j["end"].String(), MinuteToRfc3339(e));
  EXPECT_EQ(j["step_s"].Int(), step_minutes * 60);
  const Model model = Compute(pred, s, e, step_minutes);
  size_t services = 0, edges = 0;
  for (const auto& [key, cells] : model) (key.first == 0 ? services : edges)++;
  ASSERT_GT(edges, 0u) << "the model selects nothing: a test that cannot fail";
  ASSERT_EQ(j["services"].Size(), services);
  ASSERT_EQ(j["edges"].Size(), edges);
  std::vector<std::optional<double>> pcts;
  for (const Json& g : j["services"].Elements()) {
    const auto id = ParseNodeId(g["id"].String());
    ASSERT_TRUE(id.has_value()) << g["id"].String();
    auto it = model.find({0, *id});
    ASSERT_NE(it, model.end()) << "service not in the model: " << g["id"].String();
    EXPECT_EQ(g["name"].String(), Name(*id));
    EXPECT_EQ(g["namespace"].String(), Ns(*id));
    pcts.push_back(
        ExpectGroup(g, it->second, s, step_minutes, "service " + Name(*id), peaks_may_be_unknown));
  }
  ExpectOrdered(pcts, "services");
  pcts.clear();
  for (const Json& g : j["edges"].Elements()) {
    const auto src = ParseNodeId(g["source"].String());
    const auto dst = ParseNodeId(g["target"].String());
    ASSERT_TRUE(src && dst) << g.Dump().substr(0, 200);
    auto it = model.find({*src, *dst});
    ASSERT_NE(it, model.end()) << "edge not in the model: " << g["source"].String() << " -> "
                               << g["target"].String();
    pcts.push_back(ExpectGroup(g, it->second, s, step_minutes,
                               "edge " + Name(*src) + " -> " + Name(*dst), peaks_may_be_unknown));
  }
  ExpectOrdered(pcts, "edges");
  // top=N: the first N of each list.
  const Json top = Get("/api/v1/capacity", {{"query", query},
                                            {"start", std::to_string(start * 60)},
                                            {"end", std::to_string(end * 60)},
                                            {"step", step},
                                            {"top", "3"}});
  ASSERT_EQ(top["edges"].Size(), std::min<size_t>(3, edges));
  for (size_t i = 0; i < top["edges"].Size(); ++i) {
    EXPECT_EQ(top["edges"][i]["source"].String(), j["edges"][i]["source"].String());
    EXPECT_EQ(top["edges"][i]["target"].String(), j["edges"][i]["target"].String());
  }
  ASSERT_EQ(top["services"].Size(), std::min<size_t>(3, services));
  for (size_t i = 0; i < top["services"].Size(); ++i) {
    EXPECT_EQ(top["services"][i]["id"].String(), j["services"][i]["id"].String());
  }
}

void CapacityLedgerTest::ExpectSeriesPeaks(std::map<std::string, std::string> params,
                                           const std::function<bool(const LedgerRec&)>& pred,
                                           int64_t start, int64_t end, int64_t step) {
  params["start"] = std::to_string(start * 60);
  params["end"] = std::to_string(end * 60);
  params["step"] = std::to_string(step) + "m";
  SCOPED_TRACE("series step " + params["step"]);
  const Json j = Get("/api/v1/edge/series", params);
  ASSERT_EQ(j["step_s"].Int(), step * 60) << "the step grew: the test asks for a kept tier";
  const int64_t s = FloorDiv(start, step) * step;
  const int64_t e = -FloorDiv(-end, step) * step;
  // The series sums everything selected: one group.
  std::map<int64_t, uint64_t> minutes;
  for (const LedgerRec& r : recs_) {
    if (r.minute >= s && r.minute < e && pred(r)) minutes[r.minute] += r.requests;
  }
  std::vector<uint64_t> requests(static_cast<size_t>((e - s) / step));
  std::vector<uint64_t> peaks(requests.size());
  for (const auto& [m, n] : minutes) {
    const auto b = static_cast<size_t>((m - s) / step);
    requests[b] += n;
    peaks[b] = std::max(peaks[b], n);
  }
  ASSERT_EQ(j["points"].Size(), requests.size());
  uint64_t total = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Json p = j["points"][i];
    EXPECT_EQ(p["requests"].Uint(), requests[i]) << "point " << i;
    EXPECT_NEAR(p["peak_rate_per_s"].Double(-1), peaks[i] / 60.0, kJsonTolerance) << "point " << i;
    total += requests[i];
  }
  ASSERT_GT(total, 0u) << "the model selects nothing: a test that cannot fail";
}

}  // namespace ew::query::testing
