// Disk full (issue 3): the data directory lives on a small tmpfs that the test fills up. While it
// is full, ingest answers 503 with Retry-After and /readyz is not ready; nothing acknowledged is
// lost; once space is freed ingest recovers by itself. Needs root (mount); skipped otherwise.
// The tmpfs is 256 MiB because RocksDB clears a no-space error only once the free space exceeds
// its reserved buffer (the write buffer size, 64 MiB).
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
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
using Clock = std::chrono::steady_clock;

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(EdgewiseBinary())) << EdgewiseBinary() << " is not built";
    mount_point_ = dir_.Sub("mnt");
    std::filesystem::create_directories(mount_point_);
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=256m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << "); needs root";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }

  // Fills the file system with one file, down to the last byte it accepts.
  int FillUp() {
    const std::string path = mount_point_ + "/filler";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    std::string chunk(1 << 20, 'f');
    for (size_t size : {size_t{1} << 20, size_t{4096}, size_t{1}}) {
      while (::write(fd, chunk.data(), size) == static_cast<ssize_t>(size)) {
      }
    }
    return fd;
  }
  void Free(int fd) {
    ::close(fd);
    std::filesystem::remove(mount_point_ + "/filler");
  }

  TempDir dir_{"ew-diskfull-"};
  std::string mount_point_;
  bool mounted_ = false;
};

// Sends one request of the ledger; returns its outcome and status.
Outcome SendOne(tools::HttpConnection* client, TrafficLedger* ledger, int* status,
                std::string* problem) {
  auto [id, body] = ledger->NextRequest(0);
  const Outcome outcome = SendTraces(client, body, status, problem);
  ledger->Record(id, outcome);
  return outcome;
}

TEST_F(DiskFull, RefusesWith503WhileFullLosesNothingAndRecovers) {
  ServerOptions server_options;
  server_options.data_dir = mount_point_ + "/data";
  server_options.extra_args = {"--flush-interval", "200ms", "--pair-wait", "1h"};
  ServerProcess server(server_options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  TrafficLedger ledger(static_cast<uint64_t>(::getpid()), 1);
  tools::HttpConnection otlp(server.host(), server.otlp_port(), 20s);
  tools::HttpConnection http(server.host(), server.http_port(), 20s);
  std::vector<std::string> problems;
  for (int i = 0; i < 30; ++i) {
    int status = 0;
    std::string problem;
    EXPECT_EQ(SendOne(&otlp, &ledger, &status, &problem), Outcome::kAcked) << status;
  }

  // Full: requests must be refused (503 + Retry-After) within a few seconds, never answered 500.
  const int filler = FillUp();
  int refused = 0, acked_while_full = 0;
  bool saw_not_ready = false;
  const auto full_deadline = Clock::now() + 20s;
  while (Clock::now() < full_deadline && (refused < 5 || !saw_not_ready)) {
    int status = 0;
    std::string problem;
    const Outcome o = SendOne(&otlp, &ledger, &status, &problem);
    ASSERT_NE(o, Outcome::kUnknown) << "no answer while the disk is full\n" << server.Stderr();
    if (o == Outcome::kRefused) {
      EXPECT_EQ(status, 503) << problem;
      if (!problem.empty()) problems.push_back(problem);
      ++refused;
    } else {
      ++acked_while_full;
    }
    auto ready = http.Get("/readyz");
    if (ready.ok() && ready->status != 200) saw_not_ready = true;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(refused, 5) << "ingest kept acknowledging on a full disk (" << acked_while_full
                        << " acknowledged)";
  EXPECT_TRUE(saw_not_ready) << "/readyz stayed ready on a full disk";
  EXPECT_TRUE(problems.empty()) << problems.front();

  // Space again: ingest recovers by itself.
  Free(filler);
  const auto recover_deadline = Clock::now() + 30s;
  bool recovered = false;
  while (!recovered && Clock::now() < recover_deadline) {
    int status = 0;
    std::string problem;
    recovered = SendOne(&otlp, &ledger, &status, &problem) == Outcome::kAcked;
    if (!recovered) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(recovered) << "ingest did not recover within 30 s of freeing space\n"
                         << server.Stderr();
  bool ready_again = false;
  for (int i = 0; i < 100 && !ready_again; ++i) {
    auto ready = http.Get("/readyz");
    ready_again = ready.ok() && ready->status == 200;
    if (!ready_again) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(ready_again) << "/readyz did not turn ready again";
  for (int i = 0; i < 30; ++i) {
    int status = 0;
    std::string problem;
    EXPECT_EQ(SendOne(&otlp, &ledger, &status, &problem), Outcome::kAcked) << status;
  }

  // Everything acknowledged is stored once; nothing refused is.
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  tools::HttpConnection http2(server.host(), server.http_port(), 30s);
  auto edges = FetchMapEdges(&http2);
  ASSERT_TRUE(edges.ok()) << edges.status().ToString() << "\n" << server.Stderr();
  const LedgerSummary sum = ledger.Summary();
  std::cout << "disk full: " << sum.acked << " acknowledged, " << sum.refused << " refused, "
            << sum.unknown << " lost answers\n";
  std::vector<std::string> wrong = ledger.Check(*edges);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " edges wrong, first: " << wrong.front();
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace ew::testing
