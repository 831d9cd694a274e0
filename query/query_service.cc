#include "query/query_service.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <string_view>
#include <tuple>
#include <vector>

#include "base/time.h"
#include "query/capacity.h"
#include "query/endpoints.h"
#include "query/node_ref.h"
#include "query/query_limits.h"
#include "query/render.h"
#include "query/service_graph_metrics.h"
#include "query/task_pool.h"
#include "query/tenant_store.h"

// GCC 12 at -O3 reports a false -Wfree-nonheap-object inside the destructor of
// std::variant<int64_t, Status> (Result<int64_t>) once inlined here; the code is correct.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

namespace ew::query {

constexpr int64_t kMaxRangeMinutes = 6LL * 366 * 1440;  // longer than the longest retention

const std::string* Param(const ApiRequest& req, const std::string& name) {
  auto it = req.params.find(name);
  return it == req.params.end() ? nullptr : &it->second;
}

std::optional<HttpError> ParamUint(const ApiRequest& req, const std::string& name, uint64_t def,
                                   uint64_t max, uint64_t* out) {
  return ParamUintIn(req, name, def, 0, max, out);
}

std::optional<HttpError> ParamUintIn(const ApiRequest& req, const std::string& name, uint64_t def,
                                     uint64_t min, uint64_t max, uint64_t* out) {
  *out = def;
  const std::string* v = Param(req, name);
  if (!v || v->empty()) return std::nullopt;
  uint64_t x = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || p != v->data() + v->size() || x < min || x > max) {
    return HttpError{400,
                     name + " must be an integer from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", not '" + *v + "'",
                     -1};
  }
  *out = x;
  return std::nullopt;
}

std::optional<HttpError> ParamBool(const ApiRequest& req, const std::string& name, bool* out) {
  *out = false;
  const std::string* v = Param(req, name);
  if (!v || v->empty() || *v == "false" || *v == "0") return std::nullopt;
  if (*v == "true" || *v == "1") {
    *out = true;
    return std::nullopt;
  }
  return HttpError{400, name + " must be true or false", -1};
}

ApiResponse JsonResponse(int status, std::string body) {
  ApiResponse r;
  r.http_status = status;
  r.body = std::move(body);
  return r;
}

ApiResponse ErrorResponse(const HttpError& e) {
  return JsonResponse(e.status, RenderError(e.message, e.position));
}

ApiResponse StorageError(const Status& s) {
  return ErrorResponse(
      {s.code() == StatusCode::kUnavailable ? 503 : 500, "storage: " + s.message(), -1});
}

std::optional<HttpError> ParseContext(const ApiRequest& req, const storage::EdgeStore* store,
                                      QueryContext* ctx) {
  ctx->now_ms = req.now_ms ? req.now_ms : WallNowMs();
  ctx->limits = req.limits;
  const std::string* end_s = Param(req, "end");
  auto end = ParseTimestampMs(end_s && !end_s->empty() ? *end_s : "now", ctx->now_ms);
  if (!end.ok()) return HttpError{400, "bad end: " + end.status().message(), -1};
  const std::string* start_s = Param(req, "start");
  int64_t start_ms = *end - kMsPerHour;
  if (start_s && !start_s->empty()) {
    auto start = ParseTimestampMs(*start_s, ctx->now_ms);
    if (!start.ok()) return HttpError{400, "bad start: " + start.status().message(), -1};
    start_ms = *start;
  }
  auto [sm, em] = MinuteRange(start_ms, *end);
  if (sm >= em) return HttpError{400, "start must be before end", -1};
  if (sm < 0) return HttpError{400, "start must not be before 1970", -1};
  if (em - sm > kMaxRangeMinutes) return HttpError{400, "range longer than 6 years", -1};
  ctx->horizons = RetentionHorizons(store->RetentionMs(), ctx->now_ms);
  ctx->asked_start_minute = sm;
  ctx->asked_end_minute = em;
  std::tie(ctx->start_minute, ctx->end_minute) = WidenForRetention(sm, em, ctx->horizons);
  if (auto e = ParamBool(req, "explain", &ctx->explain)) return e;
  const std::string* q = Param(req, "query");
  ctx->query_text = q ? *q : "";
  size_t pos = 0;
  auto parsed = ParseQuery(ctx->query_text, &pos);
  if (!parsed.ok()) {
    return HttpError{400, parsed.status().message(), static_cast<int64_t>(pos)};
  }
  ctx->parsed = std::move(parsed).value();
  ctx->dict = std::make_unique<Dictionary>(store);
  auto pred = Predicate::Compile(ctx->parsed.root.get(), ctx->dict.get(), &pos);
  if (!pred.ok()) return HttpError{400, pred.status().message(), static_cast<int64_t>(pos)};
  ctx->pred = std::move(pred).value();
  return std::nullopt;
}

