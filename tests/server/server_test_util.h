// Helpers shared by the server integration tests: start a server with flags, assert on JSON
// error bodies, find a Prometheus sample.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/common/json.h"
#include "tests/common/server_process.h"
#include "tools/http_client.h"

namespace ew::testing {

// The HTTP client of the tools (tools/http_client.h) is the tests' too.
using tools::HttpConnection;
using tools::HttpRequest;
using tools::HttpResponse;
using tools::UrlEncode;

// Starts a server with the extra flags; returns nullptr (after ADD_FAILURE with the server's
// output) when it does not come up.
inline std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> extra_args = {}) {
  ServerOptions options;
  options.extra_args = std::move(extra_args);
  auto server = std::make_unique<ServerProcess>(options);
  Status st = server->Start();
  if (!st.ok()) {
    ADD_FAILURE() << st.ToString();
    return nullptr;
  }
  return server;
}

// Asserts a JSON body {"error": "<non-empty>"}.
inline void ExpectJsonError(const HttpResponse& r) {
  EXPECT_NE(r.Header("Content-Type").find("application/json"), std::string::npos) << r.body;
  auto doc = Json::Parse(r.body);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_FALSE((*doc)["error"].String().empty()) << r.body;
}

// The value of the first sample line that starts with `series` (name plus labels), or -1.
inline double MetricValue(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    pos = end + 1;
  }
  return -1;
}

}  // namespace ew::testing
