#include "base/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace ew {
namespace {

Result<Config> Parse(std::vector<std::string> args, bool* help) {
  std::vector<const char*> argv = {"edgewise"};
  for (auto& a : args) argv.push_back(a.c_str());
  return ParseConfig(static_cast<int>(argv.size()), argv.data(), help);
}

TEST(Config, Defaults) {
  bool help;
  auto c = Parse({}, &help);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data_dir, "./data");
  EXPECT_EQ(c->otlp_addr, "127.0.0.1:4318");
  EXPECT_EQ(c->http_addr, "127.0.0.1:8080");
  EXPECT_EQ(c->pair_wait_ms, 10'000);
  EXPECT_EQ(c->flush_interval_ms, 5'000);
  EXPECT_EQ(c->max_pending, 4'000'000u);
  EXPECT_EQ(c->max_body_bytes, 20u << 20);
  EXPECT_EQ(c->query_threads, 0u);
}

TEST(Config, FlagsBothForms) {
  bool help;
  auto c =
      Parse({"--pair-wait", "3s", "--flush-interval=250ms", "--http-addr", "127.0.0.1:0"}, &help);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->pair_wait_ms, 3000);
  EXPECT_EQ(c->flush_interval_ms, 250);
  EXPECT_EQ(c->http_addr, "127.0.0.1:0");
  c = Parse({"--query-threads", "2"}, &help);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->query_threads, 2u);
  EXPECT_FALSE(Parse({"--query-threads", "65"}, &help).ok());
}

TEST(Config, OtlpGrpcAddr) {
  bool help;
  auto c = Parse({}, &help);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->otlp_grpc_addr, "127.0.0.1:4317");
  c = Parse({"--otlp-grpc-addr", "off"}, &help);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->otlp_grpc_addr, "off");
  c = Parse({"--otlp-grpc-addr=0.0.0.0:0"}, &help);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->otlp_grpc_addr, "0.0.0.0:0");
  c = Parse({"--otlp-grpc-addr", "4317"}, &help);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("otlp-grpc-addr"), std::string::npos);
  EXPECT_FALSE(Parse({"--otlp-grpc-addr", "host:99999"}, &help).ok());
}

TEST(Config, QueryPriority) {
  bool help;
  auto d = Parse({}, &help);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->query_nice, 19u);
  EXPECT_FALSE(d->query_sched_idle);
  auto c = Parse({"--query-sched", "idle", "--query-nice=7"}, &help);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->query_sched_idle);
  EXPECT_EQ(c->query_nice, 7u);
  c = Parse({"--query-sched=idle", "--query-sched", "normal"}, &help);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->query_sched_idle);
  auto bad = Parse({"--query-sched", "batch"}, &help);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("query-sched"), std::string::npos)
      << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("idle or normal"), std::string::npos);
  EXPECT_FALSE(Parse({"--query-sched", ""}, &help).ok());
  EXPECT_FALSE(Parse({"--query-nice", "20"}, &help).ok());
}

TEST(Config, QuerySlice) {
  bool help;
  auto d = Parse({}, &help);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->query_slice_us, 100u);
  for (auto [text, us] : std::vector<std::pair<const char*, uint32_t>>{
           {"0", 0}, {"100us", 100}, {"750us", 750}, {"3ms", 3000}, {"100ms", 100000}}) {
    auto c = Parse({"--query-slice", text}, &help);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status().ToString();
    EXPECT_EQ(c->query_slice_us, us) << text;
  }
  for (const char* bad : {"", "99us", "101ms", "100", "1s", "-5us", "ms", "1.5ms"}) {
    auto c = Parse({"--query-slice", bad}, &help);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("query-slice"), std::string::npos) << bad;
  }
}

TEST(Config, TenantLimitsAndMemoryBudget) {
  bool help;
  auto d = Parse({}, &help);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->tenant_spans_per_second, 0u);
  EXPECT_EQ(d->tenant_bytes_per_second, 0u);
  EXPECT_TRUE(d->memory_budget_auto);
  auto c = Parse({"--tenant-spans-per-second", "50000", "--tenant-bytes-per-second=10MiB",
                  "--memory-budget", "8GiB"},
                 &help);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tenant_spans_per_second, 50'000u);
  EXPECT_EQ(c->tenant_bytes_per_second, 10u << 20);
  EXPECT_FALSE(c->memory_budget_auto);
  EXPECT_EQ(c->memory_budget_bytes, 8ULL << 30);
  auto none = Parse({"--memory-budget", "0"}, &help);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->memory_budget_bytes, 0u);
  EXPECT_FALSE(none->memory_budget_auto);
  auto tiny = Parse({"--memory-budget", "1MiB"}, &help);
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("memory-budget"), std::string::npos);
  EXPECT_FALSE(Parse({"--tenant-spans-per-second", "-5"}, &help).ok());
  EXPECT_EQ(d->tenant_max_pending, 0u);
  EXPECT_EQ(d->tenant_max_edges, 0u);
  auto l = Parse({"--tenant-max-pending", "100000", "--tenant-max-edges=5000"}, &help);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->tenant_max_pending, 100'000u);
  EXPECT_EQ(l->tenant_max_edges, 5'000u);
  auto bad = Parse({"--tenant-max-edges", "many"}, &help);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tenant-max-edges"), std::string::npos);
}

