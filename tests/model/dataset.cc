// Data-set generation for the differential test (see dataset.h).
#include "tests/model/dataset.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "base/time.h"

namespace ew::model {
namespace {

using storage::NodeKind;
using storage::Protocol;

constexpr const char* kWords[] = {"cart", "checkout", "pay",  "search", "auth",
                                  "ship", "user",     "ad",   "mail",   "stock",
                                  "geo",  "price",    "feed", "media",  "report"};
constexpr int64_t kMinute = kMsPerMinute;
constexpr int64_t kDay = kMsPerDay;
// History stays this far from every retention boundary, so that a run (and the server's own
// compactions during it) cannot disagree with the model about what is kept.
constexpr int64_t kRetentionMargin = 3 * kMsPerHour;

enum class Pattern { kEarly, kLate, kThroughout, kBurst };

struct EdgeSpec {
  uint32_t client = 0, server = 0;
  Protocol protocol = Protocol::kHttp;
  Shape shape = Shape::kPair;
  std::vector<uint32_t> paths;
  std::vector<uint8_t> methods;
  double base_us = 1000;
  double error_share = 0.02;
  Pattern pattern = Pattern::kThroughout;
};

class Generator {
 public:
  Generator(const GenOptions& o, int64_t now_ms) : rng_(o.seed), o_(o) {
    d_.options = o;
    d_.now_ms = now_ms;
    if (o.short_retention) {
      d_.retention.ms[0] = 3 * kDay;
      d_.retention.ms[1] = 40 * kDay;
      d_.retention.ms[2] = 800 * kDay;
    }
    d_.otlp_cutoff_minute = now_ms / kMinute - 23 * 60;
  }

  Dataset Run() {
    MakeNodes();
    MakeEdges();
    for (const EdgeSpec& e : edges_) MakeRequests(e);
    std::sort(d_.requests.begin(), d_.requests.end(),
              [](const Request& a, const Request& b) { return a.start_ms < b.start_ms; });
    return std::move(d_);
  }

