// --query-sched and --query-nice reach the real server's threads: the query workers (ew-query-*)
// and scan helpers (ew-scan-*) run SCHED_OTHER at the nice increment by default, SCHED_IDLE with
// --query-sched idle, and the I/O, shard and flusher threads keep the process's priority.
// Read from /proc/PID/task/TID/stat (the TaskPool constructor returns once every thread has its
// priority, so the ready line comes after it).
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/temp_dir.h"
#include "tests/server/server_test_util.h"

namespace ew::testing {
namespace {

struct ThreadSched {
  std::string name;
  int nice = 0;
  int policy = -1;
};

std::vector<ThreadSched> Threads(pid_t pid) {
  std::vector<ThreadSched> out;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream comm(e.path() / "comm"), stat(e.path() / "stat");
    ThreadSched t;
    std::getline(comm, t.name);
    std::string line;
    std::getline(stat, line);
    // After the ')' that closes comm: field 3 (state) first; nice is field 19, policy field 41.
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
    if (f.size() < 39) continue;  // the thread ended while being read
    t.nice = std::stoi(f[16]);
    t.policy = std::stoi(f[38]);
    out.push_back(t);
  }
  return out;
}

bool IsQueryThread(const std::string& name) {
  return name.rfind("ew-query-", 0) == 0 || name.rfind("ew-scan-", 0) == 0;
}

// Checks every thread of a running server (nice values relative to the process's own, which a
// `nice ctest` raises); returns the number of query threads seen.
int CheckThreads(const ServerProcess& server, int query_policy, int nice_increment) {
  const std::vector<ThreadSched> threads = Threads(server.pid());
  int base = -100;
  for (const ThreadSched& t : threads) {
    if (t.name == "edgewise") base = t.nice;  // the main thread
  }
  EXPECT_NE(base, -100);
  int query_threads = 0, other = 0;
  for (const ThreadSched& t : threads) {
    if (IsQueryThread(t.name)) {
      ++query_threads;
      EXPECT_EQ(t.policy, query_policy) << t.name;
      EXPECT_EQ(t.nice, std::min(19, base + nice_increment)) << t.name;
    } else if (t.name.rfind("ew-io-", 0) == 0 || t.name.rfind("ew-shard-", 0) == 0 ||
               t.name == "ew-flusher") {
      ++other;
      EXPECT_EQ(t.policy, SCHED_OTHER) << t.name;
      EXPECT_EQ(t.nice, base) << t.name;
    }
  }
  EXPECT_GE(other, 3);
  return query_threads;
}

TEST(ServerSchedTest, QuerySchedIdleMakesQueryThreadsSchedIdle) {
  auto server =
      StartServer({"--query-sched", "idle", "--query-workers", "3", "--query-threads", "2"});
  ASSERT_TRUE(server);
  // 3 workers and 1 scan helper (a 2-thread scan: the worker and one helper).
  EXPECT_EQ(CheckThreads(*server, SCHED_IDLE, 19), 4);
  // Queries are answered at that priority.
  HttpConnection c(server->host(), server->http_port());
  auto r = c.Get("/api/v1/map?start=now-15m");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(ServerSchedTest, QueryThreadsKeepTheDefaultPolicyByDefault) {
  auto server = StartServer({"--query-nice", "6", "--query-workers", "2", "--query-threads", "1"});
  ASSERT_TRUE(server);
  EXPECT_EQ(CheckThreads(*server, SCHED_OTHER, 6), 2);  // no scan helper with one scan thread
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(ServerSchedTest, UnknownQuerySchedIsAStartUpError) {
  TempDir dir;
  RunResult r = RunEdgewise(
      {"--query-sched", "fifo", "--otlp-grpc-addr", "off", "--data-dir", dir.Sub("data")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("query-sched"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ew::testing
