// Exemplars as ingest records them (docs/ingest.md "Exemplars"): the span's own start and the
// server side's duration; edges completed by expiry (calls to external services, server halves
// whose parent never came) keep exemplars like paired edges; and, against a brute-force model of
// random traffic, every edge-minute keeps the role holders of its requests (newest and slowest
// error, newest and slowest success) whether its requests paired, expired or came alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ingest/pipeline/held_exemplars.h"
#include "tests/common/exemplar_model.h"
#include "tests/ingest/shard_harness.h"

namespace ew::ingest {
namespace {

using storage::Exemplar;
using testing::MakeSpan;
using testing::ShardHarness;
using testing::TraceId;

constexpr const char* kExtClient = "external_client:/External Client";
constexpr const char* kStripe = "external_service:/api.stripe.com";

using EdgeMinute = std::tuple<std::string, std::string, int64_t>;  // client, server, minute

// The exemplars of the last flush per edge-minute, merged as the store merges them.
std::map<EdgeMinute, std::vector<Exemplar>> Exemplars(ShardHarness& h) {
  std::map<EdgeMinute, storage::RollupValue> merged;
  for (const auto& r : h.last_flush().rollups) {
    auto& v = merged[{h.NodeName(r.dims.client), h.NodeName(r.dims.server), r.minute}];
    for (const auto& e : r.value.exemplars) v.AddExemplar(e);
  }
  std::map<EdgeMinute, std::vector<Exemplar>> out;
  for (auto& [k, v] : merged) out[k] = v.exemplars;
  return out;
}

Exemplar Ex(uint64_t trace, int64_t start_ms, uint32_t duration_us, uint16_t status, bool error) {
  Exemplar e;
  e.trace_id = TraceId(0xabc, trace);
  e.start_ms = start_ms;
  e.duration_us = duration_us;
  e.status = status;
  e.error = error;
  return e;
}

TEST(IngestExemplars, PairedExemplarCarriesTheServerHalfsOwnStartAndDuration) {
  ShardHarness h;
  const int64_t t = h.now_ms;  // 1 s into a minute
  SpanView c = MakeSpan(SpanKind::kClient, "web", 1, 100, 0, t + 100, 5000);
  SpanView s = MakeSpan(SpanKind::kServer, "api", 1, 200, 100, t + 1234, 3000);
  s.http_status = 201;
  h.Feed(c);
  h.Feed(s);  // the server half completes the pair: its own start and duration
  // The other order: the client half completes it; the waiting server half kept its minute
  // and the bucket of its duration, so the exemplar has the client's start.
  SpanView c2 = MakeSpan(SpanKind::kClient, "web", 2, 100, 0, t + 300, 9000);
  SpanView s2 = MakeSpan(SpanKind::kServer, "api", 2, 200, 100, t + 2345, 7000);
  h.Feed(s2);
  h.Feed(c2);
  h.Flush();
  auto ex = Exemplars(h);
  const auto& got = ex[EdgeMinute("service:/web", "service:/api", h.Minute())];
  // Both are successes: 1 is the newest (by start), 2 the slowest.
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], Ex(1, t + 1234, 3000, 201, false));
  EXPECT_EQ(got[1], Ex(2, t + 300, got[1].duration_us, 0, false));
  EXPECT_NEAR(got[1].duration_us, 7000, 70);  // the server half's, from its bucket (1 %)
}

TEST(IngestExemplars, RootServerSpanExemplarCarriesItsStartAndDuration) {
  ShardHarness h;
  SpanView s = MakeSpan(SpanKind::kServer, "api", 7, 200, 0, h.now_ms + 4321, 2500);
  s.http_status = 500;
  h.Feed(s);
  h.Flush();
  auto ex = Exemplars(h);
  EXPECT_EQ(ex[EdgeMinute(kExtClient, "service:/api", h.Minute())],
            (std::vector<Exemplar>{Ex(7, h.now_ms + 4321, 2500, 500, true)}));
}

