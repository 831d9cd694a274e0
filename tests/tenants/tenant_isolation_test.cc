// Two tenants through one real server (docs/api.md "Tenants and tokens"): each sends with its own
// token the SAME trace and span ids — half of the keys overlap, in both arrival orders (client
// half first or server half first, opposite between the tenants), some service names shared —
// and each tenant's map must be exactly its own traffic, compared with a brute-force ledger of
// what it sent: nothing paired across tenants, nothing counted in the other's map. Also across a
// kill -9 between the first and the second halves (waiting halves from the store and the ingest
// log), and per tenant on /metrics/servicegraph; another tenant's node id is a 404.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/server/server_test_util.h"
#include "tools/otlp_encoder.h"

namespace ew::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kKeys = 600;  // keys per tenant's id space (both tenants use the same ids)
constexpr char kTokenA[] = "tok-alpha-1b2c3d";
constexpr char kTokenB[] = "tok-beta-4e5f6a";

struct Tenant {
  std::string token;
  char tag;   // 'a' or 'b'
  int mod;    // this tenant sends key i unless i % 3 == mod
  bool flip;  // server half first for even keys (else for odd keys)
  int error_every;
};

// (client service, server service) -> (requests, errors)
using Ledger = std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>>;

bool Sends(const Tenant& t, int i) { return i % 3 != t.mod; }

std::pair<std::string, std::string> Services(const Tenant& t, int i) {
  if (i % 10 == 0) return {"shared-web", "shared-api"};  // the same names in both tenants
  const std::string p(1, t.tag);
  return {p + "-web-" + std::to_string(i % (t.tag == 'a' ? 7 : 3)),
          p + "-api-" + std::to_string(i % (t.tag == 'a' ? 5 : 11))};
}

