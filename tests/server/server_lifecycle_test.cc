// The edgewise process: flags, config file, the ready line, start-up failures, restart, and a
// graceful SIGTERM/SIGINT that exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/server/server_test_util.h"

namespace ew::testing {
namespace {

TEST(ServerLifecycleTest, PrintsExactReadyLineWithBoundPorts) {
  ServerOptions options;
  options.grpc = true;
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_NE(server.otlp_port(), 0);
  EXPECT_NE(server.http_port(), 0);
  EXPECT_NE(server.grpc_port(), 0);
  EXPECT_NE(server.otlp_port(), server.http_port());
  std::string expected = "edgewise ready otlp=127.0.0.1:" + std::to_string(server.otlp_port()) +
                         " http=127.0.0.1:" + std::to_string(server.http_port()) +
                         " grpc=127.0.0.1:" + std::to_string(server.grpc_port()) + "\n";
  EXPECT_EQ(server.Stdout(), expected);
  EXPECT_TRUE(std::filesystem::is_directory(server.data_dir() + "/db"));
  HttpConnection c(server.host(), server.http_port());
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(ServerLifecycleTest, GrpcOffLeavesItOutOfTheReadyLine) {
  ServerOptions options;
  options.extra_args = {"--otlp-grpc-addr", "off"};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.grpc_port(), 0);
  std::string expected = "edgewise ready otlp=127.0.0.1:" + std::to_string(server.otlp_port()) +
                         " http=127.0.0.1:" + std::to_string(server.http_port()) + "\n";
  EXPECT_EQ(server.Stdout(), expected);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(ServerLifecycleTest, SigtermExitsZero) {
  ServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
  EXPECT_NE(server.Stderr().find("stopped cleanly"), std::string::npos) << server.Stderr();
}

// SIGHUP's default action would end the process (issue "A shared service"): the server logs it
// and keeps serving, also for a second one.
TEST(ServerLifecycleTest, SighupDoesNotEndTheServer) {
  ServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  for (int n = 1; n <= 2; ++n) {
    server.Signal(SIGHUP);
    for (int i = 0; i < 200; ++i) {
      const std::string log = server.Stderr();
      size_t seen = 0;
      for (size_t at = log.find("SIGHUP: nothing to re-read"); at != std::string::npos;
           at = log.find("SIGHUP: nothing to re-read", at + 1)) {
        ++seen;
      }
      if (seen >= static_cast<size_t>(n) || !server.Running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_TRUE(server.Running()) << server.Stderr();
  }
  tools::HttpConnection http(server.host(), server.http_port());
  auto r = http.Get("/healthz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(ServerLifecycleTest, SigintExitsZero) {
  ServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  server.Signal(SIGINT);
  for (int i = 0; i < 600 && server.Running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(server.Running());
  EXPECT_EQ(server.Stop(), -1);  // already reaped
  EXPECT_NE(server.Stderr().find("stopped cleanly"), std::string::npos) << server.Stderr();
}

TEST(ServerLifecycleTest, IdleKeepAliveConnectionsDoNotDelayShutdown) {
  ServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  HttpConnection c(server.host(), server.http_port());
  ASSERT_TRUE(c.Get("/healthz").ok());
  HttpConnection o(server.host(), server.otlp_port());
  ASSERT_TRUE(o.Post("/v1/traces", "", "application/x-protobuf").ok());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
  // Far below the 10 s header timeout: idle connections are closed at once on shutdown.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

// SIGTERM while a request body is still arriving: the request is finished and answered
// (Connection: close), then the server exits 0 by itself.
TEST(ServerLifecycleTest, RequestInProgressIsAnsweredDuringShutdown) {
  ServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  HttpConnection o(server.host(), server.otlp_port());
  std::string body = R"({"resourceSpans":[]})";
  std::string head =
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_TRUE(o.SendRaw(head + body.substr(0, 7)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the header is parsed
  server.Signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(server.Running());  // waiting for the rest of the body
  ASSERT_TRUE(o.SendRaw(body.substr(7)).ok());
  auto r = o.ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status().ToString() << server.Stderr();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_FALSE(r->keep_alive);
  for (int i = 0; i < 600 && server.Running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(server.Running());
  EXPECT_EQ(server.exit_code(), 0) << server.Stderr();
}

TEST(ServerLifecycleTest, RestartOnTheSameDataDirectory) {
  ServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  uint16_t first_port = server.http_port();
  Status restarted = server.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  EXPECT_NE(server.http_port(), 0);
  (void)first_port;
  HttpConnection c(server.host(), server.http_port());
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
}

TEST(ServerLifecycleTest, HelpExitsZeroAndListsFlags) {
  RunResult r = RunEdgewise({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* flag : {"--data-dir", "--otlp-addr", "--http-addr", "--pair-wait",
                           "--flush-interval", "--config"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << "\n" << r.out;
  }
}

TEST(ServerLifecycleTest, UnknownFlagExitsTwoWithMessage) {
  RunResult r = RunEdgewise({"--no-such-flag", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no-such-flag"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(ServerLifecycleTest, BadValueExitsTwoWithMessage) {
  RunResult r = RunEdgewise({"--pair-wait", "banana"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("pair-wait"), std::string::npos) << r.err;
}

TEST(ServerLifecycleTest, AddressInUseFailsToStart) {
  ServerProcess first;
  ASSERT_TRUE(first.Start().ok());
  TempDir dir;
  RunResult r = RunEdgewise({"--otlp-addr", "127.0.0.1:0", "--http-addr",
                             "127.0.0.1:" + std::to_string(first.http_port()), "--otlp-grpc-addr",
                             "127.0.0.1:0", "--data-dir", dir.Sub("data")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, 2);  // 2 is for bad flags; this is a start-up failure
  EXPECT_NE(r.err.find("listen"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("edgewise ready"), std::string::npos);
  EXPECT_EQ(first.Stop(), 0);
}

TEST(ServerLifecycleTest, GrpcAddressInUseFailsToStart) {
  ServerOptions options;
  options.grpc = true;
  ServerProcess first(options);
  ASSERT_TRUE(first.Start().ok());
  TempDir dir;
  RunResult r = RunEdgewise({"--otlp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
                             "--otlp-grpc-addr", "127.0.0.1:" + std::to_string(first.grpc_port()),
                             "--data-dir", dir.Sub("data")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, 2);
  EXPECT_NE(r.err.find("listen"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("edgewise ready"), std::string::npos);
  EXPECT_EQ(first.Stop(), 0);
}

TEST(ServerLifecycleTest, MalformedAddressFailsToStart) {
  TempDir dir;
  RunResult r = RunEdgewise(
      {"--otlp-addr", "nonsense", "--http-addr", "127.0.0.1:0", "--data-dir", dir.Sub("data")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nonsense"), std::string::npos) << r.err;
  r = RunEdgewise({"--otlp-grpc-addr", "nonsense", "--data-dir", dir.Sub("data")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("otlp-grpc-addr"), std::string::npos) << r.err;
}

TEST(ServerLifecycleTest, ConfigFileSetsAddressesDataDirAndToken) {
  TempDir dir;
  std::string config = dir.Sub("edgewise.conf");
  ASSERT_TRUE(WriteFile(config,
                        "# test configuration\n"
                        "otlp-addr = 127.0.0.1:0\n"
                        "http-addr = 127.0.0.1:0\n"
                        "otlp_grpc_addr = 127.0.0.1:0\n"
                        "data-dir = " +
                            dir.Sub("from-config") +
                            "\n"
                            "auth-token = file-token\n"
                            "log-level = warn\n"));
  ServerOptions options;
  options.default_args = false;
  options.extra_args = {"--config", config};
  ServerProcess server(options);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_NE(server.grpc_port(), 0);
  EXPECT_TRUE(std::filesystem::is_directory(dir.Sub("from-config") + "/db"));
  HttpConnection o(server.host(), server.otlp_port());
  auto denied = o.Post("/v1/traces", "", "application/x-protobuf");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 401);
  auto allowed =
      o.Post("/v1/traces", "", "application/x-protobuf", {{"Authorization", "Bearer file-token"}});
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed->status, 200) << allowed->body;
  EXPECT_EQ(server.Stop(), 0) << server.Stderr();
  EXPECT_EQ(server.Stderr().find("INFO"), std::string::npos)  // log-level took effect
      << server.Stderr();
}

TEST(ServerLifecycleTest, ConfigFileUnknownKeyExitsTwo) {
  TempDir dir;
  std::string config = dir.Sub("bad.conf");
  ASSERT_TRUE(WriteFile(config, "otlp-addr = 127.0.0.1:0\nflux-capacitor = on\n"));
  RunResult r = RunEdgewise({"--config", config});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("flux-capacitor"), std::string::npos) << r.err;
}

TEST(ServerLifecycleTest, MissingConfigFileExitsTwo) {
  RunResult r = RunEdgewise({"--config", "/nonexistent/edgewise.conf"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.err.empty());
}

}  // namespace
}  // namespace ew::testing
