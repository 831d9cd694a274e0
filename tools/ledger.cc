#include "tools/ledger.h"

#include <simdjson.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ew::tools {
namespace {

std::string JsonEscape(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += ' ';
    } else {
      o.push_back(c);
    }
  }
  return o + "\"";
}

std::string NodeJson(const NodeRef& n) {
  return "{\"kind\":" + JsonEscape(n.kind) + ",\"namespace\":" + JsonEscape(n.ns) +
         ",\"name\":" + JsonEscape(n.name) + "}";
}

Result<NodeRef> ReadNode(simdjson::dom::element e) {
  std::string_view kind, ns, name;
  if (e["kind"].get(kind) || e["namespace"].get(ns) || e["name"].get(name)) {
    return Status::InvalidArgument("ledger: node without kind/namespace/name");
  }
  return NodeRef{std::string(kind), std::string(ns), std::string(name)};
}

}  // namespace

void Ledger::Add(int64_t minute, const EdgeOutcome& e) {
  LedgerCounts& c = rows[LedgerKey{minute, e.client, e.server, e.protocol}];
  ++c.requests;
  if (e.error) ++c.errors;
  ++requests_counted;
}

std::string Ledger::ToJson() const {
  std::ostringstream o;
  o << "{\"version\":1,\"seed\":" << seed << ",\"encoding\":" << JsonEscape(encoding)
    << ",\"started_ms\":" << started_ms << ",\"ended_ms\":" << ended_ms
    << ",\"requests_counted\":" << requests_counted
    << ",\"requests_unacknowledged\":" << requests_unacknowledged
    << ",\"requests_ambiguous\":" << requests_ambiguous << ",\"rejected_spans\":" << rejected_spans
    << ",\"spans_acknowledged\":" << spans_acknowledged << ",\"rows\":[";
  bool first = true;
  for (const auto& [k, v] : rows) {
    o << (first ? "\n" : ",\n") << "{\"minute\":" << k.minute
      << ",\"client\":" << NodeJson(k.client) << ",\"server\":" << NodeJson(k.server)
      << ",\"protocol\":" << JsonEscape(k.protocol) << ",\"requests\":" << v.requests
      << ",\"errors\":" << v.errors << "}";
    first = false;
  }
  o << "\n]}\n";
  return o.str();
}

Status Ledger::Write(const std::string& path) const {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status::IOError("cannot write " + tmp);
    f << ToJson();
    if (!f.good()) return Status::IOError("writing " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::IOError("renaming " + tmp);
  return Status::Ok();
}

Result<Ledger> Ledger::Read(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.load(path).get(root)) {
    return Status::InvalidArgument("reading ledger " + path + ": " + simdjson::error_message(err));
  }
  Ledger l;
  uint64_t u = 0;
  int64_t i = 0;
  std::string_view sv;
  if (!root["seed"].get(u)) l.seed = u;
  if (!root["encoding"].get(sv)) l.encoding = sv;
  if (!root["started_ms"].get(i)) l.started_ms = i;
  if (!root["ended_ms"].get(i)) l.ended_ms = i;
  if (!root["requests_counted"].get(u)) l.requests_counted = u;
  if (!root["requests_unacknowledged"].get(u)) l.requests_unacknowledged = u;
  if (!root["requests_ambiguous"].get(u)) l.requests_ambiguous = u;
  if (!root["rejected_spans"].get(u)) l.rejected_spans = u;
  if (!root["spans_acknowledged"].get(u)) l.spans_acknowledged = u;
  simdjson::dom::array rows;
  if (root["rows"].get(rows)) return Status::InvalidArgument("ledger " + path + ": no rows");
  for (simdjson::dom::element r : rows) {
    LedgerKey k;
    LedgerCounts c;
    simdjson::dom::element ce, se;
    if (r["minute"].get(k.minute) || r["requests"].get(c.requests) || r["errors"].get(c.errors) ||
        r["protocol"].get(sv) || r["client"].get(ce) || r["server"].get(se)) {
      return Status::InvalidArgument("ledger " + path + ": malformed row");
    }
    k.protocol = sv;
    EW_ASSIGN_OR_RETURN(k.client, ReadNode(ce));
    EW_ASSIGN_OR_RETURN(k.server, ReadNode(se));
    l.rows[k] = c;
  }
  return l;
}

}  // namespace ew::tools
