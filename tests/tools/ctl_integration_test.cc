// edgewise-ctl against the real server: queries render, admin commands work on a stopped
// server's directory, a backup restores into a directory a new server answers the same map from,
// and restore refuses a directory a running server holds.
#include <gtest/gtest.h>

#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/tools/tool_process.h"
#include "tools/http_client.h"

namespace ew::testing {
namespace {

std::string Url(const ServerProcess& s) {
  return "http://" + s.host() + ":" + std::to_string(s.http_port());
}
std::string Otlp(const ServerProcess& s) { return s.host() + ":" + std::to_string(s.otlp_port()); }

// Fills the server and waits until the map holds exactly the ledger.
void FillAndVerify(const ServerProcess& s, const std::string& ledger) {
  ToolResult lg = RunTool("edgewise-loadgen",
                          {"--otlp", Otlp(s), "--rate", "1500", "--duration", "3s", "--batch",
                           "128", "--max-skew", "1s", "--ledger", ledger, "--quiet"});
  ASSERT_EQ(lg.exit_code, 0) << lg.err;
  ToolResult v = RunTool("edgewise-loadgen", {"verify", "--ledger", ledger, "--http",
                                              Url(s).substr(7), "--timeout", "40s"});
  ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
}

std::string JsonField(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":\"");
  if (at == std::string::npos) return "";
  at += key.size() + 4;
  return json.substr(at, json.find('"', at) - at);
}

ServerOptions Fast(const std::string& data_dir = "") {
  ServerOptions o;
  o.data_dir = data_dir;
  o.extra_args = {"--pair-wait", "3s", "--flush-interval", "1s"};
  return o;
}

TEST(CtlQueries, RenderTheMapServiceSeriesTracesAndStats) {
  ServerProcess server(Fast());
  ASSERT_TRUE(server.Start().ok());
  TempDir dir;
  FillAndVerify(server, dir.Sub("ledger.json"));
  ToolResult map = RunTool("edgewise-ctl", {"map", "--server", Url(server)});
  ASSERT_EQ(map.exit_code, 0) << map.err;
  EXPECT_NE(map.out.find("External Client"), std::string::npos) << map.out;
  EXPECT_NE(map.out.find("P99 MS"), std::string::npos) << map.out;
  ToolResult json = RunTool("edgewise-ctl", {"map", "--server", Url(server), "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  std::string source = JsonField(json.out, "source"), target = JsonField(json.out, "target");
  ASSERT_FALSE(source.empty()) << json.out;
  ToolResult svc = RunTool("edgewise-ctl", {"service", "--server", Url(server), "--namespace",
                                            "shop", "--name", "frontend"});
  EXPECT_EQ(svc.exit_code, 0) << svc.out << svc.err;
  ToolResult series = RunTool("edgewise-ctl", {"series", "--server", Url(server), "--source",
                                               source, "--target", target, "--step", "1m"});
  EXPECT_EQ(series.exit_code, 0) << series.out << series.err;
  ToolResult traces = RunTool(
      "edgewise-ctl", {"traces", "--server", Url(server), "--source", source, "--target", target});
  EXPECT_EQ(traces.exit_code, 0) << traces.out << traces.err;
  ToolResult stats = RunTool("edgewise-ctl", {"stats", "--server", Url(server)});
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("METRIC"), std::string::npos);
  ToolResult bad = RunTool("edgewise-ctl", {"map", "--server", Url(server), "--query", "(("});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
}

TEST(CtlQueries, ExitCodesForUsageAndUnreachable) {
  EXPECT_EQ(RunTool("edgewise-ctl", {}).exit_code, 2);
  EXPECT_EQ(RunTool("edgewise-ctl", {"frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunTool("edgewise-ctl", {"traces", "--source", "x"}).exit_code, 2);
  EXPECT_EQ(RunTool("edgewise-ctl", {"map", "--server", "http://127.0.0.1:1"}).exit_code, 3);
}

TEST(CtlAdmin, BackupRestoreCompactAndRefuseARunningServersDirectory) {
  TempDir dir;
  std::string data = dir.Sub("data"), backup = dir.Sub("backup"), restored = dir.Sub("restored");
  ServerProcess server(Fast(data));
  ASSERT_TRUE(server.Start().ok());
  FillAndVerify(server, dir.Sub("ledger.json"));
  ToolResult refused = RunTool("edgewise-ctl", {"restore", "--from", backup, "--data-dir", data});
  EXPECT_EQ(refused.exit_code, 1);
  ToolResult busy = RunTool("edgewise-ctl", {"backup", "--data-dir", data, "--to", backup});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("running edgewise server"), std::string::npos) << busy.err;
  ASSERT_EQ(server.Stop(), 0) << server.Stderr();

  ToolResult stats = RunTool("edgewise-ctl", {"stats", "--data-dir", data});
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("COLUMN FAMILY"), std::string::npos) << stats.out;
  ToolResult compact = RunTool("edgewise-ctl", {"compact", "--data-dir", data});
  EXPECT_EQ(compact.exit_code, 0) << compact.err;
  ToolResult b = RunTool("edgewise-ctl", {"backup", "--data-dir", data, "--to", backup});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ToolResult r = RunTool("edgewise-ctl", {"restore", "--from", backup, "--data-dir", restored});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ToolResult again = RunTool("edgewise-ctl", {"restore", "--from", backup, "--data-dir", restored});
  EXPECT_EQ(again.exit_code, 1) << "restore over a non-empty store must be refused";

  ServerProcess second(Fast(restored));
  ASSERT_TRUE(second.Start().ok());
  ToolResult v = RunTool("edgewise-loadgen", {"verify", "--ledger", dir.Sub("ledger.json"),
                                              "--http", Url(second).substr(7), "--timeout", "10s"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err << second.Stderr();
  ToolResult running =
      RunTool("edgewise-ctl", {"restore", "--from", backup, "--data-dir", restored});
  EXPECT_EQ(running.exit_code, 1);
  EXPECT_NE(running.err.find("running edgewise server"), std::string::npos) << running.err;
}

// The query benchmark's data set, written by the tool through the storage API, is what a server
// started on that directory serves: every request of it, over the whole range.
TEST(LoadgenQueryDataset, AServerAnswersTheGeneratedMap) {
  TempDir dir;
  std::string data = dir.Sub("data");
  ToolResult gen = RunTool("edgewise-loadgen", {"query-dataset", "--data-dir", data, "--services",
                                                "40", "--days", "2", "--archive-days", "4"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto summary = Json::Parse(gen.out);
  ASSERT_TRUE(summary.ok()) << gen.out;
  EXPECT_EQ((*summary)["edges"].Uint(), 400u);
  const uint64_t requests = (*summary)["requests"].Uint();
  ASSERT_GT(requests, 0u);
  EXPECT_EQ(RunTool("edgewise-loadgen", {"query-dataset"}).exit_code, 2);
  ServerProcess server(Fast(data));
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  tools::HttpConnection http(server.host(), server.http_port());
  auto r = http.Get("/api/v1/map?start=now-5d");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;
  auto map = Json::Parse(r->body);
  ASSERT_TRUE(map.ok());
  uint64_t total = 0;
  for (const Json& e : (*map)["edges"].Elements()) total += e["requests"].Uint();
  EXPECT_EQ(total, requests);
  EXPECT_EQ((*map)["nodes"].Size(), 40u);
  ASSERT_EQ(server.Stop(), 0) << server.Stderr();
}

}  // namespace
}  // namespace ew::testing
