#include "tools/verify.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>

#include "base/time.h"

namespace ew::tools {
namespace {

struct Expected {
  double requests = 0;
  double errors = 0;
  std::map<std::string, double> protocols;
  std::string Majority() const {
    std::string best;
    double n = -1;
    for (const auto& [p, c] : protocols) {
      if (c > n) {
        best = p;
        n = c;
      }
    }
    return best;
  }
};

std::string Fmt(double v) {
  char b[32];
  if (v == std::floor(v) && std::abs(v) < 1e15) {
    std::snprintf(b, sizeof b, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(b, sizeof b, "%.3f", v);
  }
  return b;
}

bool Near(double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(a)); }

}  // namespace

std::vector<std::string> CompareWindow(const LedgerRows& rows, const std::vector<MapEdge>& edges,
                                       bool ignore_extra, bool check_protocol) {
  std::map<std::pair<NodeRef, NodeRef>, Expected> want;
  for (const auto& [k, c] : rows) {
    Expected& e = want[{k.client, k.server}];
    e.requests += static_cast<double>(c.requests);
    e.errors += static_cast<double>(c.errors);
    e.protocols[k.protocol] += static_cast<double>(c.requests);
  }
  std::map<std::pair<NodeRef, NodeRef>, const MapEdge*> got;
  for (const MapEdge& e : edges) got[{e.source, e.target}] = &e;
  std::vector<std::string> diffs;
  for (const auto& [key, e] : want) {
    std::string name = key.first.Label() + " -> " + key.second.Label();
    auto it = got.find(key);
    if (it == got.end()) {
      diffs.push_back(name + ": missing (expected requests=" + Fmt(e.requests) +
                      " errors=" + Fmt(e.errors) + ")");
      continue;
    }
    const MapEdge& g = *it->second;
    if (!Near(g.requests, e.requests) || !Near(g.errors, e.errors)) {
      diffs.push_back(name + ": expected requests=" + Fmt(e.requests) + " errors=" + Fmt(e.errors) +
                      ", got requests=" + Fmt(g.requests) + " errors=" + Fmt(g.errors));
    } else if (check_protocol && g.protocol != e.Majority()) {
      diffs.push_back(name + ": expected protocol " + e.Majority() + ", got " + g.protocol);
    }
  }
  if (!ignore_extra) {
    for (const auto& [key, g] : got) {
      if (want.count(key)) continue;
      diffs.push_back(key.first.Label() + " -> " + key.second.Label() +
                      ": unexpected edge (requests=" + Fmt(g->requests) +
                      " errors=" + Fmt(g->errors) + ")");
    }
  }
  return diffs;
}

int RunVerify(const VerifyOptions& o) {
  Result<Ledger> ledger = Ledger::Read(o.ledger_path);
  if (!ledger.ok()) {
    std::fprintf(stderr, "verify: %s\n", ledger.status().ToString().c_str());
    return 2;
  }
  if (ledger->rows.empty()) {
    std::fprintf(stderr, "verify: the ledger has no rows (nothing was acknowledged)\n");
    return 1;
  }
  if (ledger->requests_ambiguous > 0 || ledger->rejected_spans > 0) {
    std::fprintf(stderr,
                 "verify: warning: %llu ambiguous requests and %llu refused spans in the run; "
                 "counts may legitimately differ\n",
                 static_cast<unsigned long long>(ledger->requests_ambiguous),
                 static_cast<unsigned long long>(ledger->rejected_spans));
  }
  int64_t first = ledger->rows.begin()->first.minute, last = first;
  std::map<int64_t, LedgerRows> by_minute;
  LedgerRows all;
  for (const auto& r : ledger->rows) {
    by_minute[r.first.minute].push_back(r);
    all.push_back(r);
    first = std::min(first, r.first.minute);
    last = std::max(last, r.first.minute);
  }
  HttpConnection conn(o.server, 30'000);
  const int64_t deadline = MonoNowNs() + static_cast<int64_t>(o.timeout_s) * 1'000'000'000;
  for (int attempt = 1;; ++attempt) {
    std::vector<std::string> diffs;
    auto check = [&](int64_t from, int64_t to, const LedgerRows& rows) -> int {
      Result<std::vector<MapEdge>> edges = FetchMap(&conn, from * 60, to * 60);
      if (!edges.ok()) {
        std::fprintf(stderr, "verify: %s\n", edges.status().ToString().c_str());
        return edges.status().code() == StatusCode::kUnavailable ? 3 : 1;
      }
      std::string when = FormatRfc3339(from * 60);
      if (to - from > 1) when += " .. " + FormatRfc3339(to * 60);
      for (auto& d : CompareWindow(rows, *edges, o.ignore_extra, o.check_protocol)) {
        diffs.push_back("[" + when + "] " + d);
      }
      return 0;
    };
    int rc = 0;
    if (o.per_minute) {
      static const LedgerRows kNone;
      for (int64_t m = first; m <= last && rc == 0; ++m) {
        auto it = by_minute.find(m);
        rc = check(m, m + 1, it == by_minute.end() ? kNone : it->second);
      }
    } else {
      rc = check(first, last + 1, all);
    }
    if (rc != 0) return rc;
    if (diffs.empty()) {
      if (!o.quiet) {
        std::printf("verify: OK: %zu ledger rows, %llu requests over %lld minute(s) match\n",
                    ledger->rows.size(), static_cast<unsigned long long>(ledger->requests_counted),
                    static_cast<long long>(last - first + 1));
      }
      return 0;
    }
    if (MonoNowNs() >= deadline) {
      std::printf("verify: %zu difference(s) after %d attempt(s):\n", diffs.size(), attempt);
      for (const std::string& d : diffs) std::printf("  %s\n", d.c_str());
      return 1;
    }
    if (!o.quiet) {
      std::fprintf(stderr, "verify: attempt %d: %zu difference(s), checking again\n", attempt,
                   diffs.size());
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

}  // namespace ew::tools
