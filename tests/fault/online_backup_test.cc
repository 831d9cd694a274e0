// Online backup under ingest load (issue "A shared service"): two senders keep exporting OTLP to
// a running server while `edgewise-ctl backup --server URL DIR` takes a backup; the backup is
// restored with `edgewise-ctl restore` into a new data directory and a second server runs on it.
// The requests sent after the backup answered are then sent again to the restored server (so the
// waiting halves the backup kept pair with their partners). The restored map must hold exactly:
// every request acknowledged before the backup started, once; every request sent after it
// answered, once (through the resend); a request in flight during the backup once or never,
// never in part (tests/fault/traffic_ledger.h identifies each request by its edges).
// Also: admin stats and compaction online, and the admin endpoints' errors.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/fault/traffic_ledger.h"
#include "tests/tools/tool_process.h"
#include "tools/http_client.h"

namespace ew::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Sent {
  size_t id = 0;
  std::string body;
  Clock::time_point start, end;
  Outcome outcome = Outcome::kUnsent;
};

// One sender: requests of its ledger stream until stop; each with its send and answer times.
void Send(const ServerProcess& server, TrafficLedger* ledger, int stream,
          const std::atomic<bool>& stop, std::vector<Sent>* out) {
  tools::HttpConnection client(server.host(), server.otlp_port(), 10s);
  std::mt19937_64 rng(stream);
  while (!stop.load()) {
    Sent s;
    std::tie(s.id, s.body) = ledger->NextRequest(stream);
    int status = 0;
    std::string problem;
    s.start = Clock::now();
    s.outcome = SendTraces(&client, s.body, &status, &problem);
    s.end = Clock::now();
    EXPECT_TRUE(problem.empty()) << problem;
    out->push_back(std::move(s));
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
  }
}

std::string Url(const ServerProcess& s) {
  return "http://" + s.host() + ":" + std::to_string(s.http_port());
}

TEST(OnlineBackup, RestoresExactlyTheAcknowledgedTraffic) {
  constexpr int kSenders = 2;
  TempDir dir("ew-online-backup-");
  const std::vector<std::string> flags = {"--flush-interval", "200ms", "--pair-wait", "1h"};
  ServerOptions a_options;
  a_options.data_dir = dir.Sub("a");
  // No periodic flush during the run: what the backup holds comes from its own flush.
  a_options.extra_args = {"--flush-interval", "1h", "--pair-wait", "1h"};
  ServerProcess a(a_options);
  ASSERT_TRUE(a.Start().ok()) << a.Stderr();

  TrafficLedger ledger(20261207, kSenders);
  std::vector<std::vector<Sent>> sent(kSenders);
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back(Send, std::cref(a), &ledger, s, std::cref(stop), &sent[s]);
  }
  std::this_thread::sleep_for(1500ms);
  const std::string backup = dir.Sub("backup");
  const Clock::time_point b0 = Clock::now();
  ToolResult r = RunTool("edgewise-ctl", {"backup", "--server", Url(a), backup});
  const Clock::time_point b1 = Clock::now();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::this_thread::sleep_for(700ms);
  stop.store(true);
  for (auto& t : senders) t.join();
  EXPECT_EQ(a.Kill(), 128 + 9);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(backup + "/BACKUP.json"));

  // What the backup must hold, and what is sent again to the restored server.
  std::vector<std::vector<const Sent*>> resend(kSenders);
  size_t before = 0, during = 0, after = 0;
  for (int s = 0; s < kSenders; ++s) {
    for (const Sent& x : sent[s]) {
      if (x.outcome != Outcome::kAcked) {
        ledger.Record(x.id, x.outcome);
      } else if (x.end < b0) {
        ledger.Record(x.id, Outcome::kAcked);
        ++before;
      } else if (x.start > b1) {
        resend[s].push_back(&x);
        ++after;
      } else {
        ledger.Record(x.id, Outcome::kUnknown);
        ++during;
      }
    }
  }
  ASSERT_GT(before, 20u) << "too little traffic before the backup";
  ASSERT_GT(after, 5u) << "too little traffic after the backup";

  const std::string restored = dir.Sub("restored");
  r = RunTool("edgewise-ctl", {"restore", "--from", backup, "--data-dir", restored});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ServerOptions b_options;
  b_options.data_dir = restored;
  b_options.extra_args = flags;
  ServerProcess b(b_options);
  ASSERT_TRUE(b.Start().ok()) << b.Stderr();
  {
    tools::HttpConnection client(b.host(), b.otlp_port(), 10s);
    for (int s = 0; s < kSenders; ++s) {
      for (const Sent* x : resend[s]) {
        int status = 0;
        std::string problem;
        ledger.Record(x->id, SendTraces(&client, x->body, &status, &problem));
        EXPECT_TRUE(problem.empty()) << problem;
      }
    }
  }
  // A clean stop flushes what the restored server aggregated; the map is read after a restart.
  ASSERT_TRUE(b.Restart().ok()) << b.Stderr();
  tools::HttpConnection http(b.host(), b.http_port(), 30s);
  auto edges = FetchMapEdges(&http);
  ASSERT_TRUE(edges.ok()) << edges.status().ToString();
  const std::vector<std::string> problems = ledger.Check(*edges);
  std::cout << "online backup: " << before << " requests acknowledged before it, " << during
            << " during, " << after << " after (resent); " << edges->size() << " edges stored, "
            << problems.size() << " wrong\n";
  EXPECT_TRUE(problems.empty()) << problems.size() << " edges wrong, first: " << problems.front();
  if (::testing::Test::HasFailure()) dir.Keep();
}

