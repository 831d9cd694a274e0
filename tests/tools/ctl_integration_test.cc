// edgewise-ctl against the real server: queries render, every flag reaches its endpoint (the
// CLI's --json equals a direct GET with the same parameters), --help exits 0 on every command,
// tables have their columns in order, fixed decimals and natural row order (also at 300
// services), --token is sent; admin commands work on a stopped server's directory, a backup
// restores into a directory a new server answers the same map from, and restore refuses a
// directory a running server holds.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>

#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/tools/tool_process.h"
#include "tools/ctl_render.h"
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
  ToolResult compact = RunTool("edgewise-ctl", {"compact", "--data-dir", data, "--json"});
  EXPECT_EQ(compact.exit_code, 0) << compact.err;
  auto compacted = Json::Parse(compact.out);
  ASSERT_TRUE(compacted.ok()) << compact.out;
  EXPECT_EQ((*compacted)["data_dir"].String(), data);
  EXPECT_GT((*compacted)["bytes_after"].Uint(), 0u);
  ToolResult b = RunTool("edgewise-ctl", {"backup", "--data-dir", data, "--to", backup});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ToolResult r =
      RunTool("edgewise-ctl", {"restore", "--from", backup, "--data-dir", restored, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto restore = Json::Parse(r.out);
  ASSERT_TRUE(restore.ok()) << r.out;
  EXPECT_EQ((*restore)["from"].String(), backup);
  EXPECT_GT((*restore)["bytes"].Uint(), 0u);
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

// --- Every flag reaches the API, --help, tables: one filled server for the suite.

class CtlApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(Fast());
    ASSERT_TRUE(server_->Start().ok());
    FillAndVerify(*server_, dir_->Sub("ledger.json"));
    // A fixed range, so the CLI's and the direct answers are of the same minutes.
    std::string plain = Get("/api/v1/map");
    auto map = Json::Parse(plain);
    ASSERT_TRUE(map.ok()) << plain;
    range_ = "start=" + (*map)["start"].String() + "&end=" + (*map)["end"].String();
    range_flags_ = {"--start", (*map)["start"].String(), "--end", (*map)["end"].String()};
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  // A direct GET of path?params (the fixed range added); the body of a 200.
  static std::string Get(const std::string& path, const std::string& params = "") {
    tools::HttpConnection http(server_->host(), server_->http_port());
    std::string target = path + "?" + range_ + (params.empty() ? "" : "&" + params);
    if (range_.empty()) target = path;
    auto r = http.Get(target);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    EXPECT_EQ(r->status, 200) << target << ": " << r->body;
    return r->body;
  }
  // edgewise-ctl CMD FLAGS --json over the fixed range: its stdout, which must be the body.
  static ToolResult Ctl(const std::string& cmd, std::vector<std::string> flags, bool json) {
    std::vector<std::string> args{cmd, "--server", Url(*server_)};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), range_flags_.begin(), range_flags_.end());
    if (json) args.push_back("--json");
    return RunTool("edgewise-ctl", args);
  }
  static void ExpectSameAnswer(const std::string& cmd, const std::string& path,
                               const std::vector<std::string>& flags, const std::string& params) {
    ToolResult r = Ctl(cmd, flags, true);
    ASSERT_EQ(r.exit_code, 0) << r.command << "\n" << r.err;
    EXPECT_EQ(r.out, Get(path, params) + "\n") << r.command;
  }
  static std::string NodeId(const std::string& name) {
    auto map = Json::Parse(Get("/api/v1/map"));
    for (const Json& n : (*map)["nodes"].Elements()) {
      if (n["name"].String() == name) return n["id"].String();
    }
    ADD_FAILURE() << "no node " << name;
    return "";
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  static std::string range_;
  static std::vector<std::string> range_flags_;
};
TempDir* CtlApi::dir_ = nullptr;
ServerProcess* CtlApi::server_ = nullptr;
std::string CtlApi::range_;
std::vector<std::string> CtlApi::range_flags_;

