#include "tools/ctl_render.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace ew::tools {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string Scalar(element e) {
  char buf[64];
  switch (e.type()) {
    case element_type::STRING:
      return std::string(e.get_string().value_unsafe());
    case element_type::INT64:
      return std::to_string(e.get_int64().value_unsafe());
    case element_type::UINT64:
      return std::to_string(e.get_uint64().value_unsafe());
    case element_type::DOUBLE: {
      double d = e.get_double().value_unsafe();
      std::snprintf(buf, sizeof buf, d != 0 && (d < 0.01 && d > -0.01) ? "%.4g" : "%.2f", d);
      return buf;
    }
    case element_type::BOOL:
      return e.get_bool().value_unsafe() ? "true" : "false";
    case element_type::NULL_VALUE:
      return "-";
    default:
      return "";
  }
}

bool IsScalar(element e) {
  auto t = e.type();
  return t != element_type::ARRAY && t != element_type::OBJECT;
}

// Node id -> "kind ns/name", from every object in the document that looks like a node.
void CollectNodes(element e, std::map<std::string, std::string>* names) {
  simdjson::dom::array arr;
  if (!e.get(arr)) {
    for (element c : arr) CollectNodes(c, names);
    return;
  }
  simdjson::dom::object obj;
  if (e.get(obj)) return;
  std::string_view id, kind, ns, name;
  if (!e["id"].get(id) && !e["kind"].get(kind) && !e["name"].get(name)) {
    if (e["namespace"].get(ns)) ns = {};
    std::string label = ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
    if (kind != "service") label += " (" + std::string(kind) + ")";
    (*names)[std::string(id)] = label;
  }
  for (auto field : obj) CollectNodes(field.value, names);
}

void Flatten(element e, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>* out) {
  simdjson::dom::object obj;
  if (e.get(obj)) return;
  for (auto field : obj) {
    std::string key = prefix + std::string(field.key);
    if (IsScalar(field.value)) {
      out->emplace_back(key, Scalar(field.value));
    } else if (field.value.type() == element_type::OBJECT && prefix.empty()) {
      Flatten(field.value, key + ".", out);
    }
  }
}

std::string TableOf(simdjson::dom::array arr, const std::map<std::string, std::string>& names) {
  std::vector<std::string> columns;
  std::set<std::string> seen;
  std::vector<std::map<std::string, std::string>> rows;
  for (element item : arr) {
    std::vector<std::pair<std::string, std::string>> flat;
    if (item.type() != element_type::OBJECT) {
      flat.emplace_back("value", IsScalar(item) ? Scalar(item) : "...");
    } else {
      Flatten(item, "", &flat);
    }
    std::map<std::string, std::string> row;
    for (auto& [k, v] : flat) {
      if (seen.insert(k).second) columns.push_back(k);  // the JSON's field order
      if (k == "source" || k == "target" || k == "node" || k == "peer") {
        auto it = names.find(v);
        if (it != names.end()) v = it->second;
      }
      row[k] = v;
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::vector<std::string>> table{columns};
  for (auto& r : rows) {
    std::vector<std::string> line;
    for (const std::string& c : columns) line.push_back(r.count(c) ? r[c] : "");
    table.push_back(std::move(line));
  }
  return FormatTable(table);
}

}  // namespace

bool NaturalLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (!digit(a[i]) || !digit(b[j])) {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i, ++j;
      continue;
    }
    size_t ei = i, ej = j;
    while (ei < a.size() && digit(a[ei])) ++ei;
    while (ej < b.size() && digit(b[ej])) ++ej;
    size_t zi = i, zj = j;  // leading zeros skipped
    while (zi + 1 < ei && a[zi] == '0') ++zi;
    while (zj + 1 < ej && b[zj] == '0') ++zj;
    std::string_view na = a.substr(zi, ei - zi), nb = b.substr(zj, ej - zj);
    if (na.size() != nb.size()) return na.size() < nb.size();
    if (na != nb) return na < nb;
    if (ei - i != ej - j) return ei - i < ej - j;  // fewer leading zeros first
    i = ei, j = ej;
  }
  return a.size() - i < b.size() - j;
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      const std::string pad(width[i] - r[i].size(), ' ');
      const bool last = i + 1 == r.size();
      if (i < right.size() && right[i]) {
        line += pad + r[i];
      } else {
        line += r[i];
        if (!last) line += pad;
      }
      if (!last) line += "  ";
    }
    out += line + "\n";
  }
  return out;
}

std::string Fixed(double v, int decimals, bool plus) {
  char buf[64];
  std::snprintf(buf, sizeof buf, plus && v > 0 ? "%+.*f" : "%.*f", decimals, v);
  std::string s = buf;
  // -0.00 reads as a change where there is none.
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

Result<std::string> RenderGeneric(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root)) {
    return Status::InvalidArgument("the server's answer is not JSON");
  }
  std::map<std::string, std::string> names;
  CollectNodes(root, &names);
  std::ostringstream o;
  simdjson::dom::array top;
  if (!root.get(top)) {
    o << TableOf(top, names);
    return o.str();
  }
  simdjson::dom::object obj;
  if (root.get(obj)) return Scalar(root) + "\n";
  std::vector<std::pair<std::string, std::string>> flat;
  Flatten(root, "", &flat);
  for (auto& [k, v] : flat) o << k << ": " << v << "\n";
  auto scalars = [](simdjson::dom::array arr) {
    for (element e : arr) {
      if (!IsScalar(e)) return false;
    }
    return true;
  };
  for (auto field : obj) {  // arrays of scalars as one line: "prefixes: ns=shop, ns=pay"
    simdjson::dom::array arr;
    if (field.value.get(arr) || !scalars(arr)) continue;
    o << field.key << ":";
    const char* sep = " ";
    for (element e : arr) {
      o << sep << Scalar(e);
      sep = ", ";
    }
    o << (arr.size() == 0 ? " -" : "") << "\n";
  }
  for (auto field : obj) {
    simdjson::dom::array arr;
    if (field.value.get(arr) || scalars(arr)) continue;
    o << "\n" << field.key << " (" << arr.size() << ")\n";
    if (arr.size() > 0) o << TableOf(arr, names);
  }
  return o.str();
}

std::string SummariseMetrics(std::string_view text) {
  std::vector<std::vector<std::string>> rows{{"METRIC", "VALUE"}};
  std::vector<std::pair<std::string, std::string>> series;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    std::string name = line.substr(0, sp), value = line.substr(sp + 1);
    // Histogram buckets are noise in a summary; _sum and _count stay.
    if (name.find("_bucket{") != std::string::npos) continue;
    series.emplace_back(name, value);
  }
  std::sort(series.begin(), series.end());
  for (auto& [n, v] : series) rows.push_back({n, v});
  return FormatTable(rows);
}

}  // namespace ew::tools
