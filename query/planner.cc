#include "query/planner.h"

#include <algorithm>

#include "base/time.h"

namespace ew::query {

using storage::Family;
using storage::Tier;

namespace {

constexpr int64_t kMinutesPerHour = 60;
constexpr int64_t kMinutesPerDay = 1440;

int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

// Covers [s, e) (minutes) with hours and minutes.
void CoverHours(int64_t s, int64_t e, std::vector<TierRange>* out) {
  if (s >= e) return;
  int64_t h0 = CeilDiv(s, kMinutesPerHour);
  int64_t h1 = FloorDiv(e, kMinutesPerHour);
  if (h0 >= h1) {
    out->push_back({Tier::kMinute, s, e});
    return;
  }
  if (s < h0 * kMinutesPerHour) out->push_back({Tier::kMinute, s, h0 * kMinutesPerHour});
  out->push_back({Tier::kHour, h0, h1});
  if (h1 * kMinutesPerHour < e) out->push_back({Tier::kMinute, h1 * kMinutesPerHour, e});
}

// The values of a top-level `field = v` or `field in (...)` conjunct, if there is one.
const std::vector<std::string>* ConjunctValues(const std::vector<const Expr*>& conj, Field f) {
  for (const Expr* c : conj) {
    if (c->field == f && (c->op == Op::kEq || c->op == Op::kIn)) return &c->values;
  }
  return nullptr;
}

void CollectConjuncts(const Expr* e, std::vector<const Expr*>* out) {
  if (!e) return;
  if (e->kind == Expr::Kind::kAnd) {
    CollectConjuncts(e->lhs.get(), out);
    CollectConjuncts(e->rhs.get(), out);
  } else if (e->kind == Expr::Kind::kCompare) {
    out->push_back(e);
  }
}

struct SidePrefixes {
  bool node_level = false;
  bool constrained = false;  // a key predicate exists on this side
  std::vector<KeyPrefix> prefixes;
};

// Prefixes for one side (server or client) from its namespace and name conjuncts.
SidePrefixes PrefixesFor(const std::vector<const Expr*>& conj, Field ns_field, Field name_field,
                         const storage::EdgeStore& store) {
  SidePrefixes out;
  const auto* nss = ConjunctValues(conj, ns_field);
  const auto* names = ConjunctValues(conj, name_field);
  if (names) {
    out.constrained = out.node_level = true;
    for (auto& [id, info] : store.ListNodes()) {
      if (std::find(names->begin(), names->end(), info.name) == names->end()) continue;
      if (nss && std::find(nss->begin(), nss->end(), info.ns) == nss->end()) continue;
      out.prefixes.push_back({info.ns_id, id, "node=" + info.ns + "/" + info.name});
    }
    return out;
  }
  if (nss) {
    out.constrained = true;
    for (const auto& ns : *nss) {
      std::optional<storage::StringId> id =
          ns.empty() ? std::optional<storage::StringId>(0)
                     : store.FindString(storage::StringKind::kNamespace, ns);
      // A namespace named twice (`in (shop, shop)`) is scanned once: each prefix is one scan,
      // and two scans of one prefix would count its records twice.
      const bool seen = std::any_of(out.prefixes.begin(), out.prefixes.end(),
                                    [&](const KeyPrefix& p) { return id && p.ns == *id; });
      if (id && !seen) out.prefixes.push_back({*id, std::nullopt, "ns=" + ns});
    }
  }
  return out;
}

}  // namespace

std::vector<TierRange> CoverMinutes(int64_t s, int64_t e) {
  std::vector<TierRange> out;
  if (s >= e) return out;
  int64_t d0 = CeilDiv(s, kMinutesPerDay);
  int64_t d1 = FloorDiv(e, kMinutesPerDay);
  if (d0 >= d1) {
    CoverHours(s, e, &out);
    return out;
  }
  CoverHours(s, d0 * kMinutesPerDay, &out);
  out.push_back({Tier::kDay, d0, d1});
  CoverHours(d1 * kMinutesPerDay, e, &out);
  return out;
}

Horizons RetentionHorizons(const std::array<int64_t, 3>& retention_ms, int64_t now_ms) {
  Horizons h;
  h.minute = FloorDiv(now_ms - retention_ms[0], kMsPerMinute);
  h.hour = FloorDiv(now_ms - retention_ms[1], kMsPerHour) * kMinutesPerHour;
  h.day = FloorDiv(now_ms - retention_ms[2], kMsPerDay) * kMinutesPerDay;
  return h;
}

std::pair<int64_t, int64_t> WidenForRetention(int64_t s, int64_t e, const Horizons& h) {
  // A start inside a tier's retention keeps the whole range inside it. Otherwise the ragged
  // pieces of that tier are [s, next unit) and [unit of e, e): both widen to the coarser unit.
  if (s < h.minute) {
    s = FloorDiv(s, kMinutesPerHour) * kMinutesPerHour;
    if (FloorDiv(e, kMinutesPerHour) * kMinutesPerHour < h.minute) {
      e = CeilDiv(e, kMinutesPerHour) * kMinutesPerHour;
    }
  }
  if (s < h.hour) {
    s = FloorDiv(s, kMinutesPerDay) * kMinutesPerDay;
    if (FloorDiv(e, kMinutesPerDay) * kMinutesPerDay < h.hour) {
      e = CeilDiv(e, kMinutesPerDay) * kMinutesPerDay;
    }
  }
  return {s, e};
}

std::pair<int64_t, int64_t> MinuteRange(int64_t start_ms, int64_t end_ms) {
  return {FloorDiv(start_ms, kMsPerMinute), -FloorDiv(-end_ms, kMsPerMinute)};
}

std::string_view FamilyName(Family f) {
  switch (f) {
    case Family::kEdge:
      return "edge";
    case Family::kEdgeByClient:
      return "edge_by_client";
    case Family::kDetail:
      return "detail";
  }
  return "?";
}

std::string_view TierName(Tier t) {
  return t == Tier::kMinute ? "minute" : t == Tier::kHour ? "hour" : "day";
}

std::vector<storage::ScanSpec> Plan::Specs() const {
  std::vector<storage::ScanSpec> out;
  if (nothing) return out;
  for (const auto& r : ranges) {
    storage::ScanSpec s;
    s.family = family;
    s.tier = r.tier;
    s.start = r.start;
    s.end = r.end;
    s.need_minute_counts = need_minute_counts;
    if (prefixes.empty()) {
      out.push_back(s);
      continue;
    }
    for (const auto& p : prefixes) {
      s.ns = p.ns;
      s.node = p.node;
      out.push_back(s);
    }
  }
  return out;
}

Plan MakePlan(const Expr* root, int64_t start_minute, int64_t end_minute,
              const storage::EdgeStore& store) {
  Plan plan;
  plan.start_minute = start_minute;
  plan.end_minute = end_minute;
  plan.ranges = CoverMinutes(start_minute, end_minute);
  std::vector<const Expr*> conj;
  CollectConjuncts(root, &conj);
  bool detail = ExprUses(root, Field::kPath) || ExprUses(root, Field::kMethod) ||
                ExprUses(root, Field::kStatus);
  SidePrefixes server =
      PrefixesFor(conj, Field::kServerNamespace, Field::kServerServiceName, store);
  SidePrefixes client =
      detail ? SidePrefixes{}
             : PrefixesFor(conj, Field::kClientNamespace, Field::kClientServiceName, store);
  plan.family = detail ? Family::kDetail : Family::kEdge;
  plan.why = detail ? "path/method/status filter: detailed family" : "edge-level family";
  const SidePrefixes* chosen = nullptr;
  if (server.constrained && (server.node_level || !client.node_level)) {
    chosen = &server;
    plan.why += "; server-side key prefixes";
  } else if (client.constrained) {
    chosen = &client;
    plan.family = Family::kEdgeByClient;
    plan.why = "client-side key prefixes: client-ordered family";
  }
  if (chosen) {
    plan.prefixes = chosen->prefixes;
    if (plan.prefixes.empty()) {
      plan.nothing = true;
      plan.why += "; the named namespace/service does not exist";
    }
  }
  return plan;
}

}  // namespace ew::query