namespace {

struct MapOptions {
  std::optional<int64_t> compare_minutes;
  bool group = false;
  std::string focus;
  uint64_t depth = 1;
  PruneOptions prune;
};

std::optional<HttpError> ParseMapOptions(const ApiRequest& req, MapOptions* o) {
  if (const std::string* c = Param(req, "compare"); c && !c->empty()) {
    auto d = ParseDurationMs(*c);
    if (!d.ok() || *d % kMsPerMinute != 0 || *d == 0 || *d / kMsPerMinute > kMaxRangeMinutes ||
        *d / kMsPerMinute < -kMaxRangeMinutes) {
      return HttpError{400, "compare must be a non-zero whole-minute duration such as -1d", -1};
    }
    o->compare_minutes = *d / kMsPerMinute;
  }
  if (const std::string* g = Param(req, "group"); g && !g->empty()) {
    if (*g != "namespace") return HttpError{400, "group must be namespace", -1};
    o->group = true;
  }
  if (const std::string* f = Param(req, "focus")) o->focus = *f;
  if (auto e = ParamUintIn(req, "depth", 1, 1, 100, &o->depth)) return e;
  if (auto e = ParamUint(req, "min_requests", 0, UINT64_MAX, &o->prune.min_requests)) return e;
  if (auto e = ParamBool(req, "errors_only", &o->prune.errors_only)) return e;
  uint64_t top = 0;
  if (auto e = ParamUint(req, "top", 0, 1000000, &top)) return e;
  o->prune.top = top;
  if (const std::string* t = Param(req, "top_by"); t && !t->empty()) {
    if (*t != "requests" && *t != "errors") {
      return HttpError{400, "top_by must be requests or errors", -1};
    }
    o->prune.top_by_errors = *t == "errors";
  }
  return std::nullopt;
}

// Resolves focus to the id of a node of the map: 400 for no node id, 404 for a node the store
// does not know. With group=namespace a service stands for its namespace.
std::optional<HttpError> ResolveFocus(const storage::EdgeStore& store, MapOptions* o) {
  if (o->focus.empty()) return std::nullopt;
  NodeRef ref;
  switch (NodeRef::Resolve(o->focus, store, &ref)) {
    case NodeRef::Error::kMalformed:
      return HttpError{400, "focus must be a node id from the map (n<number> or ns:<namespace>)",
                       -1};
    case NodeRef::Error::kUnknown:
      return HttpError{404, "focus: unknown node " + o->focus, -1};
    case NodeRef::Error::kNone:
      break;
  }
  if (ref.is_group() && !o->group) {
    return HttpError{400, "focus " + o->focus + " is a namespace node: add group=namespace", -1};
  }
  if (!ref.is_group() && o->group) {
    auto info = store.GetNode(ref.node());
    if (info && info->kind == storage::NodeKind::kService) o->focus = "ns:" + info->ns;
  }
  return std::nullopt;
}

}  // namespace

