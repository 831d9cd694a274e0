#include "tools/topology.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

namespace ew::tools {
namespace {

const char* const kNamespaces[] = {"shop", "platform", "payments", "data", "identity", "search"};
const char* const kServiceNames[] = {"frontend",  "api-gateway", "checkout",  "cart",   "catalog",
                                     "payment",   "shipping",    "recommend", "auth",   "users",
                                     "inventory", "email",       "currency",  "quote",  "search",
                                     "reviews",   "ads",         "fraud",     "ledger", "notify",
                                     "pricing",   "warehouse",   "billing",   "profile"};
const char* const kRoutes[] = {"/api/items/{id}", "/api/cart", "/api/orders/{id}", "/checkout",
                               "/v1/quote",       "/health",   "/api/users/{id}",  "/search"};
const char* const kLanguages[] = {"go", "java", "nodejs", "python", "dotnet", "rust"};

bool IsIpLiteral(std::string_view h) {
  if (h.empty()) return false;
  if (std::count(h.begin(), h.end(), ':') >= 2) return true;  // IPv6
  int dots = 0;
  for (char c : h) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

std::string NodeRef::Label() const {
  std::string s = kind + " ";
  if (!ns.empty()) s += ns + "/";
  return s + name;
}

NodeRef ExternalNodeFor(std::string_view host) {
  std::string h(host);
  if (std::count(h.begin(), h.end(), ':') == 1) h = h.substr(0, h.find(':'));
  h = Lower(h);
  if (h.empty() || IsIpLiteral(h)) return {"external_service", "", "Unknown External Service"};
  return {"external_service", "", h};
}

bool IsErrorHalf(const OtlpSpan& s) {
  if (s.status_code == 2) return true;
  for (const Attr& a : s.attrs) {
    if (a.type != Attr::Type::kInt) continue;
    if ((a.key == "http.response.status_code" || a.key == "http.status_code") && a.i >= 500) {
      return true;
    }
    if (a.key == "rpc.grpc.status_code") {
      int64_t c = a.i;
      if (c == 2 || c == 4 || c == 12 || c == 13 || c == 14 || c == 15) return true;
    }
  }
  return false;
}

namespace {

void AddSpecials(std::vector<ServiceSpec>* services, std::mt19937_64& rng,
                 const std::function<double()>& error_rate) {
  auto uni = [&rng] { return std::uniform_real_distribution<double>(0, 1)(rng); };
  const int n = static_cast<int>(services->size());
  auto pick = [&rng](int k) { return static_cast<int>(rng() % static_cast<uint64_t>(k)); };
  auto add = [&](int svc, CallSpec c) {
    c.error_rate = error_rate();
    c.median_us = 2000 + 60000 * uni() * uni();
    c.sigma = 0.4 + 0.5 * uni();
    c.probability = 0.3 + 0.4 * uni();
    (*services)[svc].calls.push_back(std::move(c));
  };
  struct Ext {
    const char* host;
    int attr;
    TargetKind kind;
  };
  const Ext kExternals[] = {{"api.stripe.com", 0, TargetKind::kExternalHost},
                            {"Hooks.Slack.com:443", 1, TargetKind::kExternalHost},
                            {"maps.googleapis.com", 0, TargetKind::kExternalHost},
                            {"sendgrid", 2, TargetKind::kExternalHost},
                            {"10.0.3.7", 0, TargetKind::kExternalIp},
                            {"192.168.10.20:8443", 1, TargetKind::kExternalIp}};
  for (const Ext& e : kExternals) {
    CallSpec c;
    c.target = e.kind;
    c.host = e.host;
    c.host_attr = e.attr;
    c.route = e.kind == TargetKind::kExternalIp ? "/v1/internal" : "/v1/hook";
    c.method = "POST";
    add(pick(n), c);
  }
  const std::pair<const char*, const char*> kDbs[] = {
      {"postgresql", "orders"}, {"redis", ""}, {"mongodb", "catalog"}, {"mysql", "users"}};
  for (const auto& [system, ns] : kDbs) {
    CallSpec c;
    c.target = TargetKind::kDatabase;
    c.system = system;
    c.db_namespace = ns;
    add(pick(n), c);
  }
  CallSpec kafka;
  kafka.target = TargetKind::kMessaging;
  kafka.system = "kafka";
  kafka.destination = "orders";
  int producer = pick(n - 1);
  kafka.service = producer + 1 + pick(n - producer - 1);
  add(producer, kafka);
  CallSpec audit = kafka;
  audit.destination = "audit";
  audit.service = -1;  // nobody consumes it: ends at the messaging node
  add(pick(n), audit);
}

}  // namespace

Topology Topology::Build(const TopologyOptions& o) {
  Topology t;
  std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ULL + 7);
  auto uni = [&rng] { return std::uniform_real_distribution<double>(0, 1)(rng); };
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const int nns = std::max(1, o.namespaces);
  const int nsvc = std::max(2, o.services);
  const double kErrorRates[] = {0.0, 0.005, 0.02, 0.05, 0.15};
  std::function<double()> error_rate = [&] {
    return std::min(1.0, kErrorRates[pick(5)] * o.error_scale);
  };
  for (int i = 0; i < nsvc; ++i) {
    ServiceSpec s;
    int nsi = i * nns / nsvc;
    s.ns = o.namespace_prefix + (nsi < 6 ? kNamespaces[nsi] : "ns" + std::to_string(nsi));
    s.name = i < 24 ? kServiceNames[i] : "svc-" + std::to_string(i);
    s.old_semconv = uni() < o.old_semconv_share;
    s.k8s_namespace = uni() < 0.7;
    s.entry = i == 0 || (i == 1 && nsvc >= 4);
    t.services_.push_back(s);
  }
  // Service-to-service calls go "down" (to higher indices), so traces are finite.
  for (int i = 0; i + 1 < nsvc; ++i) {
    int calls = 1 + pick(std::max(1, o.fanout));
    for (int k = 0; k < calls; ++k) {
      CallSpec c;
      c.service = i + 1 + pick(nsvc - i - 1);
      bool dup = false;
      for (const CallSpec& e : t.services_[i].calls) dup |= e.service == c.service;
      if (dup) continue;
      c.grpc = uni() < 0.35;
      c.route = c.grpc ? "edgewise.demo." + t.services_[c.service].name + "/Get" : kRoutes[pick(8)];
      c.method = uni() < 0.7 ? "GET" : "POST";
      c.probability = 0.35 + 0.5 * uni();
      c.error_rate = error_rate();
      c.median_us = 500 + 20000 * uni() * uni();
      c.sigma = 0.3 + 0.6 * uni();
      t.services_[i].calls.push_back(c);
    }
  }
  // Every service is reachable: one without callers gets one from an earlier service.
  for (int j = 1; j < nsvc; ++j) {
    bool called = t.services_[j].entry;
    for (int i = 0; i < j && !called; ++i) {
      for (const CallSpec& c : t.services_[i].calls) called |= c.service == j;
    }
    if (called) continue;
    CallSpec c;
    c.service = j;
    c.grpc = uni() < 0.35;
    c.route = c.grpc ? "edgewise.demo." + t.services_[j].name + "/Get" : kRoutes[pick(8)];
    c.probability = 0.5 + 0.4 * uni();
    c.error_rate = error_rate();
    c.median_us = 500 + 20000 * uni() * uni();
    c.sigma = 0.3 + 0.6 * uni();
    t.services_[pick(j)].calls.push_back(c);
  }
  AddSpecials(&t.services_, rng, error_rate);
  for (size_t i = 0; i < t.services_.size(); ++i) {
    const ServiceSpec& s = t.services_[i];
    std::vector<Attr> r;
    r.push_back(Attr::Str("service.name", s.name));
    r.push_back(Attr::Str(s.k8s_namespace ? "k8s.namespace.name" : "service.namespace", s.ns));
    r.push_back(Attr::Str("service.instance.id", s.name + "-" + std::to_string(1000 + i)));
    r.push_back(Attr::Str("telemetry.sdk.language", kLanguages[i % 6]));
    t.resources_.push_back(std::move(r));
  }
  return t;
}

NodeRef Topology::ServiceNode(int i) const {
  return {"service", services_[i].ns, services_[i].name};
}

std::string Topology::Describe() const {
  std::ostringstream o;
  for (const ServiceSpec& s : services_) {
    o << s.ns << "/" << s.name << (s.old_semconv ? " (old semconv)" : " (stable semconv)")
      << (s.entry ? " [entry]" : "") << "\n";
    for (const CallSpec& c : s.calls) {
      o << "  -> ";
      switch (c.target) {
        case TargetKind::kService:
          o << services_[c.service].ns << "/" << services_[c.service].name
            << (c.grpc ? " grpc" : " http");
          break;
        case TargetKind::kExternalHost:
        case TargetKind::kExternalIp:
          o << "external " << c.host;
          break;
        case TargetKind::kDatabase:
          o << "database " << c.system << (c.db_namespace.empty() ? "" : "/" + c.db_namespace);
          break;
        case TargetKind::kMessaging:
          o << "messaging " << c.system << "/" << c.destination;
          if (c.service >= 0) o << " consumed by " << services_[c.service].name;
          break;
      }
      o << " p=" << c.probability << " err=" << c.error_rate << " median=" << c.median_us / 1000
        << "ms\n";
    }
  }
  return o.str();
}

TraceGenerator::TraceGenerator(const Topology* topology, uint64_t seed)
    : topo_(topology), rng_(seed ^ 0xA5A5A5A5DEADBEEFULL) {}

void TraceGenerator::NewSpanId(OtlpSpan* s) {
  uint64_t v = rng_() | 1;  // never all zero
  for (int i = 0; i < 8; ++i) s->span_id[i] = static_cast<uint8_t>(v >> (8 * i));
  s->trace_id = trace_id_;
}

uint64_t TraceGenerator::LatencyUs(double median_us, double sigma) {
  double z = std::normal_distribution<double>(0, 1)(rng_);
  double v = median_us * std::exp(sigma * z);
  return static_cast<uint64_t>(std::clamp(v, 50.0, 30e6));
}

void TraceGenerator::Generate(uint64_t now_ns, std::vector<GenRequest>* out, double eb, double lb) {
  uint64_t a = rng_(), b = rng_();
  for (int i = 0; i < 8; ++i) {
    trace_id_[i] = static_cast<uint8_t>(a >> (8 * i));
    trace_id_[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  std::vector<int> entries;
  for (size_t i = 0; i < topo_->services().size(); ++i) {
    if (topo_->services()[i].entry) entries.push_back(static_cast<int>(i));
  }
  Root(entries[rng_() % entries.size()], now_ns, out, eb, lb);
}

}  // namespace ew::tools
