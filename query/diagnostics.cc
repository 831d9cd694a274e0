#include "query/diagnostics.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "query/map_builder.h"
#include "query/planner.h"

namespace ew::query {

using storage::NodeId;
using storage::NodeKind;

namespace {

constexpr std::string_view kUnknownExternal = "Unknown External Service";
constexpr size_t kMaxDestinations = 100;  // listed (and classified), most requests first

// Finds the traced service an external name stands for: a service of that name in the caller's
// namespace, `<service>.<namespace>[.svc.cluster.local]` (Kubernetes DNS), or a service of that
// name in any namespace.
class ServiceFinder {
 public:
  ServiceFinder(const storage::EdgeStore& store, std::string caller_ns)
      : store_(store), caller_ns_(std::move(caller_ns)) {}

  std::optional<NodeId> Find(std::string_view host) {
    if (auto n = store_.FindNode(NodeKind::kService, caller_ns_, host)) return n;
    const size_t dot = host.find('.');
    if (dot != std::string_view::npos && dot > 0) {
      std::string_view rest = host.substr(dot + 1);
      std::string_view ns = rest.substr(0, rest.find('.'));
      if (!ns.empty()) {
        if (auto n = store_.FindNode(NodeKind::kService, ns, host.substr(0, dot))) return n;
      }
    }
    if (!namespaces_) {
      namespaces_.emplace();
      namespaces_->push_back("");
      for (auto& [id, ns] : store_.ListStrings(storage::StringKind::kNamespace)) {
        namespaces_->push_back(std::move(ns));
      }
    }
    for (const std::string& ns : *namespaces_) {
      if (auto n = store_.FindNode(NodeKind::kService, ns, host)) return n;
    }
    return std::nullopt;
  }

