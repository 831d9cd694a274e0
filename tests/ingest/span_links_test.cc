// Span links for messaging (docs/ingest.md, "Span links"), through IngestService over a real
// store: a CONSUMER or SERVER span without a parent pairs with the PRODUCER or CLIENT span each
// of its links names, as if that were its parent — in either order of arrival, across a restart,
// one edge request per distinct link for a batch consumer, and never besides its parent (the
// parent wins). Edge counts are compared with a model of what was sent.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/ingest/service_env.h"

namespace ew::ingest {
namespace {

using testing::OtlpHalf;
using testing::ServiceEnv;
constexpr int kServer = 2;
constexpr int kClient = 3;
constexpr int kProducer = 4;
constexpr int kConsumer = 5;
// Resources (ServiceEnv: 0 web, 1 api; added here).
constexpr uint32_t kOrders = 2;   // producer service
constexpr uint32_t kBilling = 3;  // consumer service

void AddResources(ServiceEnv& env) {
  env.resources.push_back({tools::Attr::Str("service.name", "orders")});
  env.resources.push_back({tools::Attr::Str("service.name", "billing")});
}

tools::OtlpSpan Messaging(tools::OtlpSpan s) {
  s.attrs.push_back(tools::Attr::Str("messaging.system", "kafka"));
  s.attrs.push_back(tools::Attr::Str("messaging.destination.name", "orders"));
  return s;
}

tools::OtlpSpan Producer(uint64_t trace, uint64_t span, int64_t now) {
  return Messaging(OtlpHalf(kProducer, trace, span, 0, now, kOrders));
}

// A consumer in its own trace (no parent) linking to each (trace, span) producer.
tools::OtlpSpan Consumer(uint64_t trace, uint64_t span, int64_t now,
                         const std::vector<std::pair<uint64_t, uint64_t>>& links) {
  tools::OtlpSpan c = Messaging(OtlpHalf(kConsumer, trace, span, 0, now, kBilling));
  for (const auto& [t, s] : links) {
    // The same ids OtlpHalf gives a span (trace, span).
    const tools::OtlpSpan target = OtlpHalf(kProducer, t, s, 0, now, 0);
    c.links.push_back({target.trace_id, target.span_id, "", {}});
  }
  return c;
}

std::string Prom(ServiceEnv& env) { return env.metrics.RenderPrometheus(); }

class SpanLinks : public ::testing::TestWithParam<tools::Encoding> {};

TEST_P(SpanLinks, ProducerFirstThenConsumerPairs) {
  ServiceEnv env;
  AddResources(env);
  env.Open();
  const int64_t now = WallNowMs();
  ASSERT_EQ(env.Export({Producer(1, 100, now)}, GetParam()).outcome, ExportOutcome::kOk);
  ASSERT_EQ(env.Export({Consumer(2, 200, now + 5, {{1, 100}})}, GetParam()).outcome,
            ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  using Edges = std::map<std::pair<std::string, std::string>, uint64_t>;
  EXPECT_EQ(env.Edges(), (Edges{{{"orders", "billing"}, 1}}));
  EXPECT_NE(Prom(env).find("ew_pairs_completed_total 1"), std::string::npos);
}

TEST_P(SpanLinks, ConsumerFirstThenProducerPairs) {
  ServiceEnv env;
  AddResources(env);
  env.Open();
  const int64_t now = WallNowMs();
  ASSERT_EQ(env.Export({Consumer(2, 200, now + 5, {{1, 100}})}, GetParam()).outcome,
            ExportOutcome::kOk);
  ASSERT_EQ(env.Export({Producer(1, 100, now)}, GetParam()).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  using Edges = std::map<std::pair<std::string, std::string>, uint64_t>;
  EXPECT_EQ(env.Edges(), (Edges{{{"orders", "billing"}, 1}}));
}

INSTANTIATE_TEST_SUITE_P(Encodings, SpanLinks,
                         ::testing::Values(tools::Encoding::kProtobuf, tools::Encoding::kJson),
                         [](const auto& info) {
                           return std::string(tools::EncodingName(info.param)) == "proto"
                                      ? std::string("Protobuf")
                                      : std::string("Json");
                         });

// A batch consumer: one span for many messages, linked to each producer span (in other traces).
// One edge request per distinct link; a repeated link and a link with a zero span id add nothing.
TEST(SpanLinksBatch, BatchConsumerPairsWithEachProducerOnce) {
  ServiceEnv env;
  AddResources(env);
  env.Open();
  const int64_t now = WallNowMs();
  std::mt19937_64 rng(18);
  uint64_t expected = 0;
  std::vector<tools::OtlpSpan> early, late;
  for (uint64_t batch = 0; batch < 40; ++batch) {
    std::vector<std::pair<uint64_t, uint64_t>> links;
    const uint64_t messages = 1 + rng() % 12;
    for (uint64_t m = 0; m < messages; ++m) {
      const uint64_t trace = 1000 + batch * 100 + m;  // each message its own trace
      const uint64_t span = 70000 + batch * 100 + m;  // ids past 65,535
      links.push_back({trace, span});
      (rng() % 2 ? early : late).push_back(Producer(trace, span, now));
      ++expected;
    }
    links.push_back(links.front());  // the same link twice
    tools::OtlpSpan consumer = Consumer(900000 + batch, 5, now + 1, links);
    consumer.links.push_back({consumer.trace_id, {}, "", {}});  // a zero span id: not a partner
    (rng() % 2 ? early : late).push_back(consumer);
  }
  ASSERT_EQ(env.Export(early).outcome, ExportOutcome::kOk);
  ASSERT_EQ(env.Export(late, tools::Encoding::kJson).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  using Edges = std::map<std::pair<std::string, std::string>, uint64_t>;
  EXPECT_EQ(env.Edges(), (Edges{{{"orders", "billing"}, expected}}));
  EXPECT_NE(Prom(env).find("ew_pairs_completed_total " + std::to_string(expected)),
            std::string::npos);
  EXPECT_NE(Prom(env).find("ew_pending_halves 0"), std::string::npos);
}

// The parent wins: a consumer (or server) with a parent pairs through its parent only; its links
// are not used, so the linked producer's service gets no edge to it.
TEST(SpanLinksRule, ParentWinsOverLinks) {
  ServiceEnv env;
  AddResources(env);
  env.Open();
  const int64_t now = WallNowMs();
  tools::OtlpSpan consumer = Messaging(OtlpHalf(kConsumer, 7, 200, 150, now, kBilling));
  const tools::OtlpSpan linked = Producer(1, 100, now);
  consumer.links.push_back({linked.trace_id, linked.span_id, "", {}});
  tools::OtlpSpan server = OtlpHalf(kServer, 8, 300, 250, now, 1);  // api, parent web:250
  server.links.push_back({linked.trace_id, linked.span_id, "", {}});
  const tools::OtlpSpan parent = Messaging(OtlpHalf(kProducer, 7, 150, 0, now, 0));  // web
  const tools::OtlpSpan client = OtlpHalf(kClient, 8, 250, 0, now, 0);               // web
  ASSERT_EQ(env.Export({linked, consumer, server}).outcome, ExportOutcome::kOk);
  ASSERT_EQ(env.Export({parent, client}).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  using Edges = std::map<std::pair<std::string, std::string>, uint64_t>;
  EXPECT_EQ(env.Edges(), (Edges{{{"web", "billing"}, 1}, {{"web", "api"}, 1}}));
  EXPECT_NE(Prom(env).find("ew_pending_halves 1"), std::string::npos);  // the linked producer
}

// Links on a CLIENT or PRODUCER span mean nothing for pairing: it is held under its own id.
TEST(SpanLinksRule, LinksOfAClientSpanAreIgnored) {
  ServiceEnv env;
  AddResources(env);
  env.Open();
  const int64_t now = WallNowMs();
  tools::OtlpSpan producer = Producer(1, 100, now);
  producer.links.push_back({producer.trace_id, OtlpHalf(0, 1, 555, 0, now, 0).span_id, "", {}});
  const tools::OtlpSpan consumer = Consumer(2, 200, now, {{1, 100}});
  const tools::OtlpSpan stray = Consumer(3, 300, now, {{1, 555}});  // would pair via the link
  ASSERT_EQ(env.Export({producer, consumer, stray}).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  using Edges = std::map<std::pair<std::string, std::string>, uint64_t>;
  EXPECT_EQ(env.Edges(), (Edges{{{"orders", "billing"}, 1}}));
}

// A waiting half made from a link survives a restart like any other, in both orders.
TEST(SpanLinksRestart, LinkedHalvesPairAcrossARestart) {
  ServiceEnv env;
  AddResources(env);
  env.Open();
  const int64_t now = WallNowMs();
  ASSERT_EQ(
      env.Export({Producer(1, 100, now), Consumer(4, 400, now, {{3, 300}, {5, 500}})}).outcome,
      ExportOutcome::kOk);
  env.Stop();  // clean: pending halves persisted
  env.Open();
  ASSERT_EQ(env.Export({Consumer(2, 200, now + 1, {{1, 100}}), Producer(3, 300, now)}).outcome,
            ExportOutcome::kOk);
  env.Crash();  // no flush: the ingest log replays both requests' halves
  env.Open();
  ASSERT_EQ(env.Export({Producer(5, 500, now)}).outcome, ExportOutcome::kOk);
  ASSERT_TRUE(env.service().FlushNow().ok());
  using Edges = std::map<std::pair<std::string, std::string>, uint64_t>;
  EXPECT_EQ(env.Edges(), (Edges{{{"orders", "billing"}, 3}}));
  EXPECT_NE(Prom(env).find("ew_pending_halves 0"), std::string::npos);
}

}  // namespace
}  // namespace ew::ingest