ApiResponse HandleMap(const ApiRequest& req, const storage::EdgeStore* store, int scan_threads,
                      EdgeTablePool* pool, TaskPool* helpers) {
  QueryContext ctx;
  if (auto e = ParseContext(req, store, &ctx)) return ErrorResponse(*e);
  MapOptions opts;
  if (auto e = ParseMapOptions(req, &opts)) return ErrorResponse(*e);
  const std::string* format = Param(req, "format");
  const bool nodegraph = format != nullptr && *format == "nodegraph";
  if (format != nullptr && !format->empty() && *format != "json" && !nodegraph) {
    return ErrorResponse({400, "format must be json or nodegraph", -1});
  }
  if (auto e = ResolveFocus(*store, &opts)) return ErrorResponse(*e);
  const Expr* root = ctx.parsed.root.get();
  if (opts.compare_minutes && ctx.asked_start_minute + *opts.compare_minutes < 0) {
    return ErrorResponse({400, "compare shifts the range before 1970", -1});
  }
  Plan plan = MakePlan(root, ctx.start_minute, ctx.end_minute, *store);
  auto current =
      AggregateEdges(plan, *store, ctx.pred.get(), scan_threads, pool, helpers, ctx.limits);
  if (!current.ok()) return StorageError(current.status());
  std::optional<Plan> prev_plan;
  std::optional<EdgeTable> previous;
  int64_t prev_start = 0, prev_end = 0;
  if (opts.compare_minutes) {
    // The shifted range of what was asked, widened for retention on its own.
    std::tie(prev_start, prev_end) =
        WidenForRetention(ctx.asked_start_minute + *opts.compare_minutes,
                          ctx.asked_end_minute + *opts.compare_minutes, ctx.horizons);
    prev_plan = MakePlan(root, prev_start, prev_end, *store);
    auto p =
        AggregateEdges(*prev_plan, *store, ctx.pred.get(), scan_threads, pool, helpers, ctx.limits);
    if (!p.ok()) return StorageError(p.status());
    previous = std::move(p).value();
  }
  ServiceMap map = BuildMap(*current, previous ? &*previous : nullptr, ctx.dict.get(), opts.group);
  map.prev_start_minute = prev_start;
  map.prev_end_minute = prev_end;
  if (pool) {  // the map holds summaries only from here on
    pool->Give(std::move(*current));
    if (previous) pool->Give(std::move(*previous));
  }
  if (!opts.focus.empty() && !FocusMap(&map, opts.focus, static_cast<int>(opts.depth))) {
    map.edges.clear();  // the focus node has no traffic in the range
  }
  PruneMap(&map, opts.prune);
  FinishNodes(&map);
  if (nodegraph)
    return JsonResponse(200, RenderMapNodeGraph(map, ctx.start_minute, ctx.end_minute));
  if (req.want_flatbuffers) {
    ApiResponse r;
    r.content_type = "application/x-flatbuffers";
    r.body = RenderMapFlatbuffers(map, ctx.start_minute, ctx.end_minute);
    return r;
  }
  return JsonResponse(
      200, RenderMapJson(map, ctx.start_minute, ctx.end_minute, ExprToString(root),
                         ctx.explain ? &plan : nullptr, prev_plan ? &*prev_plan : nullptr));
}

namespace {

// The parameters each endpoint accepts, in the order its error message lists them.
const std::vector<std::string_view> kEndpointParams[] = {
    {"query", "start", "end", "explain", "focus", "depth", "compare", "min_requests", "errors_only",
     "top", "top_by", "group", "format"},
    {"query", "start", "end", "explain", "id", "namespace", "name", "kind"},
    {"query", "start", "end", "explain", "source", "target", "step"},
    {"start", "end", "source", "target", "errors", "limit"},
    {"query", "start", "end", "explain", "source", "target", "by", "top"},
    {},
    {"query", "start", "end", "explain", "step", "top"},
};

// A parameter the endpoint does not know is an error naming it: a misspelt one (`querry=`) would
// otherwise be ignored and answer a question nobody asked.
std::optional<HttpError> CheckParams(const ApiRequest& req,
                                     const std::vector<std::string_view>& known) {
  std::string unknown;
  size_t count = 0;
  for (const auto& [name, value] : req.params) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    unknown += (count++ ? ", '" : "'") + name + "'";
  }
  if (count == 0) return std::nullopt;
  std::string list;
  for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
  return HttpError{400,
                   (count == 1 ? "unknown parameter " : "unknown parameters ") + unknown +
                       "; parameters: " + (list.empty() ? std::string("none") : list),
                   -1};
}