 private:
  const storage::EdgeStore& store_;
  std::string caller_ns_;
  std::optional<std::vector<std::string>> namespaces_;
};

// Whether traced services consumed from the messaging node without a parent span in the range
// (records of messaging node -> service in the client-ordered family).
Result<bool> HasParentlessConsumers(NodeId node, const storage::NodeInfo& info, int64_t start,
                                    int64_t end, const storage::EdgeStore& store,
                                    Dictionary* dict) {
  bool found = false;
  for (const TierRange& r : CoverMinutes(start, end)) {
    storage::ScanSpec spec;
    spec.family = storage::Family::kEdgeByClient;
    spec.tier = r.tier;
    spec.start = r.start;
    spec.end = r.end;
    spec.ns = info.ns_id;
    spec.node = node;
    spec.need_sketches = false;
    EW_RETURN_IF_ERROR(
        store.Scan(spec, [&](int64_t, const storage::EdgeDims& d, const storage::RollupValue& v) {
          found = v.requests > 0 && dict->Node(d.server).kind == NodeKind::kService;
          return !found;
        }));
    if (found) return true;
  }
  return false;
}

std::string_view VerdictName(UnansweredCalls::Verdict v) {
  switch (v) {
    case UnansweredCalls::Verdict::kExpected:
      return "expected";
    case UnansweredCalls::Verdict::kPropagation:
      return "propagation";
    case UnansweredCalls::Verdict::kUnknown:
      break;
  }
  return "unknown";
}

// "12 calls to traced services (cart, api)": up to three names, most requests first.
std::string Calls(uint64_t n, std::string_view what, const std::vector<std::string>& names) {
  std::string s = std::to_string(n) + (n == 1 ? " call to " : " calls to ") + std::string(what);
  if (names.empty()) return s;
  s += " (";
  for (size_t i = 0; i < names.size() && i < 3; ++i) s += (i ? ", " : "") + names[i];
  return s + (names.size() > 3 ? ", …)" : ")");
}

std::string Hint(const MissingEdges& m, Dictionary* dict) {
  std::array<uint64_t, 3> sums{};  // by verdict
  std::array<std::vector<std::string>, 3> names;
  for (const auto& d : m.destinations) {
    auto v = static_cast<size_t>(d.verdict);
    sums[v] += d.requests;
    names[v].push_back(dict->Node(d.node).name);
  }
  std::vector<std::string> parts;
  using V = UnansweredCalls::Verdict;
  const auto at = [](V v) { return static_cast<size_t>(v); };
  if (sums[at(V::kPropagation)] > 0) {
    parts.push_back(
        Calls(sums[at(V::kPropagation)], "traced services", names[at(V::kPropagation)]) +
        " got no server span: check trace-context propagation toward them");
  }
  if (m.expired[1] > 0) {
    parts.push_back(std::to_string(m.expired[1]) +
                    " server spans named a parent span that never arrived: check that callers "
                    "propagate trace context and export their client spans");
  }
  if (m.expired[2] > 0) {
    parts.push_back(std::to_string(m.expired[2]) +
                    " halves were evicted before their partner came: the pending table was full "
                    "(--max-pending)");
  }
  if (sums[at(V::kExpected)] > 0) {
    parts.push_back(
        Calls(sums[at(V::kExpected)], "untraced destinations", names[at(V::kExpected)]) +
        " have no server span, as expected for external services");
  }
  if (sums[at(V::kUnknown)] > 0) {
    parts.push_back(Calls(sums[at(V::kUnknown)], "unnamed destinations (IP addresses)", {}) +
                    " have no server span: whether they are traced cannot be told");
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

Result<std::vector<UnansweredCalls>> ClassifyUnanswered(const std::map<NodeId, uint64_t>& calls,
                                                        const std::string& caller_ns,
                                                        int64_t start_minute, int64_t end_minute,
                                                        const storage::EdgeStore& store,
                                                        Dictionary* dict) {
  std::vector<UnansweredCalls> out;
  for (const auto& [node, requests] : calls) {
    UnansweredCalls d;
    d.node = node;
    d.requests = requests;
    out.push_back(d);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.requests != b.requests ? a.requests > b.requests : a.node < b.node;
  });
  if (out.size() > kMaxDestinations) out.resize(kMaxDestinations);
  ServiceFinder finder(store, caller_ns);
  for (UnansweredCalls& d : out) {
    const storage::NodeInfo& info = dict->Node(d.node);
    if (info.kind == NodeKind::kMessaging) {
      EW_ASSIGN_OR_RETURN(bool consumed, HasParentlessConsumers(d.node, info, start_minute,
                                                                end_minute, store, dict));
      d.verdict =
          consumed ? UnansweredCalls::Verdict::kPropagation : UnansweredCalls::Verdict::kExpected;
    } else if (info.name == kUnknownExternal) {
      d.verdict = UnansweredCalls::Verdict::kUnknown;
    } else {
      d.traced_service = finder.Find(info.name);
      d.verdict = d.traced_service ? UnansweredCalls::Verdict::kPropagation
                                   : UnansweredCalls::Verdict::kExpected;
    }
  }
  return out;
}

void WriteMissingEdges(JsonWriter& w, const MissingEdges& m, Dictionary* dict) {
  uint64_t suspects = m.expired[1], expected = 0;
  w.Key("missing_edges").BeginObject();
  w.Key("client_halves_expired").Uint(m.expired[0]);
  w.Key("server_halves_expired").Uint(m.expired[1]);
  w.Key("evicted").Uint(m.expired[2]);
  w.Key("destinations").BeginArray();
  for (const auto& d : m.destinations) {
    const storage::NodeInfo& info = dict->Node(d.node);
    w.BeginObject();
    w.Key("node").String(NodeIdString(d.node));
    w.Key("kind").String(storage::NodeKindName(info.kind));
    w.Key("name").String(info.name);
    w.Key("requests").Uint(d.requests);
    w.Key("verdict").String(VerdictName(d.verdict));
    if (d.traced_service) w.Key("traced_service").String(NodeIdString(*d.traced_service));
    w.EndObject();
    if (d.verdict == UnansweredCalls::Verdict::kPropagation) suspects += d.requests;
    if (d.verdict == UnansweredCalls::Verdict::kExpected) expected += d.requests;
  }
  w.EndArray();
  w.Key("propagation_suspects").Uint(suspects);
  w.Key("expected_unpaired").Uint(expected);
  w.Key("hint").String(Hint(m, dict));
  w.EndObject();
}

}  // namespace ew::query