TEST(OnlineBackup, StatsCompactAndErrorsOnARunningServer) {
  TempDir dir("ew-online-admin-");
  ServerOptions options;
  options.data_dir = dir.Sub("data");
  options.extra_args = {"--auth-token", "s3cret"};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  tools::HttpConnection http(server.host(), server.http_port(), 30s);
  const tools::HttpHeaders auth = {{"Authorization", "Bearer s3cret"}};

  auto stats = http.Get("/api/v1/admin/stats");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->status, 401) << "admin needs the token";
  stats = http.Get("/api/v1/admin/stats", auth);
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->status, 200) << stats->body;
  auto doc = Json::Parse(stats->body);
  ASSERT_TRUE(doc.ok());
  EXPECT_GE((*doc)["families"].Size(), 10u);
  EXPECT_GT((*doc)["bytes_on_disk"].Uint(), 0u);

  auto compact = http.Post("/api/v1/admin/compact", "", "text/plain", auth);
  ASSERT_TRUE(compact.ok());
  EXPECT_EQ(compact->status, 200) << compact->body;
  EXPECT_NE(compact->body.find("live_bytes_after"), std::string::npos);

  struct Case {
    std::string method, target;
    int status;
    std::string mention;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/v1/admin/backup", 400, "dir=ABSOLUTE_PATH"},
      {"POST", "/api/v1/admin/backup?dir=relative/path", 400, "absolute"},
      {"POST", "/api/v1/admin/backup?dir=" + dir.path() + "&x=1", 400, "unknown parameter 'x'"},
      {"POST", "/api/v1/admin/backup?dir=" + dir.Sub("data"), 400, "not an empty directory"},
      {"GET", "/api/v1/admin/backup?dir=/tmp/x", 405, "POST"},
      {"POST", "/api/v1/admin/stats", 405, "GET"},
      {"POST", "/api/v1/admin/restore", 404, "backup, compact, stats"},
  };
  for (const Case& c : cases) {
    auto resp =
        c.method == "GET" ? http.Get(c.target, auth) : http.Post(c.target, "", "text/plain", auth);
    ASSERT_TRUE(resp.ok()) << c.target;
    EXPECT_EQ(resp->status, c.status) << c.method << " " << c.target << ": " << resp->body;
    EXPECT_NE(resp->body.find(c.mention), std::string::npos) << c.target << ": " << resp->body;
  }

  // The CLI, online, and its refusal to read a running server's directory behind its back.
  ToolResult r =
      RunTool("edgewise-ctl", {"stats", "--server",
                               "http://" + server.host() + ":" + std::to_string(server.http_port()),
                               "--token", "s3cret"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("COLUMN FAMILY"), std::string::npos) << r.out;
  r = RunTool("edgewise-ctl", {"stats", "--data-dir", dir.Sub("data")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("in use by a running edgewise server"), std::string::npos) << r.err;
  EXPECT_TRUE(server.Running());
}

}  // namespace
}  // namespace ew::testing
