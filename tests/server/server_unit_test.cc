// Unit tests of the Beast-free parts of server/: URL decoding, query strings, addresses, media
// types, bearer auth, OTLP error bodies and static file resolution.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/http_server.h"
#include "server/http_types.h"
#include "server/routes.h"
#include "server/static_files.h"
#include "server/url.h"

namespace ew::server {
namespace {

TEST(Url, DecodesPercentEscapesAndPlus) {
  EXPECT_EQ(UrlDecode("a%20b+c", true).value(), "a b c");
  EXPECT_EQ(UrlDecode("a%20b+c", false).value(), "a b+c");
  EXPECT_EQ(UrlDecode("%3d%3D", false).value(), "==");
  EXPECT_FALSE(UrlDecode("%", false).has_value());
  EXPECT_FALSE(UrlDecode("%2", false).has_value());
  EXPECT_FALSE(UrlDecode("%zz", false).has_value());
  EXPECT_EQ(UrlDecode("", false).value(), "");
}

TEST(Url, ParsesQueryStrings) {
  auto p = ParseQueryString("query=server.namespace%20%3D%20shop&start=now-1h&flag&a=1&a=2");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->at("query"), "server.namespace = shop");
  EXPECT_EQ(p->at("start"), "now-1h");
  EXPECT_EQ(p->at("flag"), "");
  EXPECT_EQ(p->at("a"), "1");  // first wins
  EXPECT_FALSE(ParseQueryString("a=%G0").has_value());
  EXPECT_TRUE(ParseQueryString("&&").value().empty());
}

TEST(Address, SplitsHostAndPort) {
  std::string host;
  uint16_t port = 1;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:4318", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 4318);
  ASSERT_TRUE(SplitHostPort("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(SplitHostPort(":8080", &host, &port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_FALSE(SplitHostPort("localhost", &host, &port));
  EXPECT_FALSE(SplitHostPort("localhost:", &host, &port));
  EXPECT_FALSE(SplitHostPort("localhost:65536", &host, &port));
  EXPECT_FALSE(SplitHostPort("localhost:12a", &host, &port));
  EXPECT_FALSE(SplitHostPort("localhost:99999999999999", &host, &port));
}

TEST(MediaTypes, StripsParametersAndCase) {
  EXPECT_EQ(MediaType("Application/JSON; charset=utf-8"), "application/json");
  EXPECT_EQ(MediaType("  application/x-protobuf  "), "application/x-protobuf");
  EXPECT_EQ(MediaType(""), "");
}

TEST(ErrorBodies, JsonErrorEscapes) {
  EXPECT_EQ(JsonError("a \"b\"\n\x01"), "{\"error\":\"a \\\"b\\\"\\n\\u0001\"}");
  Response r = ErrorResponse(404, "nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
}

TEST(ErrorBodies, RpcStatusIsProtobuf) {
  // google.rpc.Status{code: 3, message: "bad"}: field 1 varint, field 2 bytes.
  EXPECT_EQ(EncodeRpcStatus(3, "bad"), std::string("\x08\x03\x12\x03"
                                                   "bad",
                                                   7));
  EXPECT_EQ(EncodeRpcStatus(0, ""), "");
  std::string long_message(200, 'm');
  std::string encoded = EncodeRpcStatus(14, long_message);
  EXPECT_EQ(encoded.substr(0, 5), std::string("\x08\x0e\x12\xc8\x01", 5));
}

TEST(ExportToHttp, MapsEveryOutcome) {
  using ingest::ExportOutcome;
  const ingest::Decoder& proto = ingest::OtlpProtobufDecoder();
  const ingest::Decoder& json = ingest::OtlpJsonDecoder();
  ingest::ExportResponse ok;
  ok.decoder = &json;
  ok.body = "{\"partialSuccess\":{}}";
  Response r = ExportToHttp(ok, json);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, ok.body);
  EXPECT_EQ(r.route, "/v1/traces");

  struct Case {
    ExportOutcome outcome;
    int status;
    bool retry_after;
  };
  for (Case c :
       {Case{ExportOutcome::kMalformed, 400, false}, Case{ExportOutcome::kTooLarge, 413, false},
        Case{ExportOutcome::kUnsupported, 415, false}, Case{ExportOutcome::kOverloaded, 429, true},
        Case{ExportOutcome::kUnavailable, 503, true}}) {
    ingest::ExportResponse e;
    e.outcome = c.outcome;
    e.body = "why \"quoted\"";
    Response p = ExportToHttp(e, proto);
    EXPECT_EQ(p.status, c.status);
    EXPECT_EQ(p.content_type, "application/x-protobuf");
    EXPECT_NE(p.body.find("why \"quoted\""), std::string::npos);  // Status.message bytes
    Response j = ExportToHttp(e, json);
    EXPECT_EQ(j.status, c.status);
    EXPECT_EQ(j.content_type, "application/json");
    EXPECT_NE(j.body.find("\"message\":\"why \\\"quoted\\\"\""), std::string::npos) << j.body;
    bool has_retry = false;
    for (const auto& [k, v] : p.headers) {
      if (k == "Retry-After") {
        has_retry = true;
        EXPECT_EQ(v, "1");  // retry_after_s 0 is raised to 1
      }
    }
    EXPECT_EQ(has_retry, c.retry_after) << c.status;
  }
  ingest::ExportResponse busy;
  busy.outcome = ExportOutcome::kOverloaded;
  busy.retry_after_s = 7;
  Response b = ExportToHttp(busy, proto);
  ASSERT_EQ(b.headers.size(), 1u);
  EXPECT_EQ(b.headers[0].second, "7");
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("ew-static-" + std::to_string(::getpid()) + "-" +
             std::to_string(reinterpret_cast<uintptr_t>(this)));  // ctest -j runs tests at once
    std::filesystem::create_directories(root_ / "web" / "sub");
    std::ofstream(root_ / "web" / "index.html") << "<html>";
    std::ofstream(root_ / "web" / "sub" / "a.js") << "js";
    std::ofstream(root_ / "secret") << "secret";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(StaticFilesTest, ServesInsideRootOnly) {
  StaticFiles files((root_ / "web").string());
  EXPECT_EQ(files.Serve("/").body, "<html>");
  EXPECT_EQ(files.Serve("/sub/a.js").body, "js");
  EXPECT_EQ(files.Serve("/sub/a.js").content_type, "text/javascript; charset=utf-8");
  for (const char* bad :
       {"/../secret", "/%2e%2e/secret", "/sub/../../secret", "//secret", "/%2f..%2fsecret",
        "/sub%5c..%5c..%5csecret", "/%00", "/.x", "x", "/%zz"}) {
    Response r = files.Serve(bad);
    EXPECT_EQ(r.status, 404) << bad;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << bad;
  }
}

TEST_F(StaticFilesTest, BuiltinPageWithoutBundle) {
  StaticFiles none("");
  Response r = none.Serve("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("not built"), std::string::npos);
  EXPECT_EQ(none.Serve("/app.js").status, 404);
  StaticFiles empty_dir((root_ / "nope").string());
  EXPECT_EQ(empty_dir.Serve("/").status, 200);
}

TEST(ContentTypes, ByExtension) {
  EXPECT_EQ(ContentTypeForPath("a/b.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeForPath("x.SVG"), "image/svg+xml");
  EXPECT_EQ(ContentTypeForPath("x.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeForPath("noext"), "application/octet-stream");
}

}  // namespace
}  // namespace ew::server
