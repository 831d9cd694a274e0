// Ingest pipeline micro-benchmarks (no decoding, no log):
//  - BM_DerivePairAggregate: spans per second through derivation (interning via the per-thread
//    cache over a real EdgeStore), pairing (half the pairs client-first, half server-first) and
//    per-minute aggregation in one ShardState, on one thread.
//  - BM_PendingBytesPerHalf: memory per pending unpaired half with 10 M pending (slot array
//    bytes / halves, and the process RSS growth while filling).
//  - BM_ShardPendingBytesPerHalf: the same for a whole ShardState holding 4 M unpaired client
//    halves (its pending table plus the held exemplars of halves that may expire), each half to
//    its own external host and so its own edge-minute: the held-exemplar table at its bound.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/time.h"
#include "ingest/derivation/derive.h"
#include "ingest/pipeline/pending_table.h"
#include "ingest/pipeline/shard_state.h"
#include "storage/edge_store.h"

namespace ew::ingest {
namespace {

std::array<uint8_t, 8> Id8(uint64_t v) {
  std::array<uint8_t, 8> s{};
  for (int i = 0; i < 8; ++i) s[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return s;
}

struct Fixture {
  std::string dir;
  std::unique_ptr<storage::EdgeStore> store;
  std::unique_ptr<StoreInterner> interner;
  WellKnownIds ids;
  std::unique_ptr<PathCap> cap;
  std::vector<std::string> names;  // backing strings for the views
  std::vector<SpanView> spans;     // client, server, client, server, ...

  Fixture() {
    char tmpl[] = "/tmp/ew-pipeline-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    storage::StoreOptions so;
    so.dir = dir + "/db";
    store = std::move(storage::EdgeStore::Open(so)).value();
    interner = std::make_unique<StoreInterner>(store.get());
    ids = InternWellKnown(interner.get()).value();
    cap = std::make_unique<PathCap>(200);
    names.reserve(200);
    for (int i = 0; i < 20; ++i) names.push_back("service-" + std::to_string(i));
    for (int i = 0; i < 50; ++i) names.push_back("/api/v1/resource" + std::to_string(i) + "/{id}");
    const int64_t start_ms = (WallNowMs() / kMsPerMinute) * kMsPerMinute;
    for (uint64_t p = 0; p < 4096; ++p) {
      SpanView c;
      c.trace_id[15] = 1;
      c.span_id = Id8(p + 1);
      c.kind = SpanKind::kClient;
      c.start_ns = static_cast<uint64_t>(start_ms) * 1'000'000 + p * 1000;
      c.end_ns = c.start_ns + 2'000'000 + p * 100;
      c.service_name = names[p % 20];
      c.service_namespace = "shop";
      c.http_method = p % 3 ? "GET" : "POST";
      c.url_full = "http://service/api";
      c.http_status = p % 50 ? 200 : 503;
      SpanView s = c;
      s.kind = SpanKind::kServer;
      s.span_id = Id8(p + 100'000);
      s.parent_span_id = c.span_id;
      s.has_parent = true;
      s.service_name = names[(p * 7 + 3) % 20];
      s.http_route = names[20 + p % 50];
      s.end_ns = s.start_ns + 1'500'000;
      spans.push_back(c);
      spans.push_back(s);
    }
  }
  ~Fixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

void BM_DerivePairAggregate(benchmark::State& state) {
  static Fixture f;
  ShardOptions o;
  o.max_pending = 1'000'000;
  o.pair_wait_ms = 10'000;
  o.ids = f.ids;
  o.path_cap = f.cap.get();
  ShardState shard(o);
  HalfDeriver deriver(f.interner.get(), f.ids, DeriveLimits{});
  const int64_t now = WallNowMs();
  shard.SetNow(now);
  uint64_t round = 0;
  std::vector<SpanView> batch = f.spans;
  for (auto _ : state) {
    ++round;
    for (size_t i = 0; i < batch.size(); i += 2) {
      // A fresh trace per pair and round; even pairs arrive client-first, odd server-first.
      for (int b = 0; b < 8; ++b) batch[i].trace_id[b] = static_cast<uint8_t>(round >> (8 * b));
      for (int b = 0; b < 8; ++b) batch[i].trace_id[8 + b] = static_cast<uint8_t>(i >> (8 * b));
      batch[i + 1].trace_id = batch[i].trace_id;
      size_t first = (i / 2) % 2 ? i + 1 : i;
      size_t second = first == i ? i + 1 : i;
      for (size_t k : {first, second}) {
        HalfRecord r;
        auto res = deriver.Derive(batch[k], now, &r);
        if (res.ok() && *res == DeriveResult::kHalf) shard.Apply(r, now);
      }
    }
    if (round % 64 == 0) {  // a flush now and then, as the service does
      ShardFlush out;
      shard.TakeFlush(&out);
      benchmark::DoNotOptimize(out.rollups.data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
  state.counters["pending_after"] = static_cast<double>(shard.pending());
}
BENCHMARK(BM_DerivePairAggregate)->Unit(benchmark::kMillisecond);

size_t RssBytes() {
  long pages = 0, resident = 0;
  FILE* fp = std::fopen("/proc/self/statm", "r");
  if (fp == nullptr) return 0;
  if (std::fscanf(fp, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(fp);
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void BM_PendingBytesPerHalf(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    size_t rss_before = RssBytes();
    PendingTable table(n);
    PendingEntry e;
    for (size_t i = 0; i < n; ++i) {
      e.trace_key = static_cast<uint32_t>(MixHash(i));
      e.span_key = MixHash(i ^ 0x5555) | 1;
      e.node = static_cast<uint32_t>(i % 1000);
      table.Insert(e);
    }
    size_t rss_after = RssBytes();
    state.counters["halves"] = static_cast<double>(table.size());
    state.counters["bytes_per_half"] =
        static_cast<double>(table.MemoryBytes()) / static_cast<double>(table.size());
    state.counters["rss_bytes_per_half"] =
        static_cast<double>(rss_after - rss_before) / static_cast<double>(table.size());
    state.counters["load_factor"] =
        static_cast<double>(table.size()) / static_cast<double>(table.capacity());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_PendingBytesPerHalf)->Arg(10'000'000)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_ShardPendingBytesPerHalf(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  PathCap cap(200);
  for (auto _ : state) {
    const size_t rss_before = RssBytes();
    ShardOptions o;
    o.max_pending = n;
    o.pair_wait_ms = 10'000;
    o.path_cap = &cap;
    ShardState shard(o);
    const int64_t now = WallNowMs();
    shard.SetNow(now);
    HalfRecord r;
    r.role = HalfRole::kClientPending;
    r.start_ms = now;
    r.duration_us = 1500;
    for (size_t i = 0; i < n; ++i) {
      for (int b = 0; b < 8; ++b) r.trace_id[8 + b] = static_cast<uint8_t>(i >> (8 * b));
      r.span_key = MixHash(i ^ 0x5555) | 1;
      r.node = static_cast<uint32_t>(i % 1000) + 1;
      r.peer = static_cast<uint32_t>(i) + 2000;  // every half its own unpaired edge
      shard.Apply(r, now);
    }
    const size_t rss_after = RssBytes();
    state.counters["halves"] = static_cast<double>(shard.pending());
    state.counters["rss_bytes_per_half"] =
        static_cast<double>(rss_after - rss_before) / static_cast<double>(shard.pending());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_ShardPendingBytesPerHalf)
    ->Arg(4'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ew::ingest

BENCHMARK_MAIN();