// Each map flag gives the answer of a direct GET with its parameter, and that answer differs
// from the plain map's (so a dropped flag would be seen).
TEST_F(CtlApi, EveryMapFlagReachesTheApi) {
  const std::string plain = Get("/api/v1/map");
  const std::string frontend = NodeId("frontend");
  auto map = Json::Parse(plain);
  ASSERT_TRUE(map.ok());
  std::vector<uint64_t> requests;
  bool zero_error_edge = false;
  for (const Json& e : (*map)["edges"].Elements()) {
    requests.push_back(e["requests"].Uint());
    zero_error_edge = zero_error_edge || e["errors"].Uint() == 0;
  }
  std::sort(requests.begin(), requests.end());
  const std::string median = std::to_string(requests.at(requests.size() / 2));
  struct Case {
    std::vector<std::string> flags;
    std::string params;
    bool differs;
  };
  const std::vector<Case> cases = {
      {{"--focus", frontend, "--depth", "2"}, "focus=" + frontend + "&depth=2", true},
      {{"--compare", "-1h"}, "compare=-1h", true},
      {{"--min-requests", median}, "min_requests=" + median, true},
      {{"--errors-only"}, "errors_only=true", zero_error_edge},
      {{"--top", "3", "--top-by", "errors"}, "top=3&top_by=errors", true},
      {{"--group", "namespace"}, "group=namespace", true},
      {{"--explain"}, "explain=true", true},
      {{"--query", "server.namespace = shop"},
       "query=" + tools::UrlEncode("server.namespace = shop"),
       true},
      {{"--group", "namespace", "--focus", "ns:shop", "--top", "2", "--compare", "-5m",
        "--min-requests", "1", "--errors-only", "--explain", "--query", "protocol = http"},
       "group=namespace&focus=ns%3Ashop&top=2&compare=-5m&min_requests=1&errors_only=true&"
       "explain=true&query=" +
           tools::UrlEncode("protocol = http"),
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.params);
    ExpectSameAnswer("map", "/api/v1/map", c.flags, c.params);
    if (c.differs) {
      EXPECT_NE(Get("/api/v1/map", c.params), plain);
    }
  }
}

// `service --kind database --name redis` finds the database node (the old CLI had no --kind and
// asked for the service /redis); --id and the namespace node too.
TEST_F(CtlApi, ServiceKindIdAndNamespaceReachTheApi) {
  ExpectSameAnswer("service", "/api/v1/service", {"--kind", "database", "--name", "redis"},
                   "kind=database&name=redis");
  const std::string frontend = NodeId("frontend");
  ExpectSameAnswer("service", "/api/v1/service", {"--id", frontend, "--explain"},
                   "id=" + frontend + "&explain=true");
  ExpectSameAnswer("service", "/api/v1/service",
                   {"--kind", "namespace", "--namespace", "shop", "--query", "protocol = http"},
                   "kind=namespace&namespace=shop&query=" + tools::UrlEncode("protocol = http"));
  ToolResult table = Ctl("service", {"--kind", "database", "--name", "redis"}, false);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("node: redis (database)"), std::string::npos) << table.out;
  ToolResult missing = Ctl("service", {"--name", "redis"}, false);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--kind"), std::string::npos) << missing.err;
}

TEST_F(CtlApi, SeriesAndTracesFlagsReachTheApi) {
  const std::string frontend = NodeId("frontend"), redis = NodeId("redis");
  ExpectSameAnswer("series", "/api/v1/edge/series",
                   {"--source", frontend, "--target", redis, "--step", "2m"},
                   "source=" + frontend + "&target=" + redis + "&step=2m");
  ExpectSameAnswer(
      "series", "/api/v1/edge/series",
      {"--query", "server.namespace = shop", "--step", "5m", "--explain"},
      "query=" + tools::UrlEncode("server.namespace = shop") + "&step=5m&explain=true");
  const std::string edge = "source=" + frontend + "&target=" + redis;
  ExpectSameAnswer("traces", "/api/v1/edge/traces",
                   {"--source", frontend, "--target", redis, "--limit", "1", "--errors", "true"},
                   edge + "&limit=1&errors=true");
  ExpectSameAnswer("traces", "/api/v1/edge/traces",
                   {"--source", "ns:shop", "--target", "ns:payments", "--errors", "false"},
                   "source=ns%3Ashop&target=ns%3Apayments&errors=false");
  auto all = Json::Parse(Get("/api/v1/edge/traces", edge));
  auto one = Json::Parse(Get("/api/v1/edge/traces", edge + "&limit=1"));
  ASSERT_TRUE(all.ok() && one.ok());
  ASSERT_GT((*all)["traces"].Size(), 1u) << "the edge needs more than one exemplar";
  EXPECT_EQ((*one)["traces"].Size(), 1u);
}

