// Several I/O threads export in parallel, the two halves of each pair from different threads and
// in either order, while another thread forces flushes: every pair is counted exactly once.
// Runs under TSan (label "concurrency").
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/ingest/service_env.h"

namespace ew::ingest {
namespace {

using testing::OtlpHalf;
using testing::ServiceEnv;

// Joins the sending threads while another thread flushes every 20 ms until they are done.
void JoinFlushing(ServiceEnv& env, std::vector<std::thread>* threads) {
  std::atomic<bool> done{false};
  std::thread flusher([&] {
    while (!done.load()) {
      EXPECT_TRUE(env.service().FlushNow().ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  for (auto& t : *threads) t.join();
  done.store(true);
  flusher.join();
}

TEST(IngestConcurrency, ParallelExportsGiveExactTotals) {
  constexpr int kThreads = 4;
  constexpr int kRequestsPerThread = 60;
  constexpr int kPairsPerRequest = 8;
  ServiceEnv env;
  env.config.ingest_shards = 3;
  env.Open();
  const int64_t now = WallNowMs();
  // Thread t sends the client halves of block t and the server halves of block (t + 1) % n.
  std::atomic<uint64_t> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRequestsPerThread; ++r) {
        std::vector<tools::OtlpSpan> spans;
        for (int p = 0; p < kPairsPerRequest; ++p) {
          uint64_t client_trace = (static_cast<uint64_t>(t) << 32) | (r * kPairsPerRequest + p + 1);
          uint64_t server_block = static_cast<uint64_t>((t + 1) % kThreads);
          uint64_t server_trace = (server_block << 32) | (r * kPairsPerRequest + p + 1);
          spans.push_back(OtlpHalf(3, client_trace, 100, 0, now, 0));
          spans.push_back(OtlpHalf(2, server_trace, 200, 100, now, 1));
        }
        ExportResponse resp;
        do {
          resp = env.Export(spans);
        } while (resp.outcome == ExportOutcome::kOverloaded);
        ASSERT_EQ(resp.outcome, ExportOutcome::kOk) << resp.body;
        acked.fetch_add(kPairsPerRequest);
      }
    });
  }
  JoinFlushing(env, &threads);
  ASSERT_TRUE(env.service().FlushNow().ok());
  const uint64_t expected = static_cast<uint64_t>(kThreads) * kRequestsPerThread * kPairsPerRequest;
  EXPECT_EQ(acked.load(), expected);
  EXPECT_EQ(env.Count("web", "api"), expected);
  EXPECT_EQ(env.Edges().size(), 1u);
}

// Start-up loads the persisted pending state with one thread per shard (4 here), each reading the
// store and filling its own table, then reports the counts: the halves persisted over several
// flushes (with drops and repeats) are all pending again and pair exactly once.
TEST(IngestConcurrency, ParallelPendingLoadIsExact) {
  ServiceEnv env;
  env.config.ingest_shards = 4;
  env.Open();
  const int64_t now = WallNowMs();
  constexpr uint64_t kHalves = 3'000;
  for (uint64_t t = 1; t <= kHalves; t += 500) {
    std::vector<tools::OtlpSpan> spans;
    for (uint64_t i = t; i < t + 500; ++i) spans.push_back(OtlpHalf(3, i, 100, 0, now, 0));
    ASSERT_EQ(env.Export(spans).outcome, ExportOutcome::kOk);
    if (t == 1) {  // repeats
      ASSERT_EQ(env.Export(spans).outcome, ExportOutcome::kOk);
    }
    ASSERT_TRUE(env.service().FlushNow().ok());
  }
  std::vector<tools::OtlpSpan> first;  // pairs (drops) of the first 200, persisted
  for (uint64_t i = 1; i <= 200; ++i) first.push_back(OtlpHalf(2, i, 200, 100, now, 1));
  ASSERT_EQ(env.Export(first).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  env.Crash();
  env.Open();
  std::vector<tools::OtlpSpan> rest;
  for (uint64_t i = 201; i <= kHalves; ++i) rest.push_back(OtlpHalf(2, i, 200, 100, now, 1));
  ASSERT_EQ(env.Export(rest).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), kHalves);
  EXPECT_EQ(env.Edges().size(), 1u);
}

// Per-tenant limits with shards and I/O threads in parallel (the shared edge cap, each shard's
// per-tenant counts and their report to /metrics): alpha's pairs on 12 edges from two threads
// (5 edges allowed), gamma's waiting halves from one thread (60 allowed), beta's pairs on 2
// edges from another, while flushes run. Beta's map is its ledger; alpha's stored edges hold all
// their requests and the rest are counted as refused; gamma's evicted halves are counted once.
TEST(IngestConcurrency, ParallelTenantsUnderLimitsKeepTheirLedgers) {
  ServiceEnv env;
  env.config.ingest_shards = 3;
  env.config.tenant_max_edges = 5;
  env.config.tenant_max_pending = 60;
  for (int c = 0; c < 12; ++c) {
    env.resources.push_back({tools::Attr::Str("service.name", "c" + std::to_string(c))});
  }
  env.Open();
  // The tenants and their nodes are interned first: a dictionary write (a RocksDB write of its
  // own) racing a flush's write is reported by TSan inside RocksDB's uninstrumented write group
  // (WritableFileWriter::Append), not in Edgewise's code.
  for (const char* tenant : {"alpha", "beta", "gamma"}) {
    ASSERT_EQ(env.ExportAs(tenant, {}).outcome, ExportOutcome::kOk);  // interns the tenant
    const auto id = env.store().FindTenant(tenant);
    ASSERT_TRUE(id.has_value());
    for (const auto& resource : env.resources) {
      ASSERT_TRUE(env.store().InternNode(*id, storage::NodeKind::kService, "", resource[0].s).ok());
    }
  }
  const int64_t now = WallNowMs();
  auto export_all = [&](const std::string& tenant, const std::vector<tools::OtlpSpan>& spans) {
    ExportResponse resp;
    do {
      resp = env.ExportAs(tenant, spans);
    } while (resp.outcome == ExportOutcome::kOverloaded);
    ASSERT_EQ(resp.outcome, ExportOutcome::kOk) << resp.body;
  };
  constexpr int kRounds = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {  // alpha: request r of thread t on edge c((r + t) % 12) -> api
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const uint64_t trace = (uint64_t{1} << 40) | static_cast<uint64_t>(t * 1000 + r);
        const auto client = static_cast<uint32_t>(2 + (r + t) % 12);
        export_all("alpha",
                   {OtlpHalf(3, trace, 100, 0, now, client), OtlpHalf(2, trace, 200, 100, now, 1)});
      }
    });
  }
  threads.emplace_back([&] {  // gamma: 200 client halves that wait
    for (int r = 0; r < 200; r += 10) {
      std::vector<tools::OtlpSpan> spans;
      for (int i = r; i < r + 10; ++i) {
        spans.push_back(
            OtlpHalf(3, (uint64_t{2} << 40) | static_cast<uint64_t>(i), 100, 0, now, 0));
      }
      export_all("gamma", spans);
    }
  });
  threads.emplace_back([&] {  // beta: pairs on web -> api and c0 -> api
    for (int r = 0; r < kRounds; ++r) {
      const uint64_t trace = (uint64_t{3} << 40) | static_cast<uint64_t>(r);
      export_all("beta", {OtlpHalf(3, trace, 100, 0, now, r % 2 ? 0 : 2),
                          OtlpHalf(2, trace, 200, 100, now, 1)});
    }
  });
  JoinFlushing(env, &threads);
  ASSERT_TRUE(env.service().FlushNow().ok());
  const std::string metrics = env.metrics.RenderPrometheus();
  auto refused = [&](const std::string& tenant, const std::string& reason) -> uint64_t {
    const std::string key =
        "ew_ingest_refused_total{tenant=\"" + tenant + "\",reason=\"" + reason + "\"} ";
    const size_t at = metrics.find(key);
    return at == std::string::npos ? 0 : std::stoull(metrics.substr(at + key.size()));
  };
  const auto alpha = env.Edges("alpha");
  EXPECT_EQ(alpha.size(), 5u);
  uint64_t stored = 0;
  for (const auto& [edge, count] : alpha) {
    // Requests of edge c_k: every round r with (r + t) % 12 == k, from both threads.
    const int k = std::stoi(edge.first.substr(1));
    uint64_t sent = 0;
    for (int t = 0; t < 2; ++t) {
      for (int r = 0; r < kRounds; ++r) sent += (r + t) % 12 == k ? 1 : 0;
    }
    EXPECT_EQ(count, sent) << edge.first;
    stored += count;
  }
  EXPECT_EQ(stored + refused("alpha", "edges"), 2u * kRounds);
  const auto gamma = env.Edges("gamma");
  ASSERT_EQ(gamma.size(), 1u);
  EXPECT_EQ(gamma.begin()->second, refused("gamma", "pending"));
  EXPECT_GE(refused("gamma", "pending"), 140u);  // at most 3 x 20 wait
  EXPECT_EQ(env.Edges("beta"), (std::map<std::pair<std::string, std::string>, uint64_t>{
                                   {{"web", "api"}, kRounds / 2}, {{"c0", "api"}, kRounds / 2}}));
  EXPECT_EQ(metrics.find("tenant=\"beta\""), std::string::npos);
}

}  // namespace
}  // namespace ew::ingest
