#include "tests/query/query_fixture.h"

namespace ew::query::testing {

namespace {

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : T{};
}

}  // namespace

void QueryFixture::SetUp() {
  storage::StoreOptions opts;
  opts.dir = dir_.Sub("store");
  opts.fixed_now_ms = (kT0 + 3 * 1440) * 60'000;  // keeps every tier's data
  auto s = storage::EdgeStore::Open(opts);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(s).value();
  frontend_ = Must(store_->InternNode(NodeKind::kService, "shop", "frontend"));
  cart_ = Must(store_->InternNode(NodeKind::kService, "shop", "cart"));
  payments_ = Must(store_->InternNode(NodeKind::kService, "pay", "payments"));
  orders_db_ = Must(store_->InternNode(NodeKind::kDatabase, "", "postgresql/orders"));
  stripe_ = Must(store_->InternNode(NodeKind::kExternalService, "", "api.stripe.com"));
  external_ = Must(store_->InternNode(NodeKind::kExternalClient, "", "External Client"));
  const auto H = Protocol::kHttp;
  recs_ = {
      {kT0 + 5, external_, frontend_, H, "/health", "GET", 200, 10, 0, 1000, 0},
      {kT0 + 5, frontend_, cart_, H, "/v1/cart/{id}", "GET", 200, 100, 0, 5000, 6000},
      {kT0 + 5, frontend_, cart_, H, "/v1/cart/{id}", "POST", 500, 7, 7, 50000, 51000},
      {kT0 + 5, frontend_, cart_, H, "/v1/traces", "POST", 200, 30, 0, 2000, 2500},
      {kT0 + 65, frontend_, cart_, H, "/v1/cart/{id}", "GET", 503, 3, 3, 80000, 81000},
      {kT0 + 65, cart_, payments_, Protocol::kGrpc, "", "", 0, 20, 0, 10000, 11000},
      {kT0 + 65, cart_, payments_, Protocol::kGrpc, "", "", 14, 4, 4, 9000, 9500},
      {kT0 - 30, cart_, orders_db_, Protocol::kDatabase, "", "", 0, 40, 1, 0, 2000},
      {kT0 + 1500, payments_, stripe_, H, "/v1/charges", "POST", 200, 6, 0, 0, 300000},
      {kT0 - 1435, frontend_, cart_, H, "/v1/cart/{id}", "GET", 200, 50, 0, 4000, 4500},
      // Same key as the second record, in a later flush: the merge operator adds them.
      {kT0 + 5, frontend_, cart_, H, "/v1/cart/{id}", "GET", 200, 1, 0, 5000, 6000},
  };
  for (size_t batch = 0; batch < 2; ++batch) {
    storage::FlushBatch fb;
    fb.log_position = batch + 1;
    for (size_t i = 0; i < recs_.size(); ++i) {
      if ((i == recs_.size() - 1) != (batch == 1)) continue;
      const Rec& r = recs_[i];
      storage::MinuteRollup m;
      m.minute = r.minute;
      m.dims.client = r.client;
      m.dims.server = r.server;
      m.dims.protocol = r.protocol;
      m.dims.path = Must(store_->InternString(storage::StringKind::kPath, r.path));
      m.dims.method = Must(store_->InternString(storage::StringKind::kMethod, r.method));
      m.dims.status = r.status;
      m.value.requests = r.requests;
      m.value.errors = r.errors;
      if (r.server_us > 0) m.value.server_latency.Add(r.server_us, r.requests);
      if (r.client_us > 0) m.value.client_latency.Add(r.client_us, r.requests);
      storage::Exemplar x;
      x.trace_id[0] = static_cast<uint8_t>(i + 1);
      x.start_ms = r.minute * 60'000 + static_cast<int64_t>(i) * 100;
      x.duration_us = static_cast<uint32_t>(r.server_us > 0 ? r.server_us : r.client_us);
      x.status = r.status;
      x.error = r.errors > 0;
      m.value.AddExemplar(x);
      fb.rollups.push_back(std::move(m));
    }
    if (batch == 0) {
      fb.expiries.push_back({cart_, kT0 + 5, storage::ExpiryKind::kClientHalf, 3});
      fb.expiries.push_back({cart_, kT0 + 6, storage::ExpiryKind::kServerHalf, 2});
      fb.expiries.push_back({cart_, kT0 - 2000, storage::ExpiryKind::kServerHalf, 100});
    }
    Status st = store_->ApplyFlush(fb);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  service_ = QueryService::Create(store_.get(), nullptr);
}

ApiResponse QueryFixture::Raw(const std::string& path, std::map<std::string, std::string> params,
                              bool flatbuffers) {
  ApiRequest req;
  req.path = path;
  req.params = std::move(params);
  req.want_flatbuffers = flatbuffers;
  req.now_ms = (kT0 + 3 * 1440) * 60'000;
  return service_->Handle(req);
}

Json QueryFixture::Get(const std::string& path, std::map<std::string, std::string> params,
                       int expect_status) {
  ApiResponse r = Raw(path, std::move(params));
  EXPECT_EQ(r.http_status, expect_status) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  auto j = Json::Parse(r.body);
  EXPECT_TRUE(j.ok()) << r.body;
  return j.ok() ? *j : Json();
}

EdgeCounts QueryFixture::EdgesOf(const Json& map) {
  EdgeCounts out;
  for (const auto& e : map["edges"].Elements()) {
    out[{e["source"].String(), e["target"].String()}] = {e["requests"].Uint(), e["errors"].Uint()};
  }
  return out;
}

EdgeCounts QueryFixture::Oracle(const std::function<bool(const Rec&, bool)>& pred, int64_t start,
                                int64_t end) const {
  EdgeCounts out;
  for (const auto& r : recs_) {
    if (r.minute < start || r.minute >= end) continue;
    uint64_t err = pred(r, true) ? r.errors : 0;
    uint64_t ok = pred(r, false) ? r.requests - r.errors : 0;
    if (err + ok == 0) continue;
    auto& c = out[{Id(r.client), Id(r.server)}];
    c.first += err + ok;
    c.second += err;
  }
  return out;
}

void QueryFixture::ExpectMap(const std::string& query,
                             const std::function<bool(const Rec&, bool)>& pred, int64_t start,
                             int64_t end) {
  Json map = Get("/api/v1/map", {{"query", query}, {"start", Ts(start)}, {"end", Ts(end)}});
  EXPECT_EQ(EdgesOf(map), Oracle(pred, start, end))
      << "query: " << query << " range " << start - kT0 << ".." << end - kT0;
  // Every node at an end of an edge, with in/out sums of the selected requests.
  std::map<std::string, uint64_t> in, out;
  for (const auto& [k, v] : EdgesOf(map)) {
    out[k.first] += v.first;
    in[k.second] += v.first;
  }
  size_t nodes = 0;
  for (const auto& n : map["nodes"].Elements()) {
    ++nodes;
    EXPECT_EQ(n["requests_in"].Uint(), in[n["id"].String()]) << query;
    EXPECT_EQ(n["requests_out"].Uint(), out[n["id"].String()]) << query;
  }
  std::map<std::string, int> ends;
  for (const auto& [k, v] : in) ends[k];
  for (const auto& [k, v] : out) ends[k];
  EXPECT_EQ(nodes, ends.size()) << query;
}

std::string QueryFixture::NsOf(NodeId n) const { return store_->GetNode(n)->ns; }
std::string QueryFixture::NameOf(NodeId n) const { return store_->GetNode(n)->name; }
std::string QueryFixture::KindOf(NodeId n) const {
  return std::string(storage::NodeKindName(store_->GetNode(n)->kind));
}

}  // namespace ew::query::testing
