// IngestService end to end over a real EdgeStore and ingest log: pairing across requests,
// partial success, malformed and oversized bodies, expiry, exactly-once across a crash (the
// service destroyed without Shutdown) and pending halves surviving a restart.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ingest/pipeline/pending_table.h"
#include "tests/ingest/service_env.h"

namespace ew::ingest {
namespace {

using testing::OtlpHalf;
using testing::ServiceEnv;
constexpr int kServer = 2;
constexpr int kClient = 3;

TEST(IngestService, PairAcrossRequestsIsStoredOnce) {
  ServiceEnv env;
  env.Open();
  int64_t now = WallNowMs();
  auto r1 = env.Export({OtlpHalf(kClient, 1, 100, 0, now, 0)});
  EXPECT_EQ(r1.outcome, ExportOutcome::kOk) << r1.body;
  auto r2 = env.Export({OtlpHalf(kServer, 1, 200, 100, now + 1, 1)});
  EXPECT_EQ(r2.outcome, ExportOutcome::kOk) << r2.body;
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 1u);
  EXPECT_EQ(env.Edges().size(), 1u);
  EXPECT_NE(env.metrics.RenderPrometheus().find("ew_pairs_completed_total 1"), std::string::npos);
}

TEST(IngestService, PartialSuccessRefusesTooOldAndFutureSpans) {
  ServiceEnv env;
  env.Open();
  int64_t now = WallNowMs();
  auto r = env.Export({OtlpHalf(kServer, 1, 10, 0, now - 25 * kMsPerHour, 1),
                       OtlpHalf(kServer, 2, 10, 0, now + 20 * kMsPerMinute, 1),
                       OtlpHalf(kServer, 3, 10, 0, now, 1)});
  ASSERT_EQ(r.outcome, ExportOutcome::kOk) << r.body;
  EXPECT_EQ(r.rejected_spans, 2u);
  EXPECT_EQ(r.accepted_spans, 1u);
  EXPECT_EQ(tools::RejectedSpans(r.body, false), 2);
  auto j =
      env.Export({OtlpHalf(kServer, 4, 10, 0, now - 25 * kMsPerHour, 1)}, tools::Encoding::kJson);
  ASSERT_EQ(j.outcome, ExportOutcome::kOk) << j.body;
  EXPECT_EQ(j.decoder, &OtlpJsonDecoder());
  EXPECT_EQ(tools::RejectedSpans(j.body, true), 1);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("External Client", "api"), 1u);
  EXPECT_NE(env.metrics.RenderPrometheus().find("ew_spans_refused_total{reason=\"too_old\"} 2"),
            std::string::npos);
}

TEST(IngestService, MalformedBodyIsRefusedWithMessage) {
  ServiceEnv env;
  env.Open();
  ExportRequest req;
  req.body = std::string("\x0a\xff\xff\xff", 4);
  auto r = env.ExportRaw(std::move(req));
  EXPECT_EQ(r.outcome, ExportOutcome::kMalformed);
  EXPECT_FALSE(r.body.empty());
  ExportRequest bad_gzip;
  bad_gzip.body = "not gzip";
  bad_gzip.gzip = true;
  EXPECT_EQ(env.ExportRaw(std::move(bad_gzip)).outcome, ExportOutcome::kMalformed);
}

TEST(IngestService, DecompressedSizeOverLimitIsTooLarge) {
  ServiceEnv env;
  env.config.max_decompressed_bytes = 4096;
  env.Open();
  ExportRequest req;
  req.body = tools::Gzip(std::string(1 << 20, '\0'));
  req.gzip = true;
  EXPECT_EQ(env.ExportRaw(std::move(req)).outcome, ExportOutcome::kTooLarge);
}

TEST(IngestService, GzipAndJsonBodiesPair) {
  ServiceEnv env;
  env.Open();
  int64_t now = WallNowMs();
  EXPECT_EQ(env.Export({OtlpHalf(kClient, 1, 100, 0, now, 0)}, tools::Encoding::kGzipJson).outcome,
            ExportOutcome::kOk);
  EXPECT_EQ(
      env.Export({OtlpHalf(kServer, 1, 200, 100, now, 1)}, tools::Encoding::kGzipProtobuf).outcome,
      ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 1u);
}

