// /api/v1/edge/series and /api/v1/edge/traces (/api/v1/service: service_endpoint.cc).
#include <algorithm>
#include <array>
#include <numeric>
#include <set>
#include <string>
#include <string_view>

#include "base/time.h"
#include "query/endpoints.h"
#include "query/minute_peaks.h"
#include "query/node_ref.h"
#include "query/render.h"

// See query_service.cc: a GCC 12 false positive on Result<int64_t> destructors.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

namespace ew::query {

namespace {

constexpr uint64_t kMaxSeriesPoints = 10000;
constexpr size_t kMaxExemplarsScanned = 100000;

// The step in minutes: given (whole minutes >= 1) or about 60 points over the range.
std::optional<HttpError> ParseStep(const ApiRequest& req, const QueryContext& ctx, int64_t* step) {
  const std::string* s = Param(req, "step");
  if (!s || s->empty()) {
    *step = std::max<int64_t>(1, (ctx.end_minute - ctx.start_minute + 59) / 60);
    return std::nullopt;
  }
  auto d = ParseDurationMs(*s);
  if (!d.ok() || *d < kMsPerMinute || *d % kMsPerMinute != 0) {
    return HttpError{400, "step must be a whole number of minutes, at least 1m", -1};
  }
  *step = *d / kMsPerMinute;
  return std::nullopt;
}

// Resolves source/target (node ids or namespace ids from the map); both or neither must be
// given. 404 for an id the store does not know.
std::optional<HttpError> ParseEdge(const ApiRequest& req, const storage::EdgeStore& store,
                                   std::optional<NodeRef>* src, std::optional<NodeRef>* dst) {
  const std::string* s = Param(req, "source");
  const std::string* t = Param(req, "target");
  if (!s && !t) return std::nullopt;
  if (!s || !t) return HttpError{400, "source and target go together", -1};
  for (auto [name, id, out] : {std::tuple{"source", s, src}, std::tuple{"target", t, dst}}) {
    NodeRef ref;
    switch (NodeRef::Resolve(*id, store, &ref)) {
      case NodeRef::Error::kMalformed:
        return HttpError{
            400,
            std::string(name) + " must be a node id from the map (n<number> or ns:<namespace>)",
            -1};
      case NodeRef::Error::kUnknown:
        return HttpError{404, std::string(name) + ": unknown node " + *id, -1};
      case NodeRef::Error::kNone:
        break;
    }
    *out = std::move(ref);
  }
  return std::nullopt;
}

// The stored edges (client, server) an edge of the map stands for: itself, or for a namespace
// end every member edge with traffic in the range (found by one scan of the edge family).
Result<std::vector<std::pair<storage::NodeId, storage::NodeId>>> EdgePairs(
    const NodeRef& src, const NodeRef& dst, const QueryContext& ctx,
    const storage::EdgeStore& store) {
  std::vector<std::pair<storage::NodeId, storage::NodeId>> out;
  if (!src.is_group() && !dst.is_group()) {
    out.emplace_back(src.node(), dst.node());
    return out;
  }
  std::set<std::pair<storage::NodeId, storage::NodeId>> pairs;
  Plan plan = NodePlan(ctx.start_minute, ctx.end_minute, storage::Family::kEdge, dst, true);
  for (storage::ScanSpec spec : plan.Specs()) {
    spec.need_sketches = false;
    EW_RETURN_IF_ERROR(
        store.Scan(spec, [&](int64_t, const storage::EdgeDims& d, const storage::RollupValue& v) {
          if (v.requests > 0 && src.Contains(d.client, ctx.dict.get()) &&
              dst.Contains(d.server, ctx.dict.get())) {
            pairs.emplace(d.client, d.server);
          }
          return true;
        }));
  }
  out.assign(pairs.begin(), pairs.end());
  return out;
}

// The busiest minute of each step: per-minute sums of the selected requests. A record whose
// requests are only partly selected (a filter on `error`) gives its minute's count in the minute
// tier; in the hour and day tiers its busiest minute is unknown, and so is the step's. So is a
// step with an hour or day record without minute counts (a day record whose counts the store
// collapsed, a detail-family record), unless that record is the step's only one.
class StepPeaks {
 public:
  StepPeaks(int64_t s, int64_t step, size_t points)
      : s_(s), step_(step), windows_(points), steps_(points) {}
  void Add(size_t b, int64_t minute, storage::Tier tier, const storage::RollupValue& v,
           uint64_t selected) {
    MinuteWindow& w = windows_[b];
    Step& st = steps_[b];
    if (w.length() == 0) w.Reset(s_ + static_cast<int64_t>(b) * step_, step_);
    ++st.records;
    if (tier == storage::Tier::kMinute) {
      w.AddAt(minute, selected);
    } else if (selected != v.requests) {
      st.unknown = true;
    } else if (v.minute_counts.empty()) {
      ++st.uncounted;
      st.uncounted_peak = v.peak_requests;
    } else {
      w.AddCounts(minute, v.minute_counts);
    }
  }
  // Requests per second of the step's busiest minute; unset when unknown.
  std::optional<double> Rate(size_t b) const {
    const Step& st = steps_[b];
    if (st.unknown || (st.uncounted > 0 && (st.records > 1 || st.uncounted_peak == 0))) {
      return std::nullopt;
    }
    if (st.uncounted > 0) return static_cast<double>(st.uncounted_peak) / 60.0;
    return windows_[b].Peak().RatePerSecond();
  }