// Cells of a rendered table: runs of two or more spaces separate columns.
std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  size_t at = 0;
  while (at < line.size()) {
    at = line.find_first_not_of(' ', at);
    if (at == std::string::npos) break;
    size_t end = line.find("  ", at);
    if (end == std::string::npos) end = line.size();
    cells.push_back(line.substr(at, end - at));
    at = end;
  }
  return cells;
}
// The table whose header starts with `first`: header and rows (up to the first empty line).
std::vector<std::vector<std::string>> TableAt(const std::string& text, const std::string& first) {
  std::vector<std::vector<std::string>> rows;
  size_t at = text.find("\n" + first + " ");
  if (at == std::string::npos) return rows;
  for (++at; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end - at);
    if (line.empty()) break;
    rows.push_back(Cells(line));
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return rows;
}
// True when every cell of column `col` (rows after the header) is a number with `decimals`.
bool FixedDecimals(const std::vector<std::vector<std::string>>& t, size_t col, int decimals) {
  for (size_t i = 1; i < t.size(); ++i) {
    const std::string& c = t[i].at(col);
    size_t dot = c.find('.');
    if (dot == std::string::npos || c.size() - dot - 1 != static_cast<size_t>(decimals)) {
      return false;
    }
  }
  return t.size() > 1;
}

TEST_F(CtlApi, TablesHaveTheirColumnsInOrderAndFixedDecimals) {
  ToolResult map = Ctl("map", {}, false);
  ASSERT_EQ(map.exit_code, 0) << map.err;
  auto nodes = TableAt(map.out, "KIND");
  ASSERT_GT(nodes.size(), 5u) << map.out;
  EXPECT_EQ(nodes[0], (std::vector<std::string>{"KIND", "NAMESPACE", "NAME", "REQ IN", "ERR IN",
                                                "REQ OUT", "ERR OUT", "ID"}));
  auto edges = TableAt(map.out, "SOURCE");
  ASSERT_GT(edges.size(), 5u) << map.out;
  EXPECT_EQ(edges[0],
            (std::vector<std::string>{"SOURCE", "TARGET", "PROTOCOL", "REQUESTS", "RATE/S",
                                      "ERRORS", "ERROR%", "P50 MS", "P90 MS", "P95 MS", "P99 MS"}));
  EXPECT_TRUE(FixedDecimals(edges, 4, 3)) << map.out;
  EXPECT_TRUE(FixedDecimals(edges, 6, 2)) << map.out;
  for (size_t col = 7; col < 11; ++col) EXPECT_TRUE(FixedDecimals(edges, col, 2)) << map.out;
  // Sorted by source, then target, naturally.
  for (size_t i = 2; i < edges.size(); ++i) {
    EXPECT_FALSE(tools::NaturalLess(edges[i][0] + "\x01" + edges[i][1],
                                    edges[i - 1][0] + "\x01" + edges[i - 1][1]))
        << edges[i][0] << " -> " << edges[i][1];
  }
  const std::string frontend = NodeId("frontend"), redis = NodeId("redis");
  ToolResult series = Ctl("series", {"--source", frontend, "--target", redis}, false);
  ASSERT_EQ(series.exit_code, 0) << series.err;
  auto points = TableAt(series.out, "TIME");
  ASSERT_GT(points.size(), 1u) << series.out;
  EXPECT_EQ(points[0], (std::vector<std::string>{"TIME", "REQUESTS", "RATE/S", "ERRORS", "ERROR%",
                                                 "P50 MS", "P90 MS", "P95 MS", "P99 MS"}));
  EXPECT_TRUE(FixedDecimals(points, 2, 3)) << series.out;
  ToolResult traces = Ctl("traces", {"--source", frontend, "--target", redis}, false);
  ASSERT_EQ(traces.exit_code, 0) << traces.err;
  auto t = TableAt(traces.out, "START");
  ASSERT_GT(t.size(), 1u) << traces.out;
  EXPECT_EQ(t[0],
            (std::vector<std::string>{"START", "TRACE ID", "DURATION MS", "STATUS", "ERROR"}));
  EXPECT_TRUE(FixedDecimals(t, 2, 2)) << traces.out;
}

