// Missing-edge diagnostics of /api/v1/service: calls that no server span answered are told
// apart — toward external services they are expected, toward traced services (by name, by
// Kubernetes DNS name, or a messaging destination that traced consumers read) they point at
// broken trace-context propagation.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "query/query_service.h"
#include "storage/edge_store.h"
#include "tests/common/json.h"
#include "tests/common/temp_dir.h"

namespace ew::query {
namespace {

using ew::testing::Json;
using storage::NodeId;
using storage::NodeKind;

constexpr int64_t kT0 = 20000LL * 1440;
constexpr int64_t kNowMs = (kT0 + 60) * 60'000;

std::string Id(NodeId n) {
  std::string s = std::to_string(n);
  s.insert(s.begin(), 'n');
  return s;
}

class QueryDiagnosticsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions opts;
    opts.dir = dir_.Sub("store");
    opts.fixed_now_ms = kNowMs;
    auto s = storage::EdgeStore::Open(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    frontend_ = Node(NodeKind::kService, "shop", "frontend");
    cart_ = Node(NodeKind::kService, "shop", "cart");
    api_ = Node(NodeKind::kService, "shop", "api");
    worker_ = Node(NodeKind::kService, "shop", "worker");
    payments_ = Node(NodeKind::kService, "pay", "payments");
    stripe_ = Node(NodeKind::kExternalService, "", "api.stripe.com");
    cart_by_name_ = Node(NodeKind::kExternalService, "", "cart");  // peer.service = cart
    api_by_dns_ = Node(NodeKind::kExternalService, "", "api.shop.svc.cluster.local");
    unknown_ = Node(NodeKind::kExternalService, "", "Unknown External Service");
    orders_topic_ = Node(NodeKind::kMessaging, "", "kafka/orders");
    audit_topic_ = Node(NodeKind::kMessaging, "", "kafka/audit");
    storage::FlushBatch b;
    b.log_position = 1;
    Edge(&b, frontend_, stripe_, 378);
    Edge(&b, frontend_, cart_by_name_, 12);
    Edge(&b, frontend_, api_by_dns_, 5);
    Edge(&b, frontend_, unknown_, 3);
    Edge(&b, frontend_, orders_topic_, 4);
    Edge(&b, frontend_, audit_topic_, 6);
    Edge(&b, orders_topic_, worker_, 4);  // traced consumers without the producer's context
    Edge(&b, frontend_, cart_, 50);       // paired: not a missing edge
    Edge(&b, payments_, stripe_, 40);
    b.expiries.push_back({frontend_, kT0 + 10, storage::ExpiryKind::kClientHalf, 408});
    b.expiries.push_back({frontend_, kT0 + 10, storage::ExpiryKind::kServerHalf, 2});
    b.expiries.push_back({payments_, kT0 + 10, storage::ExpiryKind::kClientHalf, 40});
    Status st = store_->ApplyFlush(b);
    ASSERT_TRUE(st.ok()) << st.ToString();
    service_ = QueryService::Create(store_.get(), nullptr);
  }

  NodeId Node(NodeKind kind, const std::string& ns, const std::string& name) {
    auto id = store_->InternNode(kind, ns, name);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }

  static void Edge(storage::FlushBatch* b, NodeId client, NodeId server, uint64_t requests) {
    storage::MinuteRollup m;
    m.minute = kT0 + 10;
    m.dims.client = client;
    m.dims.server = server;
    m.value.requests = requests;
    m.value.client_latency.Add(1000, requests);
    b->rollups.push_back(std::move(m));
  }

  Json Service(std::map<std::string, std::string> params) {
    params["start"] = std::to_string(kT0 * 60);
    params["end"] = std::to_string((kT0 + 60) * 60);
    ApiRequest req;
    req.path = "/api/v1/service";
    req.params = std::move(params);
    req.now_ms = kNowMs;
    ApiResponse r = service_->Handle(req);
    EXPECT_EQ(r.http_status, 200) << r.body;
    auto j = Json::Parse(r.body);
    return j.ok() ? (*j)["missing_edges"] : Json();
  }