// Each I/O thread keeps its inflated-body buffer: bodies of changing sizes and kinds, a broken one
// in between and one past the kept size, all on this thread, each decode exactly (nothing of one
// body shows through in the next).
TEST(IngestService, GzipBodiesOfChangingSizesOnOneThread) {
  ServiceEnv env;
  env.Open();
  const int64_t now = WallNowMs();
  std::vector<tools::OtlpSpan> clients;
  std::vector<tools::OtlpSpan> servers;
  for (uint64_t trace = 1; trace <= 300; ++trace) {
    clients.push_back(OtlpHalf(kClient, trace, 100, 0, now, 0));
    servers.push_back(OtlpHalf(kServer, trace, 200, 100, now, 1));
  }
  ExportResponse r = env.Export(clients, tools::Encoding::kGzipProtobuf);
  ASSERT_EQ(r.outcome, ExportOutcome::kOk) << r.body;
  EXPECT_EQ(r.accepted_spans, 300u);
  // A small JSON body inflated into the big one's buffer.
  r = env.Export({OtlpHalf(kClient, 1000, 100, 0, now, 0)}, tools::Encoding::kGzipJson);
  ASSERT_EQ(r.outcome, ExportOutcome::kOk) << r.body;
  EXPECT_EQ(r.accepted_spans, 1u);
  ExportRequest broken;
  broken.body = tools::Gzip("{\"resourceSpans\":[]}");
  broken.body.resize(broken.body.size() - 3);
  broken.gzip = true;
  broken.decoder = &OtlpJsonDecoder();
  r = env.ExportRaw(std::move(broken));
  EXPECT_EQ(r.outcome, ExportOutcome::kMalformed);
  EXPECT_NE(r.body.find("gzip: "), std::string::npos) << r.body;
  // 6 MiB of JSON whitespace: past the 4 MiB an I/O thread keeps.
  const tools::OtlpSpan server_1000 = OtlpHalf(kServer, 1000, 200, 100, now, 1);
  ExportRequest huge;
  huge.body =
      tools::Gzip(tools::EncodeTraces({&server_1000}, env.resources, tools::Encoding::kJson) +
                  std::string(6 << 20, ' '));
  huge.gzip = true;
  huge.decoder = &OtlpJsonDecoder();
  r = env.ExportRaw(std::move(huge));
  ASSERT_EQ(r.outcome, ExportOutcome::kOk) << r.body;
  EXPECT_EQ(r.accepted_spans, 1u);
  r = env.Export(servers, tools::Encoding::kGzipProtobuf);
  ASSERT_EQ(r.outcome, ExportOutcome::kOk) << r.body;
  EXPECT_EQ(r.accepted_spans, 300u);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 301u);
}