 private:
  struct Step {
    uint32_t records = 0;
    uint32_t uncounted = 0;  // hour or day records without minute counts
    uint64_t uncounted_peak = 0;
    bool unknown = false;
  };
  int64_t s_, step_;
  std::vector<MinuteWindow> windows_;  // sized on a step's first record
  std::vector<Step> steps_;
};

// "start", "end", "step_s" and "points" of a series whose buckets start at minute s.
void WritePoints(JsonWriter& w, int64_t s, int64_t e, int64_t step,
                 const std::vector<EdgeStats>& buckets, const StepPeaks& peaks) {
  w.Key("start").String(MinuteToRfc3339(s));
  w.Key("end").String(MinuteToRfc3339(e));
  w.Key("step_s").Int(step * 60);
  w.Key("points").BeginArray();
  for (size_t i = 0; i < buckets.size(); ++i) {
    w.BeginObject();
    w.Key("time").String(MinuteToRfc3339(s + static_cast<int64_t>(i) * step));
    w.Key("requests").Uint(buckets[i].requests);
    w.Key("errors").Uint(buckets[i].errors);
    w.Key("peak_rate_per_s");
    if (auto rate = peaks.Rate(i)) {
      w.Double(*rate);
    } else {
      w.Null();
    }
    w.Key("latency_ms");
    WriteLatency(w, buckets[i].Latency());
    w.EndObject();
  }
  w.EndArray();
}

// Buckets are aligned to multiples of step since the epoch, and read from the coarsest tier
// whose unit divides the step (each record then lies in one bucket). A step finer than what
// the retention still keeps for the first bucket grows to whole hours or days (step_s says so).
// Sets the aligned range [*s, *e) and returns the tier.
storage::Tier FitStep(const QueryContext& ctx, int64_t* step, int64_t* s, int64_t* e) {
  for (;;) {
    *s = FloorDiv(ctx.start_minute, *step) * *step;
    *e = -FloorDiv(-ctx.end_minute, *step) * *step;
    const storage::Tier tier = *step % 1440 == 0 ? storage::Tier::kDay
                               : *step % 60 == 0 ? storage::Tier::kHour
                                                 : storage::Tier::kMinute;
    if (tier == storage::Tier::kMinute && *s < ctx.horizons.minute) {
      *step = std::lcm(*step, int64_t{60});
    } else if (tier == storage::Tier::kHour && *s < ctx.horizons.hour) {
      *step = std::lcm(*step, int64_t{1440});
    } else {
      return tier;
    }
  }
}

}  // namespace

ApiResponse HandleSeries(const ApiRequest& req, const storage::EdgeStore* store) {
  QueryContext ctx;
  if (auto e = ParseContext(req, store, &ctx)) return ErrorResponse(*e);
  int64_t step = 1;
  if (auto e = ParseStep(req, ctx, &step)) return ErrorResponse(*e);
  std::optional<NodeRef> src, dst;
  if (auto e = ParseEdge(req, *store, &src, &dst)) return ErrorResponse(*e);
  if (!src && !ctx.parsed.root) return ErrorResponse({400, "give source and target, or query", -1});
  int64_t s = 0, e = 0;
  const storage::Tier tier = FitStep(ctx, &step, &s, &e);
  auto points = static_cast<uint64_t>((e - s) / step);
  if (points > kMaxSeriesPoints) return ErrorResponse({400, "too many points: raise step", -1});
  const Expr* root = ctx.parsed.root.get();
  Plan plan;
  if (src) {
    plan = NodePlan(s, e, NeedsDetail(root) ? storage::Family::kDetail : storage::Family::kEdge,
                    *dst, true);
  } else {
    plan = MakePlan(root, s, e, *store);
  }
  int64_t unit = storage::TierUnitMinutes(tier);
  plan.ranges = {TierRange{tier, s / unit, e / unit}};
  plan.need_minute_counts = tier != storage::Tier::kMinute;
  std::vector<EdgeStats> buckets(points);
  StepPeaks peaks(s, step, points);
  Status st = RunPlan(
      plan, *store, ctx.pred.get(),
      [&](int64_t minute, storage::Tier, const storage::EdgeDims& d, const storage::RollupValue& v,
          uint64_t r, uint64_t er) {
        if (src &&
            !(src->Contains(d.client, ctx.dict.get()) && dst->Contains(d.server, ctx.dict.get()))) {
          return;
        }
        int64_t b = (minute - s) / step;
        if (b >= 0 && b < static_cast<int64_t>(points)) {
          (void)buckets[b].Add(v, d.protocol, r, er);  // decoded: cannot fail
          peaks.Add(static_cast<size_t>(b), minute, tier, v, r);
        }
      },
      ctx.limits);
  if (!st.ok()) return StorageError(st);
  JsonWriter w;
  w.BeginObject();
  WritePoints(w, s, e, step, buckets, peaks);
  if (ctx.explain) {
    w.Key("plan");
    WritePlan(w, plan);
  }
  w.EndObject();
  return JsonResponse(200, w.Take());
}

namespace {

std::string TraceHex(const std::array<uint8_t, 16>& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : id) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  return hex;
}

// The --trace-url template with every {trace_id} replaced by hex.
std::string TraceUrl(const std::string& tmpl, const std::string& hex) {
  static constexpr std::string_view kVar = "{trace_id}";
  std::string out;
  size_t from = 0;
  for (size_t at = tmpl.find(kVar); at != std::string::npos; at = tmpl.find(kVar, from)) {
    out.append(tmpl, from, at - from).append(hex);
    from = at + kVar.size();
  }
  return out.append(tmpl, from, std::string::npos);
}

}  // namespace

