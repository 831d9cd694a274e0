// Test environment for IngestService: a real EdgeStore and ingest log in a temp dir, OTLP bodies
// built with the load generator's encoder, synchronous Export, and edge counts read back with
// EdgeStore::Scan.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/time.h"
#include "ingest/ingest_service.h"
#include "storage/edge_store.h"
#include "tests/common/temp_dir.h"
#include "tools/otlp_encoder.h"

namespace ew::ingest::testing {

inline tools::OtlpSpan OtlpHalf(int kind, uint64_t trace, uint64_t span, uint64_t parent,
                                int64_t start_ms, uint32_t resource) {
  tools::OtlpSpan s;
  for (int i = 0; i < 8; ++i) {
    s.trace_id[i] = 0x5a;
    s.trace_id[8 + i] = static_cast<uint8_t>(trace >> (56 - 8 * i));
    s.span_id[i] = static_cast<uint8_t>(span >> (56 - 8 * i));
    s.parent_span_id[i] = static_cast<uint8_t>(parent >> (56 - 8 * i));
  }
  s.has_parent = parent != 0;
  s.kind = kind;
  s.start_ns = static_cast<uint64_t>(start_ms) * 1'000'000;
  s.end_ns = s.start_ns + 2'000'000;
  s.name = "op";
  s.resource = resource;
  return s;
}

class ServiceEnv {
 public:
  explicit ServiceEnv(int64_t pair_wait_ms = 60'000) {
    config.data_dir = dir_.path();
    config.pair_wait_ms = pair_wait_ms;
    config.flush_interval_ms = 3'600'000;  // tests flush with FlushNow
    config.ingest_shards = 2;
    config.fsync = LogSync::kNever;
  }
  ~ServiceEnv() { Stop(); }

  void Open() {
    storage::StoreOptions so;
    so.dir = dir_.Sub("db");
    auto store = storage::EdgeStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto svc = IngestService::Create(store_.get(), config, &metrics);
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    service_ = std::move(svc).value();
    Status st = service_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  // Clean stop: Shutdown flushes everything.
  void Stop() {
    if (service_) service_->Shutdown();
    service_.reset();
    store_.reset();
  }
  // A crash as far as ingest is concerned: no Shutdown, nothing flushed.
  void Crash() {
    service_.reset();
    store_.reset();
  }

  ExportResponse Export(const std::vector<tools::OtlpSpan>& spans,
                        tools::Encoding enc = tools::Encoding::kProtobuf) {
    return ExportAs("default", spans, enc);
  }
  // The same, stored under `tenant`.
  ExportResponse ExportAs(const std::string& tenant, const std::vector<tools::OtlpSpan>& spans,
                          tools::Encoding enc = tools::Encoding::kProtobuf) {
    std::vector<const tools::OtlpSpan*> ptrs;
    for (const auto& s : spans) ptrs.push_back(&s);
    ExportRequest req;
    req.body = tools::EncodeTraces(ptrs, resources, enc);
    req.decoder = tools::IsJson(enc) ? &OtlpJsonDecoder() : &OtlpProtobufDecoder();
    req.gzip = tools::IsGzip(enc);
    req.tenant = tenant;
    return ExportRaw(std::move(req));
  }

  ExportResponse ExportRaw(ExportRequest req) {
    std::promise<ExportResponse> p;
    auto f = p.get_future();
    service_->Export(std::move(req), [&p](ExportResponse r) { p.set_value(std::move(r)); });
    return f.get();
  }

  // Requests per (client name -> server name) over the minute tier around now, of one tenant
  // (empty when the store does not know it).
  std::map<std::pair<std::string, std::string>, uint64_t> Edges(
      const std::string& tenant = "default") {
    std::map<std::pair<std::string, std::string>, uint64_t> out;
    storage::ScanSpec spec;
    auto id = store_->FindTenant(tenant);
    if (!id) return out;
    spec.tenant = *id;
    spec.family = storage::Family::kEdge;
    spec.tier = storage::Tier::kMinute;
    int64_t minute = WallNowMs() / kMsPerMinute;
    spec.start = minute - 60 * 25;
    spec.end = minute + 20;
    Status st =
        store_->Scan(spec, [&](int64_t, const storage::EdgeDims& d, const storage::RollupValue& v) {
          out[{Name(d.client), Name(d.server)}] += v.requests;
          return true;
        });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // Requests per path name of one tenant's edges (client -> server), over the minute tier.
  std::map<std::string, uint64_t> Paths(const std::string& tenant, const std::string& client,
                                        const std::string& server) {
    std::map<std::string, uint64_t> out;
    storage::ScanSpec spec;
    auto id = store_->FindTenant(tenant);
    if (!id) return out;
    spec.tenant = *id;
    spec.family = storage::Family::kDetail;
    spec.tier = storage::Tier::kMinute;
    spec.need_sketches = false;
    int64_t minute = WallNowMs() / kMsPerMinute;
    spec.start = minute - 60 * 25;
    spec.end = minute + 20;
    Status st =
        store_->Scan(spec, [&](int64_t, const storage::EdgeDims& d, const storage::RollupValue& v) {
          if (Name(d.client) != client || Name(d.server) != server) return true;
          auto path = store_->GetString(storage::StringKind::kPath, d.path);
          out[path ? *path : "?"] += v.requests;
          return true;
        });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  uint64_t Count(const std::string& client, const std::string& server) {
    auto e = Edges();
    auto it = e.find({client, server});
    return it == e.end() ? 0 : it->second;
  }

  std::string Name(storage::NodeId id) {
    auto n = store_->GetNode(id);
    return n ? n->name : std::string("?");
  }

  IngestService& service() { return *service_; }
  storage::EdgeStore& store() { return *store_; }

  IngestOptions config;
  MetricsRegistry metrics;
  // resource 0: web, 1: api
  std::vector<std::vector<tools::Attr>> resources = {{tools::Attr::Str("service.name", "web")},
                                                     {tools::Attr::Str("service.name", "api")}};

 private:
  ew::testing::TempDir dir_{"ew-ingest-svc-"};
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<IngestService> service_;
};

}  // namespace ew::ingest::testing