TEST(IngestService, UnpairedClientExpiresToExternalServiceAfterPairWait) {
  ServiceEnv env(/*pair_wait_ms=*/200);
  env.resources[0].push_back(tools::Attr::Str("service.namespace", "shop"));
  env.Open();
  auto span = OtlpHalf(kClient, 1, 100, 0, WallNowMs(), 0);
  span.attrs.push_back(tools::Attr::Str("server.address", "api.stripe.com"));
  EXPECT_EQ(env.Export({span}).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api.stripe.com"), 0u);  // still waiting
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api.stripe.com"), 1u);
  EXPECT_NE(env.metrics.RenderPrometheus().find("ew_halves_expired_total{kind=\"client\"} 1"),
            std::string::npos);
}

// Exactly-once across a crash: acknowledged requests after the last flush are replayed from the
// log, requests before it are not counted again, and pending halves survive.
TEST(IngestService, CrashWithoutFlushReplaysExactlyOnce) {
  ServiceEnv env;
  env.Open();
  const int64_t now = WallNowMs();
  uint64_t trace = 1;
  auto send_pairs = [&](int n) {
    for (int i = 0; i < n; ++i, ++trace) {
      ASSERT_EQ(env.Export({OtlpHalf(kClient, trace, 100, 0, now, 0)}).outcome, ExportOutcome::kOk);
      ASSERT_EQ(env.Export({OtlpHalf(kServer, trace, 200, 100, now, 1)}).outcome,
                ExportOutcome::kOk);
    }
  };
  send_pairs(20);
  ASSERT_TRUE(env.service().FlushNow().ok());  // 20 durable in the store
  send_pairs(30);                              // 30 only in the log
  // 5 client halves waiting for partners that come after the crash.
  for (uint64_t i = 0; i < 5; ++i) {
    ASSERT_EQ(env.Export({OtlpHalf(kClient, 1000 + i, 100, 0, now, 0)}).outcome,
              ExportOutcome::kOk);
  }
  env.Crash();
  env.Open();
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 50u);
  for (uint64_t i = 0; i < 5; ++i) {
    ASSERT_EQ(env.Export({OtlpHalf(kServer, 1000 + i, 200, 100, now, 1)}).outcome,
              ExportOutcome::kOk);
  }
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 55u);
  // A second crash right after a flush: nothing is replayed twice.
  env.Crash();
  env.Open();
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 55u);
  EXPECT_EQ(env.Edges().size(), 1u);  // no half expired into a false external edge
}

TEST(IngestService, ShutdownPersistsPendingHalvesWithoutExpiring) {
  ServiceEnv env;
  env.Open();
  const int64_t now = WallNowMs();
  ASSERT_EQ(env.Export({OtlpHalf(kServer, 7, 200, 100, now, 1)}).outcome, ExportOutcome::kOk);
  env.Stop();
  env.Open();
  EXPECT_TRUE(env.Edges().empty());
  ASSERT_EQ(env.Export({OtlpHalf(kClient, 7, 100, 0, now, 0)}).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 1u);
  EXPECT_EQ(env.Edges().size(), 1u);
}

// A metric's value (UINT64_MAX when it is not exported).
uint64_t MetricValue(ServiceEnv& env, const std::string& metric) {
  const std::string text = env.metrics.RenderPrometheus();
  const std::string name = "\n" + metric + " ";
  size_t at = text.find(name);
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(text.substr(at + name.size()));
}

uint64_t PendingHalves(ServiceEnv& env) { return MetricValue(env, "ew_pending_halves"); }

// The persisted pending state is a log of per-flush chunks (adds, drops): after several flushes
// that add and pair halves, a crash reloads exactly the halves pending at the last flush.
TEST(IngestService, PendingChunksAcrossFlushesReloadExactly) {
  ServiceEnv env;
  env.Open();
  const int64_t now = WallNowMs();
  for (uint64_t t = 1; t <= 10; ++t) {
    ASSERT_EQ(env.Export({OtlpHalf(kClient, t, 100, 0, now, 0)}).outcome, ExportOutcome::kOk);
  }
  ASSERT_TRUE(env.service().FlushNow().ok());
  for (uint64_t t = 1; t <= 4; ++t) {  // pairs 4 persisted halves: drops
    ASSERT_EQ(env.Export({OtlpHalf(kServer, t, 200, 100, now, 1)}).outcome, ExportOutcome::kOk);
  }
  ASSERT_TRUE(env.service().FlushNow().ok());
  for (uint64_t t = 11; t <= 13; ++t) {
    ASSERT_EQ(env.Export({OtlpHalf(kClient, t, 100, 0, now, 0)}).outcome, ExportOutcome::kOk);
  }
  ASSERT_TRUE(env.service().FlushNow().ok());
  env.Crash();
  env.Open();
  EXPECT_EQ(PendingHalves(env), 9u);
  EXPECT_EQ(env.Count("web", "api"), 4u);
  for (uint64_t t = 5; t <= 13; ++t) {
    ASSERT_EQ(env.Export({OtlpHalf(kServer, t, 200, 100, now, 1)}).outcome, ExportOutcome::kOk);
  }
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 13u);
  env.Crash();
  env.Open();
  EXPECT_EQ(PendingHalves(env), 0u);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 13u);
  EXPECT_EQ(env.Edges().size(), 1u);
}

