// Reference model answers (see model.h).
#include "tests/model/model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "base/time.h"

namespace ew::model {

using storage::Tier;

std::array<double, 4> NearestRank(std::vector<uint32_t> us) {
  std::sort(us.begin(), us.end());
  std::array<double, 4> out{};
  const double qs[4] = {0.50, 0.90, 0.95, 0.99};
  const auto n = static_cast<double>(us.size());
  for (int i = 0; i < 4; ++i) {
    // The smallest rank r (1-based) with r >= q * n.
    auto rank = static_cast<size_t>(std::ceil(qs[i] * n - 1e-9));
    rank = std::clamp<size_t>(rank, 1, us.size());
    out[i] = us[rank - 1] / 1000.0;
  }
  return out;
}

std::vector<std::tuple<Tier, int64_t, int64_t>> Model::Cover(int64_t s, int64_t e) {
  std::vector<std::tuple<Tier, int64_t, int64_t>> out;
  auto hours = [&](int64_t a, int64_t b) {
    const int64_t h0 = -FloorDiv(-a, 60) * 60, h1 = FloorDiv(b, 60) * 60;
    if (h0 >= h1) {
      if (a < b) out.emplace_back(Tier::kMinute, a, b);
      return;
    }
    if (a < h0) out.emplace_back(Tier::kMinute, a, h0);
    out.emplace_back(Tier::kHour, h0, h1);
    if (h1 < b) out.emplace_back(Tier::kMinute, h1, b);
  };
  const int64_t d0 = -FloorDiv(-s, 1440) * 1440, d1 = FloorDiv(e, 1440) * 1440;
  if (d0 >= d1) {
    hours(s, e);
    return out;
  }
  hours(s, d0);
  out.emplace_back(Tier::kDay, d0, d1);
  hours(d1, e);
  return out;
}

Tier Model::TierOf(int64_t m, int64_t s, int64_t e) {
  // Whole days inside [s, e) come from the day tier; whole hours (outside them) from the hour
  // tier; the rest from the minute tier.
  const int64_t d0 = -FloorDiv(-s, 1440), d1 = FloorDiv(e, 1440);
  if (d0 < d1 && m >= d0 * 1440 && m < d1 * 1440) return Tier::kDay;
  // The hour cover applies to each ragged side separately.
  int64_t hs = s, he = e;
  if (d0 < d1) {
    if (m < d0 * 1440) {
      he = d0 * 1440;
    } else {
      hs = d1 * 1440;
    }
  }
  const int64_t h0 = -FloorDiv(-hs, 60), h1 = FloorDiv(he, 60);
  if (h0 < h1 && m >= h0 * 60 && m < h1 * 60) return Tier::kHour;
  return Tier::kMinute;
}

Model::Model(const Dataset& d) : d_(d) {
  for (const Node& n : d.nodes) {
    keys_.push_back(n.Key());
    group_keys_.push_back(n.kind == storage::NodeKind::kService ? "namespace/" + n.ns + "/" + n.ns
                                                                : n.Key());
  }
}

std::pair<const Request*, const Request*> Model::InRange(int64_t start, int64_t end) const {
  auto by_minute = [](const Request& r, int64_t m) { return r.minute < m; };
  const auto b = std::lower_bound(d_.requests.begin(), d_.requests.end(), start, by_minute);
  const auto e = std::lower_bound(b, d_.requests.end(), end, by_minute);
  const Request* base = d_.requests.data();
  return {base + (b - d_.requests.begin()), base + (e - d_.requests.begin())};
}

bool Model::Visible(Tier tier, int64_t minute) const {
  return d_.retention.Keeps(tier, FloorDiv(minute, storage::TierUnitMinutes(tier)), d_.now_ms);
}

namespace {

// One round of widening: every ragged piece of the cover with a unit the retention dropped
// grows to the coarser unit around it.
bool WidenOnce(const Retention& ret, int64_t now_ms, int64_t* s, int64_t* e) {
  bool changed = false;
  for (const auto& [tier, a, b] : Model::Cover(*s, *e)) {
    if (tier == Tier::kDay) continue;
    const int64_t unit = storage::TierUnitMinutes(tier);
    const int64_t coarser = tier == Tier::kMinute ? 60 : 1440;
    bool dropped = false;
    for (int64_t u = FloorDiv(a, unit); u * unit < b && !dropped; ++u) {
      dropped = !ret.Keeps(tier, u, now_ms);
    }
    if (!dropped) continue;
    const int64_t ws = std::min(*s, FloorDiv(a, coarser) * coarser);
    const int64_t we = std::max(*e, -FloorDiv(-b, coarser) * coarser);
    changed = changed || ws != *s || we != *e;
    *s = ws;
    *e = we;
  }
  return changed;
}

}  // namespace

void Model::Widen(int64_t* start, int64_t* end, int64_t now_ms) const {
  while (WidenOnce(d_.retention, now_ms, start, end)) {
  }
}

int64_t Model::SeriesStep(int64_t start, int64_t step, int64_t now_ms) const {
  for (;;) {
    const Tier tier = step % 1440 == 0 ? Tier::kDay : step % 60 == 0 ? Tier::kHour : Tier::kMinute;
    const int64_t unit = storage::TierUnitMinutes(tier);
    const int64_t first = FloorDiv(start, step) * step;
    if (tier == Tier::kDay || d_.retention.Keeps(tier, FloorDiv(first, unit), now_ms)) return step;
    step = std::lcm(step, tier == Tier::kMinute ? int64_t{60} : int64_t{1440});
  }
}

std::string Model::GroupKey(uint32_t node, bool group) const {
  return group ? group_keys_[node] : keys_[node];
}

void Model::Acc::Add(const Request& r) {
  ++requests;
  errors += r.error ? 1 : 0;
  ++protocols[r.protocol];
  if (r.server_us != 0) server_us.push_back(r.server_us);
  if (r.client_us != 0) client_us.push_back(r.client_us);
}

Figures Model::Acc::Finish(bool latency) {
  Figures f;
  f.requests = requests;
  f.errors = errors;
  const auto& v = server_us.empty() ? client_us : server_us;
  if (latency && !v.empty()) f.latency_ms = NearestRank(v);
  return f;
}

std::map<EdgeKey, Model::Acc> Model::Aggregate(const Filter* filter, int64_t s, int64_t e,
                                               bool group) const {
  std::map<std::pair<uint32_t, uint32_t>, Acc> by_index;
  const auto& keys = group ? group_keys_ : keys_;
  for (auto [r, last] = InRange(s, e); r != last; ++r) {
    if (!Visible(TierOf(r->minute, s, e), r->minute)) continue;
    if (filter && !filter->Matches(d_, *r)) continue;
    by_index[{r->client, r->server}].Add(*r);
  }
  std::map<EdgeKey, Acc> out;
  for (auto& [k, acc] : by_index) {
    Acc& o = out[{keys[k.first], keys[k.second]}];
    if (o.requests == 0) {
      o = std::move(acc);
      continue;
    }
    o.requests += acc.requests;
    o.errors += acc.errors;
    for (auto [p, n] : acc.protocols) o.protocols[p] += n;
    o.server_us.insert(o.server_us.end(), acc.server_us.begin(), acc.server_us.end());
    o.client_us.insert(o.client_us.end(), acc.client_us.begin(), acc.client_us.end());
  }
  return out;
}

namespace {

std::string Majority(const std::map<storage::Protocol, uint64_t>& counts) {
  uint64_t best = 0;
  std::string name;
  for (const auto& [p, n] : counts) {
    if (n > best) {
      best = n;
      name = storage::ProtocolName(p);
    } else if (n == best) {
      name.clear();  // a tie: either may be reported
    }
  }
  return name;
}

// focus/depth: the edges within `depth` hops downstream (along edges) or upstream (against them)
// of node f; siblings reached by going up then down are not included.
void KeepNeighbourhood(const std::string& f, int depth, std::map<EdgeKey, EdgeAnswer>* edges) {
  std::map<std::string, std::vector<EdgeKey>> out, in;
  for (const auto& [k, e] : *edges) {
    out[k.first].push_back(k);
    in[k.second].push_back(k);
  }
  std::set<EdgeKey> keep;
  for (int dir = 0; dir < 2; ++dir) {
    auto& adj = dir == 0 ? out : in;
    std::map<std::string, int> dist{{f, 0}};
    std::vector<std::string> frontier{f};
    for (int d = 0; d < depth && !frontier.empty(); ++d) {
      std::vector<std::string> next;
      for (const auto& n : frontier) {
        for (const EdgeKey& k : adj[n]) {
          keep.insert(k);
          const std::string& m = dir == 0 ? k.second : k.first;
          if (dist.emplace(m, d + 1).second) next.push_back(m);
        }
      }
      frontier = std::move(next);
    }
  }
  for (auto it = edges->begin(); it != edges->end();) {
    it = keep.count(it->first) ? std::next(it) : edges->erase(it);
  }
}

}  // namespace

MapAnswer Model::Map(const MapOptions& o) const {
  const bool latency = !(o.filter && o.filter->Uses(FField::kError));
  auto cur = Aggregate(o.filter, o.start, o.end, o.group_namespace);
  std::map<EdgeKey, Acc> prev;
  if (o.compare_minutes) {
    prev = Aggregate(o.filter, o.prev_start, o.prev_end, o.group_namespace);
  }
  MapAnswer a;
  const double seconds = static_cast<double>(o.end - o.start) * 60;
  for (auto& [k, acc] : cur) {
    EdgeAnswer& e = a.edges[k];
    e.protocol = Majority(acc.protocols);
    e.now = acc.Finish(latency);
  }
  for (auto& [k, acc] : prev) {
    auto [it, fresh] = a.edges.try_emplace(k);
    if (fresh) it->second.protocol = Majority(acc.protocols);
    it->second.previous = acc.Finish(latency);
  }
  for (auto& [k, e] : a.edges) {
    e.rate_per_s = static_cast<double>(e.now.requests) / seconds;
    e.error_rate = e.now.requests ? static_cast<double>(e.now.errors) / e.now.requests : 0;
    if (o.compare_minutes) {
      if (!e.previous) e.previous = Figures{};
      e.change = e.now.requests == 0 ? "gone" : e.previous->requests == 0 ? "new" : "same";
    }
  }
  if (o.focus) KeepNeighbourhood(GroupKey(*o.focus, o.group_namespace), o.depth, &a.edges);
  for (auto it = a.edges.begin(); it != a.edges.end();) {
    const EdgeAnswer& e = it->second;
    const bool prev = o.compare_minutes.has_value();
    bool drop = o.min_requests > 0 && e.now.requests < o.min_requests &&
                !(prev && e.previous->requests >= o.min_requests);
    drop = drop || (o.errors_only && e.now.errors == 0 && !(prev && e.previous->errors > 0));
    it = drop ? a.edges.erase(it) : std::next(it);
  }
  // top= is checked by the caller (ties may keep either edge); nodes follow the kept edges.
  return a;
}

std::map<int64_t, SeriesPoint> Model::Series(const Filter* filter, std::optional<EdgeKey> edge,
                                             int64_t start, int64_t end, int64_t step,
                                             bool group) const {
  const Tier tier = step % 1440 == 0 ? Tier::kDay : step % 60 == 0 ? Tier::kHour : Tier::kMinute;
  const int64_t s = FloorDiv(start, step) * step, e = -FloorDiv(-end, step) * step;
  const bool latency = !(filter && filter->Uses(FField::kError));
  std::map<int64_t, Acc> acc;
  for (auto [r, last] = InRange(s, e); r != last; ++r) {
    if (!Visible(tier, r->minute)) continue;
    const auto& keys = group ? group_keys_ : keys_;
    if (edge && (keys[r->client] != edge->first || keys[r->server] != edge->second)) continue;
    if (filter && !filter->Matches(d_, *r)) continue;
    acc[s + (r->minute - s) / step * step].Add(*r);
  }
  std::map<int64_t, SeriesPoint> out;
  for (auto& [t, a] : acc) {
    Figures f = a.Finish(latency);
    out[t] = {f.requests, f.errors, f.latency_ms};
  }
  return out;
}

uint64_t Model::ClientHalvesExpired(uint32_t node, int64_t start, int64_t end) const {
  uint64_t n = 0;
  for (const Request& r : d_.requests) {
    if (r.client != node || r.minute < start || r.minute >= end) continue;
    if (!r.otlp || r.shape != Shape::kClientOnly) continue;
    if (d_.nodes[r.server].kind == storage::NodeKind::kDatabase) continue;  // complete at once
    if (Visible(Tier::kMinute, r.minute)) ++n;
  }
  return n;
}

uint64_t Model::ServerHalvesExpired(uint32_t node, int64_t start, int64_t end) const {
  uint64_t n = 0;
  for (auto [r, last] = InRange(start, end); r != last; ++r) {
    if (r->server == node && r->otlp && r->shape == Shape::kOrphanServer &&
        Visible(Tier::kMinute, r->minute)) {
      ++n;
    }
  }
  return n;
}

std::vector<const Request*> Model::EdgeRequests(uint32_t client, uint32_t server, int64_t start,
                                                int64_t end, bool group) const {
  std::vector<const Request*> out;
  const auto& keys = group ? group_keys_ : keys_;
  for (const Request& r : d_.requests) {
    const bool ends = group ? keys[r.client] == keys[client] && keys[r.server] == keys[server]
                            : r.client == client && r.server == server;
    if (ends && r.minute >= start && r.minute < end && Visible(Tier::kMinute, r.minute)) {
      out.push_back(&r);
    }
  }
  return out;
}

}  // namespace ew::model