TEST(Config, ErrorsNameTheKey) {
  bool help;
  auto c = Parse({"--pair-wiat", "3s"}, &help);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unknown key 'pair-wiat'"), std::string::npos);
  c = Parse({"--pair-wait", "soon"}, &help);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("pair-wait"), std::string::npos);
  EXPECT_FALSE(Parse({"--otlp-addr", "nohost"}, &help).ok());
  EXPECT_FALSE(Parse({"--max-body", "12XB"}, &help).ok());
  EXPECT_FALSE(Parse({"--pair-wait"}, &help).ok());
  EXPECT_FALSE(Parse({"stray"}, &help).ok());
}

TEST(Config, CoarserTiersAreKeptAtLeastAsLong) {
  bool help;
  // A query widens ragged pieces past a tier's retention to the next tier, which must hold them.
  auto c = Parse({"--retention-1m", "30d", "--retention-1h", "6d"}, &help);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("retention-1h (6d) must not be shorter than retention-1m"),
            std::string::npos)
      << c.status().message();
  c = Parse({"--retention-1h", "400d", "--retention-1d", "365d"}, &help);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("retention-1d"), std::string::npos);
  EXPECT_TRUE(
      Parse({"--retention-1m", "3d", "--retention-1h", "3d", "--retention-1d", "3d"}, &help).ok());
}

TEST(Config, ExemplarMinutesRetention) {
  bool help;
  auto c = Parse({}, &help);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->exemplar_minutes_retention_ms, 2 * 86'400'000LL);
  c = Parse({"--exemplar-minutes-retention", "36h"}, &help);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->exemplar_minutes_retention_ms, 36 * 3'600'000LL);
  EXPECT_FALSE(Parse({"--exemplar-minutes-retention", "0s"}, &help).ok());
}

TEST(Config, FileThenFlags) {
  std::string path = testing::TempDir() + "/edgewise_test.conf";
  {
    std::ofstream f(path);
    f << "# comment\n  data-dir = /tmp/x  \npair-wait: 20s\nmax-body = 1MiB\n";
  }
  bool help;
  auto c = Parse({"--config", path, "--pair-wait", "2s"}, &help);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "/tmp/x");
  EXPECT_EQ(c->pair_wait_ms, 2000);
  EXPECT_EQ(c->max_body_bytes, 1u << 20);
  {
    std::ofstream f(path);
    f << "data-dir = /tmp/x\nbogus = 1\n";
  }
  c = Parse({"--config", path}, &help);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(":2: unknown key 'bogus'"), std::string::npos)
      << c.status().message();
  std::remove(path.c_str());
  EXPECT_FALSE(Parse({"--config", "/nonexistent/file"}, &help).ok());
}

TEST(Config, TraceUrlTemplate) {
  bool help;
  auto c = Parse({}, &help);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->trace_url, "");
  c = Parse({"--trace-url", "http://jaeger:16686/trace/{trace_id}"}, &help);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->trace_url, "http://jaeger:16686/trace/{trace_id}");
  // Not a URL, or no {trace_id} to fill in: refused, naming the key.
  for (const char* bad :
       {"jaeger:16686/trace/{trace_id}", "https://tempo.example/explore", "ftp://x/{trace_id}"}) {
    c = Parse({"--trace-url", bad}, &help);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("trace-url"), std::string::npos);
  }
  // The config file key, with '_' read as '-'.
  std::string path = testing::TempDir() + "/edgewise_trace_url.conf";
  {
    std::ofstream f(path);
    f << "trace_url = https://grafana.example/explore?trace={trace_id}&x=1\n";
  }
  c = Parse({"--config", path}, &help);
  std::remove(path.c_str());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->trace_url, "https://grafana.example/explore?trace={trace_id}&x=1");
}

TEST(Config, Help) {
  bool help;
  auto c = Parse({"--help"}, &help);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(help);
  std::string text = ConfigHelpText("edgewise");
  for (const auto& k : ConfigKeys()) EXPECT_NE(text.find("--" + k.key), std::string::npos);
}

}  // namespace
}  // namespace ew