TEST(IngestExemplars, EdgesCompletedByExpiryKeepExemplars) {
  ShardHarness h(/*pair_wait_ms=*/1000);
  const int64_t t = h.now_ms;
  // A failing call to api.stripe.com (no server half will ever come) ...
  SpanView stripe = MakeSpan(SpanKind::kClient, "checkout", 21, 300, 0, t + 10, 812'000);
  stripe.server_address = "api.stripe.com";
  stripe.http_status = 502;
  // ... a successful one, and a server half whose parent span was never sent.
  SpanView ok = MakeSpan(SpanKind::kClient, "checkout", 22, 301, 0, t + 20, 95'000);
  ok.server_address = "api.stripe.com";
  ok.http_status = 200;
  SpanView orphan = MakeSpan(SpanKind::kServer, "api", 23, 400, 399, t + 30, 4000);
  for (auto* s : {&stripe, &ok, &orphan}) h.Feed(*s);
  h.Advance(1000 + 200);
  h.Flush();
  EXPECT_EQ(h.shard().counters().expired[0], 2u);
  EXPECT_EQ(h.shard().counters().expired[1], 1u);
  auto ex = Exemplars(h);
  EXPECT_EQ(ex[EdgeMinute("service:/checkout", kStripe, h.Minute())],
            (std::vector<Exemplar>{Ex(22, t + 20, 95'000, 200, false),
                                   Ex(21, t + 10, 812'000, 502, true)}));
  EXPECT_EQ(ex[EdgeMinute(kExtClient, "service:/api", h.Minute())],
            (std::vector<Exemplar>{Ex(23, t + 30, 4000, 0, false)}));
}

// One request of a random kind: appends its span(s) and adds it to the model of its edge-minute.
void AddRequest(uint64_t trace, int64_t start, std::mt19937_64& rng, std::vector<SpanView>* spans,
                std::map<EdgeMinute, std::vector<Exemplar>>* model) {
  const auto dur = static_cast<uint32_t>(1000 + rng() % 40 * 1000);
  const bool error = rng() % 4 == 0;
  const uint16_t status = error ? 503 : 200;
  const int64_t minute = start / kMsPerMinute;
  const Exemplar ex = Ex(trace, start, dur, status, error);
  switch (rng() % 4) {
    case 0: {  // to api.stripe.com: expires
      SpanView c = MakeSpan(SpanKind::kClient, "checkout", trace, 1000 + trace, 0, start, dur);
      c.server_address = "api.stripe.com";
      c.http_status = status;
      spans->push_back(c);
      (*model)[{"service:/checkout", kStripe, minute}].push_back(ex);
      break;
    }
    case 1: {  // parent never sent: expires from External Client
      SpanView s = MakeSpan(SpanKind::kServer, "cart", trace, 2000 + trace, 77, start, dur);
      s.http_status = status;
      spans->push_back(s);
      (*model)[{kExtClient, "service:/cart", minute}].push_back(ex);
      break;
    }
    case 2: {  // paired, client first: the server half's own start and duration
      SpanView c = MakeSpan(SpanKind::kClient, "web", trace, 3000 + trace, 0, start, dur + 500);
      c.server_address = "cart";
      SpanView s =
          MakeSpan(SpanKind::kServer, "cart", trace, 4000 + trace, 3000 + trace, start + 200, dur);
      s.http_status = status;
      spans->push_back(c);
      spans->push_back(s);
      (*model)[{"service:/web", "service:/cart", minute}].push_back(
          Ex(trace, start + 200, dur, status, error));
      break;
    }
    default: {  // a root: from External Client at once
      SpanView s = MakeSpan(SpanKind::kServer, "web", trace, 5000 + trace, 0, start, dur);
      s.http_status = status;
      spans->push_back(s);
      (*model)[{kExtClient, "service:/web", minute}].push_back(ex);
    }
  }
}

// A random order of spans that keeps each client half of a pair before its server half.
std::vector<size_t> ClientsFirstOrder(const std::vector<SpanView>& spans, std::mt19937_64& rng) {
  std::vector<size_t> order(spans.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<size_t> pos(spans.size());
  for (size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
  for (size_t i = 0; i + 1 < spans.size(); ++i) {
    if (spans[i].kind == SpanKind::kClient && spans[i + 1].has_parent &&
        spans[i + 1].parent_span_id == spans[i].span_id && pos[i] > pos[i + 1]) {
      std::swap(order[pos[i]], order[pos[i + 1]]);
      std::swap(pos[i], pos[i + 1]);
    }
  }
  return order;
}

// Random traffic of one shard: calls to api.stripe.com (all expire), server halves whose parent
// never comes (all expire), paired calls web -> cart, root server spans; errors, starts over
// three minutes and durations drawn at random, fed in a random order. Every edge-minute's
// exemplars are the model's.
TEST(IngestExemplars, EveryEdgeMinuteKeepsTheModelsRoleHolders) {
  std::mt19937_64 rng(20261207);
  ShardHarness h(/*pair_wait_ms=*/1000, /*max_pending=*/20'000);
  for (uint64_t round = 0; round < 20; ++round) {
    const int64_t t0 = h.now_ms - 121'000;  // three minutes: t0's, the next, and now's
    std::map<EdgeMinute, std::vector<Exemplar>> model;
    std::vector<SpanView> spans;
    for (uint64_t trace = round * 1000 + 1; trace <= round * 1000 + 400; ++trace) {
      AddRequest(trace, t0 + static_cast<int64_t>(rng() % 120'000), rng, &spans, &model);
    }
    for (size_t i : ClientsFirstOrder(spans, rng)) h.Feed(spans[i]);
    h.Advance(1000 + 500);
    h.Flush();
    auto got = Exemplars(h);
    ASSERT_EQ(got.size(), model.size()) << "round " << round;
    for (const auto& [key, all] : model) {
      EXPECT_EQ(got[key], ew::testing::ExemplarRoleHolders(all))
          << "round " << round << " " << std::get<0>(key) << " -> " << std::get<1>(key) << " @"
          << std::get<2>(key);
    }
  }
}

PendingEntry Waiting(uint32_t trace_key, uint64_t span_key, storage::NodeId node,
                     storage::NodeId peer, uint32_t minute) {
  PendingEntry e;
  e.trace_key = trace_key;
  e.span_key = span_key;
  e.node = node;
  e.peer = peer;
  e.minute_method = minute << 4;
  e.bits = PendingEntry::PackBits(200, false, false, storage::Protocol::kHttp);
  return e;
}

HalfRecord Record(uint8_t id, int64_t start_ms, uint32_t duration_us) {
  HalfRecord r;
  r.trace_id[0] = id;
  r.start_ms = start_ms;
  r.duration_us = duration_us;
  return r;
}

TEST(HeldExemplars, PairedHalvesGiveUpTheirRolesAndTheBoundHolds) {
  HeldExemplars held(/*max_sets=*/2);
  const PendingEntry a = Waiting(1, 11, 5, 6, 100);
  const PendingEntry b = Waiting(2, 22, 5, 6, 100);  // same edge-minute
  const PendingEntry c = Waiting(3, 33, 5, 7, 100);  // another edge
  const PendingEntry d = Waiting(4, 44, 5, 8, 100);  // a third: over the bound
  held.Hold(a, Record(1, 6'000'000, 900), 0);        // slowest success
  held.Hold(b, Record(2, 6'000'500, 100), 0);        // newest success
  held.Hold(c, Record(3, 6'000'000, 100), 0);
  held.Hold(d, Record(4, 6'000'000, 100), 0);
  EXPECT_EQ(held.sets(), 2u);
  storage::Exemplar ex;
  EXPECT_FALSE(held.Expired(d, &ex));
  held.Paired(a);  // a pairs: its role goes
  EXPECT_FALSE(held.Expired(a, &ex));
  ASSERT_TRUE(held.Expired(b, &ex));
  EXPECT_EQ(ex.trace_id[0], 2);
  EXPECT_EQ(ex.start_ms, 6'000'500);
  EXPECT_EQ(held.sets(), 2u);  // a's and b's edge-minute stays, empty, until the next drop
  held.DropArrivedBefore(1);   // c arrived at 0: it goes, and the empty edge-minute
  EXPECT_EQ(held.sets(), 0u);
  EXPECT_FALSE(held.Expired(c, &ex));
}

}  // namespace
}  // namespace ew::ingest
