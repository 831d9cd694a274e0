#include "query/map_builder.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <string_view>
#include <tuple>

namespace ew::query {

using storage::EdgeDims;
using storage::NodeKind;
using storage::Protocol;
using storage::RollupValue;

void LatencyAccumulator::Cover(int32_t lo, int32_t hi) {
  if (dense_.empty()) {
    base_ = lo;
    dense_.assign(static_cast<size_t>(hi - lo) + 1, 0);
    return;
  }
  if (lo < base_) {
    dense_.insert(dense_.begin(), static_cast<size_t>(base_ - lo), 0);
    base_ = lo;
  }
  const size_t need = static_cast<size_t>(hi - base_) + 1;
  if (need > dense_.size()) dense_.resize(need, 0);
}

void LatencyAccumulator::Add(const storage::LatencySketch& s) {
  if (s.Empty()) return;
  const auto& b = s.Buckets();
  Cover(b.front().first, b.back().first);  // buckets are sorted by index
  uint64_t* d = dense_.data();
  for (const auto& [index, count] : b) d[index - base_] += count;
  count_ += s.Count();
  dirty_ = true;
}

void LatencyAccumulator::Merge(const LatencyAccumulator& o) {
  if (o.count_ == 0) return;
  const int32_t o_hi = o.base_ + static_cast<int32_t>(o.dense_.size()) - 1;
  Cover(o.base_, o_hi);
  uint64_t* d = dense_.data() + (o.base_ - base_);
  for (size_t i = 0; i < o.dense_.size(); ++i) d[i] += o.dense_[i];
  count_ += o.count_;
  dirty_ = true;
}

const storage::LatencySketch& LatencyAccumulator::Sketch() const {
  if (!dirty_) return sketch_;
  storage::LatencySketch merged;
  for (size_t i = 0; i < dense_.size(); ++i) {
    if (dense_[i] != 0) merged.AddToBucket(base_ + static_cast<int32_t>(i), dense_[i]);
  }
  sketch_ = std::move(merged);
  dirty_ = false;
  return sketch_;
}

void EdgeStats::Add(const RollupValue& v, Protocol p, uint64_t req, uint64_t err) {
  requests += req;
  errors += err;
  size_t pi = static_cast<size_t>(p);
  by_protocol[pi < by_protocol.size() ? pi : 4] += req;
  server_latency.Add(v.server_latency);
  client_latency.Add(v.client_latency);
}

void EdgeStats::Merge(const EdgeStats& o) {
  requests += o.requests;
  errors += o.errors;
  for (size_t i = 0; i < by_protocol.size(); ++i) by_protocol[i] += o.by_protocol[i];
  if (!o.server_latency.Empty()) server_latency.Merge(o.server_latency);
  if (!o.client_latency.Empty()) client_latency.Merge(o.client_latency);
}

Protocol EdgeStats::MajorityProtocol() const {
  size_t best = 4;
  uint64_t best_n = 0;
  for (size_t i = 0; i < by_protocol.size(); ++i) {
    if (by_protocol[i] > best_n) {
      best_n = by_protocol[i];
      best = i;
    }
  }
  return static_cast<Protocol>(best);
}

Status RunPlan(const Plan& plan, const storage::EdgeStore& store, Predicate* pred,
               const RecordSink& sink) {
  for (const auto& spec : plan.Specs()) {
    int64_t unit = storage::TierUnitMinutes(spec.tier);
    storage::Tier tier = spec.tier;
    Status s = store.Scan(spec, [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
      auto [req, err] = pred->Select(d, v.requests, v.errors);
      if (req > 0) sink(time * unit, tier, d, v, req, err);
      return true;
    });
    EW_RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

Result<EdgeTable> AggregateEdges(const Plan& plan, const storage::EdgeStore& store,
                                 Predicate* pred) {
  EdgeTable table;
  table.reserve(4096);
  // Scans directly (no RecordSink indirection per record).
  for (const auto& spec : plan.Specs()) {
    Status s = store.Scan(spec, [&](int64_t, const EdgeDims& d, const RollupValue& v) {
      auto [req, err] = pred->Select(d, v.requests, v.errors);
      if (req > 0) table[EdgeKey(d.client, d.server)].Add(v, d.protocol, req, err);
      return true;
    });
    EW_RETURN_IF_ERROR(s);
  }
  return table;
}

std::string NodeIdString(storage::NodeId id) { return "n" + std::to_string(id); }

std::optional<storage::NodeId> ParseNodeId(std::string_view s) {
  if (s.size() < 2 || s[0] != 'n') return std::nullopt;
  storage::NodeId id = 0;
  auto [p, ec] = std::from_chars(s.data() + 1, s.data() + s.size(), id);
  if (ec != std::errc() || p != s.data() + s.size() || id == 0) return std::nullopt;
  return id;
}

namespace {

// The map identity of a stored node (its namespace group when grouping).
MapNode Identify(storage::NodeId id, Dictionary* dict, bool group) {
  const auto& info = dict->Node(id);
  MapNode n;
  if (group && info.kind == NodeKind::kService) {
    n.id = "ns:" + info.ns;
    n.kind = "namespace";
    n.ns = info.ns;
    n.name = info.ns;
  } else {
    n.id = NodeIdString(id);
    n.kind = std::string(storage::NodeKindName(info.kind));
    n.ns = info.ns;
    n.name = info.name;
  }
  return n;
}

bool BySourceTarget(const MapEdge& a, const MapEdge& b) {
  return std::tie(a.source, a.target) < std::tie(b.source, b.target);
}

}  // namespace

ServiceMap BuildMap(EdgeTable current, EdgeTable* previous, Dictionary* dict, bool group) {
  ServiceMap map;
  map.compared = previous != nullptr;
  // Map nodes get dense indexes (one string identity per node, built once); edges are keyed by
  // (source index, target index) so no string is hashed or compared per table entry.
  std::unordered_map<storage::NodeId, uint32_t> index_of_node;
  std::unordered_map<std::string, uint32_t> index_of_id;
  std::vector<const MapNode*> identity;
  auto index = [&](storage::NodeId id) -> uint32_t {
    auto [it, fresh] = index_of_node.try_emplace(id, 0);
    if (!fresh) return it->second;
    MapNode n = Identify(id, dict, group);
    auto [jt, new_id] = index_of_id.try_emplace(n.id, static_cast<uint32_t>(identity.size()));
    if (new_id) identity.push_back(&map.node_info.emplace(n.id, std::move(n)).first->second);
    return it->second = jt->second;
  };
  std::unordered_map<uint64_t, size_t> edge_of;
  edge_of.reserve(current.size());
  map.edges.reserve(current.size());
  auto add = [&](EdgeTable& table, bool prev) {
    for (auto& [key, stats] : table) {
      uint32_t s = index(static_cast<storage::NodeId>(key >> 32));
      uint32_t t = index(static_cast<storage::NodeId>(key & 0xffffffffu));
      auto [it, fresh] = edge_of.try_emplace((static_cast<uint64_t>(s) << 32) | t, 0);
      if (fresh) {
        it->second = map.edges.size();
        map.edges.push_back(MapEdge{identity[s]->id, identity[t]->id, {}, {}});
        (prev ? map.edges.back().previous : map.edges.back().stats) = std::move(stats);
        continue;
      }
      MapEdge& e = map.edges[it->second];
      (prev ? e.previous : e.stats).Merge(stats);
    }
  };
  add(current, false);
  if (previous) add(*previous, true);
  // Sort a permutation, then move each edge once (an edge carries four sketch accumulators).
  std::vector<uint32_t> order(map.edges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return BySourceTarget(map.edges[a], map.edges[b]); });
  std::vector<MapEdge> sorted;
  sorted.reserve(order.size());
  for (uint32_t i : order) sorted.push_back(std::move(map.edges[i]));
  map.edges = std::move(sorted);
  return map;
}

bool FocusMap(ServiceMap* map, const std::string& focus, int depth) {
  if (!map->node_info.count(focus)) return false;
  std::unordered_map<std::string, std::vector<size_t>> out_edges, in_edges;
  for (size_t i = 0; i < map->edges.size(); ++i) {
    out_edges[map->edges[i].source].push_back(i);
    in_edges[map->edges[i].target].push_back(i);
  }
  std::vector<bool> keep(map->edges.size(), false);
  // One breadth-first walk downstream (along edges) and one upstream (against them).
  for (int dir = 0; dir < 2; ++dir) {
    auto& adj = dir == 0 ? out_edges : in_edges;
    std::unordered_map<std::string, int> dist{{focus, 0}};
    std::deque<std::string> q{focus};
    while (!q.empty()) {
      std::string cur = q.front();
      q.pop_front();
      int d = dist[cur];
      if (d >= depth) continue;
      for (size_t i : adj[cur]) {
        keep[i] = true;
        const std::string& next = dir == 0 ? map->edges[i].target : map->edges[i].source;
        if (dist.try_emplace(next, d + 1).second) q.push_back(next);
      }
    }
  }
  std::vector<MapEdge> kept;
  for (size_t i = 0; i < map->edges.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(map->edges[i]));
  }
  map->edges = std::move(kept);
  return true;
}

void PruneMap(ServiceMap* map, const PruneOptions& o) {
  auto& edges = map->edges;
  bool prev = map->compared;
  auto drop = [&](const MapEdge& e) {
    if (o.min_requests > 0 && e.stats.requests < o.min_requests &&
        !(prev && e.previous.requests >= o.min_requests)) {
      return true;
    }
    return o.errors_only && e.stats.errors == 0 && !(prev && e.previous.errors > 0);
  };
  edges.erase(std::remove_if(edges.begin(), edges.end(), drop), edges.end());
  if (o.top > 0 && edges.size() > o.top) {
    auto rank = [&](const MapEdge& e) {
      const EdgeStats& s = e.stats;
      return o.top_by_errors ? std::pair{s.errors, s.requests} : std::pair{s.requests, s.errors};
    };
    std::stable_sort(edges.begin(), edges.end(),
                     [&](const MapEdge& a, const MapEdge& b) { return rank(a) > rank(b); });
    edges.resize(o.top);
    std::sort(edges.begin(), edges.end(), BySourceTarget);
  }
}

void FinishNodes(ServiceMap* map) {
  // Keys view the edges' id strings, which outlive this function's use of them.
  std::vector<MapNode> nodes;
  std::vector<std::string_view> keys;
  std::unordered_map<std::string_view, size_t> index_of;
  index_of.reserve(map->node_info.size());
  auto node = [&](const std::string& id) -> MapNode& {
    auto [it, fresh] = index_of.try_emplace(std::string_view(id), nodes.size());
    if (fresh) {
      nodes.push_back(map->node_info[id]);
      keys.push_back(id);
    }
    return nodes[it->second];
  };
  for (const auto& e : map->edges) {
    MapNode& s = node(e.source);
    s.requests_out += e.stats.requests;
    s.errors_out += e.stats.errors;
    s.prev_requests_out += e.previous.requests;
    s.prev_errors_out += e.previous.errors;
    MapNode& t = node(e.target);
    t.requests_in += e.stats.requests;
    t.errors_in += e.stats.errors;
    t.prev_requests_in += e.previous.requests;
    t.prev_errors_in += e.previous.errors;
  }
  std::vector<uint32_t> order(nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  map->nodes.clear();
  map->nodes.reserve(order.size());
  for (uint32_t i : order) map->nodes.push_back(std::move(nodes[i]));
}

std::string_view ChangeOf(uint64_t now, uint64_t prev) {
  if (now > 0 && prev == 0) return "new";
  if (now == 0 && prev > 0) return "gone";
  return "same";
}

}  // namespace ew::query
