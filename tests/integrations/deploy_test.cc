// The repository's deploy/ files work as shipped: the example config file is accepted by the
// real server (with its commented-out keys switched on too, which then take effect), and the
// systemd unit passes `systemd-analyze verify`. Also --cors-origin as a browser sees it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "tests/common/gzip.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tools/http_client.h"

namespace ew::testing {
namespace {

using tools::HttpConnection;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

const std::string kConf = std::string(EW_SOURCE_DIR) + "/deploy/edgewise.conf";

TEST(DeployTest, ExampleConfigFileIsAccepted) {
  ASSERT_FALSE(ReadFile(kConf).empty()) << kConf;
  ServerOptions options;  // the default flags override data-dir and both addresses
  options.extra_args = {"--config", kConf, "--flush-interval", "200ms"};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  HttpConnection http(server.host(), server.http_port());
  auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  auto graph = http.Get("/metrics/servicegraph");
  ASSERT_TRUE(graph.ok());
  EXPECT_EQ(graph->status, 200);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(DeployTest, CommentedOutKeysOfTheExampleWorkAndTakeEffect) {
  // Switch on every commented-out `# key = value` line of the example.
  std::string text = ReadFile(kConf);
  text = std::regex_replace(text, std::regex("(^|\n)# ([a-z0-9-]+ = [^\n]*)"), "$1$2");
  ASSERT_NE(text.find("\nauth-token = change-me"), std::string::npos) << text;
  ASSERT_NE(text.find("\ncors-origin = https://grafana.example.com"), std::string::npos);
  TempDir dir("ew-deploy-test-");
  WriteFile(dir.Sub("edgewise.conf"), text);
  ServerOptions options;
  options.extra_args = {"--config", dir.Sub("edgewise.conf")};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  HttpConnection http(server.host(), server.http_port());
  auto denied = http.Get("/api/v1/map");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->Header("Access-Control-Allow-Origin"), "https://grafana.example.com");
  auto map = http.Get("/api/v1/map", {{"Authorization", "Bearer change-me"}});
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->status, 200);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(DeployTest, SystemdUnitVerifies) {
  if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed";
  }
  // The unit as installed, with ExecStart pointing at the built binary.
  std::string unit = ReadFile(std::string(EW_SOURCE_DIR) + "/deploy/edgewise.service");
  ASSERT_NE(unit.find("ExecStart=/usr/local/bin/edgewise --config /etc/edgewise/edgewise.conf"),
            std::string::npos);
  unit = std::regex_replace(unit, std::regex("/usr/local/bin/edgewise"), EdgewiseBinary());
  TempDir dir("ew-deploy-unit-");
  WriteFile(dir.Sub("edgewise.service"), unit);
  const std::string cmd = "/usr/bin/systemd-analyze verify " + dir.Sub("edgewise.service") + " > " +
                          dir.Sub("out") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadFile(dir.Sub("out"));
  EXPECT_EQ(ReadFile(dir.Sub("out")), "");
}

TEST(CorsTest, OriginHeadersAndPreflightOnApiAndServiceGraph) {
  ServerOptions options;
  options.extra_args = {"--cors-origin", "https://grafana.example.com:3000", "--auth-token", "t0k"};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  HttpConnection http(server.host(), server.http_port());
  const tools::HttpHeaders auth = {{"Authorization", "Bearer t0k"}};
  for (const std::string path : {"/api/v1/map", "/metrics/servicegraph"}) {
    SCOPED_TRACE(path);
    tools::HttpRequest preflight;
    preflight.method = "OPTIONS";
    preflight.target = path;
    preflight.headers = {{"Origin", "https://grafana.example.com:3000"},
                         {"Access-Control-Request-Method", "GET"},
                         {"Access-Control-Request-Headers", "authorization"}};
    auto p = http.Send(preflight);  // no token: browsers send none on a preflight
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->status, 204);
    EXPECT_EQ(p->Header("Access-Control-Allow-Origin"), "https://grafana.example.com:3000");
    EXPECT_NE(p->Header("Access-Control-Allow-Methods").find("GET"), std::string::npos);
    EXPECT_NE(p->Header("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
    auto ok = http.Get(path, auth);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->Header("Access-Control-Allow-Origin"), "https://grafana.example.com:3000");
    auto denied = http.Get(path);
    ASSERT_TRUE(denied.ok());
    EXPECT_EQ(denied->status, 401);
    EXPECT_EQ(denied->Header("Access-Control-Allow-Origin"), "https://grafana.example.com:3000");
  }
  auto own = http.Get("/metrics");  // the server's own metrics are not opened to browsers
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->status, 200);
  EXPECT_FALSE(own->HasHeader("Access-Control-Allow-Origin"));
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();

  ServerProcess plain;  // off by default: no header, OPTIONS is not allowed
  ASSERT_TRUE(plain.Start().ok()) << plain.Stderr();
  HttpConnection http2(plain.host(), plain.http_port());
  tools::HttpRequest options_req;
  options_req.method = "OPTIONS";
  options_req.target = "/api/v1/map";
  auto p = http2.Send(options_req);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->status, 405);
  EXPECT_FALSE(p->HasHeader("Access-Control-Allow-Origin"));
  auto g = http2.Get("/metrics/servicegraph");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->status, 200);
  EXPECT_FALSE(g->HasHeader("Access-Control-Allow-Origin"));
  EXPECT_EQ(plain.Stop(), 0);
}

// Prometheus asks for gzip (Accept-Encoding: gzip); other scrapers may not, or refuse it.
TEST(ServiceGraphHttpTest, GzipOnlyWhenAccepted) {
  ServerProcess server;
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  HttpConnection http(server.host(), server.http_port());
  auto plain = http.Get("/metrics/servicegraph");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->HasHeader("Content-Encoding"));
  EXPECT_NE(plain->body.find("# TYPE traces_service_graph_request_total counter"),
            std::string::npos);
  for (const std::string accept : {"gzip", "deflate, gzip;q=1.0, *;q=0.5", "*"}) {
    auto zipped = http.Get("/metrics/servicegraph", {{"Accept-Encoding", accept}});
    ASSERT_TRUE(zipped.ok());
    EXPECT_EQ(zipped->Header("Content-Encoding"), "gzip") << accept;
    std::string text;
    ASSERT_TRUE(GzipDecompress(zipped->body, &text)) << accept;
    EXPECT_EQ(text, plain->body);
  }
  for (const std::string accept : {"identity", "gzip;q=0", "br, gzip; q=0.0"}) {
    auto r = http.Get("/metrics/servicegraph", {{"Accept-Encoding", accept}});
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->HasHeader("Content-Encoding")) << accept;
    EXPECT_EQ(r->body, plain->body);
  }
  auto map = http.Get("/api/v1/map", {{"Accept-Encoding", "gzip"}});  // the API answers as before
  ASSERT_TRUE(map.ok());
  EXPECT_FALSE(map->HasHeader("Content-Encoding"));
  EXPECT_EQ(server.Stop(), 0);
}

TEST(CorsTest, OriginsThatAreNotOneOriginAreRefusedAtStart) {
  for (const std::string bad :
       {"grafana.example.com", "https://g.example/path", "https://g.example\r\nX-Evil: 1",
        "https://a.example, https://b.example", "ftp://g.example"}) {
    auto r = RunEdgewise({"--cors-origin", bad, "--data-dir", "/nonexistent/never-created"});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("cors-origin"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace ew::testing