  ew::testing::TempDir dir_{"ew-diag-test-"};
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<QueryService> service_;
  NodeId frontend_ = 0, cart_ = 0, api_ = 0, worker_ = 0, payments_ = 0, stripe_ = 0,
         cart_by_name_ = 0, api_by_dns_ = 0, unknown_ = 0, orders_topic_ = 0, audit_topic_ = 0;
};

TEST_F(QueryDiagnosticsTest, CallsToExternalServicesAreExpectedNotAPropagationAlarm) {
  Json d = Service({{"namespace", "pay"}, {"name", "payments"}});
  EXPECT_EQ(d["client_halves_expired"].Uint(), 40u);
  EXPECT_EQ(d["propagation_suspects"].Uint(), 0u);
  EXPECT_EQ(d["expected_unpaired"].Uint(), 40u);
  ASSERT_EQ(d["destinations"].Size(), 1u);
  EXPECT_EQ(d["destinations"][0]["node"].String(), Id(stripe_));
  EXPECT_EQ(d["destinations"][0]["name"].String(), "api.stripe.com");
  EXPECT_EQ(d["destinations"][0]["verdict"].String(), "expected");
  EXPECT_FALSE(d["destinations"][0].Has("traced_service"));
  const std::string hint = d["hint"].String();
  EXPECT_EQ(hint.find("propagation"), std::string::npos) << hint;
  EXPECT_EQ(hint,
            "40 calls to untraced destinations (api.stripe.com) have no server span, as expected "
            "for external services");
}

TEST_F(QueryDiagnosticsTest, CallsToTracedServicesPointAtPropagation) {
  Json d = Service({{"namespace", "shop"}, {"name", "frontend"}});
  EXPECT_EQ(d["client_halves_expired"].Uint(), 408u);
  EXPECT_EQ(d["server_halves_expired"].Uint(), 2u);
  std::map<std::string, std::pair<std::string, std::string>> got;  // node -> verdict, traced
  std::map<std::string, uint64_t> requests;
  for (const auto& x : d["destinations"].Elements()) {
    got[x["node"].String()] = {x["verdict"].String(), x["traced_service"].String()};
    requests[x["node"].String()] = x["requests"].Uint();
  }
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(got, (std::map<std::string, P>{{Id(stripe_), P{"expected", ""}},
                                           {Id(cart_by_name_), P{"propagation", Id(cart_)}},
                                           {Id(api_by_dns_), P{"propagation", Id(api_)}},
                                           {Id(unknown_), P{"unknown", ""}},
                                           {Id(orders_topic_), P{"propagation", ""}},
                                           {Id(audit_topic_), P{"expected", ""}}}));
  EXPECT_EQ(requests[Id(stripe_)], 378u);
  EXPECT_EQ(d["destinations"][0]["node"].String(), Id(stripe_));  // most requests first
  EXPECT_EQ(d["propagation_suspects"].Uint(), 12u + 5 + 4 + 2);
  EXPECT_EQ(d["expected_unpaired"].Uint(), 378u + 6);
  const std::string hint = d["hint"].String();
  EXPECT_EQ(hint.rfind("21 calls to traced services (cart, api.shop.svc.cluster.local, "
                       "kafka/orders) got no server span: check trace-context propagation",
                       0),
            0u)
      << hint;
  EXPECT_NE(hint.find("2 server spans named a parent span that never arrived"), std::string::npos);
  EXPECT_NE(hint.find("384 calls to untraced destinations (api.stripe.com, kafka/audit)"),
            std::string::npos);
  EXPECT_NE(hint.find("3 calls to unnamed destinations"), std::string::npos);
}

TEST_F(QueryDiagnosticsTest, NamespaceNodesSumTheirMembers) {
  Json d = Service({{"kind", "namespace"}, {"namespace", "shop"}});
  EXPECT_EQ(d["client_halves_expired"].Uint(), 408u);
  EXPECT_EQ(d["propagation_suspects"].Uint(), 23u);
  d = Service({{"id", "ns:pay"}});
  EXPECT_EQ(d["expected_unpaired"].Uint(), 40u);
  EXPECT_EQ(d["propagation_suspects"].Uint(), 0u);
  // Nothing unpaired: no hint at all.
  d = Service({{"namespace", "shop"}, {"name", "cart"}});
  EXPECT_EQ(d["hint"].String(), "");
  EXPECT_EQ(d["destinations"].Size(), 0u);
}

}  // namespace
}  // namespace ew::query
