#include "tools/service_map.h"

#include <simdjson.h>

#include <map>

namespace ew::tools {
namespace {

double Number(simdjson::dom::element e) {
  double d = 0;
  if (!e.get(d)) return d;
  int64_t i = 0;
  if (!e.get(i)) return static_cast<double>(i);
  uint64_t u = 0;
  if (!e.get(u)) return static_cast<double>(u);
  return 0;
}

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return {};
  return std::string(v);
}

}  // namespace

Result<std::vector<MapEdge>> ParseMap(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(body.data(), body.size()).get(root)) {
    return Status::InvalidArgument(std::string("map response is not JSON: ") +
                                   simdjson::error_message(err));
  }
  simdjson::dom::array nodes, edges;
  if (root["nodes"].get(nodes) || root["edges"].get(edges)) {
    return Status::InvalidArgument("map response without nodes/edges: " +
                                   std::string(body.substr(0, 200)));
  }
  std::map<std::string, NodeRef> by_id;
  for (simdjson::dom::element n : nodes) {
    by_id[Str(n, "id")] = NodeRef{Str(n, "kind"), Str(n, "namespace"), Str(n, "name")};
  }
  std::vector<MapEdge> out;
  for (simdjson::dom::element e : edges) {
    MapEdge m;
    std::string s = Str(e, "source"), t = Str(e, "target");
    auto si = by_id.find(s), ti = by_id.find(t);
    m.source = si != by_id.end() ? si->second : NodeRef{"?", "", s};
    m.target = ti != by_id.end() ? ti->second : NodeRef{"?", "", t};
    m.protocol = Str(e, "protocol");
    simdjson::dom::element v;
    if (!e["requests"].get(v)) m.requests = Number(v);
    if (!e["errors"].get(v)) m.errors = Number(v);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<MapEdge>> FetchMap(HttpConnection* conn, int64_t start_s, int64_t end_s,
                                      const std::string& query) {
  std::string target =
      "/api/v1/map?start=" + std::to_string(start_s) + "&end=" + std::to_string(end_s);
  if (!query.empty()) target += "&query=" + UrlEncode(query);
  EW_ASSIGN_OR_RETURN(HttpResponse r, conn->Get(target));
  if (r.status != 200) {
    return Status::InvalidArgument("GET " + target + ": HTTP " + std::to_string(r.status) + ": " +
                                   r.body.substr(0, 300));
  }
  return ParseMap(r.body);
}

}  // namespace ew::tools
