// /api/v1/service: one node — or one namespace of a group=namespace map — with its incoming and
// outgoing edges, its neighbours and its missing-edge diagnostics (query/diagnostics.h).
#include <algorithm>
#include <map>

#include "base/time.h"
#include "query/diagnostics.h"
#include "query/endpoints.h"
#include "query/render.h"

// See query_service.cc: a GCC 12 false positive on Result<int64_t> destructors.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

namespace ew::query {

bool NeedsDetail(const Expr* root) {
  return ExprUses(root, Field::kPath) || ExprUses(root, Field::kMethod) ||
         ExprUses(root, Field::kStatus);
}

Plan NodePlan(int64_t start, int64_t end, storage::Family family, const NodeRef& node,
              bool with_prefix) {
  Plan p;
  p.start_minute = start;
  p.end_minute = end;
  p.ranges = CoverMinutes(start, end);
  p.family = family;
  if (!with_prefix) {
    p.why = "whole family, filtered by node id";
  } else if (node.is_group()) {
    p.why = "one namespace's key prefix";
    p.prefixes.push_back(node.Prefix("ns=" + node.ns()));
  } else {
    p.why = "one node's key prefix";
    p.prefixes.push_back(node.Prefix("node=" + node.Id()));
  }
  return p;
}

namespace {

constexpr std::string_view kKinds =
    "service, external_client, external_service, database, messaging, namespace";

std::optional<storage::NodeKind> ParseKind(std::string_view s) {
  for (int k = 0; k <= 4; ++k) {
    auto kind = static_cast<storage::NodeKind>(k);
    if (storage::NodeKindName(kind) == s) return kind;
  }
  return std::nullopt;
}

std::optional<HttpError> ResolveId(const std::string& id, const storage::EdgeStore& store,
                                   NodeRef* out) {
  switch (NodeRef::Resolve(id, store, out)) {
    case NodeRef::Error::kMalformed:
      return HttpError{400, "id must be a node id from the map (n<number> or ns:<namespace>)", -1};
    case NodeRef::Error::kUnknown:
      return HttpError{404, "unknown node " + id, -1};
    case NodeRef::Error::kNone:
      break;
  }
  return std::nullopt;
}

// The node of a request: id=, or kind (default service) + namespace + name; kind=namespace
// names a namespace group by its namespace (name, when given, must be the same).
std::optional<HttpError> ServiceNode(const ApiRequest& req, const storage::EdgeStore& store,
                                     NodeRef* out) {
  auto given = [&](const char* name) -> std::string {
    const std::string* v = Param(req, name);
    return v ? *v : "";
  };
  const std::string id = given("id"), name = given("name"), ns = given("namespace");
  const std::string kind = given("kind").empty() ? "service" : given("kind");
  if (!id.empty()) {
    if (!name.empty() || !ns.empty() || !given("kind").empty()) {
      return HttpError{400, "give id, or kind/namespace/name, not both", -1};
    }
    return ResolveId(id, store, out);
  }
  if (kind == "namespace") {
    if (!name.empty() && name != ns) {
      return HttpError{400, "kind=namespace: the namespace is the name (give namespace=)", -1};
    }
    if (auto e = ResolveId("ns:" + ns, store, out)) {
      return HttpError{e->status, e->status == 404 ? "unknown namespace '" + ns + "'" : e->message,
                       -1};
    }
    return std::nullopt;
  }
  auto parsed = ParseKind(kind);
  if (name.empty()) return HttpError{400, "name is required", -1};
  if (!parsed) return HttpError{400, "unknown kind '" + kind + "'; kinds: " + std::string(kKinds)};
  auto node = store.FindNode(*parsed, ns, name);
  auto info = node ? store.GetNode(*node) : std::nullopt;
  if (!info) return HttpError{404, "unknown node " + ns + "/" + name + " (kind " + kind + ")", -1};
  *out = NodeRef::OfNode(*node, *info);
  return std::nullopt;
}

// Expired halves of every member over the range, summed per kind.
Result<std::array<uint64_t, 3>> SumMemberExpiries(const NodeRef& self, const QueryContext& ctx,
                                                  const storage::EdgeStore& store) {
  std::array<uint64_t, 3> sums{};
  // Expiry counts are kept as long as minutes: older ones may linger until a compaction, unread.
  const int64_t first = std::max(ctx.start_minute, ctx.horizons.minute);
  if (first >= ctx.end_minute) return sums;
  for (storage::NodeId m : self.Members(store)) {
    EW_ASSIGN_OR_RETURN(auto e, store.SumExpiries(m, first, ctx.end_minute));
    for (size_t k = 0; k < sums.size(); ++k) sums[k] += e[k];
  }
  return sums;
}

// Scans the node's incoming and outgoing records into table (a member-to-member edge once).
Status ScanNeighbourhood(const NodeRef& self, QueryContext& ctx, const storage::EdgeStore& store,
                         EdgeTable* table, Plan* in, Plan* out) {
  const bool detail = NeedsDetail(ctx.parsed.root.get());
  Dictionary* dict = ctx.dict.get();
  auto add = [&](const storage::EdgeDims& d, const storage::RollupValue& v, uint64_t r,
                 uint64_t e) {
    // Sketches come decoded (RunPlan does not ask for encodings): Add cannot fail.
    (void)(*table)[EdgeKey(d.client, d.server)].Add(v, d.protocol, r, e);
  };
  using storage::Family;
  *in = NodePlan(ctx.start_minute, ctx.end_minute, detail ? Family::kDetail : Family::kEdge, self,
                 true);
  EW_RETURN_IF_ERROR(RunPlan(
      *in, store, ctx.pred.get(),
      [&](int64_t, storage::Tier, const storage::EdgeDims& d, const storage::RollupValue& v,
          uint64_t r, uint64_t e) {
        if (self.Contains(d.server, dict)) add(d, v, r, e);
      },
      ctx.limits));
  // Outgoing: the client-ordered family; the detailed family has no client order, so a detail
  // filter scans it whole and keeps the members' records.
  *out = NodePlan(ctx.start_minute, ctx.end_minute,
                  detail ? Family::kDetail : Family::kEdgeByClient, self, !detail);
  return RunPlan(
      *out, store, ctx.pred.get(),
      [&](int64_t, storage::Tier, const storage::EdgeDims& d, const storage::RollupValue& v,
          uint64_t r, uint64_t e) {
        if (self.Contains(d.client, dict) && !self.Contains(d.server, dict)) {
          add(d, v, r, e);
        }
      },
      ctx.limits);
}

// The members' calls that no server span answered: requests to external_service and messaging
// nodes, per destination.
std::map<storage::NodeId, uint64_t> UnansweredCallsOf(const NodeRef& self, const EdgeTable& table,
                                                      Dictionary* dict) {
  std::map<storage::NodeId, uint64_t> calls;
  for (const auto& [key, stats] : table) {
    auto client = static_cast<storage::NodeId>(key >> 32);
    auto server = static_cast<storage::NodeId>(key & 0xffffffffu);
    storage::NodeKind k = dict->Node(server).kind;
    if (self.Contains(client, dict) &&
        (k == storage::NodeKind::kExternalService || k == storage::NodeKind::kMessaging)) {
      calls[server] += stats.requests;
    }
  }
  return calls;
}

}  // namespace

ApiResponse HandleService(const ApiRequest& req, const storage::EdgeStore* store) {
  QueryContext ctx;
  if (auto e = ParseContext(req, store, &ctx)) return ErrorResponse(*e);
  NodeRef self;
  if (auto e = ServiceNode(req, *store, &self)) return ErrorResponse(*e);
  EdgeTable table;
  Plan in, out;
  Status s = ScanNeighbourhood(self, ctx, *store, &table, &in, &out);
  if (!s.ok()) return StorageError(s);
  MissingEdges missing;
  auto expiries = SumMemberExpiries(self, ctx, *store);
  if (!expiries.ok()) return StorageError(expiries.status());
  missing.expired = *expiries;
  auto destinations = ClassifyUnanswered(UnansweredCallsOf(self, table, ctx.dict.get()), self.ns(),
                                         ctx.start_minute, ctx.end_minute, *store, ctx.dict.get());
  if (!destinations.ok()) return StorageError(destinations.status());
  missing.destinations = std::move(destinations).value();
  ServiceMap map = BuildMap(table, nullptr, ctx.dict.get(), self.is_group());
  FinishNodes(&map);
  const std::string id = self.Id();
  double seconds = RangeSeconds(ctx.start_minute, ctx.end_minute);
  JsonWriter w;
  w.BeginObject();
  w.Key("start").String(MinuteToRfc3339(ctx.start_minute));
  w.Key("end").String(MinuteToRfc3339(ctx.end_minute));
  MapNode me{id, "namespace", self.ns(), self.ns()};
  if (!self.is_group()) {
    const storage::NodeInfo& info = ctx.dict->Node(self.node());
    me = MapNode{id, std::string(storage::NodeKindName(info.kind)), info.ns, info.name};
  }
  for (const auto& n : map.nodes) {
    if (n.id == id) me = n;
  }
  w.Key("node");
  WriteNode(w, me, false);
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
  WriteMissingEdges(w, missing, ctx.dict.get());
  if (ctx.explain) {
    w.Key("plan").BeginArray();
    WritePlan(w, in);
    WritePlan(w, out);
    w.EndArray();
  }
  w.EndObject();
  return JsonResponse(200, w.Take());
}

}  // namespace ew::query
