// --query-sched, --query-nice and --query-slice reach the real server's threads: the query workers
// (ew-query-*) and scan helpers (ew-scan-*) run SCHED_OTHER at the nice increment by default,
// SCHED_IDLE with
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
  int64_t slice_ns = -1;  // se.slice of /proc/PID/task/TID/sched; -1 where the kernel has none
};

int64_t SliceNs(const std::filesystem::path& task) {
  std::ifstream sched(task / "sched");
  std::string line;
  while (std::getline(sched, line)) {
    if (line.rfind("se.slice", 0) == 0) return std::stoll(line.substr(line.find(':') + 1));
  }
  return -1;
}

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
    t.slice_ns = SliceNs(e.path());
    out.push_back(t);
  }
  return out;
}

bool IsQueryThread(const std::string& name) {
  return name.rfind("ew-query-", 0) == 0 || name.rfind("ew-scan-", 0) == 0;
}

// Checks every thread of a running server (nice values relative to the process's own, which a
// `nice ctest` raises); returns the number of query threads seen.
// query_slice_ns: the query threads' se.slice (-1: not checked); the others keep the main
// thread's.
int CheckThreads(const ServerProcess& server, int query_policy, int nice_increment,
                 int64_t query_slice_ns = -1) {
  const std::vector<ThreadSched> threads = Threads(server.pid());
  int base = -100;
  int64_t base_slice = -1;
  for (const ThreadSched& t : threads) {
    if (t.name == "edgewise") {  // the main thread
      base = t.nice;
      base_slice = t.slice_ns;
    }
  }
  EXPECT_NE(base, -100);
  int query_threads = 0, other = 0;
  for (const ThreadSched& t : threads) {
    if (IsQueryThread(t.name)) {
      ++query_threads;
      EXPECT_EQ(t.policy, query_policy) << t.name;
      EXPECT_EQ(t.nice, std::min(19, base + nice_increment)) << t.name;
      if (query_slice_ns >= 0 && base_slice >= 0) {
        EXPECT_EQ(t.slice_ns, query_slice_ns) << t.name;
      }
    } else if (t.name.rfind("ew-io-", 0) == 0 || t.name.rfind("ew-shard-", 0) == 0 ||
               t.name == "ew-flusher") {
      ++other;
      EXPECT_EQ(t.policy, SCHED_OTHER) << t.name;
      EXPECT_EQ(t.nice, base) << t.name;
      EXPECT_EQ(t.slice_ns, base_slice) << t.name;
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
  // No scan helper with one scan thread; the default --query-slice is 100us.
  EXPECT_EQ(CheckThreads(*server, SCHED_OTHER, 6, 100'000), 2);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(ServerSchedTest, QuerySliceReachesTheQueryThreadsAlone) {
  auto server =
      StartServer({"--query-slice", "3ms", "--query-workers", "2", "--query-threads", "2"});
  ASSERT_TRUE(server);
  EXPECT_EQ(CheckThreads(*server, SCHED_OTHER, 19, 3'000'000), 3);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();
}

TEST(ServerSchedTest, UnknownQuerySchedIsAStartUpError) {
  TempDir dir;
  RunResult r = RunEdgewise(
      {"--query-sched", "fifo", "--otlp-grpc-addr", "off", "--data-dir", dir.Sub("data")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("query-sched"), std::string::npos) << r.err;
  for (const char* bad : {"50us", "101ms", "1s", "100"}) {
    r = RunEdgewise(
        {"--query-slice", bad, "--otlp-grpc-addr", "off", "--data-dir", dir.Sub("data")});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("query-slice"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace ew::testing