ApiResponse HandleTraces(const ApiRequest& req, const storage::EdgeStore* store,
                         const std::string& trace_url) {
  QueryContext ctx;
  if (auto e = ParseContext(req, store, &ctx)) return ErrorResponse(*e);
  std::optional<NodeRef> src, dst;
  if (auto e = ParseEdge(req, *store, &src, &dst)) return ErrorResponse(*e);
  if (!src) return ErrorResponse({400, "source and target are required", -1});
  // errors: absent or empty for both, true for error traces only, false for successes only.
  std::optional<bool> errors;
  if (const std::string* v = Param(req, "errors"); v && !v->empty()) {
    bool b = false;
    if (auto e = ParamBool(req, "errors", &b)) return ErrorResponse(*e);
    errors = b;
  }
  uint64_t limit = 100;
  if (auto e = ParamUintIn(req, "limit", 100, 1, 1000, &limit)) return ErrorResponse(*e);
  auto pairs = EdgePairs(*src, *dst, ctx, *store);
  if (!pairs.ok()) return StorageError(pairs.status());
  std::vector<std::pair<int64_t, storage::Exemplar>> found;
  size_t scanned = 0;
  // Exemplars are kept as long as minutes: older ones may linger until a compaction, unread.
  const int64_t first = std::max(ctx.start_minute, ctx.horizons.minute);
  for (const auto& [client, server] : *pairs) {
    if (scanned >= kMaxExemplarsScanned || first >= ctx.end_minute) break;
    Status s = store->ScanExemplars(client, server, first, ctx.end_minute,
                                    [&](int64_t minute, const storage::Exemplar& x) {
                                      if (!errors || x.error == *errors) {
                                        found.emplace_back(minute, x);
                                      }
                                      return ++scanned < kMaxExemplarsScanned;
                                    });
    if (!s.ok()) return StorageError(s);
  }
  // Newest first; exemplars with the same start in the order of their records (newest minute
  // first, each record newest first).
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.second.start_ms > b.second.start_ms;
  });
  if (found.size() > limit) found.resize(limit);
  JsonWriter w;
  w.BeginObject();
  w.Key("start").String(MinuteToRfc3339(ctx.start_minute));
  w.Key("end").String(MinuteToRfc3339(ctx.end_minute));
  w.Key("traces").BeginArray();
  for (const auto& [minute, x] : found) {
    const std::string hex = TraceHex(x.trace_id);
    w.BeginObject();
    w.Key("trace_id").String(hex);
    w.Key("minute").String(MinuteToRfc3339(minute));
    w.Key("start_ms").Int(x.start_ms);
    w.Key("duration_ms").Double(x.duration_us / 1000.0);
    w.Key("status").Uint(x.status);
    w.Key("error").Bool(x.error);
    if (!trace_url.empty()) w.Key("trace_url").String(TraceUrl(trace_url, hex));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return JsonResponse(200, w.Take());
}

}  // namespace ew::query