// The pending state of an older build, as a RocksDB key and value: the form that build wrote.
struct OldPendingForm {
  const char* name;
  std::function<std::pair<std::string, std::string>(const PendingEntry&, int64_t)> put;
};

// The 16-byte key of builds before version-3 chunks: u64 trace_lo | u64 span_key, big-endian.
std::string SixteenByteKey(uint64_t trace_lo, uint64_t span_key) {
  std::string k;
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(trace_lo >> (8 * i)));
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(span_key >> (8 * i)));
  return k;
}

// A store written by an older build holds one key per pending half (16 bytes), or version-2
// chunks (47-byte records under 16-byte keys): either is loaded, the half pairs with its partner
// after the restart, and the first flush replaces the old form with a snapshot in chunks.
TEST(IngestService, OlderPendingFormsAreLoadedAndReplaced) {
  const OldPendingForm forms[] = {
      {"one key per half",
       [](const PendingEntry& e, int64_t now) {
         return std::make_pair(SixteenByteKey(7, 100), EncodePendingValue(e, now));
       }},
      {"version-2 chunk",
       [](const PendingEntry& e, int64_t now) {
         std::string v(1, static_cast<char>(kPendingChunkVersionV2));
         v += SixteenByteKey(7, 100);
         v += EncodePendingValue(e, now);
         return std::make_pair(PendingChunkKey(1, PendingChunkKind::kAdds, 0), v);
       }},
  };
  for (const OldPendingForm& form : forms) {
    SCOPED_TRACE(form.name);
    ServiceEnv env;
    env.Open();
    const int64_t now = WallNowMs();
    auto web = env.store().InternNode(storage::NodeKind::kService, "", "web");
    ASSERT_TRUE(web.ok());
    env.Stop();
    {
      storage::StoreOptions so;
      so.dir = env.config.data_dir + "/db";
      auto store = storage::EdgeStore::Open(so);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      PendingEntry e;
      e.span_key = 100;
      e.node = *web;
      e.minute_method = static_cast<uint32_t>(now / kMsPerMinute) << 4;
      e.bits = PendingEntry::PackBits(0, false, /*server=*/false, storage::Protocol::kHttp);
      storage::FlushBatch b;
      b.log_position = (*store)->FlushedLogPosition();
      b.pending_puts = {form.put(e, now)};
      ASSERT_TRUE((*store)->ApplyFlush(b).ok());
    }
    env.Open();
    EXPECT_EQ(PendingHalves(env), 1u);
    ASSERT_TRUE(env.service().FlushNow().ok());
    size_t keys = 0;
    ASSERT_TRUE(env.store()
                    .LoadPending([&](std::string_view k, std::string_view v) {
                      ++keys;
                      EXPECT_EQ(k.size(), kPendingChunkKeyBytes);
                      ASSERT_FALSE(v.empty());
                      EXPECT_EQ(static_cast<uint8_t>(v[0]), kPendingChunkVersion);
                    })
                    .ok());
    EXPECT_EQ(keys, 1u);
    env.Crash();
    env.Open();
    EXPECT_EQ(PendingHalves(env), 1u);
    ASSERT_EQ(env.Export({OtlpHalf(kServer, 7, 200, 100, now, 1)}).outcome, ExportOutcome::kOk);
    ASSERT_TRUE(env.service().FlushNow().ok());
    EXPECT_EQ(env.Count("web", "api"), 1u);
  }
}

TEST(IngestService, RefusesAfterShutdown) {
  ServiceEnv env;
  env.Open();
  env.service().Shutdown();
  auto r = env.Export({OtlpHalf(kServer, 1, 10, 0, WallNowMs(), 1)});
  EXPECT_EQ(r.outcome, ExportOutcome::kUnavailable);
  EXPECT_GT(r.retry_after_s, 0);
}

