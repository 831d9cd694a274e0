// Several I/O threads export in parallel, the two halves of each pair from different threads and
// in either order, while another thread forces flushes: every pair is counted exactly once.
// Runs under TSan (label "concurrency").
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/ingest/service_env.h"

namespace ew::ingest {
namespace {

using testing::OtlpHalf;
using testing::ServiceEnv;

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
  std::atomic<bool> done{false};
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
  std::thread flusher([&] {
    while (!done.load()) {
      EXPECT_TRUE(env.service().FlushNow().ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  for (auto& t : threads) t.join();
  done.store(true);
  flusher.join();
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

}  // namespace
}  // namespace ew::ingest
