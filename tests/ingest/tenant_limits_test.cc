// Ingest's per-tenant limits on waiting halves, distinct edges and paths per edge
// (docs/ingest.md "Per-tenant limits"), on a real store and log. Two tenants: "alpha" goes over
// the limit, "beta" stays under it. Beta's stored map must equal its ledger exactly and it is
// never counted as refused; alpha's map plus its refusal counters
// (ew_ingest_refused_total{tenant,reason}) must add up to what it sent, and the limit must
// survive a restart (halves loaded from the pending state count toward their tenant; the edges
// in the store count toward the edge limit).
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "ingest/pipeline/shard_state.h"
#include "tests/ingest/service_env.h"

namespace ew::ingest::testing {
namespace {

using Ledger = std::map<std::pair<std::string, std::string>, uint64_t>;

constexpr int kClient = 3;
constexpr int kServer = 2;
constexpr uint32_t kWeb = 0;
constexpr uint32_t kApi = 1;
constexpr uint32_t kOld = 2;  // "old", then "new"; ServiceEnv::resources below
constexpr uint32_t kNew = 3;
constexpr uint32_t kC0 = 4;  // c0 .. c5

void UseServices(ServiceEnv* env) {
  for (const char* name : {"old", "new", "c0", "c1", "c2", "c3", "c4", "c5"}) {
    env->resources.push_back({tools::Attr::Str("service.name", name)});
  }
}

// One request = trace t: the client half (span 100 + 2t) and the server half (span 101 + 2t).
tools::OtlpSpan ClientHalf(uint64_t t, uint32_t resource, int64_t now) {
  return OtlpHalf(kClient, t, 100 + t * 2, 0, now, resource);
}
tools::OtlpSpan ServerHalf(uint64_t t, int64_t now) {
  return OtlpHalf(kServer, t, 101 + t * 2, 100 + t * 2, now + 1, kApi);
}

std::vector<tools::OtlpSpan> Clients(uint64_t first, int n, uint32_t resource, int64_t now) {
  std::vector<tools::OtlpSpan> out;
  for (int i = 0; i < n; ++i) out.push_back(ClientHalf(first + i, resource, now));
  return out;
}
std::vector<tools::OtlpSpan> Servers(uint64_t first, int n, int64_t now) {
  std::vector<tools::OtlpSpan> out;
  for (int i = 0; i < n; ++i) out.push_back(ServerHalf(first + i, now));
  return out;
}

uint64_t Refused(ServiceEnv& env, const std::string& tenant, const std::string& reason) {
  const std::string text = env.metrics.RenderPrometheus();
  const std::string key =
      "ew_ingest_refused_total{tenant=\"" + tenant + "\",reason=\"" + reason + "\"} ";
  const size_t at = text.find(key);
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
}

bool NeverRefused(ServiceEnv& env, const std::string& tenant) {
  return env.metrics.RenderPrometheus().find("tenant=\"" + tenant + "\"") == std::string::npos;
}

std::string Describe(const Ledger& l) {
  std::string out;
  for (const auto& [edge, count] : l) {
    out += edge.first + "->" + edge.second + "=" + std::to_string(count) + " ";
  }
  return out;
}

uint64_t Sum(const Ledger& l) {
  uint64_t n = 0;
  for (const auto& [edge, count] : l) n += count;
  return n;
}

void Flush(ServiceEnv& env) { ASSERT_TRUE(env.service().FlushNow().ok()); }

void Ok(const ExportResponse& r) { ASSERT_EQ(r.outcome, ExportOutcome::kOk) << r.body; }

// Edges of `client` to anything but api: the unpaired edges of its expired (evicted) halves.
uint64_t Unpaired(const Ledger& map, const std::string& client) {
  uint64_t n = 0;
  for (const auto& [edge, count] : map) {
    if (edge.first == client && edge.second != "api") n += count;
  }
  return n;
}

TEST(TenantLimits, MaxPendingExpiresOnlyTheTenantsOwnOldestHalves) {
  ServiceEnv env;
  UseServices(&env);
  env.config.ingest_shards = 1;  // one shard: the bound is exactly 50 (not a share)
  env.config.tenant_max_pending = 50;
  env.Open();
  const int64_t now = WallNowMs();
  Ok(env.ExportAs("alpha", Clients(1, 30, kOld, now)));
  Ok(env.ExportAs("beta", Clients(1001, 45, kWeb, now)));
  Ok(env.ExportAs("alpha", Clients(101, 40, kNew, now)));  // 70 waiting: the 20 oldest go
  Ok(env.ExportAs("beta", Servers(1001, 45, now)));
  Ok(env.ExportAs("alpha", Servers(101, 40, now)));
  Ok(env.ExportAs("alpha", Servers(21, 10, now)));
  // The partners of the evicted halves now wait themselves (20, under the bound).
  Ok(env.ExportAs("alpha", Servers(1, 20, now)));
  Flush(env);
  const Ledger alpha = env.Edges("alpha");
  ASSERT_TRUE(alpha.count({"new", "api"}) && alpha.count({"old", "api"})) << Describe(alpha);
  EXPECT_EQ(alpha.at({"new", "api"}), 40u);
  EXPECT_EQ(alpha.at({"old", "api"}), 10u);  // the 10 newest of the old ones paired
  EXPECT_EQ(Unpaired(alpha, "old"), 20u);    // the 20 oldest expired early into their edge
  EXPECT_EQ(Unpaired(alpha, "new"), 0u);
  EXPECT_EQ(Refused(env, "alpha", "pending"), 20u);
  EXPECT_EQ(alpha.at({"old", "api"}) + alpha.at({"new", "api"}) + Refused(env, "alpha", "pending"),
            70u);
  EXPECT_NE(env.metrics.RenderPrometheus().find("ew_halves_expired_total{kind=\"evicted\"} 20"),
            std::string::npos);
  EXPECT_EQ(env.Edges("beta"), (Ledger{{{"web", "api"}, 45}}));
  EXPECT_TRUE(NeverRefused(env, "beta"));
}

TEST(TenantLimits, MaxPendingCountsHalvesLoadedAtRestart) {
  ServiceEnv env;
  UseServices(&env);
  env.config.ingest_shards = 1;
  env.config.tenant_max_pending = 50;
  env.Open();
  const int64_t now = WallNowMs();
  Ok(env.ExportAs("alpha", Clients(1, 40, kOld, now)));
  Ok(env.ExportAs("beta", Clients(1001, 25, kWeb, now)));
  env.Stop();  // the waiting halves are persisted
  // The next arrivals are a few ticks (pair_wait / 64 = 0.94 s) younger than the persisted ones.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  env.Open();
  // 40 loaded + 30 new: the 20 oldest (loaded, "old") expire early.
  Ok(env.ExportAs("alpha", Clients(101, 30, kNew, WallNowMs())));
  Flush(env);
  EXPECT_EQ(Refused(env, "alpha", "pending"), 20u);
  EXPECT_EQ(Unpaired(env.Edges("alpha"), "old"), 20u);
  env.Stop();
  // A lower bound at the next start: the tenant's 50 loaded halves are 20 over it, and the
  // oldest go (the other 20 "old" ones); beta's 25 are under it.
  env.config.tenant_max_pending = 30;
  env.Open();
  Flush(env);
  EXPECT_EQ(Refused(env, "alpha", "pending"), 40u);
  Ok(env.ExportAs("alpha", Servers(101, 30, now)));
  Ok(env.ExportAs("beta", Servers(1001, 25, now)));
  Flush(env);
  const Ledger alpha = env.Edges("alpha");
  ASSERT_TRUE(alpha.count({"new", "api"})) << Describe(alpha);
  EXPECT_EQ(alpha.at({"new", "api"}), 30u);
  EXPECT_EQ(alpha.count({"old", "api"}), 0u);
  EXPECT_EQ(Unpaired(alpha, "old"), 40u);
  EXPECT_EQ(Unpaired(alpha, "new"), 0u);
  EXPECT_EQ(env.Edges("beta"), (Ledger{{{"web", "api"}, 25}}));
  EXPECT_TRUE(NeverRefused(env, "beta"));
}

// One request of the edge (c_e -> api) per trace, both halves in one request.
std::vector<tools::OtlpSpan> EdgeRequests(uint32_t client, uint64_t first, int n, int64_t now) {
  std::vector<tools::OtlpSpan> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(ClientHalf(first + i, client, now));
    out.push_back(ServerHalf(first + i, now));
  }
  return out;
}

// Sends n_e requests of each edge (c_e -> api) for e in `order`, and adds them to *ledger.
void SendEdges(ServiceEnv& env, const std::string& tenant, const std::vector<int>& order,
               uint64_t* next_trace, Ledger* ledger) {
  const int64_t now = WallNowMs();
  for (int round = 0; round < 3; ++round) {
    std::vector<tools::OtlpSpan> spans;
    for (int e : order) {
      const int n = 1 + (e + round) % 4;
      auto add = EdgeRequests(kC0 + static_cast<uint32_t>(e), *next_trace, n, now);
      spans.insert(spans.end(), add.begin(), add.end());
      *next_trace += static_cast<uint64_t>(n);
      (*ledger)[{"c" + std::to_string(e), "api"}] += static_cast<uint64_t>(n);
    }
    Ok(env.ExportAs(tenant, spans));
  }
}

TEST(TenantLimits, MaxEdgesRefusesNewEdgesKeepsCountingOldOnesAcrossRestart) {
  ServiceEnv env;
  UseServices(&env);
  env.config.tenant_max_edges = 3;
  env.Open();
  Ledger alpha_sent, beta_sent;
  uint64_t trace = 1;
  SendEdges(env, "alpha", {0, 1, 2, 3, 4, 5}, &trace, &alpha_sent);
  SendEdges(env, "beta", {3, 4, 5}, &trace, &beta_sent);  // exactly at the limit
  Flush(env);
  const Ledger stored = env.Edges("alpha");
  ASSERT_EQ(stored.size(), 3u);
  // Every request of a stored edge is stored, and every other request refused (an edge refused
  // once is never admitted later: the tenant's count does not go down).
  for (const auto& [edge, count] : stored) EXPECT_EQ(count, alpha_sent.at(edge)) << edge.first;
  EXPECT_EQ(Sum(stored) + Refused(env, "alpha", "edges"), Sum(alpha_sent));
  EXPECT_EQ(env.Edges("beta"), beta_sent);

  // After a restart the stored edges still count: the refused ones first, and none gets in.
  env.Stop();
  env.Open();
  std::vector<int> refused_first;
  for (int e = 0; e < 6; ++e) {
    if (!stored.count({"c" + std::to_string(e), "api"})) refused_first.push_back(e);
  }
  for (int e = 0; e < 6; ++e) {
    if (stored.count({"c" + std::to_string(e), "api"})) refused_first.push_back(e);
  }
  SendEdges(env, "alpha", refused_first, &trace, &alpha_sent);
  SendEdges(env, "beta", {5, 4, 3}, &trace, &beta_sent);
  Flush(env);
  const Ledger after = env.Edges("alpha");
  ASSERT_EQ(after.size(), 3u);
  for (const auto& [edge, count] : after) {
    EXPECT_TRUE(stored.count(edge)) << edge.first << " got in after the restart";
    EXPECT_EQ(count, alpha_sent.at(edge)) << edge.first;
  }
  EXPECT_EQ(Sum(after) + Refused(env, "alpha", "edges"), Sum(alpha_sent));
  EXPECT_EQ(env.Edges("beta"), beta_sent);
  EXPECT_TRUE(NeverRefused(env, "beta"));
}

// n requests of (web -> api) with the path `path` on both halves.
std::vector<tools::OtlpSpan> PathRequests(const std::string& path, uint64_t first, int n,
                                          int64_t now) {
  std::vector<tools::OtlpSpan> out;
  for (int i = 0; i < n; ++i) {
    for (bool server : {false, true}) {
      tools::OtlpSpan s = server ? ServerHalf(first + i, now) : ClientHalf(first + i, kWeb, now);
      s.attrs = {tools::Attr::Str("http.request.method", "GET"),
                 tools::Attr::Str("http.route", path)};
      out.push_back(std::move(s));
    }
  }
  return out;
}

TEST(TenantLimits, PathsFoldedIntoOtherAreCountedPerTenant) {
  ServiceEnv env;
  env.config.max_paths_per_edge = 3;
  env.Open();
  const int64_t now = WallNowMs();
  std::map<std::string, uint64_t> alpha_sent, beta_sent;
  uint64_t trace = 1;
  for (int round = 0; round < 2; ++round) {
    for (int p = 0; p < 8; ++p) {
      const std::string path = "/p" + std::to_string(p);
      const int n = 1 + (p + round) % 3;
      Ok(env.ExportAs("alpha", PathRequests(path, trace, n, now)));
      trace += static_cast<uint64_t>(n);
      alpha_sent[path] += static_cast<uint64_t>(n);
      if (p < 3) {  // beta: three paths, at the limit
        Ok(env.ExportAs("beta", PathRequests(path, trace, n + 1, now)));
        trace += static_cast<uint64_t>(n + 1);
        beta_sent[path] += static_cast<uint64_t>(n + 1);
      }
    }
  }
  Flush(env);
  const auto alpha = env.Paths("alpha", "web", "api");
  ASSERT_EQ(alpha.size(), 4u);  // three paths and {other}
  uint64_t kept = 0, total = 0;
  for (const auto& [path, count] : alpha) {
    total += count;
    if (path == "{other}") continue;
    EXPECT_EQ(count, alpha_sent.at(path)) << path;
    kept += count;
  }
  uint64_t sent = 0;
  for (const auto& [path, count] : alpha_sent) sent += count;
  EXPECT_EQ(total, sent);  // folded, not lost
  EXPECT_EQ(alpha.at("{other}"), Refused(env, "alpha", "paths"));
  EXPECT_EQ(kept + Refused(env, "alpha", "paths"), total);
  EXPECT_EQ(env.Paths("beta", "web", "api"), beta_sent);
  EXPECT_TRUE(NeverRefused(env, "beta"));
}

}  // namespace
}  // namespace ew::ingest::testing

