#include "query/capacity.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "base/time.h"
#include "query/capacity_scan.h"
#include "query/endpoints.h"
#include "query/render.h"

// See query_service.cc: a GCC 12 false positive on Result<int64_t> destructors.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

namespace ew::query {

namespace {

constexpr uint64_t kMaxSteps = 10000;
constexpr uint64_t kMaxCells = 2'000'000;  // (services + edges) * steps of one answer
constexpr int64_t kMaxStepMinutes = 6LL * 366 * 1440;

struct CapacityParams {
  std::string step_text;
  int64_t step = 1440;  // minutes
  storage::Tier tier = storage::Tier::kDay;
  int64_t start = 0;  // the range aligned to whole steps, in minutes
  int64_t end = 0;
  size_t steps = 0;
  uint64_t top = 0;
};

// The coarsest tier whose unit divides the step: each record then lies in one step.
storage::Tier TierFor(int64_t step) {
  return step % 1440 == 0 ? storage::Tier::kDay
         : step % 60 == 0 ? storage::Tier::kHour
                          : storage::Tier::kMinute;
}

std::optional<HttpError> ParseParams(const ApiRequest& req, const QueryContext& ctx,
                                     CapacityParams* p) {
  const std::string* v = Param(req, "step");
  p->step_text = v && !v->empty() ? *v : "1d";
  auto d = ParseDurationMs(p->step_text);
  if (!d.ok() || *d < kMsPerMinute || *d % kMsPerMinute != 0 ||
      *d / kMsPerMinute > kMaxStepMinutes) {
    return HttpError{400,
                     "step must be a whole number of minutes from 1m to 6 years (e.g. 1h, 1d, "
                     "7d), not '" +
                         p->step_text + "'",
                     -1};
  }
  p->step = *d / kMsPerMinute;
  p->tier = TierFor(p->step);
  p->start = FloorDiv(ctx.asked_start_minute, p->step) * p->step;
  p->end = -FloorDiv(-ctx.asked_end_minute, p->step) * p->step;
  const auto steps = static_cast<uint64_t>((p->end - p->start) / p->step);
  if (steps > kMaxSteps) {
    return HttpError{400,
                     "too many steps (" + std::to_string(steps) + ", at most " +
                         std::to_string(kMaxSteps) + "): raise step or shorten the range",
                     -1};
  }
  p->steps = static_cast<size_t>(steps);
  const int64_t first = p->tier == storage::Tier::kMinute ? ctx.horizons.minute
                        : p->tier == storage::Tier::kHour ? ctx.horizons.hour
                                                          : ctx.horizons.day;
  if (p->start < first) {
    const char* coarser = p->tier == storage::Tier::kMinute ? "whole hours (1h) or days (1d)"
                          : p->tier == storage::Tier::kHour ? "whole days (1d)"
                                                            : nullptr;
    return HttpError{400,
                     "step " + p->step_text + " reads the " + std::string(TierName(p->tier)) +
                         " tier, which keeps data from " + MinuteToRfc3339(first) +
                         " on, but the range starts at " + MinuteToRfc3339(p->start) +
                         (coarser ? std::string(": use a step of ") + coarser + ", or a later start"
                                  : std::string(": use a later start")),
                     -1};
  }
  if (auto e = ParamUint(req, "top", 0, 1000000, &p->top)) return e;
  if (ExprUses(ctx.parsed.root.get(), Field::kError)) {
    return HttpError{400,
                     "capacity counts every request of the busiest minute: the query cannot "
                     "filter on error",
                     -1};
  }
  return std::nullopt;
}

// The plan: one range of the step's tier; a client-side key prefix reads the server-ordered
// family instead (a service's incoming minutes are summed one server at a time).
Plan CapacityPlan(const QueryContext& ctx, const CapacityParams& p,
                  const storage::EdgeStore& store) {
  Plan plan = MakePlan(ctx.parsed.root.get(), p.start, p.end, store);
  if (plan.family == storage::Family::kEdgeByClient) {
    plan.family = storage::Family::kEdge;
    plan.prefixes.clear();
    plan.nothing = false;
    plan.why += "; capacity reads the server-ordered edge family";
  }
  const int64_t unit = storage::TierUnitMinutes(p.tier);
  plan.ranges = {TierRange{p.tier, p.start / unit, p.end / unit}};
  plan.need_minute_counts = true;
  return plan;
}

Status RunCapacityScan(const Plan& plan, const storage::EdgeStore& store, QueryContext& ctx,
                       CapacityScan* scan) {
  Status bad;
  uint32_t until_check = QueryLimits::kCheckEvery;
  for (storage::ScanSpec spec : plan.Specs()) {
    spec.encoded_sketches = true;
    const int64_t unit = storage::TierUnitMinutes(spec.tier);
    Status s = store.Scan(
        spec, [&](int64_t time, const storage::EdgeDims& d, const storage::RollupValue& v) {
          if (ctx.limits != nullptr && --until_check == 0) {
            until_check = QueryLimits::kCheckEvery;
            bad = ctx.limits->CheckDeadline();
            if (!bad.ok()) return false;
          }
          auto [req, err] = ctx.pred->Select(d, v.requests, v.errors);
          if (req == 0) return true;
          bad = scan->Add(time * unit, d, v, req, err);
          return bad.ok();
        });
    EW_RETURN_IF_ERROR(s);
    EW_RETURN_IF_ERROR(bad);
  }
  scan->Finish();
  return ctx.limits != nullptr ? ctx.limits->CheckDeadline() : Status::Ok();
}

struct Ranked {
  const CapacityGroup* group = nullptr;
  Growth growth;                 // unset throughout when a step's peak is unknown
  std::optional<double> latest;  // the last step's peak, requests per second
};

// Fastest-growing first: growth in % per day (undefined last), then the slope, then the latest
// peak, then the ids.
bool RanksBefore(const Ranked& a, const Ranked& b) {
  auto key = [](const Ranked& r) {
    return std::make_tuple(r.growth.pct_per_day.has_value(), r.growth.pct_per_day.value_or(0),
                           r.growth.slope_per_day.value_or(0), r.latest.value_or(-1));
  };
  if (key(a) != key(b)) return key(a) > key(b);
  return std::tie(a.group->server, a.group->client) < std::tie(b.group->server, b.group->client);
}

std::vector<Ranked> Rank(const std::vector<CapacityGroup>& groups, bool services, int64_t step,
                         uint64_t top) {
  std::vector<Ranked> out;
  std::vector<double> peaks;
  for (const CapacityGroup& g : groups) {
    if ((g.client == 0) != services) continue;
    peaks.clear();
    bool known = true;
    for (const CapacityCell& c : g.cells) {
      peaks.push_back(c.peak.RatePerSecond());
      known = known && c.peak_known;
    }
    Ranked r{&g, known ? GrowthOf(peaks, step) : Growth{}, std::nullopt};
    if (!g.cells.empty() && g.cells.back().peak_known) r.latest = peaks.back();
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), RanksBefore);
  if (top > 0 && out.size() > top) out.resize(top);
  return out;
}

void OptionalDouble(JsonWriter& w, const std::optional<double>& v) {
  if (v) {
    w.Double(*v);
  } else {
    w.Null();
  }
}

std::string NodeName(const storage::NodeInfo& n) {
  return n.ns.empty() ? n.name : n.ns + "/" + n.name;
}

void WriteGroupFigures(JsonWriter& w, const Ranked& r, const CapacityParams& p) {
  w.Key("latest_peak_rate_per_s");
  OptionalDouble(w, r.latest);
  w.Key("growth").BeginObject();
  w.Key("slope_per_day");
  OptionalDouble(w, r.growth.slope_per_day);
  w.Key("pct_per_day");
  OptionalDouble(w, r.growth.pct_per_day);
  w.Key("change_pct");
  OptionalDouble(w, r.growth.change_pct);
  w.EndObject();
  w.Key("points").BeginArray();
  for (size_t i = 0; i < r.group->cells.size(); ++i) {
    const CapacityCell& c = r.group->cells[i];
    w.BeginObject();
    w.Key("time").String(MinuteToRfc3339(p.start + static_cast<int64_t>(i) * p.step));
    w.Key("requests").Uint(c.requests);
    w.Key("errors").Uint(c.errors);
    w.Key("error_rate")
        .Double(c.requests ? static_cast<double>(c.errors) / static_cast<double>(c.requests) : 0);
    w.Key("peak_rate_per_s");
    OptionalDouble(w, c.peak_known ? std::optional<double>(c.peak.RatePerSecond()) : std::nullopt);
    w.Key("peak_minute");
    if (c.peak_known && c.peak.requests > 0) {
      w.String(MinuteToRfc3339(c.peak.minute));
    } else {
      w.Null();
    }
    w.Key("latency_ms").BeginObject().Key("p99").Double(c.p99_us / 1000.0).EndObject();
    w.EndObject();
  }
  w.EndArray();
}

std::string Render(const std::vector<Ranked>& services, const std::vector<Ranked>& edges,
                   const CapacityParams& p, QueryContext& ctx, const Plan& plan) {
  JsonWriter w;
  w.BeginObject();
  w.Key("start").String(MinuteToRfc3339(p.start));
  w.Key("end").String(MinuteToRfc3339(p.end));
  w.Key("step_s").Int(p.step * 60);
  w.Key("tier").String(TierName(p.tier));
  w.Key("services").BeginArray();
  for (const Ranked& r : services) {
    const storage::NodeInfo& n = ctx.dict->Node(r.group->server);
    w.BeginObject();
    w.Key("id").String(NodeIdString(r.group->server));
    w.Key("kind").String(storage::NodeKindName(n.kind));
    w.Key("namespace").String(n.ns);
    w.Key("name").String(n.name);
    WriteGroupFigures(w, r, p);
    w.EndObject();
  }
  w.EndArray();
  w.Key("edges").BeginArray();
  for (const Ranked& r : edges) {
    w.BeginObject();
    w.Key("source").String(NodeIdString(r.group->client));
    w.Key("target").String(NodeIdString(r.group->server));
    w.Key("source_name").String(NodeName(ctx.dict->Node(r.group->client)));
    w.Key("target_name").String(NodeName(ctx.dict->Node(r.group->server)));
    WriteGroupFigures(w, r, p);
    w.EndObject();
  }
  w.EndArray();
  if (ctx.explain) {
    w.Key("plan");
    WritePlan(w, plan);
  }
  w.EndObject();
  return w.Take();
}

}  // namespace