tools::OtlpSpan Half(const Tenant& t, int i, bool server, int64_t now_ms) {
  tools::OtlpSpan s;
  s.trace_id = tools::MakeTraceId(17, static_cast<uint64_t>(i));
  s.span_id = tools::MakeSpanId(17, static_cast<uint64_t>(server ? i + 100000 : i));
  s.parent_span_id = tools::MakeSpanId(17, static_cast<uint64_t>(i));
  s.has_parent = server;
  s.kind = server ? 2 : 3;
  s.start_ns = static_cast<uint64_t>(now_ms - 60'000 + i) * 1'000'000;
  s.end_ns = s.start_ns + (server ? 2'000'000 : 3'000'000);
  s.name = "GET /orders";
  const int status = i % t.error_every == 0 ? 503 : 200;
  s.attrs = {tools::Attr::Str("http.request.method", "GET"),
             tools::Attr::Str("http.route", "/orders"),
             tools::Attr::Int("http.response.status_code", status)};
  return s;
}

Ledger Expected(const Tenant& t) {
  Ledger out;
  for (int i = 0; i < kKeys; ++i) {
    if (!Sends(t, i)) continue;
    auto& e = out[Services(t, i)];
    ++e.first;
    if (i % t.error_every == 0) ++e.second;
  }
  return out;
}

// Posts the first (second = false) or second halves of the tenant's keys, 100 spans a request.
void SendHalves(const ServerProcess& server, const Tenant& t, bool second, int64_t now_ms) {
  std::vector<tools::OtlpSpan> spans;
  std::vector<std::vector<tools::Attr>> resources;
  std::map<std::string, uint32_t> resource_of;
  for (int i = 0; i < kKeys; ++i) {
    if (!Sends(t, i)) continue;
    const bool server_first = (i % 2 == 0) == t.flip;
    const bool server_half = server_first != second;
    tools::OtlpSpan s = Half(t, i, server_half, now_ms);
    const auto [client, server_name] = Services(t, i);
    const std::string& name = server_half ? server_name : client;
    auto [it, fresh] = resource_of.emplace(name, static_cast<uint32_t>(resources.size()));
    if (fresh) resources.push_back({tools::Attr::Str("service.name", name)});
    s.resource = it->second;
    spans.push_back(std::move(s));
  }
  HttpConnection c(server.host(), server.otlp_port());
  for (size_t i = 0; i < spans.size(); i += 100) {
    std::vector<const tools::OtlpSpan*> ptrs;
    for (size_t j = i; j < spans.size() && j < i + 100; ++j) ptrs.push_back(&spans[j]);
    const std::string body = tools::EncodeTraces(ptrs, resources, tools::Encoding::kProtobuf);
    auto r = c.Post("/v1/traces", body, "application/x-protobuf",
                    {{"Authorization", "Bearer " + t.token}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 200) << r->body;
  }
}

struct MapView {
  Ledger edges;
  std::map<std::string, std::string> node_names;  // id -> name
  uint64_t total = 0;
};

MapView FetchMap(const ServerProcess& server, const std::string& token) {
  MapView out;
  HttpConnection c(server.host(), server.http_port());
  auto r = c.Get("/api/v1/map?start=now-3h&end=now%2B1h", {{"Authorization", "Bearer " + token}});
  EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
  if (!r.ok()) return out;
  auto doc = Json::Parse(r->body);
  EXPECT_TRUE(doc.ok());
  if (!doc.ok()) return out;
  for (const Json& n : (*doc)["nodes"].Elements()) {
    out.node_names[n["id"].String()] = n["name"].String();
  }
  for (const Json& e : (*doc)["edges"].Elements()) {
    auto& v =
        out.edges[{out.node_names[e["source"].String()], out.node_names[e["target"].String()]}];
    v.first += e["requests"].Uint();
    v.second += e["errors"].Uint();
    out.total += e["requests"].Uint();
  }
  return out;
}

// The map once it holds `want` requests (pairing and flushing are asynchronous), or after 60 s.
MapView MapWhen(const ServerProcess& server, const std::string& token, uint64_t want) {
  MapView m = FetchMap(server, token);
  for (int i = 0; i < 600 && m.total < want; ++i) {
    std::this_thread::sleep_for(100ms);
    m = FetchMap(server, token);
  }
  return m;
}

uint64_t Total(const Ledger& l) {
  uint64_t n = 0;
  for (const auto& [k, v] : l) n += v.first;
  return n;
}

std::string Describe(const Ledger& l) {
  std::string out;
  for (const auto& [k, v] : l) {
    out += k.first + "->" + k.second + "=" + std::to_string(v.first) + "/" +
           std::to_string(v.second) + " ";
  }
  return out;
}

class TenantIsolation : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string file = dir_.Sub("tokens");
    std::ofstream(file) << kTokenA << " alpha ingest,query\n" << kTokenB << " beta ingest,query\n";
    options_.extra_args = {"--tokens-file",    file,   "--pair-wait", "10m",
                           "--flush-interval", "200ms"};
  }

  void ExpectMapsAreTheLedgers(const ServerProcess& server) {
    for (const Tenant* t : {&a_, &b_}) {
      const Ledger want = Expected(*t);
      MapView got = MapWhen(server, t->token, Total(want));
      EXPECT_EQ(got.edges, want) << "tenant " << t->tag << "\n got: " << Describe(got.edges)
                                 << "\nwant: " << Describe(want);
    }
  }

  // The shared-web -> shared-api edge (both tenants have one, with their own counts) through
  // every endpoint that can show it, and the other endpoints' node names.
  void ExpectEndpointsSeeOnlyTheTenant(const ServerProcess& server, const Tenant& t) {
    const auto shared = Expected(t).at({"shared-web", "shared-api"});
    const std::string range = "start=now-3h&end=now%2B1h";
    MapView map = FetchMap(server, t.token);
    std::string web, api;
    for (const auto& [id, name] : map.node_names) {
      if (name == "shared-web") web = id;
      if (name == "shared-api") api = id;
      EXPECT_TRUE(name.rfind(std::string(1, t.tag) + "-", 0) == 0 || name.rfind("shared-", 0) == 0)
          << t.tag << " sees node " << name;
    }
    ASSERT_FALSE(web.empty() || api.empty());
    HttpConnection c(server.host(), server.http_port());
    auto get = [&](const std::string& target) {
      auto r = c.Get(target, {{"Authorization", "Bearer " + t.token}});
      EXPECT_TRUE(r.ok() && r->status == 200) << target << ": " << (r.ok() ? r->body : "");
      auto doc = r.ok() ? Json::Parse(r->body) : Result<Json>(r.status());
      EXPECT_TRUE(doc.ok()) << target;
      return doc.ok() ? *doc : Json();
    };
    const std::string edge = "source=" + web + "&target=" + api + "&" + range;
    EXPECT_EQ(get("/api/v1/edge/breakdown?" + edge)["requests"].Uint(), shared.first) << t.tag;
    uint64_t series = 0;
    for (const Json& p : get("/api/v1/edge/series?" + edge)["points"].Elements()) {
      series += p["requests"].Uint();
    }
    EXPECT_EQ(series, shared.first) << t.tag;
    uint64_t incoming = 0;
    for (const Json& e : get("/api/v1/service?name=shared-api&" + range)["incoming"].Elements()) {
      incoming += e["requests"].Uint();
    }
    EXPECT_EQ(incoming, shared.first) << t.tag;
    uint64_t compared = 0;
    for (const Json& e : get("/api/v1/map?compare=1h&explain=true&" + range)["edges"].Elements()) {
      compared += e["requests"].Uint();
    }
    EXPECT_EQ(compared, Total(Expected(t))) << t.tag;
    for (const Json& n : get("/api/v1/map?format=nodegraph&" + range)["nodes"].Elements()) {
      const std::string title = n["title"].String();
      EXPECT_TRUE(title.find(std::string(1, t.tag) + "-") != std::string::npos ||
                  title.find("shared-") != std::string::npos)
          << t.tag << " sees node " << title;
    }
  }

  TempDir dir_;
  ServerOptions options_;
  Tenant a_{kTokenA, 'a', 2, true, 9};
  Tenant b_{kTokenB, 'b', 1, false, 4};
};

