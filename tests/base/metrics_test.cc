#include "base/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ew {
namespace {

TEST(Metrics, RendersPrometheusText) {
  MetricsRegistry r;
  r.GetCounter("ew_requests_total", "Requests.", {{"route", "/healthz"}, {"code", "200"}})->Add(3);
  r.GetGauge("ew_pending", "Pending halves.")->Set(7);
  r.AddGaugeCallback("ew_uptime_seconds", "Uptime.", [] { return 1.5; });
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE ew_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("ew_requests_total{route=\"/healthz\",code=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("ew_pending 7\n"), std::string::npos);
  EXPECT_NE(text.find("ew_uptime_seconds 1.5\n"), std::string::npos);
}

TEST(Metrics, SameSeriesSameCounterAcrossThreads) {
  MetricsRegistry r;
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&] {
      Counter* c = r.GetCounter("x_total", "X.");
      for (int j = 0; j < 1000; ++j) c->Add();
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(r.GetCounter("x_total", "X.")->Value(), 4000u);
}

}  // namespace
}  // namespace ew
