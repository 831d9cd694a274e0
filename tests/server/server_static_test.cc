// The web UI files on the HTTP listener: content types, no way out of the web directory, and
// the built-in page when no bundle exists.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/server/server_test_util.h"

namespace ew::testing {
namespace {

class ServerStaticTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("web/assets"));
    ASSERT_TRUE(WriteFile(dir_.Sub("web/index.html"), "<!doctype html><title>ui</title>"));
    ASSERT_TRUE(WriteFile(dir_.Sub("web/app.js"), "console.log(1)"));
    ASSERT_TRUE(WriteFile(dir_.Sub("web/app.css"), "body{}"));
    ASSERT_TRUE(WriteFile(dir_.Sub("web/assets/logo.svg"), "<svg/>"));
    ASSERT_TRUE(WriteFile(dir_.Sub("web/.hidden"), "hidden"));
    ASSERT_TRUE(WriteFile(dir_.Sub("secret.txt"), "top secret"));
    server_ = StartServer({"--web-dir", dir_.Sub("web")});
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Stderr();
    }
  }
  // Sends the target as-is (no client-side normalization).
  HttpResponse RawGet(const std::string& target) {
    HttpConnection c(server_->host(), server_->http_port());
    HttpRequest req;
    req.target = target;
    auto r = c.Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServerStaticTest, ServesFilesWithContentTypes) {
  auto index = RawGet("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>ui</title>");
  EXPECT_EQ(index.Header("Content-Type"), "text/html; charset=utf-8");
  auto js = RawGet("/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("Content-Type"), "text/javascript; charset=utf-8");
  auto css = RawGet("/app.css");
  EXPECT_EQ(css.Header("Content-Type"), "text/css; charset=utf-8");
  auto svg = RawGet("/assets/logo.svg");
  EXPECT_EQ(svg.status, 200);
  EXPECT_EQ(svg.Header("Content-Type"), "image/svg+xml");
  auto with_query = RawGet("/?query=server.namespace%3Dshop");
  EXPECT_EQ(with_query.status, 200);
}

TEST_F(ServerStaticTest, NoDirectoryTraversal) {
  for (const char* target :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt", "/..%5csecret.txt", "/.hidden", "/%00",
        "/assets/%2e%2e%00", "//etc/passwd", "/%2fetc%2fpasswd"}) {
    auto r = RawGet(target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << target;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << target;
  }
}

TEST_F(ServerStaticTest, MissingFileIs404Json) {
  auto r = RawGet("/nothing-here.js");
  EXPECT_EQ(r.status, 404);
  ExpectJsonError(r);
}

TEST(ServerStaticBuiltinTest, BuiltinPageWhenNoBundle) {
  TempDir dir;
  auto server = StartServer({"--web-dir", dir.Sub("no-such-dir")});
  ASSERT_NE(server, nullptr);
  HttpConnection c(server->host(), server->http_port());
  auto r = c.Get("/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->Header("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r->body.find("not built"), std::string::npos) << r->body;
  EXPECT_EQ(server->Stop(), 0);
}

}  // namespace
}  // namespace ew::testing