// Restart with many waiting halves, some of them sent again and again (a retrying client): the
// persisted state and the log are loaded into tables reserved once per shard (no growth while
// loading), every distinct half is pending again exactly once, and each pairs with its partner
// sent after the restart — compared with the ledger of what was sent.
TEST(IngestService, RestartReservesOnceAndEveryWaitingHalfPairs) {
  ServiceEnv env;
  env.Open();
  const int64_t now = WallNowMs();
  std::map<uint64_t, int> sent;  // trace -> times its client half was sent (the ledger)
  auto send_clients = [&](uint64_t from, uint64_t to, uint64_t step = 1) {
    std::vector<tools::OtlpSpan> batch;
    for (uint64_t t = from; t <= to; t += step) {
      batch.push_back(OtlpHalf(kClient, t, 100, 0, now, 0));
      ++sent[t];
      if (batch.size() == 1000 || t + step > to) {
        ASSERT_EQ(env.Export(batch).outcome, ExportOutcome::kOk);
        batch.clear();
      }
    }
  };
  send_clients(1, 20'000);
  for (int r = 0; r < 5; ++r) send_clients(1, 2'000, 7);  // repeats before the first flush
  ASSERT_TRUE(env.service().FlushNow().ok());
  for (int r = 0; r < 3; ++r) send_clients(3, 2'000, 11);  // repeats of persisted halves
  ASSERT_TRUE(env.service().FlushNow().ok());
  send_clients(5, 2'000, 13);  // only in the log: replayed
  send_clients(20'001, 21'000);
  const uint64_t grows_before = MetricValue(env, "ew_pending_table_grows_total");
  ASSERT_NE(grows_before, UINT64_MAX) << "ew_pending_table_grows_total is not exported";
  env.Crash();
  env.Open();
  EXPECT_EQ(PendingHalves(env), sent.size());
  // One reservation per shard, then no growth: the replayed halves fit as well (the reservation
  // has a tenth more room than the persisted halves need).
  EXPECT_EQ(MetricValue(env, "ew_pending_table_grows_total") - grows_before,
            env.config.ingest_shards);
  std::vector<tools::OtlpSpan> batch;
  for (const auto& [trace, times] : sent) {
    batch.push_back(OtlpHalf(kServer, trace, 200, 100, now, 1));
    if (batch.size() == 1000) {
      ASSERT_EQ(env.Export(batch).outcome, ExportOutcome::kOk);
      batch.clear();
    }
  }
  if (!batch.empty()) {
    ASSERT_EQ(env.Export(batch).outcome, ExportOutcome::kOk);
  }
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(PendingHalves(env), 0u);
  EXPECT_EQ(env.Count("web", "api"), sent.size());  // a resent waiting half counts once
  EXPECT_EQ(env.Edges().size(), 1u);
}

// A waiting half that was persisted, then sent again (the copy replaces it), then paired before
// the next flush: its persisted add must be dropped, or it comes back at the next start as a
// waiting half that never pairs and is later counted again as an expired one.
TEST(IngestService, ResentHalfThatPairsLeavesNoGhostAfterRestart) {
  ServiceEnv env(/*pair_wait_ms=*/1'000);
  env.Open();
  const int64_t now = WallNowMs();
  ASSERT_EQ(env.Export({OtlpHalf(kClient, 1, 100, 0, now, 0)}).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());  // persisted
  ASSERT_EQ(env.Export({OtlpHalf(kClient, 1, 100, 0, now, 0)}).outcome, ExportOutcome::kOk);
  ASSERT_EQ(env.Export({OtlpHalf(kServer, 1, 200, 100, now, 1)}).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 1u);
  env.Stop();
  env.Open();
  EXPECT_EQ(PendingHalves(env), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));  // past the pair-wait
  env.Stop();  // a ghost would expire into web -> api (external) by now, or at this flush
  env.Open();
  ASSERT_TRUE(env.service().FlushNow().ok());
  EXPECT_EQ(env.Count("web", "api"), 1u);
  EXPECT_EQ(env.Edges().size(), 1u);
}

}  // namespace
}  // namespace ew::ingest
