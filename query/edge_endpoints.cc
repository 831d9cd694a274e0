// /api/v1/service, /api/v1/edge/series and /api/v1/edge/traces.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "base/time.h"
#include "query/endpoints.h"
#include "query/render.h"

// See query_service.cc: a GCC 12 false positive on Result<int64_t> destructors.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

namespace ew::query {

namespace {

constexpr uint64_t kMaxSeriesPoints = 10000;
constexpr size_t kMaxExemplarsScanned = 100000;

bool NeedsDetail(const Expr* root) {
  return ExprUses(root, Field::kPath) || ExprUses(root, Field::kMethod) ||
         ExprUses(root, Field::kStatus);
}

std::optional<storage::NodeKind> ParseKind(std::string_view s) {
  for (int k = 0; k <= 4; ++k) {
    auto kind = static_cast<storage::NodeKind>(k);
    if (storage::NodeKindName(kind) == s) return kind;
  }
  return std::nullopt;
}

// A plan over [start, end) of one family, narrowed to one node's key prefix when with_prefix.
Plan NodePlan(int64_t start, int64_t end, storage::Family family, const storage::NodeInfo& info,
              storage::NodeId node, bool with_prefix) {
  Plan p;
  p.start_minute = start;
  p.end_minute = end;
  p.ranges = CoverMinutes(start, end);
  p.family = family;
  p.why = with_prefix ? "one node's key prefix" : "whole family, filtered by node id";
  if (with_prefix) p.prefixes.push_back({info.ns_id, node, "node=" + info.ns + "/" + info.name});
  return p;
}

void WriteMissingEdges(JsonWriter& w, const std::array<uint64_t, 3>& exp) {
  w.Key("missing_edges").BeginObject();
  w.Key("client_halves_expired").Uint(exp[0]);
  w.Key("server_halves_expired").Uint(exp[1]);
  w.Key("evicted").Uint(exp[2]);
  w.Key("hint").String(exp[0] + exp[1] + exp[2] == 0
                           ? ""
                           : "halves expired without a partner: check trace-context propagation "
                             "between this node and its peers");
  w.EndObject();
}

}  // namespace

ApiResponse HandleService(const ApiRequest& req, const storage::EdgeStore* store) {
  QueryContext ctx;
  if (auto e = ParseContext(req, store, &ctx)) return ErrorResponse(*e);
  const std::string* name = Param(req, "name");
  if (!name || name->empty()) return ErrorResponse({400, "name is required", -1});
  const std::string* ns_p = Param(req, "namespace");
  const std::string* kind_p = Param(req, "kind");
  auto kind = ParseKind(kind_p && !kind_p->empty() ? *kind_p : "service");
  if (!kind) return ErrorResponse({400, "unknown kind", -1});
  std::string ns = ns_p ? *ns_p : "";
  auto node = store->FindNode(*kind, ns, *name);
  if (!node) return ErrorResponse({404, "unknown node " + ns + "/" + *name, -1});
  const storage::NodeInfo info = ctx.dict->Node(*node);
  bool detail = NeedsDetail(ctx.parsed.root.get());
  EdgeTable table;
  auto add = [&](int64_t, storage::Tier, const storage::EdgeDims& d, const storage::RollupValue& v,
                 uint64_t r, uint64_t e) {
    // Sketches come decoded (RunPlan does not ask for encodings): Add cannot fail.
    (void)table[EdgeKey(d.client, d.server)].Add(v, d.protocol, r, e);
  };
  using storage::Family;
  Plan in = NodePlan(ctx.start_minute, ctx.end_minute, detail ? Family::kDetail : Family::kEdge,
                     info, *node, true);
  Status s = RunPlan(in, *store, ctx.pred.get(), add);
  if (!s.ok()) return StorageError(s);
  // Outgoing: the client-ordered family; the detailed family has no client order, so a detail
  // filter scans it whole and keeps this node's records.
  Plan out = NodePlan(ctx.start_minute, ctx.end_minute,
                      detail ? Family::kDetail : Family::kEdgeByClient, info, *node, !detail);
  s = RunPlan(out, *store, ctx.pred.get(),
              [&](int64_t m, storage::Tier t, const storage::EdgeDims& d,
                  const storage::RollupValue& v, uint64_t r, uint64_t e) {
                if (d.client == *node && d.server != *node) add(m, t, d, v, r, e);
              });
  if (!s.ok()) return StorageError(s);
  auto expiries = store->SumExpiries(*node, ctx.start_minute, ctx.end_minute);
  if (!expiries.ok()) return StorageError(expiries.status());
  ServiceMap map = BuildMap(table, nullptr, ctx.dict.get(), false);
  FinishNodes(&map);
  std::string id = NodeIdString(*node);
  double seconds = RangeSeconds(ctx.start_minute, ctx.end_minute);
  JsonWriter w;
  w.BeginObject();
  w.Key("start").String(MinuteToRfc3339(ctx.start_minute));
  w.Key("end").String(MinuteToRfc3339(ctx.end_minute));
  MapNode self{id, std::string(storage::NodeKindName(info.kind)), info.ns, info.name};
  for (const auto& n : map.nodes) {
    if (n.id == id) self = n;
  }
  w.Key("node");
  WriteNode(w, self, false);
  for (int dir = 0; dir < 2; ++dir) {
    w.Key(dir == 0 ? "incoming" : "outgoing").BeginArray();
    for (const auto& e : map.edges) {
      if ((dir == 0 ? e.target : e.source) == id) WriteEdge(w, e, seconds, false);
    }
    w.EndArray();
  }
  w.Key("nodes").BeginArray();
  for (const auto& n : map.nodes) WriteNode(w, n, false);
  w.EndArray();
  WriteMissingEdges(w, *expiries);
  if (ctx.explain) {
    w.Key("plan").BeginArray();
    WritePlan(w, in);
    WritePlan(w, out);
    w.EndArray();
  }
  w.EndObject();
  return JsonResponse(200, w.Take());
}

namespace {

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

// Resolves source/target; both or neither must be given.
std::optional<HttpError> ParseEdge(const ApiRequest& req, std::optional<storage::NodeId>* src,
                                   std::optional<storage::NodeId>* dst) {
  const std::string* s = Param(req, "source");
  const std::string* t = Param(req, "target");
  if (!s && !t) return std::nullopt;
  if (!s || !t) return HttpError{400, "source and target go together", -1};
  *src = ParseNodeId(*s);
  *dst = ParseNodeId(*t);
  if (!*src || !*dst) return HttpError{400, "source and target must be node ids from the map", -1};
  return std::nullopt;
}

}  // namespace

ApiResponse HandleSeries(const ApiRequest& req, const storage::EdgeStore* store) {
  QueryContext ctx;
  if (auto e = ParseContext(req, store, &ctx)) return ErrorResponse(*e);
  int64_t step = 1;
  if (auto e = ParseStep(req, ctx, &step)) return ErrorResponse(*e);
  std::optional<storage::NodeId> src, dst;
  if (auto e = ParseEdge(req, &src, &dst)) return ErrorResponse(*e);
  if (!src && !ctx.parsed.root) return ErrorResponse({400, "give source and target, or query", -1});
  // Buckets are aligned to multiples of step since the epoch.
  int64_t s = FloorDiv(ctx.start_minute, step) * step;
  int64_t e = -FloorDiv(-ctx.end_minute, step) * step;
  auto points = static_cast<uint64_t>((e - s) / step);
  if (points > kMaxSeriesPoints) return ErrorResponse({400, "too many points: raise step", -1});
  const Expr* root = ctx.parsed.root.get();
  Plan plan;
  if (src) {
    plan = NodePlan(s, e, NeedsDetail(root) ? storage::Family::kDetail : storage::Family::kEdge,
                    ctx.dict->Node(*dst), *dst, true);
  } else {
    plan = MakePlan(root, s, e, *store);
  }
  // The coarsest tier whose unit divides the step: each record then lies in one bucket.
  storage::Tier tier = step % 1440 == 0 ? storage::Tier::kDay
                       : step % 60 == 0 ? storage::Tier::kHour
                                        : storage::Tier::kMinute;
  int64_t unit = storage::TierUnitMinutes(tier);
  plan.ranges = {TierRange{tier, s / unit, e / unit}};
  std::vector<EdgeStats> buckets(points);
  Status st = RunPlan(plan, *store, ctx.pred.get(),
                      [&](int64_t minute, storage::Tier, const storage::EdgeDims& d,
                          const storage::RollupValue& v, uint64_t r, uint64_t er) {
                        if (src && (d.client != *src || d.server != *dst)) return;
                        int64_t b = (minute - s) / step;
                        if (b >= 0 && b < static_cast<int64_t>(points)) {
                          (void)buckets[b].Add(v, d.protocol, r, er);  // decoded: cannot fail
                        }
                      });
  if (!st.ok()) return StorageError(st);
  JsonWriter w;
  w.BeginObject();
  w.Key("start").String(MinuteToRfc3339(s));
  w.Key("end").String(MinuteToRfc3339(e));
  w.Key("step_s").Int(step * 60);
  w.Key("points").BeginArray();
  for (uint64_t i = 0; i < points; ++i) {
    w.BeginObject();
    w.Key("time").String(MinuteToRfc3339(s + static_cast<int64_t>(i) * step));
    w.Key("requests").Uint(buckets[i].requests);
    w.Key("errors").Uint(buckets[i].errors);
    w.Key("latency_ms");
    WriteLatency(w, buckets[i].Latency());
    w.EndObject();
  }
  w.EndArray();
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
  std::optional<storage::NodeId> src, dst;
  if (auto e = ParseEdge(req, &src, &dst)) return ErrorResponse(*e);
  if (!src) return ErrorResponse({400, "source and target are required", -1});
  // errors: absent or empty for both, true for error traces only, false for successes only.
  std::optional<bool> errors;
  if (const std::string* v = Param(req, "errors"); v && !v->empty()) {
    bool b = false;
    if (auto e = ParamBool(req, "errors", &b)) return ErrorResponse(*e);
    errors = b;
  }
  uint64_t limit = 100;
  if (auto e = ParamUint(req, "limit", 100, 1000, &limit)) return ErrorResponse(*e);
  std::vector<std::pair<int64_t, storage::Exemplar>> found;
  size_t scanned = 0;
  Status s = store->ScanExemplars(*src, *dst, ctx.start_minute, ctx.end_minute,
                                  [&](int64_t minute, const storage::Exemplar& x) {
                                    if (!errors || x.error == *errors)
                                      found.emplace_back(minute, x);
                                    return ++scanned < kMaxExemplarsScanned;
                                  });
  if (!s.ok()) return StorageError(s);
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
