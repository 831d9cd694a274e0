// TLS on every listener (--tls-cert, --tls-key) and mutual TLS (--tls-client-ca), with
// certificates made at test time by the openssl command and a real client (curl): OTLP export
// and the map over https, exact counts; plain HTTP to a TLS port, an untrusted server
// certificate and a missing client certificate are refused while the server stays up and
// counts the failed handshakes; unreadable certificate files stop the start with a message.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tests/common/temp_dir.h"
#include "tests/common/test_certs.h"
#include "tools/otlp_encoder.h"

namespace ew::testing {
namespace {

std::string Https(const ServerProcess& s, uint16_t port, const std::string& path) {
  return "https://" + s.host() + ":" + std::to_string(port) + path;
}

// One request of `pairs` paired calls frontend -> cart, `errors` of them 5xx.
std::string TrafficBody(int pairs, int errors) {
  std::vector<tools::OtlpSpan> spans;
  const uint64_t now_ns = static_cast<uint64_t>(std::time(nullptr)) * 1'000'000'000ULL;
  for (int i = 0; i < pairs; ++i) {
    tools::OtlpSpan c;
    c.trace_id = tools::MakeTraceId(7, i);
    c.span_id = tools::MakeSpanId(7, 2 * i);
    c.kind = 3;  // CLIENT
    c.name = "GET /cart";
    c.resource = 0;
    c.start_ns = now_ns;
    c.end_ns = now_ns + 2'000'000;
    tools::OtlpSpan s = c;
    s.span_id = tools::MakeSpanId(7, 2 * i + 1);
    s.parent_span_id = c.span_id;
    s.has_parent = true;
    s.kind = 2;  // SERVER
    s.resource = 1;
    s.status_code = i < errors ? 2 : 0;
    spans.push_back(c);
    spans.push_back(s);
  }
  std::vector<const tools::OtlpSpan*> ptrs;
  for (const auto& s : spans) ptrs.push_back(&s);
  const std::vector<std::vector<tools::Attr>> resources = {
      {tools::Attr::Str("service.name", "frontend")}, {tools::Attr::Str("service.name", "cart")}};
  return tools::EncodeTraces(ptrs, resources, tools::Encoding::kProtobuf);
}

TEST(ServerTls, OtlpAndTheMapOverHttpsWithCurl) {
  TempDir dir("ew-tls-");
  ASSERT_TRUE(MakeTestCertificates(dir.path()));
  ServerOptions o;
  o.extra_args = {"--tls-cert",          dir.Sub("server.pem"), "--tls-key",
                  dir.Sub("server.key"), "--flush-interval",    "100ms"};
  ServerProcess server(o);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  const std::string ca = " --cacert " + dir.Sub("ca.pem");

  Shell r = Sh("curl -sS" + ca + " " + Https(server, server.http_port(), "/healthz"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "ok");

  std::ofstream(dir.Sub("body.pb"), std::ios::binary) << TrafficBody(40, 3);
  r = Sh("curl -sS -o /dev/null -w '%{http_code}'" + ca +
         " -H 'Content-Type: application/x-protobuf' --data-binary @" + dir.Sub("body.pb") + " " +
         Https(server, server.otlp_port(), "/v1/traces"));
  EXPECT_EQ(r.out, "200") << r.out;

  // The map over https: exactly what was sent (after a flush).
  std::string edge;
  for (int attempt = 0; attempt < 50 && edge.empty(); ++attempt) {
    r = Sh("curl -sS" + ca + " '" + Https(server, server.http_port(), "/api/v1/map") + "'");
    auto doc = Json::Parse(r.out);
    ASSERT_TRUE(doc.ok()) << r.out;
    for (const auto& e : (*doc)["edges"].Elements()) {
      if (e["requests"].Uint() == 40 && e["errors"].Uint() == 3) edge = e.Dump();
    }
    if (edge.empty()) ::usleep(100'000);
  }
  EXPECT_FALSE(edge.empty()) << "no frontend -> cart edge with 40 requests, 3 errors: " << r.out;

  // Refusals: plain HTTP on the TLS port; a client that does not trust the certificate.
  r = Sh("curl -sS --max-time 5 http://" + server.host() + ":" +
         std::to_string(server.http_port()) + "/healthz");
  EXPECT_NE(r.code, 0) << "plain HTTP answered: " << r.out;
  r = Sh("curl -sS --max-time 5 " + Https(server, server.http_port(), "/healthz"));
  EXPECT_EQ(r.code, 60) << "an untrusted certificate must fail verification: " << r.out;
  r = Sh("curl -sS" + ca + " " + Https(server, server.http_port(), "/metrics"));
  EXPECT_NE(r.out.find("ew_tls_handshake_failures_total{listener=\"http\"}"), std::string::npos)
      << r.out.substr(0, 2000);
  EXPECT_EQ(r.out.find("ew_tls_handshake_failures_total{listener=\"http\"} 0\n"),
            std::string::npos);
  EXPECT_TRUE(server.Running());
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(ServerTls, MutualTlsNeedsAClientCertificateFromTheCa) {
  TempDir dir("ew-mtls-");
  ASSERT_TRUE(MakeTestCertificates(dir.path()));
  ServerOptions o;
  o.extra_args = {"--tls-cert",          dir.Sub("server.pem"), "--tls-key",
                  dir.Sub("server.key"), "--tls-client-ca",     dir.Sub("ca.pem")};
  ServerProcess server(o);
  ASSERT_TRUE(server.Start().ok()) << server.Stderr();
  const std::string ca = " --cacert " + dir.Sub("ca.pem");
  const std::string url = Https(server, server.http_port(), "/healthz");
  Shell r = Sh("curl -sS --max-time 5" + ca + " " + url);
  EXPECT_NE(r.code, 0) << "answered without a client certificate: " << r.out;
  // A certificate the CA did not sign (self-signed) is refused too.
  ASSERT_EQ(Sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
               "-keyout " +
               dir.Sub("self.key") + " -out " + dir.Sub("self.pem") + " -days 1 -subj /CN=self")
                .code,
            0);
  r = Sh("curl -sS --max-time 5" + ca + " --cert " + dir.Sub("self.pem") + " --key " +
         dir.Sub("self.key") + " " + url);
  EXPECT_NE(r.code, 0) << "answered a client certificate from another CA: " << r.out;
  r = Sh("curl -sS" + ca + " --cert " + dir.Sub("client.pem") + " --key " + dir.Sub("client.key") +
         " " + url);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "ok");
  EXPECT_TRUE(server.Running());
}

TEST(ServerTls, UnreadableOrHalfGivenFilesStopTheStart) {
  TempDir dir("ew-tls-bad-");
  RunResult r = RunEdgewise({"--data-dir", dir.Sub("d"), "--tls-cert", dir.Sub("none.pem"),
                             "--tls-key", dir.Sub("none.key"), "--otlp-addr", "127.0.0.1:0",
                             "--http-addr", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tls-cert " + dir.Sub("none.pem")), std::string::npos) << r.err;
  r = RunEdgewise({"--tls-cert", dir.Sub("none.pem")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("tls-cert and tls-key go together"), std::string::npos) << r.err;
  r = RunEdgewise({"--tls-client-ca", dir.Sub("ca.pem")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("tls-client-ca needs"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ew::testing
