// Restart with waiting halves (issue 15): the real server holds tens of thousands of client
// halves waiting for partners (--pair-wait 1h), some sent again and again — a few keys 5 times,
// one key 1,000 times, as retrying clients and hostile ones do — partly persisted by flushes and
// partly only in the ingest log. It is killed with SIGKILL (or stopped cleanly) and started on
// the same data directory. Then every distinct half must be pending again exactly once, loaded
// into tables reserved once per shard (ew_pending_table_grows_total), and each must pair with its
// server half sent after the restart: the map's count for the edge equals the ledger of distinct
// requests sent (a resent waiting half replaces itself: docs/ingest.md, "Pending table").
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tools/http_client.h"
#include "tools/otlp_encoder.h"

namespace ew::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kShards = 2;  // the server's default --ingest-shards

struct Key {
  uint64_t trace_hi, trace_lo, span;
};

tools::OtlpSpan Half(const Key& k, bool server, int64_t now_ms) {
  tools::OtlpSpan s;
  for (int i = 0; i < 8; ++i) {
    s.trace_id[i] = static_cast<uint8_t>(k.trace_hi >> (56 - 8 * i));
    s.trace_id[8 + i] = static_cast<uint8_t>(k.trace_lo >> (56 - 8 * i));
    s.span_id[i] = static_cast<uint8_t>((server ? ~k.span : k.span) >> (56 - 8 * i));
    s.parent_span_id[i] = static_cast<uint8_t>(k.span >> (56 - 8 * i));
  }
  s.has_parent = server;
  s.kind = server ? 2 : 3;
  s.start_ns = static_cast<uint64_t>(now_ms - 5'000) * 1'000'000;
  s.end_ns = s.start_ns + 3'000'000;
  s.name = "GET /restart";
  s.attrs = {tools::Attr::Str("http.request.method", "GET"),
             tools::Attr::Int("http.response.status_code", 200)};
  s.resource = server ? 1 : 0;
  return s;
}

class Sender {
 public:
  explicit Sender(const ServerProcess& server)
      : conn_(tools::HostPort{server.host(), server.otlp_port()}, 30'000) {}
  // Posts the halves in requests of up to 500 spans; every one must be acknowledged.
  void Send(const std::vector<tools::OtlpSpan>& spans) {
    for (size_t i = 0; i < spans.size(); i += 500) {
      std::vector<const tools::OtlpSpan*> ptrs;
      for (size_t j = i; j < spans.size() && j < i + 500; ++j) ptrs.push_back(&spans[j]);
      const std::string body = tools::EncodeTraces(ptrs, resources_, tools::Encoding::kProtobuf);
      auto r =
          conn_.Request("POST", "/v1/traces", {{"Content-Type", "application/x-protobuf"}}, body);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->status, 200) << r->body;
    }
  }

 private:
  tools::HttpConnection conn_;
  std::vector<std::vector<tools::Attr>> resources_ = {
      {tools::Attr::Str("service.name", "restart-web")},
      {tools::Attr::Str("service.name", "restart-api")}};
};

// A metric of the running server (-1 when it is not exported).
double Metric(const ServerProcess& server, const std::string& name) {
  auto r = tools::HttpGet(tools::HostPort{server.host(), server.http_port()}, "/metrics");
  if (!r.ok() || r->status != 200) return -2;
  const std::string needle = "\n" + name + " ";
  const size_t at = r->body.find(needle);
  if (at == std::string::npos) return -1;
  return std::stod(r->body.substr(at + needle.size()));
}

// The metric once it reaches `want` (the shards apply records within their 100 ms sweep), or
// its value after 10 s of waiting.
double MetricWhen(const ServerProcess& server, const std::string& name, double want) {
  double v = Metric(server, name);
  for (int i = 0; i < 100 && v != want; ++i) {
    std::this_thread::sleep_for(100ms);
    v = Metric(server, name);
  }
  return v;
}

// Requests the map shows for restart-web -> restart-api over the last hours.
uint64_t EdgeRequests(const ServerProcess& server) {
  auto r = tools::HttpGet(tools::HostPort{server.host(), server.http_port()},
                          "/api/v1/map?start=now-3h&end=" + tools::UrlEncode("now+1h"));
  EXPECT_TRUE(r.ok() && r->status == 200);
  if (!r.ok()) return 0;
  auto doc = Json::Parse(r->body);
  EXPECT_TRUE(doc.ok());
  if (!doc.ok()) return 0;
  std::map<std::string, std::string> names;
  for (const Json& n : (*doc)["nodes"].Elements()) names[n["id"].String()] = n["name"].String();
  uint64_t total = 0;
  for (const Json& e : (*doc)["edges"].Elements()) {
    if (names[e["source"].String()] == "restart-web" &&
        names[e["target"].String()] == "restart-api") {
      total += e["requests"].Uint();
    }
  }
  return total;
}

// Sends the client halves that wait across the restart; returns the ledger: every distinct request
// whose client half was sent.
std::vector<Key> SendWaitingHalves(const ServerProcess& server, int64_t now_ms) {
  std::mt19937_64 rng(15);
  std::vector<Key> keys;  // the ledger: every distinct request whose client half was sent
  auto fresh = [&](size_t n) {
    std::vector<tools::OtlpSpan> out;
    for (size_t i = 0; i < n; ++i) {
      keys.push_back(Key{rng(), rng(), rng() | 1});
      out.push_back(Half(keys.back(), false, now_ms));
    }
    return out;
  };
  auto again = [&](size_t first, size_t count, int times) {
    std::vector<tools::OtlpSpan> out;
    for (int t = 0; t < times; ++t) {
      for (size_t i = first; i < first + count; ++i) out.push_back(Half(keys[i], false, now_ms));
    }
    return out;
  };
  {
    Sender sender(server);
    sender.Send(fresh(40'000));
    sender.Send(again(0, 500, 5));      // 500 keys sent 5 more times
    sender.Send(again(1000, 1, 1000));  // one key sent 1,000 more times
    std::this_thread::sleep_for(1s);    // flushes persist them
    sender.Send(again(2000, 300, 3));   // resent after they were persisted
    sender.Send(fresh(2'000));          // only in the log when the server is killed
    sender.Send(again(40'000, 100, 2));
  }
  return keys;
}

void RestartWithWaitingHalves(bool kill) {
  TempDir data("ew-restart-pending-");
  ServerOptions options;
  options.data_dir = data.path();
  options.extra_args = {"--pair-wait", "1h", "--flush-interval", "200ms"};
  auto server = std::make_unique<ServerProcess>(options);
  ASSERT_TRUE(server->Start().ok()) << server->Stderr();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const std::vector<Key> keys = SendWaitingHalves(*server, now_ms);
  const auto distinct = static_cast<double>(keys.size());
  ASSERT_EQ(MetricWhen(*server, "ew_pending_halves", distinct), distinct);
  if (kill) {
    EXPECT_EQ(server->Kill(), 128 + 9);
  } else {
    EXPECT_EQ(server->Stop(), 0) << server->Stderr();
  }
  server = std::make_unique<ServerProcess>(options);
  ASSERT_TRUE(server->Start().ok()) << server->Stderr();
  EXPECT_EQ(Metric(*server, "ew_pending_halves"), distinct);  // loaded before the ready line
  // One array per shard while loading, none while replaying: the table was presized.
  EXPECT_EQ(Metric(*server, "ew_pending_table_grows_total"), kShards) << server->Stderr();
  {
    Sender sender(*server);
    std::vector<tools::OtlpSpan> servers;
    for (const Key& k : keys) servers.push_back(Half(k, true, now_ms));
    sender.Send(servers);
  }
  EXPECT_EQ(MetricWhen(*server, "ew_pairs_completed_total", distinct), distinct);
  EXPECT_EQ(MetricWhen(*server, "ew_pending_halves", 0), 0);
  EXPECT_EQ(server->Stop(), 0) << server->Stderr();  // flushes everything
  server = std::make_unique<ServerProcess>(options);
  ASSERT_TRUE(server->Start().ok()) << server->Stderr();
  EXPECT_EQ(EdgeRequests(*server), keys.size());
  EXPECT_EQ(Metric(*server, "ew_pending_halves"), 0);
  if (::testing::Test::HasFailure()) data.Keep();
}

TEST(RestartPending, AfterKillNineEveryWaitingHalfPairsOnce) { RestartWithWaitingHalves(true); }

TEST(RestartPending, AfterCleanStopEveryWaitingHalfPairsOnce) { RestartWithWaitingHalves(false); }

}  // namespace
}  // namespace ew::testing
