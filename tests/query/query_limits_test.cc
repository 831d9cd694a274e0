// The query pool and the per-query limits: a fixed pool with a bounded queue (429 when full), a
// deadline that stops the scan itself (503), and the edge cap (422). Deterministic: a gate in
// the test hook holds the worker, and a fake clock that advances one millisecond per reading
// stands in for time.
#include "query/query_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "query/map_builder.h"
#include "query/planner.h"
#include "query/predicate.h"
#include "query/query_service.h"
#include "storage/edge_store.h"
#include "tests/common/temp_dir.h"

namespace ew::query {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kT0 = 20000LL * 1440;  // a day boundary, in minutes
constexpr int kServers = 1000;           // edges: client (i % 50) -> server i
constexpr int kMinutes = 58;             // [kT0 + 1, kT0 + 59): minute tier only

// 58,000 minute records over 1,000 edges, written once for the suite.
class QueryLimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ew::testing::TempDir("ew-query-limits-");
    storage::StoreOptions opts;
    opts.dir = dir_->Sub("store");
    opts.fixed_now_ms = (kT0 + 1440) * 60'000;
    auto s = storage::EdgeStore::Open(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value().release();
    std::vector<storage::NodeId> clients, servers;
    for (int i = 0; i < 50; ++i) {
      clients.push_back(
          *store_->InternNode(storage::NodeKind::kService, "shop", "client-" + std::to_string(i)));
    }
    for (int i = 0; i < kServers; ++i) {
      servers.push_back(*store_->InternNode(storage::NodeKind::kService, "backend",
                                            "server-" + std::to_string(i)));
    }
    storage::FlushBatch fb;
    fb.log_position = 1;
    for (int m = 1; m <= kMinutes; ++m) {
      for (int i = 0; i < kServers; ++i) {
        storage::MinuteRollup r;
        r.minute = kT0 + m;
        r.dims.client = clients[static_cast<size_t>(i % 50)];
        r.dims.server = servers[static_cast<size_t>(i)];
        r.value.requests = 3;
        r.value.server_latency.Add(1000.0 + i, 3);
        fb.rollups.push_back(std::move(r));
      }
    }
    Status st = store_->ApplyFlush(fb);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  static ApiRequest MapRequest() {
    ApiRequest req;
    req.path = "/api/v1/map";
    req.params = {{"start", std::to_string((kT0 + 1) * 60)},
                  {"end", std::to_string((kT0 + 1 + kMinutes) * 60)}};
    req.now_ms = (kT0 + 1440) * 60'000;
    return req;
  }

  // Submits and waits for the answer.
  static ApiResponse SubmitAndWait(QueryService* service, ApiRequest req) {
    std::promise<ApiResponse> answer;
    service->Submit(std::move(req), [&](ApiResponse r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }

  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(store_, nullptr); }

  static ew::testing::TempDir* dir_;
  static storage::EdgeStore* store_;
};
ew::testing::TempDir* QueryLimitsTest::dir_ = nullptr;
storage::EdgeStore* QueryLimitsTest::store_ = nullptr;

// A clock that advances 1 ms each time it is read.
struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> ms = std::make_shared<std::atomic<int64_t>>(0);
  Clock::time_point operator()() const {
    return Clock::time_point(std::chrono::milliseconds(ms->fetch_add(1) + 1));
  }
};

TEST_F(QueryLimitsTest, WithoutLimitsTheWholeMapIsAnswered) {
  for (int threads : {1, 2}) {
    QueryServiceOptions o;
    o.scan_threads = threads;
    auto service = QueryService::Create(store_, nullptr, std::move(o));
    ApiResponse r = SubmitAndWait(service.get(), MapRequest());
    ASSERT_EQ(r.http_status, 200) << r.body;
    EXPECT_NE(r.body.find("server-999"), std::string::npos);
  }
}

TEST_F(QueryLimitsTest, DeadlineAnswers503WithRetryAfter) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE("scan threads " + std::to_string(threads));
    QueryServiceOptions o;
    o.scan_threads = threads;
    o.timeout = std::chrono::milliseconds(20);
    o.now = FakeClock();
    auto service = QueryService::Create(store_, nullptr, std::move(o));
    ApiResponse r = SubmitAndWait(service.get(), MapRequest());
    EXPECT_EQ(r.http_status, 503) << r.body;
    EXPECT_NE(r.body.find("query timed out"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("--query-timeout"), std::string::npos) << r.body;
    EXPECT_GT(r.retry_after_s, 0);
  }
}

