// Queries run off the I/O threads: with a single I/O thread, an OTLP export and a health check
// are answered while a map query is still running (held at a gate in the query service), and
// the query's own answer comes back through the session afterwards. In-process (HttpServer with
// the real routes, ingest and query services), so the gate is a test hook, not a timing guess.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/config.h"
#include "base/metrics.h"
#include "ingest/ingest_service.h"
#include "query/query_service.h"
#include "server/http_server.h"
#include "server/routes.h"
#include "server/static_files.h"
#include "storage/edge_store.h"
#include "tests/common/temp_dir.h"
#include "tools/http_client.h"

namespace ew::server {
namespace {

// Holds every query at Enter() until Open().
class Gate {
 public:
  void Enter() {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;    // GUARDED_BY(mu_)
  bool open_ = false;  // GUARDED_BY(mu_)
};

class QueryOffIoThreadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.data_dir = dir_.path();
    storage::StoreOptions so;
    so.dir = dir_.Sub("db");
    auto store = storage::EdgeStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ingest::IngestOptions io;
    io.data_dir = config_.data_dir;
    auto ingest = ingest::IngestService::Create(store_.get(), io, &metrics_);
    ASSERT_TRUE(ingest.ok()) << ingest.status().ToString();
    ingest_ = std::move(ingest).value();
    ASSERT_TRUE(ingest_->Start().ok());
    query::QueryServiceOptions qo;
    qo.workers = 1;
    qo.before_query = [this] { gate_.Enter(); };
    query_ = query::QueryService::Create(store_.get(), &metrics_, std::move(qo));
    static_files_ = std::make_unique<StaticFiles>("");
    RouteContext ctx{&config_,     ingest_.get(), query_.get(),
                     store_.get(), &metrics_,     static_files_.get()};
    HttpServerOptions ho;
    ho.io_threads = 1;  // the query and the export share the one I/O thread
    http_ = std::make_unique<HttpServer>(ho, &metrics_);
    std::vector<ListenerSpec> specs(2);
    specs[0] = {"otlp", "127.0.0.1:0", 1 << 20, MakeOtlpHandler(ctx)};
    specs[1] = {"http", "127.0.0.1:0", 1 << 20, MakeHttpHandler(ctx)};
    Status st = http_->Start(std::move(specs));
    ASSERT_TRUE(st.ok()) << st.ToString();
    bound_ = http_->BoundAddresses();
  }

  void TearDown() override {
    gate_.Open();
    if (http_) {
      http_->StopAccepting();
      EXPECT_TRUE(http_->Drain(std::chrono::seconds(30)));
    }
    if (ingest_) ingest_->Shutdown();
    if (http_) http_->Stop();
    query_.reset();
  }

  static uint16_t PortOf(const std::string& address) {
    return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }

  ew::testing::TempDir dir_{"ew-query-pool-"};
  Config config_;
  MetricsRegistry metrics_;
  Gate gate_;
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<ingest::IngestService> ingest_;
  std::unique_ptr<query::QueryService> query_;
  std::unique_ptr<StaticFiles> static_files_;
  std::unique_ptr<HttpServer> http_;
  std::vector<std::string> bound_;
};

TEST_F(QueryOffIoThreadTest, ExportIsAnsweredWhileAMapQueryRuns) {
  Result<tools::HttpResponse> map = Status::Internal("not answered");
  std::thread client([&] {
    tools::HttpConnection c("127.0.0.1", PortOf(bound_[1]));
    map = c.Get("/api/v1/map?start=now-1h");
  });
  gate_.WaitEntered(1);  // the map query is running (held) on the query pool
  // A hung I/O thread would show as a timeout here (the liveness bound, not a speed check).
  tools::HttpConnection otlp("127.0.0.1", PortOf(bound_[0]), std::chrono::seconds(20));
  auto exported = otlp.Post("/v1/traces", "", "application/x-protobuf");
  tools::HttpConnection http("127.0.0.1", PortOf(bound_[1]), std::chrono::seconds(20));
  auto health = http.Get("/healthz");
  gate_.Open();
  client.join();
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_EQ(exported->status, 200) << exported->body;
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(health->status, 200);
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  EXPECT_EQ(map->status, 200) << map->body;
  EXPECT_NE(map->body.find("\"edges\""), std::string::npos) << map->body;
}

// A second query waits in the queue (default 16) and both come back on their own connections.
TEST_F(QueryOffIoThreadTest, QueuedQueriesAreAnsweredInTurn) {
  Result<tools::HttpResponse> a = Status::Internal("not answered");
  Result<tools::HttpResponse> b = Status::Internal("not answered");
  std::thread ta(
      [&] { a = tools::HttpConnection("127.0.0.1", PortOf(bound_[1])).Get("/api/v1/map"); });
  gate_.WaitEntered(1);
  std::thread tb([&] {
    b = tools::HttpConnection("127.0.0.1", PortOf(bound_[1])).Get("/api/v1/service?id=n1");
  });
  gate_.Open();
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 200) << a->body;
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->status, 200) << b->body;
}

}  // namespace
}  // namespace ew::server