TEST_F(TenantIsolation, SameTraceAndSpanIdsNeverPairAcrossTenants) {
  ServerProcess server(options_);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  SendHalves(server, a_, false, now_ms);
  SendHalves(server, b_, false, now_ms);
  SendHalves(server, b_, true, now_ms);
  SendHalves(server, a_, true, now_ms);
  ExpectMapsAreTheLedgers(server);

  // Per tenant on /metrics/servicegraph: the tenant's own requests, no other's.
  for (const Tenant* t : {&a_, &b_}) {
    HttpConnection c(server.host(), server.http_port());
    auto r = c.Get("/metrics/servicegraph", {{"Authorization", "Bearer " + t->token}});
    ASSERT_TRUE(r.ok() && r->status == 200);
    uint64_t total = 0;
    const std::string name = "traces_service_graph_request_total{";
    for (size_t at = r->body.find("\n" + name); at != std::string::npos;
         at = r->body.find("\n" + name, at + 1)) {
      const size_t sp = r->body.find("} ", at);
      total += std::stoull(r->body.substr(sp + 2, r->body.find('\n', sp) - sp - 2));
    }
    EXPECT_EQ(total, Total(Expected(*t))) << t->tag << ":\n" << r->body.substr(0, 3000);
    const std::string other = t->tag == 'a' ? "server=\"b-" : "server=\"a-";
    EXPECT_EQ(r->body.find(other), std::string::npos) << t->tag;
  }

  for (const Tenant* t : {&a_, &b_}) ExpectEndpointsSeeOnlyTheTenant(server, *t);

  // A node id of the other tenant answers like an unknown id.
  MapView a = FetchMap(server, kTokenA);
  ASSERT_FALSE(a.node_names.empty());
  const std::string id = a.node_names.begin()->first;
  HttpConnection c(server.host(), server.http_port());
  for (const std::string& target : {"/api/v1/service?id=" + id, "/api/v1/map?focus=" + id,
                                    "/api/v1/edge/traces?source=" + id + "&target=" + id,
                                    "/api/v1/edge/series?source=" + id + "&target=" + id}) {
    auto mine = c.Get(target, {{"Authorization", std::string("Bearer ") + kTokenA}});
    auto theirs = c.Get(target, {{"Authorization", std::string("Bearer ") + kTokenB}});
    ASSERT_TRUE(mine.ok() && theirs.ok());
    EXPECT_NE(mine->status, 404) << target << ": " << mine->body;
    EXPECT_EQ(theirs->status, 404) << target << ": " << theirs->body;
  }
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST_F(TenantIsolation, WaitingHalvesKeepTheirTenantAcrossKill9) {
  ServerProcess server(options_);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  SendHalves(server, a_, false, now_ms);
  SendHalves(server, b_, false, now_ms);
  // Some waiting halves are flushed to the store by now, the latest only in the ingest log.
  std::this_thread::sleep_for(300ms);
  SendHalves(server, a_, false, now_ms);  // a resent half replaces its own tenant's only
  EXPECT_EQ(server.Kill(), 128 + 9);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  SendHalves(server, b_, true, now_ms);
  SendHalves(server, a_, true, now_ms);
  ExpectMapsAreTheLedgers(server);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

}  // namespace
}  // namespace ew::testing
