// The endpoint-specific renderings of ctl_render.h: map, service, series and traces.
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "base/time.h"
#include "tools/ctl_render.h"

namespace ew::tools {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;

constexpr int kRateDecimals = 3;
constexpr int kPercentDecimals = 2;
constexpr int kMsDecimals = 2;

// E: an element, or the simdjson_result of a lookup that may have failed (then the field is
// absent).
template <typename E>
std::string Str(E e, const char* key) {
  std::string_view v;
  return e[key].get(v) ? std::string() : std::string(v);
}
template <typename E>
double Num(E e, const char* key) {
  double v = 0;
  return e[key].get(v) ? 0 : v;
}
template <typename E>
std::string Int(E e, const char* key) {
  int64_t i = 0;
  if (!e[key].get(i)) return std::to_string(i);
  uint64_t u = 0;
  if (!e[key].get(u)) return std::to_string(u);
  double d = 0;
  return e[key].get(d) ? "-" : Fixed(d, 0);
}
bool Has(element e, const char* key) { return e[key].error() == simdjson::SUCCESS; }
std::string Bool(element e, const char* key) {
  bool b = false;
  return e[key].get(b) ? "-" : (b ? "true" : "false");
}

Result<element> Parse(simdjson::dom::parser& parser, std::string_view json) {
  element root;
  if (parser.parse(json.data(), json.size()).get(root)) {
    return Status::InvalidArgument("the server's answer is not JSON");
  }
  return root;
}

struct Node {
  std::string id, kind, ns, name;
};
using Nodes = std::map<std::string, Node>;

Node NodeOf(element n) {
  return {Str(n, "id"), Str(n, "kind"), Str(n, "namespace"), Str(n, "name")};
}

std::string Label(const Node& n) {
  if (n.kind == "namespace") return (n.ns.empty() ? "(no namespace)" : n.ns) + " (namespace)";
  std::string l = n.ns.empty() ? n.name : n.ns + "/" + n.name;
  if (n.kind != "service") l += " (" + n.kind + ")";
  return l;
}
std::string LabelOf(const Nodes& nodes, const std::string& id) {
  auto it = nodes.find(id);
  return it == nodes.end() ? id : Label(it->second);
}

void AddNodes(element root, const char* key, Nodes* nodes) {
  array arr;
  if (root[key].get(arr)) return;
  for (element n : arr) {
    Node node = NodeOf(n);
    (*nodes)[node.id] = node;
  }
}

// Rows sorted naturally by their sort keys (the leading columns), the header kept first.
struct Row {
  std::vector<std::string> key;
  std::vector<std::string> cells;
};
std::string SortedTable(std::vector<std::string> header, std::vector<Row> rows,
                        const std::vector<bool>& right) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::lexicographical_compare(a.key.begin(), a.key.end(), b.key.begin(), b.key.end(),
                                        NaturalLess);
  });
  std::vector<std::vector<std::string>> table{std::move(header)};
  for (Row& r : rows) table.push_back(std::move(r.cells));
  return FormatTable(table, right);
}

std::string Percent(double rate) { return Fixed(rate * 100, kPercentDecimals); }
std::string Ms(element e, const char* key) {
  double v = 0;
  return e["latency_ms"][key].get(v) ? "-" : Fixed(v, kMsDecimals);
}

// The edge table of the map and of /api/v1/service, with compare columns when the edges have
// them.
std::string EdgeTable(array edges, const Nodes& nodes) {
  bool compare = false;
  for (element e : edges) compare = compare || Has(e, "change");
  std::vector<std::string> header{"SOURCE", "TARGET", "PROTOCOL", "REQUESTS", "RATE/S", "ERRORS",
                                  "ERROR%", "P50 MS", "P90 MS",   "P95 MS",   "P99 MS"};
  std::vector<bool> right{false, false, false, true, true, true, true, true, true, true, true};
  if (compare) {
    for (const char* h : {"CHANGE", "PREV REQUESTS", "RATE/S CHG", "ERROR% CHG", "P99 MS CHG"}) {
      header.push_back(h);
      right.push_back(std::string_view(h) != "CHANGE");
    }
  }
  std::vector<Row> rows;
  for (element e : edges) {
    std::string s = LabelOf(nodes, Str(e, "source")), t = LabelOf(nodes, Str(e, "target"));
    Row r{{s, t, Str(e, "source"), Str(e, "target")},
          {s, t, Str(e, "protocol"), Int(e, "requests"), Fixed(Num(e, "rate_per_s"), kRateDecimals),
           Int(e, "errors"), Percent(Num(e, "error_rate")), Ms(e, "p50"), Ms(e, "p90"),
           Ms(e, "p95"), Ms(e, "p99")}};
    if (compare) {
      auto delta = e["delta"];
      r.cells.push_back(Str(e, "change"));
      r.cells.push_back(Int(e["previous"], "requests"));
      r.cells.push_back(Fixed(Num(delta, "rate_per_s"), kRateDecimals, true));
      r.cells.push_back(Fixed(Num(delta, "error_rate") * 100, kPercentDecimals, true));
      r.cells.push_back(Fixed(Num(delta, "p99_ms"), kMsDecimals, true));
    }
    rows.push_back(std::move(r));
  }
  return SortedTable(std::move(header), std::move(rows), right);
}