// The scan itself stops at the deadline: it reads far fewer records than the whole plan.
TEST_F(QueryLimitsTest, DeadlineStopsTheScanEarly) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE("scan threads " + std::to_string(threads));
    FakeClock clock;
    QueryLimits limits(clock() + std::chrono::milliseconds(20), 0, clock);
    Plan plan = MakePlan(nullptr, kT0 + 1, kT0 + 1 + kMinutes, *store_);
    size_t pos = 0;
    auto parsed = ParseQuery("", &pos);
    ASSERT_TRUE(parsed.ok());
    Dictionary dict(store_);
    auto pred = Predicate::Compile(parsed->root.get(), &dict, &pos);
    ASSERT_TRUE(pred.ok());
    TaskPool helpers("test-scan", 1, 0);
    auto table = AggregateEdges(plan, *store_, pred->get(), threads, nullptr, &helpers, &limits);
    ASSERT_FALSE(table.ok());
    EXPECT_EQ(limits.hit(), QueryLimits::Hit::kDeadline);
    // A whole scan checks once per kCheckEvery records (226 times here); this one stopped after
    // about 20 checks (one per fake millisecond) per scanning thread.
    const uint64_t whole = uint64_t{kServers} * kMinutes / QueryLimits::kCheckEvery;
    EXPECT_LT(limits.deadline_checks(), whole / 4) << "of " << whole;
  }
}

TEST_F(QueryLimitsTest, EdgeCapAnswers422) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE("scan threads " + std::to_string(threads));
    QueryServiceOptions o;
    o.scan_threads = threads;
    o.max_edges = 100;
    auto service = QueryService::Create(store_, nullptr, std::move(o));
    ApiResponse r = SubmitAndWait(service.get(), MapRequest());
    EXPECT_EQ(r.http_status, 422) << r.body;
    EXPECT_NE(r.body.find("more than 100 edges"), std::string::npos) << r.body;
    // A filtered map under the cap is answered.
    ApiRequest small = MapRequest();
    small.params["query"] = "client.service.name = \"client-7\"";
    r = SubmitAndWait(service.get(), std::move(small));
    EXPECT_EQ(r.http_status, 200) << r.body;
  }
}

// One worker, a queue of one: while the worker is held at the gate and one query waits, the
// next is answered 429 at once; the held and the queued ones are answered afterwards.
TEST_F(QueryLimitsTest, FullQueueAnswers429AndTheOthersFinish) {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int entered = 0;
  QueryServiceOptions o;
  o.workers = 1;
  o.queue = 1;
  o.before_query = [&] {
    std::unique_lock<std::mutex> lock(mu);
    ++entered;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  };
  MetricsRegistry metrics;
  auto service = QueryService::Create(store_, &metrics, std::move(o));
  std::promise<ApiResponse> first, second;
  service->Submit(MapRequest(), [&](ApiResponse r) { first.set_value(std::move(r)); });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return entered == 1; });
  }
  service->Submit(MapRequest(), [&](ApiResponse r) { second.set_value(std::move(r)); });
  std::optional<ApiResponse> third;
  service->Submit(MapRequest(), [&](ApiResponse r) { third = std::move(r); });
  ASSERT_TRUE(third.has_value()) << "a rejected query is answered on the submitting thread";
  EXPECT_EQ(third->http_status, 429) << third->body;
  EXPECT_NE(third->body.find("--query-queue"), std::string::npos) << third->body;
  EXPECT_EQ(third->retry_after_s, 1);
  std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("ew_query_rejected_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("ew_query_queued 1"), std::string::npos) << text;
  {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
  }
  cv.notify_all();
  EXPECT_EQ(first.get_future().get().http_status, 200);
  EXPECT_EQ(second.get_future().get().http_status, 200);
}

}  // namespace
}  // namespace ew::query
