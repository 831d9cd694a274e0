#include "tools/ctl_capacity.h"

#include <simdjson.h>

#include <sstream>
#include <vector>

#include "tools/ctl_render.h"

namespace ew::tools {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;

std::string Text(element e, const char* key) {
  std::string_view v;
  return e[key].get(v) ? std::string("-") : std::string(v);
}

// A number with `decimals` decimals ("-" when absent or null), with a '+' when plus.
template <typename E>
std::string Number(E e, const char* key, int decimals, bool plus = false) {
  double v = 0;
  return e[key].get(v) ? std::string("-") : Fixed(v, decimals, plus);
}

// The figures every row shows after its identity.
void AddFigures(element g, std::vector<std::string>* row) {
  array points;
  uint64_t requests = 0;
  size_t steps = 0;
  element last;
  if (!g["points"].get(points)) {
    for (element p : points) {
      uint64_t r = 0;
      if (!p["requests"].get(r)) requests += r;
      last = p;
      ++steps;
    }
  }
  row->push_back(std::to_string(steps));
  row->push_back(std::to_string(requests));
  row->push_back(Number(g, "latest_peak_rate_per_s", 3));
  row->push_back(steps ? Text(last, "peak_minute") : "-");
  row->push_back(steps ? Number(last["latency_ms"], "p99", 2) : "-");
  element growth;
  if (g["growth"].get(growth)) {
    row->insert(row->end(), {"-", "-"});
    return;
  }
  row->push_back(Number(growth, "pct_per_day", 2, true));
  row->push_back(Number(growth, "change_pct", 1, true));
}

std::string Label(element g, const char* ns_key, const char* name_key) {
  std::string ns = Text(g, ns_key), name = Text(g, name_key);
  return ns == "-" || ns.empty() ? name : ns + "/" + name;
}

}  // namespace

Result<std::string> RenderCapacity(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root)) {
    return Status::InvalidArgument("the server's answer is not JSON");
  }
  array services, edges;
  if (root["services"].get(services) || root["edges"].get(edges)) return RenderGeneric(json);
  int64_t step_s = 0;
  if (root["step_s"].get(step_s)) step_s = 0;
  std::ostringstream o;
  o << Text(root, "start") << " .. " << Text(root, "end") << "  step " << step_s << "s ("
    << Text(root, "tier") << " tier)  peak: the busiest minute of each step\n\n";
  const std::vector<std::string> figures = {"STEPS",  "REQUESTS",     "LATEST PEAK/S", "AT",
                                            "P99 MS", "GROWTH %/DAY", "CHANGE %"};
  std::vector<std::vector<std::string>> s{{"SERVICE"}};
  s[0].insert(s[0].end(), figures.begin(), figures.end());
  s[0].push_back("ID");
  for (element g : services) {
    s.push_back({Label(g, "namespace", "name")});
    AddFigures(g, &s.back());
    s.back().push_back(Text(g, "id"));
  }
  std::vector<std::vector<std::string>> e{{"SOURCE", "TARGET"}};
  e[0].insert(e[0].end(), figures.begin(), figures.end());
  for (element g : edges) {
    e.push_back({Text(g, "source_name"), Text(g, "target_name")});
    AddFigures(g, &e.back());
  }
  const std::vector<bool> right_s = {false, true, true, true, false, true, true, true};
  const std::vector<bool> right_e = {false, false, true, true, true, false, true, true, true};
  o << services.size() << " services (incoming traffic), fastest growth first\n"
    << FormatTable(s, right_s) << "\n"
    << edges.size() << " edges, fastest growth first\n"
    << FormatTable(e, right_e);
  return o.str();
}

}  // namespace ew::tools