// --help and -h print the usage on stdout and exit 0, for the tool and every command (also after
// a mistake on the line); usage errors exit 2 with the message on stderr.
TEST(CtlUsage, HelpExitsZeroOnEveryCommand) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}, {"help", "traces"}}) {
    ToolResult r = RunTool("edgewise-ctl", args);
    EXPECT_EQ(r.exit_code, 0) << r.command;
    EXPECT_EQ(r.out.rfind("usage: edgewise-ctl", 0), 0u) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
  for (const char* cmd :
       {"map", "service", "series", "traces", "stats", "compact", "backup", "restore"}) {
    for (const char* h : {"--help", "-h"}) {
      ToolResult r = RunTool("edgewise-ctl", {cmd, h});
      EXPECT_EQ(r.exit_code, 0) << r.command;
      EXPECT_EQ(r.out.rfind(std::string("usage: edgewise-ctl ") + cmd, 0), 0u) << r.out;
      EXPECT_TRUE(r.err.empty()) << r.err;
    }
  }
  EXPECT_EQ(RunTool("edgewise-ctl", {"map", "--bogus", "--help"}).exit_code, 0);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"map", "--focus"},
                                             {"map", "--errors", "true"},
                                             {"service"},
                                             {"service", "--kind", "database"},
                                             {"traces", "--limit", "5", "--source", "n1"},
                                             {"series", "--step", "1m"},
                                             {"map", "stray"}}) {
    ToolResult r = RunTool("edgewise-ctl", args);
    EXPECT_EQ(r.exit_code, 2) << r.command;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(r.err.rfind("edgewise-ctl: ", 0), 0u) << r.err;
  }
}

// With --auth-token on the server, the CLI sends --token (or $EDGEWISE_TOKEN) as a bearer token.
TEST(CtlUsage, TokenFromTheFlagOrTheEnvironment) {
  ServerOptions o = Fast();
  o.extra_args.insert(o.extra_args.end(), {"--auth-token", "s3cret"});
  ServerProcess server(o);
  ASSERT_TRUE(server.Start().ok());
  ToolResult none = RunTool("edgewise-ctl", {"map", "--server", Url(server)});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("HTTP 401"), std::string::npos) << none.err;
  ToolResult flag = RunTool("edgewise-ctl", {"map", "--server", Url(server), "--token", "s3cret"});
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  ToolResult wrong = RunTool("edgewise-ctl", {"map", "--server", Url(server), "--token", "nope"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.err;
  ::setenv("EDGEWISE_TOKEN", "s3cret", 1);
  ToolResult env = RunTool("edgewise-ctl", {"map", "--server", Url(server)});
  ::unsetenv("EDGEWISE_TOKEN");
  EXPECT_EQ(env.exit_code, 0) << env.err;
}

// At a realistic size (300 services, ids past 255, namespaces ns-0..ns-19), nodes come in
// natural order of kind, namespace and name (ns-2 before ns-10, svc-22 before svc-102), all of
// them, and edges by source.
TEST(CtlTables, NodesInNaturalOrderAtSize) {
  TempDir dir;
  std::string data = dir.Sub("data");
  ToolResult gen = RunTool("edgewise-loadgen", {"query-dataset", "--data-dir", data, "--services",
                                                "300", "--days", "1", "--archive-days", "1"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  ServerProcess server(Fast(data));
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  ToolResult map = RunTool("edgewise-ctl", {"map", "--server", Url(server), "--start", "now-2d"});
  ASSERT_EQ(map.exit_code, 0) << map.err;
  auto nodes = TableAt(map.out, "KIND");
  ASSERT_EQ(nodes.size(), 301u) << map.out.substr(0, 2000);
  auto number = [](const std::string& s) { return std::stoi(s.substr(s.rfind('-') + 1)); };
  for (size_t i = 2; i < nodes.size(); ++i) {
    const auto &a = nodes[i - 1], &b = nodes[i];
    ASSERT_EQ(b[0], "service");
    const int na = number(a[1]), nb = number(b[1]);
    EXPECT_TRUE(na < nb || (na == nb && number(a[2]) < number(b[2])))
        << a[1] << "/" << a[2] << " before " << b[1] << "/" << b[2];
  }
  auto edges = TableAt(map.out, "SOURCE");
  ASSERT_GT(edges.size(), 1000u);
  for (size_t i = 2; i < edges.size(); ++i) {
    EXPECT_FALSE(tools::NaturalLess(edges[i][0], edges[i - 1][0]))
        << edges[i - 1][0] << " before " << edges[i][0];
  }
  ASSERT_EQ(server.Stop(), 0) << server.Stderr();
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