class QueryServiceImpl final : public QueryService {
 public:
  QueryServiceImpl(const storage::EdgeStore* store, MetricsRegistry* metrics,
                   QueryServiceOptions options)
      : store_(store),
        scan_threads_(options.scan_threads > 0 ? options.scan_threads : DefaultScanThreads()),
        options_(std::move(options)) {
    if (metrics) RegisterMetrics(metrics);
    if (scan_threads_ > 1) {
      scan_helpers_ = std::make_unique<TaskPool>("ew-scan", scan_threads_ - 1, 0, Priority());
    }
    pool_ = std::make_unique<TaskPool>("ew-query", std::max(1, options_.workers), options_.queue,
                                       Priority());
  }

  ThreadPriority Priority() const {
    return {.nice = options_.nice, .policy = options_.policy, .slice_us = options_.slice_us};
  }

  ApiResponse Handle(const ApiRequest& req) override {
    if (options_.before_query) options_.before_query();
    ApiResponse r;
    try {
      r = Dispatch(req);
    } catch (const std::exception& e) {
      r = ErrorResponse({500, std::string("internal error: ") + e.what(), -1});
    } catch (...) {
      r = ErrorResponse({500, "internal error", -1});
    }
    if (req.limits != nullptr && req.limits->hit() != QueryLimits::Hit::kNone) {
      r = LimitResponse(req.limits->hit());
    }
    if (errors_ && r.http_status >= 400) errors_->Add();
    return r;
  }

  void Submit(ApiRequest req, std::function<void(ApiResponse)> done) override {
    const auto now = options_.now ? options_.now() : QueryLimits::Clock::now();
    auto limits =
        std::make_shared<QueryLimits>(now + options_.timeout, options_.max_edges, options_.now);
    if (queued_) queued_->Add(1);
    auto task = [this, req = std::move(req), done, limits]() mutable {
      if (queued_) queued_->Add(-1);
      req.limits = limits.get();
      if (running_) running_->Add(1);
      // A query whose deadline passed while it waited is answered without scanning.
      ApiResponse r = limits->CheckDeadline().ok() ? Handle(req) : LimitResponse(limits->hit());
      if (running_) running_->Add(-1);
      done(std::move(r));
    };
    if (pool_->TrySubmit(std::move(task))) return;
    if (queued_) queued_->Add(-1);
    if (rejected_) rejected_->Add();
    ApiResponse r = ErrorResponse({429,
                                   "too many queries: " + std::to_string(options_.queue) +
                                       " are already waiting for the query pool (--query-queue)",
                                   -1});
    r.retry_after_s = 1;
    done(std::move(r));
  }

 private:
  void RegisterMetrics(MetricsRegistry* metrics) {
    for (const char* ep :
         {"map", "service", "series", "traces", "breakdown", "servicegraph", "capacity", "other"}) {
      requests_.push_back(metrics->GetCounter(
          "ew_query_requests_total", "Query API requests by endpoint", {{"endpoint", ep}}));
    }
    errors_ = metrics->GetCounter("ew_query_errors_total",
                                  "Query API requests answered with a 4xx or 5xx status");
    queued_ = metrics->GetGauge("ew_query_queued", "Queries waiting for a query pool worker");
    running_ = metrics->GetGauge("ew_query_running", "Queries running on the query pool");
    rejected_ = metrics->GetCounter("ew_query_rejected_total",
                                    "Queries answered 429 because the query queue was full");
    timed_out_ = metrics->GetCounter("ew_query_timeouts_total",
                                     "Queries stopped at their deadline and answered 503");
    too_large_ = metrics->GetCounter("ew_query_too_large_total",
                                     "Queries stopped at the edge cap and answered 422");
  }

  // The answer for a query stopped by one of its limits.
  ApiResponse LimitResponse(QueryLimits::Hit hit) {
    if (hit == QueryLimits::Hit::kEdges) {
      if (too_large_) too_large_->Add();
      return ErrorResponse({422,
                            "query too large: the map holds more than " +
                                std::to_string(options_.max_edges) +
                                " edges (--query-max-edges); add a filter or a focus, or "
                                "shorten the range",
                            -1});
    }
    if (timed_out_) timed_out_->Add();
    ApiResponse r = ErrorResponse({503,
                                   "query timed out: still running after " +
                                       std::to_string(options_.timeout.count()) +
                                       " ms (--query-timeout); narrow the range or the filter",
                                   -1});
    r.retry_after_s = 5;
    return r;
  }

