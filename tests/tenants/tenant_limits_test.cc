// Per-tenant limits on waiting halves, distinct edges and paths per edge through the real server
// (docs/operations.md "Limits and their defaults"): four tenants with their own tokens send over
// OTLP/HTTP. "alpha" goes over --tenant-max-pending, "gamma" over --tenant-max-edges, "delta"
// over --max-paths-per-edge, and "beta" stays under every limit. Beta's map (GET /api/v1/map)
// must equal its ledger exactly and /metrics must never count a refusal for it; each limited
// tenant's map plus its ew_ingest_refused_total{tenant,reason} must add up to what it sent.
// And the deletion of one tenant (edgewise-ctl tenant-delete, DELETE /api/v1/admin/tenant): its
// map answers empty, also after a restart (its waiting halves are gone too), the other tenant's
// map is unchanged, and the tenant starts over when it sends again.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/server/server_test_util.h"
#include "tests/tools/tool_process.h"
#include "tools/otlp_encoder.h"

namespace ew::testing {
namespace {

using namespace std::chrono_literals;
using Ledger = std::map<std::pair<std::string, std::string>, uint64_t>;

constexpr char kUnknown[] = "Unknown External Service";

// One request: a client half of `client` and/or a server half of `server` (trace n of the seed).
struct Call {
  uint64_t n = 0;
  std::string client, server, path;
  bool send_client = true, send_server = true;
};

tools::OtlpSpan Half(uint64_t seed, const Call& c, bool server, int64_t now_ms) {
  tools::OtlpSpan s;
  s.trace_id = tools::MakeTraceId(seed, c.n);
  s.span_id = tools::MakeSpanId(seed, server ? c.n + 1'000'000 : c.n);
  s.parent_span_id = tools::MakeSpanId(seed, c.n);
  s.has_parent = server;
  s.kind = server ? 2 : 3;
  s.start_ns = static_cast<uint64_t>(now_ms - 30'000) * 1'000'000;
  s.end_ns = s.start_ns + (server ? 2'000'000 : 3'000'000);
  s.name = "GET";
  if (!c.path.empty()) {
    s.attrs = {tools::Attr::Str("http.request.method", "GET"),
               tools::Attr::Str("http.route", c.path)};
  }
  return s;
}

class TenantServer : public ::testing::Test {
 protected:
  // Starts the server with tokens for alpha, beta, gamma, delta (ingest, query) and ops
  // (admin), and these flags.
  void Start(const std::vector<std::string>& limits) {
    const std::string file = dir_.Sub("tokens");
    std::ofstream out(file);
    for (const char* t : {"alpha", "beta", "gamma", "delta"}) {
      out << Token(t) << " " << t << " ingest,query\n";
    }
    out << Token("ops") << " ops admin\n";
    out.close();
    ServerOptions options;
    options.extra_args = {"--tokens-file",    file,    "--pair-wait",     "10m",
                          "--flush-interval", "200ms", "--ingest-shards", "2"};
    options.extra_args.insert(options.extra_args.end(), limits.begin(), limits.end());
    server_ = std::make_unique<ServerProcess>(options);
    ASSERT_TRUE(server_->Start().ok()) << server_->Stderr();
    now_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  }

  static std::string Token(const std::string& tenant) { return "tok-" + tenant + "-7f3a9c"; }

  // Posts the calls' halves in order, 100 spans a request.
  void Send(const std::string& tenant, uint64_t seed, const std::vector<Call>& calls) {
    std::vector<tools::OtlpSpan> spans;
    std::vector<std::vector<tools::Attr>> resources;
    std::map<std::string, uint32_t> resource_of;
    auto add = [&](const Call& c, bool server) {
      tools::OtlpSpan s = Half(seed, c, server, now_ms_);
      const std::string& name = server ? c.server : c.client;
      auto [it, fresh] = resource_of.emplace(name, static_cast<uint32_t>(resources.size()));
      if (fresh) resources.push_back({tools::Attr::Str("service.name", name)});
      s.resource = it->second;
      spans.push_back(std::move(s));
    };
    for (const Call& c : calls) {
      if (c.send_client) add(c, false);
      if (c.send_server) add(c, true);
    }
    HttpConnection conn(server_->host(), server_->otlp_port());
    for (size_t i = 0; i < spans.size(); i += 100) {
      std::vector<const tools::OtlpSpan*> ptrs;
      for (size_t j = i; j < spans.size() && j < i + 100; ++j) ptrs.push_back(&spans[j]);
      auto r =
          conn.Post("/v1/traces", tools::EncodeTraces(ptrs, resources, tools::Encoding::kProtobuf),
                    "application/x-protobuf", {{"Authorization", "Bearer " + Token(tenant)}});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->status, 200) << r->body;
    }
  }

  Json Get(const std::string& tenant, const std::string& target) {
    HttpConnection c(server_->host(), server_->http_port());
    auto r = c.Get(target, {{"Authorization", "Bearer " + Token(tenant)}});
    EXPECT_TRUE(r.ok() && r->status == 200) << target << ": " << (r.ok() ? r->body : "");
    auto doc = r.ok() ? Json::Parse(r->body) : Result<Json>(r.status());
    return doc.ok() ? *doc : Json();
  }

  // The tenant's map: requests per (source name, target name); ids of the nodes by name.
  Ledger Map(const std::string& tenant, std::map<std::string, std::string>* ids = nullptr) {
    Json doc = Get(tenant, "/api/v1/map?start=now-3h&end=now%2B1h");
    std::map<std::string, std::string> names;
    for (const Json& n : doc["nodes"].Elements()) {
      names[n["id"].String()] = n["name"].String();
      if (ids) (*ids)[n["name"].String()] = n["id"].String();
    }
    Ledger out;
    for (const Json& e : doc["edges"].Elements()) {
      out[{names[e["source"].String()], names[e["target"].String()]}] += e["requests"].Uint();
    }
    return out;
  }

  uint64_t Refused(const std::string& tenant, const std::string& reason) {
    const std::string text = Metrics();
    const std::string key =
        "ew_ingest_refused_total{tenant=\"" + tenant + "\",reason=\"" + reason + "\"} ";
    const size_t at = text.find(key);
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
  }

  std::string Metrics() {
    HttpConnection c(server_->host(), server_->http_port());
    auto r = c.Get("/metrics");
    return r.ok() ? r->body : "";
  }

  // Polls (pairing and flushing are asynchronous) until done() holds, at most 60 s.
  static void WaitUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 600 && !done(); ++i) std::this_thread::sleep_for(100ms);
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  int64_t now_ms_ = 0;
};

uint64_t Sum(const Ledger& l) {
  uint64_t n = 0;
  for (const auto& [edge, count] : l) n += count;
  return n;
}

std::string Describe(const Ledger& l) {
  std::string out;
  for (const auto& [k, v] : l) out += k.first + "->" + k.second + "=" + std::to_string(v) + " ";
  return out;
}

using TenantLimitsServer = TenantServer;

TEST_F(TenantLimitsServer, EachLimitTakesOnlyFromItsTenantAndEveryRequestIsAccountedFor) {
  Start({"--tenant-max-pending", "100", "--tenant-max-edges", "4", "--max-paths-per-edge", "3"});
  // alpha: 300 client halves wait (150 of "a-old", then 150 of "a-new"); its bound is 100, 50 in
  // each of the two shards, so in each shard all but its newest 50 expire early into
  // a-X -> Unknown External Service. Then the server halves of the a-new calls come: those whose
  // client half still waits pair, the others wait (at most 50 of them, under the bound).
  std::vector<Call> alpha;
  for (uint64_t i = 0; i < 300; ++i) {
    alpha.push_back({i, i < 150 ? "a-old" : "a-new", "a-api", "", true, false});
  }
  Send("alpha", 1, alpha);
  // gamma: pairs on 8 edges g-cE -> g-api (E + 2 calls each, interleaved); 4 edges are allowed.
  Ledger gamma_sent;
  std::vector<Call> gamma;
  for (uint64_t round = 0; round < 9; ++round) {
    for (uint64_t e = 0; e < 8; ++e) {
      if (round >= e + 2) continue;
      const std::string client = "g-c" + std::to_string(e);
      gamma.push_back({round * 8 + e, client, "g-api", ""});
      ++gamma_sent[{client, "g-api"}];
    }
  }
  Send("gamma", 3, gamma);
  // delta: pairs on d-web -> d-api with 6 paths (p + 1 calls each); 3 paths are kept.
  std::map<std::string, uint64_t> delta_paths;
  std::vector<Call> delta;
  for (uint64_t p = 0; p < 6; ++p) {
    for (uint64_t k = 0; k <= p; ++k) {
      const std::string path = "/d/" + std::string(1, static_cast<char>('a' + p));  // no ids
      delta.push_back({p * 10 + k, "d-web", "d-api", path, true, true});
      ++delta_paths[path];
    }
  }
  Send("delta", 4, delta);
  // beta, under every limit: 60 client halves wait, then their servers; 3 edges (one of them
  // b-web -> b-api with 3 paths), 30 more pairs.
  Ledger beta_sent;
  std::vector<Call> beta_clients, beta_servers;
  for (uint64_t i = 0; i < 60; ++i) {
    const std::string client = i % 2 ? "b-web" : "b-cron";
    const std::string path = "/b/" + std::string(1, static_cast<char>('a' + i % 3));
    beta_clients.push_back({i, client, "b-api", path, true, false});
    beta_servers.push_back({i, client, "b-api", path, false, true});
    ++beta_sent[{client, "b-api"}];
  }
  for (uint64_t i = 60; i < 90; ++i) {
    beta_clients.push_back({i, "b-web", "b-db", "/q", true, true});
    ++beta_sent[{"b-web", "b-db"}];
  }
  Send("beta", 1, beta_clients);  // the same trace and span ids as alpha's: never mixed
  Send("beta", 1, beta_servers);

  std::vector<Call> alpha_servers;
  // Newest first: in each shard the partners of the halves still waiting come before those
  // whose half expired (which then wait themselves, and would push out older waiting halves).
  for (uint64_t i = 300; i-- > 150;) alpha_servers.push_back({i, "a-new", "a-api", "", false});
  Send("alpha", 1, alpha_servers);

  // beta: exactly its ledger, never refused.
  Ledger beta_map;
  WaitUntil([&] { return Sum(beta_map = Map("beta")) >= Sum(beta_sent); });
  EXPECT_EQ(beta_map, beta_sent) << "got " << Describe(beta_map) << "\nwant "
                                 << Describe(beta_sent);

  // alpha: every a-old client half expired early, and in each shard those a-new ones older than
  // its newest 50: 200 in all; the newest 100 paired.
  Ledger alpha_map;
  WaitUntil([&] { return Sum(alpha_map = Map("alpha")) >= 300; });
  EXPECT_EQ(
      alpha_map,
      (Ledger{{{"a-new", "a-api"}, 100}, {{"a-new", kUnknown}, 50}, {{"a-old", kUnknown}, 150}}))
      << Describe(alpha_map);
  EXPECT_EQ(Refused("alpha", "pending"), 200u);
  const uint64_t paired = alpha_map[{"a-new", "a-api"}];
  EXPECT_EQ(paired + Refused("alpha", "pending"), alpha.size());

  // gamma: four edges, each with all of its calls; every other call refused, once.
  Ledger gamma_map;
  WaitUntil(
      [&] { return Sum(gamma_map = Map("gamma")) + Refused("gamma", "edges") >= Sum(gamma_sent); });
  EXPECT_EQ(gamma_map.size(), 4u) << Describe(gamma_map);
  for (const auto& [edge, count] : gamma_map) EXPECT_EQ(count, gamma_sent[edge]) << edge.first;
  EXPECT_EQ(Sum(gamma_map) + Refused("gamma", "edges"), Sum(gamma_sent));

  // delta: every call stored, those past the first three paths under {other}, and counted.
  std::map<std::string, std::string> ids;
  WaitUntil([&] { return Sum(Map("delta", &ids)) >= delta.size(); });
  Json groups = Get("delta", "/api/v1/edge/breakdown?source=" + ids["d-web"] +
                                 "&target=" + ids["d-api"] + "&start=now-3h&end=now%2B1h");
  EXPECT_EQ(groups["requests"].Uint(), delta.size());
  uint64_t other = 0, kept = 0;
  for (const Json& g : groups["groups"].Elements()) {
    if (g["key"].String() == "{other}") {
      other = g["requests"].Uint();
    } else {
      EXPECT_EQ(g["requests"].Uint(), delta_paths[g["key"].String()]) << g["key"].String();
      kept += g["requests"].Uint();
    }
  }
  EXPECT_EQ(groups["groups"].Elements().size(), 4u);
  EXPECT_GT(other, 0u);
  EXPECT_EQ(other, Refused("delta", "paths"));
  EXPECT_EQ(kept + other, delta.size());

  const std::string metrics = Metrics();
  EXPECT_EQ(metrics.find("tenant=\"beta\""), std::string::npos);
  for (const char* t : {"alpha", "gamma", "delta"}) {  // each only by its own limit
    for (const char* reason : {"pending", "edges", "paths", "max_pending"}) {
      const bool own = (std::string(t) == "alpha" && std::string(reason) == "pending") ||
                       (std::string(t) == "gamma" && std::string(reason) == "edges") ||
                       (std::string(t) == "delta" && std::string(reason) == "paths");
      if (!own) {
        EXPECT_EQ(Refused(t, reason), 0u) << t << " " << reason;
      }
    }
  }
  EXPECT_EQ(server_->Stop(), 0) << server_->Stderr();
}

uint64_t Gauge(const std::string& metrics, const std::string& name) {
  const size_t at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? UINT64_MAX : std::stoull(metrics.substr(at + name.size() + 2));
}

using TenantDelete = TenantServer;

TEST_F(TenantDelete, RemovesOneTenantsDataOnlyAndItStaysGoneAcrossARestart) {
  Start({});
  // Both tenants send the same trace and span ids: pairs on two edges, and client halves that
  // wait for a partner (alpha 40, beta 30).
  auto traffic = [](const std::string& p, uint64_t pairs, uint64_t waiting, Ledger* sent,
                    std::vector<Call>* clients, std::vector<Call>* partners) {
    for (uint64_t i = 0; i < pairs; ++i) {
      const std::string server = i % 3 == 0 ? p + "-db" : p + "-api";
      clients->push_back({i, p + "-web", server, "/x", true, true});
      ++(*sent)[{p + "-web", server}];
    }
    for (uint64_t i = pairs; i < pairs + waiting; ++i) {
      clients->push_back({i, p + "-web", p + "-api", "/x", true, false});
      partners->push_back({i, p + "-web", p + "-api", "/x", false, true});
    }
  };
  Ledger alpha_sent, beta_sent;
  std::vector<Call> alpha, alpha_partners, beta, beta_partners;
  traffic("a", 60, 40, &alpha_sent, &alpha, &alpha_partners);
  traffic("b", 50, 30, &beta_sent, &beta, &beta_partners);
  Send("alpha", 1, alpha);
  Send("beta", 1, beta);
  Ledger got;
  std::map<std::string, std::string> a_ids, b_ids;
  WaitUntil([&] { return Sum(got = Map("alpha", &a_ids)) >= Sum(alpha_sent); });
  ASSERT_EQ(got, alpha_sent);
  WaitUntil([&] { return Sum(got = Map("beta", &b_ids)) >= Sum(beta_sent); });
  ASSERT_EQ(got, beta_sent);
  // The exemplars of an edge (their own column families).
  auto traces = [&](const std::string& tenant, const std::map<std::string, std::string>& ids,
                    const std::string& p) {
    return Get(tenant, "/api/v1/edge/traces?source=" + ids.at(p + "-web") +
                           "&target=" + ids.at(p + "-api") + "&start=now-3h&end=now%2B1h")["traces"]
        .Elements()
        .size();
  };
  ASSERT_GT(traces("alpha", a_ids, "a"), 0u);
  const size_t beta_traces = traces("beta", b_ids, "b");
  ASSERT_GT(beta_traces, 0u);

  // Refusals: no admin scope, tenant default, an unknown tenant, the wrong method.
  HttpConnection c(server_->host(), server_->http_port());
  auto call = [&](const std::string& method, const std::string& target, const std::string& who) {
    auto r = c.Request(method, target, {{"Authorization", "Bearer " + Token(who)}}, "");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->status : 0;
  };
  EXPECT_EQ(call("DELETE", "/api/v1/admin/tenant?name=alpha", "alpha"), 403);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/tenant?name=default", "ops"), 400);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/tenant?name=nosuch", "ops"), 404);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/tenant", "ops"), 400);
  EXPECT_EQ(call("POST", "/api/v1/admin/tenant?name=alpha", "ops"), 405);
  EXPECT_EQ(Map("alpha"), alpha_sent);

  const std::string url = "http://" + server_->host() + ":" + std::to_string(server_->http_port());
  ToolResult r =
      RunTool("edgewise-ctl", {"tenant-delete", "--server", url, "--token", Token("ops"), "alpha"});
  ASSERT_EQ(r.exit_code, 0) << r.command << "\n" << r.out << r.err;
  EXPECT_NE(r.out.find("tenant 'alpha' deleted"), std::string::npos) << r.out;
  EXPECT_EQ(Map("alpha"), Ledger{});
  EXPECT_EQ(traces("alpha", a_ids, "a"), 0u);
  EXPECT_EQ(Map("beta"), beta_sent);
  EXPECT_EQ(traces("beta", b_ids, "b"), beta_traces);
  EXPECT_EQ(Gauge(Metrics(), "ew_pending_halves"), beta_partners.size());  // alpha's 40 gone

  // The partners of alpha's dropped halves find nothing (they wait themselves), beta's pair.
  Send("alpha", 1, alpha_partners);
  Send("beta", 1, beta_partners);
  beta_sent[{"b-web", "b-api"}] += beta_partners.size();
  WaitUntil([&] { return Sum(got = Map("beta")) >= Sum(beta_sent); });
  EXPECT_EQ(got, beta_sent);
  EXPECT_EQ(Map("alpha"), Ledger{});

  // Across a restart: nothing of alpha's comes back (no record, no waiting half to pair with the
  // partners now waiting); alpha starts over with what it sends now.
  ASSERT_TRUE(server_->Restart().ok()) << server_->Stderr();
  EXPECT_EQ(Map("beta"), beta_sent);
  EXPECT_EQ(Map("alpha"), Ledger{});
  EXPECT_EQ(Gauge(Metrics(), "ew_pending_halves"), alpha_partners.size());
  std::vector<Call> again = {{500, "a-new", "a-api", "/x", true, true},
                             {501, "a-new", "a-api", "/x", true, true}};
  Send("alpha", 1, again);
  WaitUntil([&] { return Sum(got = Map("alpha")) >= 2; });
  EXPECT_EQ(got, (Ledger{{{"a-new", "a-api"}, 2}}));
  EXPECT_EQ(Map("beta"), beta_sent);
  EXPECT_EQ(server_->Stop(), 0) << server_->Stderr();
}

}  // namespace
}  // namespace ew::testing