std::string NodeTable(array nodes) {
  bool compare = false;
  for (element n : nodes) compare = compare || Has(n, "change");
  std::vector<std::string> header{"KIND",   "NAMESPACE", "NAME",   "REQ IN",
                                  "ERR IN", "REQ OUT",   "ERR OUT"};
  std::vector<bool> right{false, false, false, true, true, true, true};
  if (compare) {
    for (const char* h : {"CHANGE", "PREV REQ IN", "PREV REQ OUT"}) {
      header.push_back(h);
      right.push_back(std::string_view(h) != "CHANGE");
    }
  }
  header.push_back("ID");
  right.push_back(false);
  std::vector<Row> rows;
  for (element n : nodes) {
    Node node = NodeOf(n);
    Row r{{node.kind, node.ns, node.name, node.id},
          {node.kind, node.ns.empty() ? "-" : node.ns, node.name, Int(n, "requests_in"),
           Int(n, "errors_in"), Int(n, "requests_out"), Int(n, "errors_out")}};
    if (compare) {
      auto prev = n["previous"];
      r.cells.push_back(Str(n, "change"));
      r.cells.push_back(Int(prev, "requests_in"));
      r.cells.push_back(Int(prev, "requests_out"));
    }
    r.cells.push_back(node.id);
    rows.push_back(std::move(r));
  }
  return SortedTable(std::move(header), std::move(rows), right);
}

std::string Range(element root) { return Str(root, "start") + " .. " + Str(root, "end"); }

// The explain= sections (query, plan, compare_plan), rendered generically.
std::string Plans(element root) {
  std::string out;
  std::string_view query;
  if (!root["query"].get(query)) {
    out += "\nquery: " + (query.empty() ? std::string("(everything)") : std::string(query)) + "\n";
  }
  for (const char* key : {"plan", "compare_plan"}) {
    element plan;
    if (root[key].get(plan)) continue;
    std::string text;
    array parts;
    if (!plan.get(parts)) {
      for (element p : parts) {
        auto r = RenderGeneric(simdjson::minify(p));
        if (!r.ok()) continue;
        if (!text.empty()) text += "\n";
        text += *r;
      }
    } else if (auto r = RenderGeneric(simdjson::minify(plan)); r.ok()) {
      text = *r;
    }
    out.append("\n").append(key).append(":\n").append(text);
  }
  return out;
}

std::string MissingEdges(element m, const Nodes& nodes) {
  std::ostringstream o;
  o << "missing edges: client halves expired " << Int(m, "client_halves_expired")
    << ", server halves expired " << Int(m, "server_halves_expired") << ", evicted "
    << Int(m, "evicted") << ", propagation suspects " << Int(m, "propagation_suspects")
    << ", expected unpaired " << Int(m, "expected_unpaired") << "\n";
  array dests;
  if (!m["destinations"].get(dests) && dests.size() > 0) {
    std::vector<std::vector<std::string>> t{
        {"KIND", "NAME", "REQUESTS", "VERDICT", "TRACED SERVICE", "ID"}};
    for (element d : dests) {  // the server's order: most requests first
      std::string traced = Str(d, "traced_service");
      t.push_back({Str(d, "kind"), Str(d, "name"), Int(d, "requests"), Str(d, "verdict"),
                   traced.empty() ? "-" : LabelOf(nodes, traced), Str(d, "node")});
    }
    o << FormatTable(t, {false, false, true});
  }
  std::string hint = Str(m, "hint");
  if (!hint.empty()) o << "hint: " << hint << "\n";
  return o.str();
}

}  // namespace

