// /api/v1/edge/traces against a brute-force model: random requests of a few edges over several
// minutes, written in several flushes; the answer for errors absent / true / false, any limit,
// must be the model's role holders of each edge-minute (newest and slowest error, newest and
// slowest success), filtered, newest first. And the --trace-url template per exemplar.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "query/query_service.h"
#include "storage/edge_store.h"
#include "tests/common/exemplar_model.h"
#include "tests/common/json.h"
#include "tests/common/temp_dir.h"

namespace ew::query {
namespace {

using ew::testing::Json;
using storage::Exemplar;
using storage::NodeId;

constexpr int64_t kM0 = 20000LL * 1440;  // 2024-10-04T00:00Z, in minutes

std::string Hex(const std::array<uint8_t, 16>& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : id) s += {kHex[b >> 4], kHex[b & 15]};
  return s;
}

class EdgeTracesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions o;
    o.dir = dir_.Sub("db");
    o.fixed_now_ms = (kM0 + 1440) * 60'000;
    auto s = storage::EdgeStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    for (const char* name : {"a", "b", "c"}) {
      nodes_.push_back(*store_->InternNode(storage::NodeKind::kService, "ns", name));
    }
  }

  Json Traces(QueryService& q, NodeId src, NodeId dst, std::map<std::string, std::string> p,
              int want_status = 200) {
    ApiRequest req;
    req.path = "/api/v1/edge/traces";
    req.params = std::move(p);
    req.params["source"] = "n" + std::to_string(src);
    req.params["target"] = "n" + std::to_string(dst);
    req.now_ms = (kM0 + 1440) * 60'000;
    ApiResponse r = q.Handle(req);
    EXPECT_EQ(r.http_status, want_status) << r.body;
    auto j = Json::Parse(r.body);
    EXPECT_TRUE(j.ok()) << r.body;
    return j.ok() ? *j : Json();
  }

  // Six flushes of 300 random single-request rollups of a -> c and b -> c over five minutes;
  // returns every request per (client, server, minute).
  std::map<std::tuple<NodeId, NodeId, int64_t>, std::vector<Exemplar>> WriteRandom() {
    std::mt19937_64 rng(7);
    std::map<std::tuple<NodeId, NodeId, int64_t>, std::vector<Exemplar>> model;
    for (int flush = 0; flush < 6; ++flush) {
      storage::FlushBatch b;
      b.log_position = static_cast<uint64_t>(flush) + 1;
      for (int i = 0; i < 300; ++i) {
        storage::MinuteRollup r;
        r.minute = kM0 + static_cast<int64_t>(rng() % 5);
        r.dims.client = nodes_[rng() % 2];
        r.dims.server = nodes_[2];
        r.dims.protocol = storage::Protocol::kHttp;
        r.dims.status = static_cast<uint16_t>(rng() % 3 == 0 ? 500 : 200);
        r.value.requests = 1;
        Exemplar e;
        for (auto& byte : e.trace_id) byte = static_cast<uint8_t>(rng());
        e.start_ms = r.minute * 60'000 + static_cast<int64_t>(rng() % 60) * 1000;
        e.duration_us = static_cast<uint32_t>(rng() % 50) * 1000;
        e.status = r.dims.status;
        e.error = e.status == 500;
        r.value.errors = e.error ? 1 : 0;
        r.value.AddExemplar(e);
        model[{r.dims.client, r.dims.server, r.minute}].push_back(e);
        b.rollups.push_back(std::move(r));
      }
      EXPECT_TRUE(store_->ApplyFlush(b).ok());
    }
    return model;
  }

  ew::testing::TempDir dir_{"ew-traces-test-"};
  std::unique_ptr<storage::EdgeStore> store_;
  std::vector<NodeId> nodes_;
};

TEST_F(EdgeTracesTest, ErrorsFilterAndOrderMatchTheModel) {
  auto model = WriteRandom();
  auto q = QueryService::Create(store_.get(), nullptr);
  const NodeId src = nodes_[0], dst = nodes_[2];
  for (const char* errors : {"", "true", "false"}) {
    for (uint64_t limit : {1000, 3}) {
      std::vector<Exemplar> want;
      for (int64_t m = kM0; m < kM0 + 5; ++m) {
        for (const auto& x : ew::testing::ExemplarRoleHolders(model[{src, dst, m}])) {
          if (*errors == '\0' || x.error == (std::string(errors) == "true")) want.push_back(x);
        }
      }
      std::sort(want.begin(), want.end(), [](const Exemplar& a, const Exemplar& b) {
        return std::make_tuple(a.start_ms, a.duration_us, a.trace_id) >
               std::make_tuple(b.start_ms, b.duration_us, b.trace_id);
      });
      if (want.size() > limit) want.resize(limit);
      std::map<std::string, std::string> p = {
          {"start", std::to_string(kM0 * 60)},
          {"end", std::to_string((kM0 + 5) * 60)},
          {"limit", std::to_string(limit)},
      };
      if (*errors != '\0') p["errors"] = errors;
      Json t = Traces(*q, src, dst, p);
      ASSERT_EQ(t["traces"].Size(), want.size()) << "errors=" << errors;
      for (size_t i = 0; i < want.size(); ++i) {
        const Json& x = t["traces"][i];
        EXPECT_EQ(x["trace_id"].String(), Hex(want[i].trace_id)) << i;
        EXPECT_EQ(x["start_ms"].Int(), want[i].start_ms) << i;
        EXPECT_EQ(x["error"].Bool(), want[i].error) << i;
        EXPECT_EQ(x["status"].Uint(), want[i].status) << i;
        EXPECT_DOUBLE_EQ(x["duration_ms"].Double(), want[i].duration_us / 1000.0) << i;
        EXPECT_FALSE(x.Has("trace_url"));
      }
    }
  }
  // Every edge-minute with both kinds shows both: errors=false never answers an error.
  Json ok = Traces(*q, src, dst, {{"start", "now-2d"}, {"errors", "false"}, {"limit", "1000"}});
  ASSERT_GT(ok["traces"].Size(), 0u);
  for (const auto& x : ok["traces"].Elements()) EXPECT_FALSE(x["error"].Bool());
  Traces(*q, src, dst, {{"errors", "maybe"}}, 400);
}

TEST_F(EdgeTracesTest, TraceUrlTemplatePerExemplar) {
  storage::FlushBatch b;
  b.log_position = 1;
  storage::MinuteRollup r;
  r.minute = kM0;
  r.dims.client = nodes_[0];
  r.dims.server = nodes_[1];
  r.value.requests = 1;
  Exemplar e;
  e.trace_id = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  e.start_ms = kM0 * 60'000 + 1234;
  r.value.AddExemplar(e);
  b.rollups.push_back(r);
  ASSERT_TRUE(store_->ApplyFlush(b).ok());
  auto q = QueryService::Create(store_.get(), nullptr, 1,
                                "http://jaeger:16686/trace/{trace_id}?uiFind={trace_id}");
  Json t = Traces(*q, nodes_[0], nodes_[1], {{"start", "now-2d"}});
  ASSERT_EQ(t["traces"].Size(), 1u);
  EXPECT_EQ(t["traces"][0]["trace_id"].String(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t["traces"][0]["trace_url"].String(),
            "http://jaeger:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736"
            "?uiFind=4bf92f3577b34da6a3ce929d0e0e4736");
}

}  // namespace
}  // namespace ew::query