Growth GrowthOf(const std::vector<double>& peaks, int64_t step_minutes) {
  Growth g;
  const size_t n = peaks.size();
  if (n < 2) return g;
  const double days_per_step = static_cast<double>(step_minutes) / 1440.0;
  double mean_x = 0, mean_y = 0;
  for (size_t i = 0; i < n; ++i) {
    mean_x += static_cast<double>(i) * days_per_step;
    mean_y += peaks[i];
  }
  mean_x /= static_cast<double>(n);
  mean_y /= static_cast<double>(n);
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = static_cast<double>(i) * days_per_step - mean_x;
    sxx += dx * dx;
    sxy += dx * (peaks[i] - mean_y);
  }
  g.slope_per_day = sxy / sxx;
  if (mean_y > 0) g.pct_per_day = *g.slope_per_day / mean_y * 100.0;
  if (peaks.front() > 0) g.change_pct = (peaks.back() - peaks.front()) / peaks.front() * 100.0;
  return g;
}

ApiResponse HandleCapacity(const ApiRequest& req, const storage::EdgeStore* store) {
  QueryContext ctx;
  if (auto e = ParseContext(req, store, &ctx)) return ErrorResponse(*e);
  CapacityParams p;
  if (auto e = ParseParams(req, ctx, &p)) return ErrorResponse(*e);
  Plan plan = CapacityPlan(ctx, p, *store);
  CapacityScan scan(p.start, p.step, p.steps,
                    std::max<int64_t>(60, storage::TierUnitMinutes(p.tier)), kMaxCells);
  Status st = RunCapacityScan(plan, *store, ctx, &scan);
  if (st.code() == StatusCode::kResourceExhausted) {
    return ErrorResponse(
        {400, st.message() + ": raise step, shorten the range or narrow the query", -1});
  }
  if (!st.ok()) return StorageError(st);
  auto services = Rank(scan.groups(), true, p.step, p.top);
  auto edges = Rank(scan.groups(), false, p.step, p.top);
  return JsonResponse(200, Render(services, edges, p, ctx, plan));
}

}  // namespace ew::query