 private:
  uint64_t U(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  double Real(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
  bool Chance(double p) { return Real(0, 1) < p; }

  uint32_t AddNode(NodeKind kind, std::string ns, std::string name, std::string system = "",
                   std::string detail = "") {
    d_.nodes.push_back(
        {kind, std::move(ns), std::move(name), std::move(system), std::move(detail)});
    return static_cast<uint32_t>(d_.nodes.size() - 1);
  }

  void MakeNodes() {
    for (int i = 0; i < o_.namespaces; ++i) d_.namespaces.push_back("ns-" + std::to_string(i));
    d_.namespaces.push_back("");  // a few services without a namespace
    for (int i = 0; i < o_.services; ++i) {
      const std::string& ns =
          Chance(0.03) ? d_.namespaces.back() : d_.namespaces[U(d_.namespaces.size() - 1)];
      // A few names that need quoting in the query language, or escaping in JSON and URLs.
      static const char* kOdd[] = {"odd name (v2)", "quote\"d\\svc", "caf\u00e9-svc", "in",
                                   "a,b=c"};
      std::string name =
          i < 5 ? kOdd[i] : std::string(kWords[U(std::size(kWords))]) + "-" + std::to_string(i);
      services_.push_back(AddNode(NodeKind::kService, ns, name));
    }
    external_client_ = AddNode(NodeKind::kExternalClient, "", "External Client");
    for (int i = 0; i < 12; ++i) {
      std::string host = i == 0 ? "api.stripe.com" : "ext-" + std::to_string(i) + ".example.com";
      externals_.push_back(AddNode(NodeKind::kExternalService, "", host));
    }
    const char* db_systems[] = {"postgresql", "mysql", "redis"};
    for (int i = 0; i < 6; ++i) {
      std::string sys = db_systems[i % 3];
      std::string db = i < 3 ? "db" + std::to_string(i) : "";
      databases_.push_back(
          AddNode(NodeKind::kDatabase, "", db.empty() ? sys : sys + "/" + db, sys, db));
    }
    for (int i = 0; i < 4; ++i) {
      std::string dest = "topic-" + std::to_string(i);
      messaging_.push_back(AddNode(NodeKind::kMessaging, "", "kafka/" + dest, "kafka", dest));
    }
    d_.paths.push_back("");
    for (int i = 0; i < 60; ++i) {
      d_.paths.push_back("/api/" + std::string(kWords[i % std::size(kWords)]) + "/v" +
                         std::to_string(i / std::size(kWords)));
    }
    for (int i = 0; i < 10; ++i) {
      d_.paths.push_back("/pkg." + std::string(kWords[i]) + "/Call" + std::to_string(i));
    }
    PlaceIds();
  }

  // Real nodes take the boundary ids and random others among the fillers.
  void PlaceIds() {
    const int total = o_.filler_nodes + static_cast<int>(d_.nodes.size());
    std::set<int> slots;
    for (int b : {255, 256, 511, 512, 767, 65'535, 65'536, 65'537, 65'791, 65'792}) {
      if (b <= total && slots.size() < d_.nodes.size()) slots.insert(b);
    }
    while (slots.size() < d_.nodes.size()) slots.insert(1 + static_cast<int>(U(total)));
    std::vector<uint32_t> order(d_.nodes.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng_);
    d_.intern_order.assign(total, -1);
    size_t next = 0;
    for (int s : slots) d_.intern_order[s - 1] = static_cast<int>(order[next++]);
  }

  uint32_t HttpPath() { return 1 + static_cast<uint32_t>(U(60)); }

  void AddEdge(uint32_t client, uint32_t server, Protocol protocol, Shape shape) {
    if (!edge_set_.insert({client, server}).second) return;
    EdgeSpec e;
    e.client = client;
    e.server = server;
    e.protocol = protocol;
    e.shape = shape;
    const int n_paths = 1 + static_cast<int>(U(3));
    if (protocol == Protocol::kHttp) {
      for (int i = 0; i < n_paths; ++i) e.paths.push_back(HttpPath());
      e.methods.push_back(static_cast<uint8_t>(1 + U(4)));
      if (Chance(0.4)) e.methods.push_back(static_cast<uint8_t>(1 + U(4)));
    } else if (protocol == Protocol::kGrpc) {
      e.paths.push_back(61 + static_cast<uint32_t>(U(10)));
      e.methods.push_back(0);
    } else {
      e.paths.push_back(0);
      e.methods.push_back(0);
    }
    e.base_us = std::exp(Real(std::log(200.0), std::log(2e6)));
    e.error_share = Chance(0.3) ? Real(0.05, 0.5) : Real(0, 0.03);
    const double p = Real(0, 1);
    e.pattern = p < 0.25  ? Pattern::kEarly
                : p < 0.5 ? Pattern::kLate
                : p < 0.8 ? Pattern::kThroughout
                          : Pattern::kBurst;
    edges_.push_back(e);
    d_.edges.push_back({client, server});
  }

  void MakeEdges() {
    for (uint32_t s : services_) {
      for (int k = 0; k < o_.edges_per_service; ++k) {
        const double p = Real(0, 1);
        if (p < 0.72) {
          uint32_t to = services_[U(services_.size())];
          if (Chance(0.7)) {  // prefer the same namespace
            for (int tries = 0; tries < 8 && d_.nodes[to].ns != d_.nodes[s].ns; ++tries) {
              to = services_[U(services_.size())];
            }
          }
          AddEdge(s, to, Chance(0.2) ? Protocol::kGrpc : Protocol::kHttp, Shape::kPair);
        } else if (p < 0.82) {
          AddEdge(s, databases_[U(databases_.size())], Protocol::kDatabase, Shape::kClientOnly);
        } else if (p < 0.89) {
          AddEdge(s, externals_[U(externals_.size())], Protocol::kHttp, Shape::kClientOnly);
        } else if (p < 0.93) {
          AddEdge(s, messaging_[U(messaging_.size())], Protocol::kMessaging, Shape::kClientOnly);
        } else if (p < 0.97) {
          AddEdge(external_client_, s, Protocol::kHttp,
                  Chance(0.5) ? Shape::kOrphanServer : Shape::kServerOnly);
        } else {
          AddEdge(messaging_[U(messaging_.size())], s, Protocol::kMessaging, Shape::kServerOnly);
        }
      }
    }
  }

  // A history minute: log-uniform age from 1 day to 6 years, away from retention boundaries.
  int64_t HistoryMs() {
    for (;;) {
      const double age =
          std::exp(Real(std::log(double(kDay + 30 * kMinute)), std::log(6 * 365.0 * kDay)));
      const int64_t t = d_.now_ms - static_cast<int64_t>(age);
      if (NearRetentionBoundary(t)) continue;
      return t;
    }
  }

  bool NearRetentionBoundary(int64_t t) const {
    for (int tier = 0; tier < 3; ++tier) {
      const int64_t unit = storage::TierUnitMinutes(static_cast<storage::Tier>(tier)) * kMinute;
      const int64_t unit_end = (FloorDiv(t, unit) + 1) * unit;
      if (std::llabs(unit_end - (d_.now_ms - d_.retention.ms[tier])) < kRetentionMargin) {
        return true;
      }
    }
    return false;
  }

  int64_t RecentMs() {
    const int64_t lo = d_.otlp_cutoff_minute * kMinute + 2 * kMinute;
    const int64_t hi = d_.now_ms - 2 * kMinute;
    return lo + static_cast<int64_t>(U(static_cast<uint64_t>(hi - lo)));
  }

  int64_t TimeFor(const EdgeSpec& e, int64_t burst_at, int64_t burst_width) {
    switch (e.pattern) {
      case Pattern::kEarly:
        return HistoryMs();
      case Pattern::kLate:
        return RecentMs();
      case Pattern::kThroughout:
        return Chance(0.5) ? HistoryMs() : RecentMs();
      case Pattern::kBurst:
        break;
    }
    for (;;) {
      const int64_t t = burst_at + static_cast<int64_t>(U(static_cast<uint64_t>(burst_width)));
      const bool recent = t >= d_.otlp_cutoff_minute * kMinute + 2 * kMinute;
      if (t < d_.now_ms - 2 * kMinute &&
          (recent || (t < d_.now_ms - kDay - 30 * kMinute && !NearRetentionBoundary(t)))) {
        return t;
      }
      burst_at = Chance(0.5) ? HistoryMs() : RecentMs();
    }
  }

  void MakeRequests(const EdgeSpec& e) {
    const int n = 1 + static_cast<int>(U(2 * o_.requests_per_edge));
    int64_t burst_at = Chance(0.5) ? HistoryMs() : RecentMs();
    const int64_t burst_width = (1 + static_cast<int64_t>(U(30))) * kMinute;
    for (int i = 0; i < n; ++i) {
      if (e.pattern == Pattern::kBurst && Chance(0.1)) {
        burst_at = Chance(0.5) ? HistoryMs() : RecentMs();
      }
      Request r;
      r.client = e.client;
      r.server = e.server;
      r.protocol = e.protocol;
      r.shape = e.shape;
      r.start_ms = TimeFor(e, burst_at, burst_width);
      r.minute = FloorDiv(r.start_ms, kMinute);
      r.path = e.paths[U(e.paths.size())];
      r.method = e.methods[U(e.methods.size())];
      const bool fail = Chance(e.error_share);
      if (e.protocol == Protocol::kHttp) {
        static constexpr uint16_t kOk[] = {200, 200, 200, 201, 204, 404, 0};  // 0: no answer
        static constexpr uint16_t kBad[] = {500, 502, 503};
        r.status = fail ? kBad[U(3)] : kOk[U(Chance(0.1) ? 7 : 6)];
        r.span_error = !fail && Chance(0.02);
      } else if (e.protocol == Protocol::kGrpc) {
        static constexpr uint16_t kBad[] = {2, 13, 14};
        r.status = fail ? kBad[U(3)] : (Chance(0.9) ? 0 : 5);
        r.span_error = !fail && Chance(0.02);
      } else {
        r.span_error = fail;
      }
      r.error =
          r.span_error || (e.protocol == Protocol::kHttp && r.status >= 500) ||
          (e.protocol == Protocol::kGrpc && (r.status == 2 || r.status == 13 || r.status == 14));
      const double us = std::max(50.0, e.base_us * std::exp(Real(-1.0, 1.0)));
      const auto server_us = static_cast<uint32_t>(us);
      const auto client_us = static_cast<uint32_t>(us + 100 + U(3000));
      r.server_us = e.shape == Shape::kClientOnly ? 0 : server_us;
      r.client_us = e.shape == Shape::kPair || e.shape == Shape::kClientOnly ? client_us : 0;
      for (auto& b : r.trace_id) b = static_cast<uint8_t>(U(256));
      for (auto& b : r.span_id) b = static_cast<uint8_t>(U(256));
      r.otlp = r.minute >= d_.otlp_cutoff_minute && !Chance(0.05);
      d_.requests.push_back(r);
    }
  }

  std::mt19937_64 rng_;
  GenOptions o_;
  Dataset d_;
  std::vector<uint32_t> services_, externals_, databases_, messaging_;
  uint32_t external_client_ = 0;
  std::vector<EdgeSpec> edges_;
  std::set<std::pair<uint32_t, uint32_t>> edge_set_;
};

}  // namespace

std::string Node::Key() const {
  return std::string(storage::NodeKindName(kind)) + "/" + ns + "/" + name;
}

bool Retention::Keeps(storage::Tier tier, int64_t unit, int64_t now_ms) const {
  const int64_t unit_ms = storage::TierUnitMinutes(tier) * kMinute;
  return (unit + 1) * unit_ms > now_ms - ms[static_cast<int>(tier)];
}

std::vector<std::string> Retention::Flags() const {
  return {"--retention-1m", std::to_string(ms[0] / kDay) + "d",
          "--retention-1h", std::to_string(ms[1] / kDay) + "d",
          "--retention-1d", std::to_string(ms[2] / kDay) + "d"};
}

std::string MethodName(uint8_t method) { return kMethods[method]; }

Dataset Generate(const GenOptions& options, int64_t now_ms) {
  return Generator(options, now_ms).Run();
}

}  // namespace ew::model