  ApiResponse Dispatch(const ApiRequest& req) {
    static const char* const kPaths[] = {
        "/api/v1/map",         "/api/v1/service",        "/api/v1/edge/series",
        "/api/v1/edge/traces", "/api/v1/edge/breakdown", "/metrics/servicegraph",
        "/api/v1/capacity"};
    constexpr size_t kKnown = std::size(kPaths);
    size_t which = kKnown;
    for (size_t i = 0; i < kKnown; ++i) {
      if (req.path == kPaths[i]) which = i;
    }
    if (!requests_.empty()) requests_[which]->Add();
    if (which < kKnown) {
      if (auto e = CheckParams(req, kEndpointParams[which])) return ErrorResponse(*e);
    }
    // Every endpoint reads the caller's tenant only (tenant_store.h).
    const TenantStore view(store_, req.tenant);
    const storage::EdgeStore* store = &view;
    switch (which) {
      case 0:
        return HandleMap(req, store, scan_threads_, &tables_, scan_helpers_.get());
      case 1:
        return HandleService(req, store);
      case 2:
        return HandleSeries(req, store);
      case 3:
        return HandleTraces(req, store, options_.trace_url);
      case 4:
        return HandleBreakdown(req, store);
      case 5:
        return ServiceGraphMetrics(req.accept_gzip, view);
      case 6:
        return HandleCapacity(req, store);
      default:
        return ErrorResponse({404, "unknown path " + req.path, -1});
    }
  }

  // GET /metrics/servicegraph: the store's cumulative edge counters of the caller's tenant as
  // Prometheus text.
  ApiResponse ServiceGraphMetrics(bool gzip, const TenantStore& view) {
    if (options_.totals == nullptr) {
      return ErrorResponse({404, "service graph metrics are not enabled in this process", -1});
    }
    ApiResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    std::vector<storage::EdgeTotals::Entry> entries = options_.totals->Snapshot();
    std::erase_if(entries, [&view](const storage::EdgeTotals::Entry& e) {
      return !view.Owns(e.client);  // a rollup's nodes are of one tenant
    });
    r.body = RenderServiceGraphMetrics(entries, options_.totals->bounds_seconds(),
                                       [&view](storage::NodeId id) { return view.GetNode(id); });
    if (gzip) {
      r.body = GzipForScrape(r.body);
      r.content_encoding = "gzip";
    }
    return r;
  }

  const storage::EdgeStore* store_;
  const int scan_threads_;
  const QueryServiceOptions options_;
  // Per scan thread, a table for the current and one for the compared range.
  EdgeTablePool tables_{static_cast<size_t>(2 * scan_threads_)};
  std::vector<Counter*> requests_;
  Counter* errors_ = nullptr;
  Gauge* queued_ = nullptr;
  Gauge* running_ = nullptr;
  Counter* rejected_ = nullptr;
  Counter* timed_out_ = nullptr;
  Counter* too_large_ = nullptr;
  // Destroyed first (the query pool before the scan helpers its queries use): the destructors
  // run what is still queued, then join.
  std::unique_ptr<TaskPool> scan_helpers_;
  std::unique_ptr<TaskPool> pool_;
};

}  // namespace

std::unique_ptr<QueryService> QueryService::Create(const storage::EdgeStore* store,
                                                   MetricsRegistry* metrics, int scan_threads,
                                                   std::string trace_url) {
  QueryServiceOptions options;
  options.scan_threads = scan_threads;
  options.trace_url = std::move(trace_url);
  return Create(store, metrics, std::move(options));
}

std::unique_ptr<QueryService> QueryService::Create(const storage::EdgeStore* store,
                                                   MetricsRegistry* metrics,
                                                   QueryServiceOptions options) {
  return std::make_unique<QueryServiceImpl>(store, metrics, std::move(options));
}

}  // namespace ew::query
