// Exactly-once under SIGKILL (issue 3): OTLP traffic from two senders with a ledger of what was
// acknowledged; the real server is killed with SIGKILL at random moments (during requests and,
// with a 200 ms flush interval, during flushes) at least 20 times and restarted on the same data
// directory. At the end every edge's stored count must equal what was acknowledged: no loss, no
// double count (see tests/fault/traffic_ledger.h for how each request is made identifiable).
//
// EW_FAULT_SEED=<n> replays a run; EW_FAULT_CYCLES=<n> changes the number of kills (default 24,
// and 10 for the --fsync always variant).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/fault/traffic_ledger.h"
#include "tools/http_client.h"

namespace ew::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kTornTailLine[] = "ingest log: cutting the tail";

uint64_t EnvOr(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::strtoull(v, nullptr, 10) : def;
}

struct SenderStats {
  std::atomic<uint64_t> sent{0};
  std::mutex mu;
  std::vector<std::string> problems;  // GUARDED_BY(mu)
};

// Sends requests of one ledger stream until `stop`, or until an answer is lost (server gone).
void SendUntilStopped(const ServerProcess& server, TrafficLedger* ledger, int stream, uint64_t seed,
                      const std::atomic<bool>& stop, SenderStats* stats) {
  tools::HttpConnection client(server.host(), server.otlp_port(), 10s);
  std::mt19937_64 rng(seed);
  while (!stop.load()) {
    auto [id, body] = ledger->NextRequest(stream);
    int status = 0;
    std::string problem;
    const Outcome outcome = SendTraces(&client, body, &status, &problem);
    ledger->Record(id, outcome);
    stats->sent.fetch_add(1);
    if (!problem.empty()) {
      std::lock_guard<std::mutex> lock(stats->mu);
      stats->problems.push_back(problem);
    }
    if (outcome == Outcome::kUnknown) return;
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
  }
}

// Runs `senders` streams against the running server until stop is set.
class Traffic {
 public:
  Traffic(const ServerProcess& server, TrafficLedger* ledger, int senders, uint64_t seed,
          SenderStats* stats) {
    for (int s = 0; s < senders; ++s) {
      threads_.emplace_back(SendUntilStopped, std::cref(server), ledger, s, seed + s,
                            std::cref(stop_), stats);
    }
  }
  ~Traffic() { Stop(); }
  void Stop() {
    stop_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// Kills the server `cycles` times at random moments, then checks the map against the ledger.
// Odd cycles flush every 50 ms instead of 200 ms, so more kills land inside a flush.
void RunKillCycles(const std::vector<std::string>& flags, int default_cycles) {
  ASSERT_TRUE(std::filesystem::exists(EdgewiseBinary())) << EdgewiseBinary() << " is not built";
  const uint64_t seed =
      EnvOr("EW_FAULT_SEED",
            static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
  const int cycles = static_cast<int>(EnvOr("EW_FAULT_CYCLES", default_cycles));
  SCOPED_TRACE("EW_FAULT_SEED=" + std::to_string(seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  constexpr int kSenders = 2;

  TempDir data("ew-kill9-");
  ServerOptions server_options;
  server_options.data_dir = data.path();
  // A fresh ServerProcess for every run: each has its own stdout file, so the ready line of the
  // previous run can never be mistaken for the new one's.
  std::unique_ptr<ServerProcess> server;
  auto start = [&](const std::string& what, const char* flush_interval = "200ms") {
    server_options.extra_args = {"--flush-interval", flush_interval, "--pair-wait", "1h"};
    server_options.extra_args.insert(server_options.extra_args.end(), flags.begin(), flags.end());
    server = std::make_unique<ServerProcess>(server_options);
    Status started = server->Start();
    EXPECT_TRUE(started.ok()) << what << ": " << started.ToString();
    return started.ok();
  };
  TrafficLedger ledger(seed, kSenders);
  SenderStats stats;
  std::mt19937_64 rng(seed);
  int torn_tails = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    ASSERT_TRUE(start("cycle " + std::to_string(cycle), cycle % 2 == 1 ? "50ms" : "200ms"));
    Traffic traffic(*server, &ledger, kSenders, seed + 1000 * cycle, &stats);
    // Kill somewhere in the first 1.2 s: right after start (replay), mid-request, mid-flush.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 1200));
    EXPECT_EQ(server->Kill(), 128 + 9) << "cycle " << cycle;
    traffic.Stop();
    // Torn log tails cut at this run's start (a kill in the middle of a log write).
    const std::string log = server->Stderr();
    for (size_t at = log.find(kTornTailLine); at != std::string::npos;
         at = log.find(kTornTailLine, at + 1)) {
      ++torn_tails;
    }
  }
  // A last run without faults, a clean stop (which flushes everything), and the check.
  ASSERT_TRUE(start("last run"));
  {
    Traffic traffic(*server, &ledger, kSenders, seed + 999'999, &stats);
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
  ASSERT_TRUE(start("check run"));
  tools::HttpConnection http(server->host(), server->http_port(), 30s);
  auto edges = FetchMapEdges(&http);
  ASSERT_TRUE(edges.ok()) << edges.status().ToString() << "\n" << server->Stderr();
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_NE(metrics->body.find("ew_ingest_log_torn_tails_total"), std::string::npos)
      << "the torn-tail counter is not exported";

  const LedgerSummary sum = ledger.Summary();
  std::cout << "kill9" << (flags.empty() ? "" : " " + flags.back()) << ": seed " << seed << ", "
            << cycles << " kills, " << sum.requests << " requests (" << sum.acked
            << " acknowledged with " << sum.acked_spans << " spans, " << sum.unknown
            << " answers lost, " << sum.refused << " refused), " << sum.expected_edges << " edges, "
            << edges->size() << " stored, " << torn_tails << " torn log tails cut\n";
  EXPECT_GE(sum.acked, static_cast<uint64_t>(cycles) * 5) << "too little traffic to mean much";
  {
    std::lock_guard<std::mutex> lock(stats.mu);
    EXPECT_TRUE(stats.problems.empty())
        << stats.problems.size() << " problems, first: " << stats.problems.front();
  }
  std::vector<std::string> problems = ledger.Check(*edges);
  EXPECT_TRUE(problems.empty()) << problems.size() << " edges wrong, e.g.:\n"
                                << [&] {
                                     std::string s;
                                     for (size_t i = 0; i < problems.size() && i < 20; ++i) {
                                       s += "  " + problems[i] + "\n";
                                     }
                                     return s;
                                   }();
  if (::testing::Test::HasFailure()) data.Keep();
}

TEST(KillNine, EveryAcknowledgedSpanIsCountedExactlyOnce) { RunKillCycles({}, 24); }

// The same with an fdatasync before every 200 (group commit), fewer kills.
TEST(KillNine, ExactlyOnceWithFsyncAlways) { RunKillCycles({"--fsync", "always"}, 10); }

}  // namespace
}  // namespace ew::testing
