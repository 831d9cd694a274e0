// /api/v1/edge/breakdown: one edge's requests split by path, method or status, read from the
// detail family (docs/api.md "Query API additions").
#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "query/endpoints.h"
#include "query/node_ref.h"
#include "query/render.h"

// See query_service.cc: a GCC 12 false positive on Result<int64_t> destructors.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

namespace ew::query {

namespace {

enum class By { kPath, kMethod, kStatus };

std::optional<HttpError> ParseBy(const ApiRequest& req, By* by) {
  const std::string* v = Param(req, "by");
  if (!v || v->empty() || *v == "path") {
    *by = By::kPath;
  } else if (*v == "method") {
    *by = By::kMethod;
  } else if (*v == "status") {
    *by = By::kStatus;
  } else {
    return HttpError{400, "by must be path, method or status (got '" + *v + "')", -1};
  }
  return std::nullopt;
}

// source and target, both required: node ids or namespace ids from the map; 404 when unknown.
std::optional<HttpError> ParseEnds(const ApiRequest& req, const storage::EdgeStore& store,
                                   NodeRef* src, NodeRef* dst) {
  for (auto [name, out] : {std::pair{"source", src}, std::pair{"target", dst}}) {
    const std::string* id = Param(req, name);
    if (!id || id->empty()) return HttpError{400, "source and target are required", -1};
    switch (NodeRef::Resolve(*id, store, out)) {
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
  }
  return std::nullopt;
}

// The display key of a group: the path or method text ("" when the requests had none), or the
// status code as a number's text ("0" when none).
std::string KeyText(const storage::EdgeStore& store, By by, uint32_t id) {
  if (by == By::kStatus) return std::to_string(id);
  auto kind = by == By::kPath ? storage::StringKind::kPath : storage::StringKind::kMethod;
  if (id == 0) return "";
  return store.GetString(kind, id).value_or("");
}

struct Group {
  std::string key;
  EdgeStats stats;
};

void WriteGroup(JsonWriter& w, const Group& g, By by, double seconds) {
  w.BeginObject();
  w.Key("key").String(g.key);
  if (by == By::kStatus) w.Key("status").Uint(std::stoul(g.key));
  w.Key("requests").Uint(g.stats.requests);
  w.Key("errors").Uint(g.stats.errors);
  w.Key("rate_per_s").Double(static_cast<double>(g.stats.requests) / seconds);
  w.Key("error_rate")
      .Double(g.stats.requests
                  ? static_cast<double>(g.stats.errors) / static_cast<double>(g.stats.requests)
                  : 0.0);
  w.Key("latency_ms");
  WriteLatency(w, g.stats.Latency());
  w.EndObject();
}

}  // namespace

ApiResponse HandleBreakdown(const ApiRequest& req, const storage::EdgeStore* store) {
  QueryContext ctx;
  if (auto e = ParseContext(req, store, &ctx)) return ErrorResponse(*e);
  By by = By::kPath;
  if (auto e = ParseBy(req, &by)) return ErrorResponse(*e);
  uint64_t top = 10;
  if (auto e = ParamUintIn(req, "top", 10, 1, 1000, &top)) return ErrorResponse(*e);
  NodeRef src, dst;
  if (auto e = ParseEnds(req, *store, &src, &dst)) return ErrorResponse(*e);
  Plan plan = NodePlan(ctx.start_minute, ctx.end_minute, storage::Family::kDetail, dst, true);
  std::map<uint32_t, EdgeStats> groups;
  EdgeStats total;
  Status st = RunPlan(
      plan, *store, ctx.pred.get(),
      [&](int64_t, storage::Tier, const storage::EdgeDims& d, const storage::RollupValue& v,
          uint64_t r, uint64_t er) {
        if (!src.Contains(d.client, ctx.dict.get()) || !dst.Contains(d.server, ctx.dict.get())) {
          return;
        }
        uint32_t key = by == By::kPath     ? d.path
                       : by == By::kMethod ? d.method
                                           : static_cast<uint32_t>(d.status);
        (void)groups[key].Add(v, d.protocol, r, er);  // decoded: cannot fail
        total.requests += r;
        total.errors += er;
      },
      ctx.limits);
  if (!st.ok()) return StorageError(st);
  std::vector<Group> list;
  list.reserve(groups.size());
  for (auto& [id, stats] : groups) {
    list.push_back(Group{KeyText(*store, by, id), {}});
    list.back().stats.Merge(stats);
  }
  // Busiest first; ties by key so the answer does not depend on dictionary ids.
  std::sort(list.begin(), list.end(), [](const Group& a, const Group& b) {
    return std::tie(b.stats.requests, a.key) < std::tie(a.stats.requests, b.key);
  });
  const double seconds = RangeSeconds(ctx.start_minute, ctx.end_minute);
  JsonWriter w;
  w.BeginObject();
  w.Key("start").String(MinuteToRfc3339(ctx.start_minute));
  w.Key("end").String(MinuteToRfc3339(ctx.end_minute));
  w.Key("by").String(by == By::kPath ? "path" : by == By::kMethod ? "method" : "status");
  w.Key("requests").Uint(total.requests);
  w.Key("errors").Uint(total.errors);
  w.Key("groups_total").Uint(list.size());
  uint64_t other_requests = 0, other_errors = 0;
  w.Key("groups").BeginArray();
  for (size_t i = 0; i < list.size(); ++i) {
    if (i < top) {
      WriteGroup(w, list[i], by, seconds);
    } else {
      other_requests += list[i].stats.requests;
      other_errors += list[i].stats.errors;
    }
  }
  w.EndArray();
  w.Key("other").BeginObject();
  w.Key("requests").Uint(other_requests);
  w.Key("errors").Uint(other_errors);
  w.EndObject();
  if (ctx.explain) {
    w.Key("plan");
    WritePlan(w, plan);
  }
  w.EndObject();
  return JsonResponse(200, w.Take());
}

}  // namespace ew::query