namespace ew::ingest::testing {
namespace {

// ShardState alone: tenant 1's nodes are 1..99, tenant 2's 100 and up.
struct TwoTenantShard {
  TwoTenantShard() {
    a.tenant = 1;
    a.other_path = 1;
    b.tenant = 2;
    b.other_path = 2;
    ShardOptions o;
    o.pair_wait_ms = 600'000;
    o.path_cap = &cap;
    o.tenant_max_pending = 50;
    o.ids_of_node = [this](storage::NodeId n) { return n < 100 ? &a : &b; };
    shard = std::make_unique<ShardState>(o);
    shard->SetNow(kNow);
  }
  static HalfRecord Half(uint64_t key, storage::NodeId node, storage::NodeId peer, bool server) {
    HalfRecord r;
    r.trace_id[13] = static_cast<uint8_t>(key >> 16);
    r.trace_id[14] = static_cast<uint8_t>(key >> 8);
    r.trace_id[15] = static_cast<uint8_t>(key);
    r.span_key = key + 1;
    r.start_ms = kNow;
    r.node = node;
    r.peer = peer;
    r.duration_us = 1000;
    r.role = server ? HalfRole::kServerPending : HalfRole::kClientPending;
    r.protocol = storage::Protocol::kHttp;
    return r;
  }
  // Requests per (client, server) in the aggregation since the last call.
  std::map<std::pair<storage::NodeId, storage::NodeId>, uint64_t> Take() {
    ShardFlush f;
    shard->TakeFlush(&f);
    std::map<std::pair<storage::NodeId, storage::NodeId>, uint64_t> out;
    for (const auto& r : f.rollups) out[{r.dims.client, r.dims.server}] += r.value.requests;
    return out;
  }
  static constexpr int64_t kNow = 60'000LL * 29'000'000;
  WellKnownIds a, b;
  PathCap cap{100};
  std::unique_ptr<ShardState> shard;
};

TEST(TenantLimitsShard, OldestOfTheTenantGoThroughThousandsOfStaleReferences) {
  TwoTenantShard t;
  // 3,000 of tenant 1's halves wait and pair at once: their references go stale, and the
  // tenant's order is compacted on the way (past 2 x count + 1024).
  for (uint64_t k = 0; k < 3000; ++k) {
    t.shard->Apply(TwoTenantShard::Half(k, 1, 9, false), TwoTenantShard::kNow);
    t.shard->Apply(TwoTenantShard::Half(k, 2, 9, true), TwoTenantShard::kNow);
  }
  EXPECT_EQ(t.shard->pending(), 0u);
  // Then 40 waiting halves of node 3, 40 of node 4, and 45 of tenant 2 between them.
  for (uint64_t k = 10'000; k < 10'040; ++k) {
    t.shard->Apply(TwoTenantShard::Half(k, 3, 9, false), TwoTenantShard::kNow);
  }
  for (uint64_t k = 20'000; k < 20'045; ++k) {
    t.shard->Apply(TwoTenantShard::Half(k, 100, 109, false), TwoTenantShard::kNow);
  }
  for (uint64_t k = 30'000; k < 30'040; ++k) {
    t.shard->Apply(TwoTenantShard::Half(k, 4, 9, false), TwoTenantShard::kNow);
  }
  EXPECT_EQ(t.shard->tenant_pending(1), 50u);
  EXPECT_EQ(t.shard->tenant_pending(2), 45u);
  EXPECT_EQ(t.shard->pending(), 95u);
  auto edges = t.Take();
  EXPECT_EQ(edges[std::make_pair(1u, 2u)], 3000u);
  EXPECT_EQ(edges[std::make_pair(3u, 9u)],
            30u);  // the 30 oldest of the tenant expired early: node 3's first 30
  EXPECT_EQ(edges.count({4, 9}), 0u);
  EXPECT_EQ(edges.count({100, 109}), 0u);
  EXPECT_EQ(t.shard->counters().expired[static_cast<size_t>(storage::ExpiryKind::kEvicted)], 30u);
  const auto& refused = t.shard->tenant_refusals();
  ASSERT_GT(refused.size(), 1u);
  EXPECT_EQ(refused[1].n[static_cast<size_t>(TenantRefusal::kPending)], 30u);
  EXPECT_TRUE(refused.size() <= 2 ||
              refused[2].n[static_cast<size_t>(TenantRefusal::kPending)] == 0);
  // The 10 youngest of node 3 still wait: their partners pair.
  for (uint64_t k = 10'030; k < 10'040; ++k) {
    t.shard->Apply(TwoTenantShard::Half(k, 5, 9, true), TwoTenantShard::kNow);
  }
  EXPECT_EQ(t.Take()[std::make_pair(3u, 5u)], 10u);

  // Dropping tenant 2 (a deleted tenant) forgets its halves without expiring or counting them.
  EXPECT_EQ(t.shard->DropTenant(2), 45u);
  EXPECT_EQ(t.shard->pending(), 40u);
  EXPECT_EQ(t.shard->tenant_pending(1), 40u);
  EXPECT_TRUE(t.Take().empty());
  EXPECT_EQ(t.shard->counters().expired[static_cast<size_t>(storage::ExpiryKind::kEvicted)], 30u);
}

}  // namespace
}  // namespace ew::ingest::testing
