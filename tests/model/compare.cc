// Server answers vs the model (see compare.h).
#include "tests/model/compare.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "schemas/query_generated.h"

namespace ew::model {
namespace {

std::string Num(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

std::string EdgeName(const EdgeKey& k) { return k.first + " -> " + k.second; }

bool Close(double want, double got) {
  // Doubles print with at most six decimals.
  return std::fabs(want - got) <= 1.5e-6 + 1e-9 * std::fabs(want);
}

std::optional<std::array<double, 4>> FbLatency(const fb::Latency* l) {
  if (!l) return std::nullopt;
  return std::array<double, 4>{l->p50(), l->p90(), l->p95(), l->p99()};
}

}  // namespace

bool LatencyClose(double want_ms, double got_ms) {
  return std::fabs(want_ms - got_ms) <= 0.01 * want_ms + 1.5e-6;
}

std::map<std::string, std::string> NodeKeys(const testing::Json& nodes) {
  std::map<std::string, std::string> out;
  for (const auto& n : nodes.Elements()) {
    out[n["id"].String()] =
        n["kind"].String() + "/" + n["namespace"].String() + "/" + n["name"].String();
  }
  return out;
}

std::optional<std::array<double, 4>> ParseLatencyJson(const testing::Json& l) {
  if (!l.IsObject()) return std::nullopt;
  return std::array<double, 4>{l["p50"].Double(), l["p90"].Double(), l["p95"].Double(),
                               l["p99"].Double()};
}

EdgeAnswer ParseEdgeJson(const testing::Json& e) {
  EdgeAnswer a;
  a.protocol = e["protocol"].String();
  a.now.requests = e["requests"].Uint();
  a.now.errors = e["errors"].Uint();
  a.now.latency_ms = ParseLatencyJson(e["latency_ms"]);
  a.rate_per_s = e["rate_per_s"].Double();
  a.error_rate = e["error_rate"].Double();
  a.change = e["change"].String();
  if (e.Has("previous")) {
    Figures p;
    p.requests = e["previous"]["requests"].Uint();
    p.errors = e["previous"]["errors"].Uint();
    p.latency_ms = ParseLatencyJson(e["previous"]["latency_ms"]);
    a.previous = p;
  }
  return a;
}

Result<ServerMap> ParseMapJson(const std::string& body) {
  EW_ASSIGN_OR_RETURN(testing::Json doc, testing::Json::Parse(body));
  ServerMap m;
  m.key_of_id = NodeKeys(doc["nodes"]);
  for (const auto& n : doc["nodes"].Elements()) {
    NodeAnswer& a = m.answer.nodes[m.key_of_id[n["id"].String()]];
    a.requests_in = n["requests_in"].Uint();
    a.errors_in = n["errors_in"].Uint();
    a.requests_out = n["requests_out"].Uint();
    a.errors_out = n["errors_out"].Uint();
    if (n.Has("previous")) {
      const auto& p = n["previous"];
      a.previous = {p["requests_in"].Uint(), p["errors_in"].Uint(), p["requests_out"].Uint(),
                    p["errors_out"].Uint()};
    }
    a.change = n["change"].String();
  }
  for (const auto& e : doc["edges"].Elements()) {
    const std::string src = e["source"].String(), dst = e["target"].String();
    if (!m.key_of_id.count(src) || !m.key_of_id.count(dst)) {
      return Status::Internal("edge endpoint missing from nodes: " + src + " -> " + dst);
    }
    m.answer.edges[{m.key_of_id[src], m.key_of_id[dst]}] = ParseEdgeJson(e);
  }
  return m;
}

Result<ServerMap> ParseMapFlatBuffers(const std::string& body) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  if (!fb::VerifyMapResponseBuffer(v)) return Status::Internal("FlatBuffers map does not verify");
  const fb::MapResponse* r = fb::GetMapResponse(body.data());
  ServerMap m;
  auto str = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
  if (r->nodes()) {
    for (const fb::MapNode* n : *r->nodes()) {
      const std::string key = str(n->kind()) + "/" + str(n->ns()) + "/" + str(n->name());
      m.key_of_id[str(n->id())] = key;
      NodeAnswer& a = m.answer.nodes[key];
      a.requests_in = n->requests_in();
      a.errors_in = n->errors_in();
      a.requests_out = n->requests_out();
      a.errors_out = n->errors_out();
      a.change = str(n->change());
    }
  }
  if (r->edges()) {
    for (const fb::MapEdge* e : *r->edges()) {
      EdgeAnswer a;
      a.protocol = str(e->protocol());
      a.now.requests = e->requests();
      a.now.errors = e->errors();
      a.now.latency_ms = FbLatency(e->latency_ms());
      a.rate_per_s = e->rate_per_s();
      a.error_rate = e->error_rate();
      a.change = str(e->change());
      if (e->previous()) {
        Figures p;
        p.requests = e->previous()->requests();
        p.errors = e->previous()->errors();
        p.latency_ms = FbLatency(e->previous()->latency_ms());
        a.previous = p;
      }
      const std::string src = str(e->source()), dst = str(e->target());
      if (!m.key_of_id.count(src) || !m.key_of_id.count(dst)) {
        return Status::Internal("edge endpoint missing from nodes: " + src + " -> " + dst);
      }
      m.answer.edges[{m.key_of_id[src], m.key_of_id[dst]}] = a;
    }
  }
  return m;
}

void CompareFigures(const std::string& what, const Figures& want, const Figures& got, bool latency,
                    std::vector<std::string>* diffs) {
  if (want.requests != got.requests || want.errors != got.errors) {
    diffs->push_back(what + ": requests/errors model " + std::to_string(want.requests) + "/" +
                     std::to_string(want.errors) + ", server " + std::to_string(got.requests) +
                     "/" + std::to_string(got.errors));
    return;
  }
  if (!latency || !want.latency_ms) return;
  if (!got.latency_ms) {
    diffs->push_back(what + ": no latency from the server");
    return;
  }
  static const char* kNames[] = {"p50", "p90", "p95", "p99"};
  for (int i = 0; i < 4; ++i) {
    if (!LatencyClose((*want.latency_ms)[i], (*got.latency_ms)[i])) {
      diffs->push_back(what + ": " + kNames[i] + " model " + Num((*want.latency_ms)[i]) +
                       " ms (exact nearest rank), server " + Num((*got.latency_ms)[i]) + " ms");
    }
  }
}

namespace {

std::pair<uint64_t, uint64_t> Rank(const EdgeAnswer& e, bool by_errors) {
  return by_errors ? std::pair{e.now.errors, e.now.requests}
                   : std::pair{e.now.requests, e.now.errors};
}

// The model's edges that top= may have kept: checks the server's choice and returns the model
// restricted to it.
std::map<EdgeKey, EdgeAnswer> ApplyTop(const std::map<EdgeKey, EdgeAnswer>& model,
                                       const std::map<EdgeKey, EdgeAnswer>& server,
                                       const CompareOptions& o, std::vector<std::string>* diffs) {
  if (o.top == 0 || model.size() <= o.top) return model;
  if (server.size() != o.top) {
    diffs->push_back("top=" + std::to_string(o.top) + ": server kept " +
                     std::to_string(server.size()) + " of " + std::to_string(model.size()));
  }
  std::map<EdgeKey, EdgeAnswer> kept;
  std::pair<uint64_t, uint64_t> lowest_kept{UINT64_MAX, UINT64_MAX}, highest_dropped{0, 0};
  for (const auto& [k, e] : model) {
    if (server.count(k)) {
      kept[k] = e;
      lowest_kept = std::min(lowest_kept, Rank(e, o.top_by_errors));
    } else {
      highest_dropped = std::max(highest_dropped, Rank(e, o.top_by_errors));
    }
  }
  if (!kept.empty() && highest_dropped > lowest_kept) {
    diffs->push_back(
        "top=: a dropped edge ranks above a kept one (" + std::to_string(highest_dropped.first) +
        "," + std::to_string(highest_dropped.second) + " > " + std::to_string(lowest_kept.first) +
        "," + std::to_string(lowest_kept.second) + ")");
  }
  return kept;
}

bool GroupSelf(const EdgeKey& k) {
  return k.first == k.second && k.first.rfind("namespace/", 0) == 0;
}

// One edge present on both sides.
void CompareEdge(const EdgeKey& k, const EdgeAnswer& want, const EdgeAnswer& got,
                 const CompareOptions& o, std::vector<std::string>* diffs) {
  const std::string name = "edge " + EdgeName(k);
  CompareFigures(name, want.now, got.now, o.latency, diffs);
  if (!want.protocol.empty() && want.protocol != got.protocol && want.now.requests > 0) {
    diffs->push_back(name + ": protocol model " + want.protocol + ", server " + got.protocol);
  }
  if (!Close(want.rate_per_s, got.rate_per_s) || !Close(want.error_rate, got.error_rate)) {
    diffs->push_back(name + ": rate/error_rate model " + Num(want.rate_per_s) + "/" +
                     Num(want.error_rate) + ", server " + Num(got.rate_per_s) + "/" +
                     Num(got.error_rate));
  }
  if (want.previous) {
    if (!got.previous) {
      diffs->push_back(name + ": no previous figures");
    } else {
      CompareFigures(name + " previous", *want.previous, *got.previous, o.latency, diffs);
    }
    if (want.change != got.change) {
      diffs->push_back(name + ": change model " + want.change + ", server " + got.change);
    }
  }
}

// The ends of the kept edges, with in/out sums (and previous sums and change) of them.
std::map<std::string, NodeAnswer> WantNodes(const std::map<EdgeKey, EdgeAnswer>& model_edges) {
  std::map<std::string, NodeAnswer> want_nodes;
  for (const auto& [k, e] : model_edges) {
    NodeAnswer& s = want_nodes[k.first];
    NodeAnswer& t = want_nodes[k.second];
    s.requests_out += e.now.requests;
    s.errors_out += e.now.errors;
    t.requests_in += e.now.requests;
    t.errors_in += e.now.errors;
    if (e.previous) {
      for (NodeAnswer* n : {&s, &t}) {
        if (!n->previous) n->previous = std::array<uint64_t, 4>{};
      }
      (*t.previous)[0] += e.previous->requests;
      (*t.previous)[1] += e.previous->errors;
      (*s.previous)[2] += e.previous->requests;
      (*s.previous)[3] += e.previous->errors;
    }
  }
  for (auto& [key, n] : want_nodes) {
    if (!n.previous) continue;
    const uint64_t now = n.requests_in + n.requests_out;
    const uint64_t prev = (*n.previous)[0] + (*n.previous)[2];
    n.change = now > 0 && prev == 0 ? "new" : now == 0 && prev > 0 ? "gone" : "same";
  }
  return want_nodes;
}

// Nodes of the server's answer against the model's.
void CompareNodes(const std::map<EdgeKey, EdgeAnswer>& model_edges,
                  const std::map<std::string, NodeAnswer>& server_nodes,
                  std::vector<std::string>* diffs) {
  const std::map<std::string, NodeAnswer> want_nodes = WantNodes(model_edges);
  size_t node_diffs = 0;
  for (const auto& [key, want] : want_nodes) {
    auto it = server_nodes.find(key);
    if (it == server_nodes.end()) {
      if (node_diffs++ < 5) diffs->push_back("node missing: " + key);
      continue;
    }
    const NodeAnswer& got = it->second;
    const bool prev_differs = want.previous && ((got.previous && *got.previous != *want.previous) ||
                                                want.change != got.change);
    if (want.requests_in != got.requests_in || want.errors_in != got.errors_in ||
        want.requests_out != got.requests_out || want.errors_out != got.errors_out ||
        prev_differs) {
      if (node_diffs++ < 5) {
        diffs->push_back("node " + key + ": in/out model " + std::to_string(want.requests_in) +
                         "/" + std::to_string(want.requests_out) + ", server " +
                         std::to_string(got.requests_in) + "/" + std::to_string(got.requests_out) +
                         (prev_differs ? " (previous figures or change differ: model " +
                                             want.change + ", server " + got.change + ")"
                                       : ""));
      }
    }
  }
  if (server_nodes.size() != want_nodes.size()) {
    diffs->push_back("nodes: model " + std::to_string(want_nodes.size()) + ", server " +
                     std::to_string(server_nodes.size()));
  }
}

}  // namespace

void CompareMaps(const MapAnswer& model_in, const MapAnswer& server_in, const CompareOptions& o,
                 std::vector<std::string>* diffs) {
  MapAnswer server = server_in;
  std::map<EdgeKey, EdgeAnswer> model_edges = model_in.edges;
  if (o.skip_group_self_edges) {
    std::erase_if(model_edges, [](const auto& kv) { return GroupSelf(kv.first); });
    std::erase_if(server.edges, [](const auto& kv) { return GroupSelf(kv.first); });
  }
  model_edges = ApplyTop(model_edges, server.edges, o, diffs);
  size_t shown = 0;
  for (const auto& [k, want] : model_edges) {
    auto it = server.edges.find(k);
    if (it == server.edges.end()) {
      if (shown++ < 10) {
        diffs->push_back("edge missing: " + EdgeName(k) + " (model " +
                         std::to_string(want.now.requests) + " requests, " +
                         std::to_string(want.now.errors) + " errors" +
                         (want.previous ? ", previous " + std::to_string(want.previous->requests)
                                        : std::string()) +
                         ")");
      }
      continue;
    }
    CompareEdge(k, want, it->second, o, diffs);
  }
  for (const auto& [k, got] : server.edges) {
    if (!model_edges.count(k) && shown++ < 20) {
      diffs->push_back("edge not in the model: " + EdgeName(k) + " (" +
                       std::to_string(got.now.requests) + " requests)");
    }
  }
  if (shown > 20) diffs->push_back("... " + std::to_string(shown - 20) + " more edge differences");
  // Nodes: the ends of the kept edges with in/out sums of them.
  if (!o.skip_group_self_edges) CompareNodes(model_edges, server.nodes, diffs);
}

}  // namespace ew::model
