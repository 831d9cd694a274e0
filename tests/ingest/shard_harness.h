// Test harness: a real EdgeStore in a temp dir, the StoreInterner, a HalfDeriver and one
// ShardState. Feed SpanViews, then read the rollups a flush would write, with node ids resolved
// to "kind:ns/name" strings.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/time.h"
#include "ingest/decoders/span_view.h"
#include "ingest/derivation/derive.h"
#include "ingest/pipeline/shard_state.h"
#include "storage/edge_store.h"
#include "tests/common/temp_dir.h"

namespace ew::ingest::testing {

struct EdgeRow {
  std::string client;  // "service:ns/name", "external_client:/External Client", ...
  std::string server;
  std::string protocol;
  std::string path;
  std::string method;
  uint16_t status = 0;
  int64_t minute = 0;
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t server_samples = 0;
  uint64_t client_samples = 0;
  double server_p50_us = 0;
  double client_p50_us = 0;
};

inline std::array<uint8_t, 16> TraceId(uint64_t hi, uint64_t lo) {
  std::array<uint8_t, 16> t{};
  for (int i = 0; i < 8; ++i) {
    t[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    t[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return t;
}

inline std::array<uint8_t, 8> SpanId(uint64_t v) {
  std::array<uint8_t, 8> s{};
  for (int i = 0; i < 8; ++i) s[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return s;
}

// A span of `service` starting at start_ms lasting dur_us.
inline SpanView MakeSpan(SpanKind kind, std::string_view service, uint64_t trace, uint64_t span,
                         uint64_t parent, int64_t start_ms, uint64_t dur_us = 1000) {
  SpanView v;
  v.trace_id = TraceId(0xabc, trace);
  v.span_id = SpanId(span);
  if (parent != 0) {
    v.parent_span_id = SpanId(parent);
    v.has_parent = true;
  }
  v.kind = kind;
  v.start_ns = static_cast<uint64_t>(start_ms) * 1'000'000;
  v.end_ns = v.start_ns + dur_us * 1000;
  v.service_name = service;
  return v;
}

class ShardHarness {
 public:
  explicit ShardHarness(int64_t pair_wait_ms = 10'000, uint64_t max_pending = 1'000'000,
                        uint32_t max_paths = 200)
      : pair_wait_ms_(pair_wait_ms) {
    storage::StoreOptions so;
    so.dir = dir_.Sub("db");
    auto store = storage::EdgeStore::Open(so);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    interner_ = std::make_unique<StoreInterner>(store_.get());
    auto ids = InternWellKnown(interner_.get());
    EXPECT_TRUE(ids.ok());
    ids_ = *ids;
    cap_ = std::make_unique<PathCap>(max_paths);
    ShardOptions o;
    o.max_pending = max_pending;
    o.pair_wait_ms = pair_wait_ms;
    o.ids = ids_;
    o.path_cap = cap_.get();
    shard_ = std::make_unique<ShardState>(o);
    deriver_ = std::make_unique<HalfDeriver>(interner_.get(), ids_, DeriveLimits{});
    shard_->SetNow(now_ms);
  }

  // Derives and applies; returns the derivation result.
  DeriveResult Feed(const SpanView& span, int64_t arrival_ms = -1) {
    HalfRecord r;
    auto res = deriver_->Derive(span, now_ms, &r);
    EXPECT_TRUE(res.ok());
    if (*res == DeriveResult::kHalf) {
      shard_->Apply(r, arrival_ms < 0 ? now_ms : arrival_ms);
      last_ = r;
    }
    return *res;
  }

  // Expires everything that waited pair_wait by now_ms + advance_ms.
  void Advance(int64_t advance_ms) {
    now_ms += advance_ms;
    shard_->Expire(now_ms, SIZE_MAX);
  }

  std::vector<EdgeRow> Flush() {
    ShardFlush f;
    shard_->TakeFlush(&f);
    last_flush_ = f;
    std::vector<EdgeRow> rows;
    for (const auto& r : f.rollups) {
      EdgeRow e;
      e.client = NodeName(r.dims.client);
      e.server = NodeName(r.dims.server);
      e.protocol = std::string(storage::ProtocolName(r.dims.protocol));
      e.path = r.dims.path
                   ? store_->GetString(storage::StringKind::kPath, r.dims.path).value_or("?")
                   : "";
      e.method = r.dims.method
                     ? store_->GetString(storage::StringKind::kMethod, r.dims.method).value_or("?")
                     : "";
      e.status = r.dims.status;
      e.minute = r.minute;
      e.requests = r.value.requests;
      e.errors = r.value.errors;
      e.server_samples = r.value.server_latency.Count();
      e.client_samples = r.value.client_latency.Count();
      e.server_p50_us = r.value.server_latency.Quantile(0.5);
      e.client_p50_us = r.value.client_latency.Quantile(0.5);
      rows.push_back(e);
    }
    return rows;
  }

  std::string NodeName(storage::NodeId id) {
    auto n = store_->GetNode(id);
    if (!n) return "?";
    std::string out(storage::NodeKindName(n->kind));
    out.append(":").append(n->ns).append("/").append(n->name);
    return out;
  }

  uint64_t TotalRequests(const std::vector<EdgeRow>& rows) {
    uint64_t n = 0;
    for (const auto& r : rows) n += r.requests;
    return n;
  }

  int64_t now_ms = (WallNowMs() / kMsPerMinute) * kMsPerMinute + 1000;  // 1 s into a minute
  int64_t Minute() const { return now_ms / kMsPerMinute; }
  ShardState& shard() { return *shard_; }
  storage::EdgeStore& store() { return *store_; }
  const ShardFlush& last_flush() const { return last_flush_; }
  const HalfRecord& last_record() const { return last_; }
  const WellKnownIds& ids() const { return ids_; }
  ShardOptions options() const {
    ShardOptions o;
    o.max_pending = 1'000'000;
    o.pair_wait_ms = pair_wait_ms_;
    o.ids = ids_;
    o.path_cap = cap_.get();
    return o;
  }

 private:
  ew::testing::TempDir dir_{"ew-ingest-"};
  int64_t pair_wait_ms_;
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<StoreInterner> interner_;
  WellKnownIds ids_;
  std::unique_ptr<PathCap> cap_;
  std::unique_ptr<ShardState> shard_;
  std::unique_ptr<HalfDeriver> deriver_;
  ShardFlush last_flush_;
  HalfRecord last_;
};

}  // namespace ew::ingest::testing