Result<std::string> RenderMap(std::string_view json) {
  simdjson::dom::parser parser;
  EW_ASSIGN_OR_RETURN(element root, Parse(parser, json));
  array nodes, edges;
  if (root["nodes"].get(nodes) || root["edges"].get(edges)) return RenderGeneric(json);
  Nodes names;
  AddNodes(root, "nodes", &names);
  std::ostringstream o;
  o << Range(root) << "\n\n";
  o << nodes.size() << " nodes\n" << NodeTable(nodes) << "\n";
  o << edges.size() << " edges\n" << EdgeTable(edges, names);
  o << Plans(root);
  return o.str();
}

Result<std::string> RenderService(std::string_view json) {
  simdjson::dom::parser parser;
  EW_ASSIGN_OR_RETURN(element root, Parse(parser, json));
  element node;
  array in, out, nodes;
  if (root["node"].get(node) || root["incoming"].get(in) || root["outgoing"].get(out) ||
      root["nodes"].get(nodes)) {
    return RenderGeneric(json);
  }
  Nodes names;
  AddNodes(root, "nodes", &names);
  std::ostringstream o;
  o << Range(root) << "\n\n";
  o << "node: " << Label(NodeOf(node)) << "  id " << Str(node, "id") << "\n";
  o << "requests in " << Int(node, "requests_in") << " (errors " << Int(node, "errors_in")
    << "), out " << Int(node, "requests_out") << " (errors " << Int(node, "errors_out") << ")\n\n";
  o << "incoming (" << in.size() << ")\n" << (in.size() ? EdgeTable(in, names) : "") << "\n";
  o << "outgoing (" << out.size() << ")\n" << (out.size() ? EdgeTable(out, names) : "") << "\n";
  element missing;
  if (!root["missing_edges"].get(missing)) o << MissingEdges(missing, names) << "\n";
  o << "nodes (" << nodes.size() << ")\n" << NodeTable(nodes);
  o << Plans(root);
  return o.str();
}

Result<std::string> RenderSeries(std::string_view json) {
  simdjson::dom::parser parser;
  EW_ASSIGN_OR_RETURN(element root, Parse(parser, json));
  array points;
  if (root["points"].get(points)) return RenderGeneric(json);
  const double step_s = Num(root, "step_s");
  std::ostringstream o;
  o << Range(root) << "  step " << Int(root, "step_s") << "s\n\n";
  std::vector<std::vector<std::string>> t{
      {"TIME", "REQUESTS", "RATE/S", "ERRORS", "ERROR%", "P50 MS", "P90 MS", "P95 MS", "P99 MS"}};
  for (element p : points) {  // the server's order: by time
    const double requests = Num(p, "requests");
    t.push_back({Str(p, "time"), Int(p, "requests"),
                 Fixed(step_s > 0 ? requests / step_s : 0, kRateDecimals), Int(p, "errors"),
                 Percent(requests > 0 ? Num(p, "errors") / requests : 0)});
    for (const char* q : {"p50", "p90", "p95", "p99"}) {  // no latency without requests
      t.back().push_back(requests > 0 ? Ms(p, q) : "-");
    }
  }
  o << points.size() << " points\n"
    << FormatTable(t, {false, true, true, true, true, true, true, true, true});
  o << Plans(root);
  return o.str();
}

Result<std::string> RenderTraces(std::string_view json) {
  simdjson::dom::parser parser;
  EW_ASSIGN_OR_RETURN(element root, Parse(parser, json));
  array traces;
  if (root["traces"].get(traces)) return RenderGeneric(json);
  bool urls = false;
  for (element t : traces) urls = urls || Has(t, "trace_url");
  std::vector<std::vector<std::string>> t{{"START", "TRACE ID", "DURATION MS", "STATUS", "ERROR"}};
  if (urls) t[0].push_back("URL");
  for (element e : traces) {  // the server's order: newest first
    int64_t ms = 0;
    std::string start = "-";
    if (!e["start_ms"].get(ms)) {
      start = FormatRfc3339(FloorDiv(ms, 1000));
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms - FloorDiv(ms, 1000) * 1000));
      if (!start.empty() && start.back() == 'Z') start.insert(start.size() - 1, frac);
    }
    t.push_back({start, Str(e, "trace_id"), Fixed(Num(e, "duration_ms"), kMsDecimals),
                 Int(e, "status"), Bool(e, "error")});
    if (urls) t.back().push_back(Str(e, "trace_url"));
  }
  std::ostringstream o;
  o << Range(root) << "\n\n"
    << traces.size() << " traces\n"
    << FormatTable(t, {false, false, true, true});
  return o.str();
}

}  // namespace ew::tools
