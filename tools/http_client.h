// HttpConnection: a small blocking HTTP/1.1 client over one keep-alive TCP connection, for the
// Edgewise tools (load generator, ctl, verify). It speaks just enough HTTP for talking to an
// Edgewise server: Content-Length or chunked response bodies, reconnect on a closed connection.
//
// Thread-safety: one HttpConnection per thread; the free functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ew::tools {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Parses "HOST:PORT", "http://HOST:PORT" or "http://HOST:PORT/" (IPv4 or hostname).
Result<HostPort> ParseHostPort(std::string_view text);

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // The value of the first header with this (lower-case) name, or "".
  std::string_view Header(std::string_view name) const;
};

class HttpConnection {
 public:
  explicit HttpConnection(HostPort target, int timeout_ms = 30'000);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads the response. Connects (or reconnects) as needed. A request on
  // a kept-alive connection that the server had closed before answering anything is retried once
  // on a fresh one. Errors: Unavailable when the server cannot be reached or the connection
  // broke; *maybe_sent tells whether the request was written (it may have been processed).
  Result<HttpResponse> Request(std::string_view method, std::string_view target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view body, bool* maybe_sent = nullptr);
  Result<HttpResponse> Get(std::string_view target) { return Request("GET", target, {}, ""); }

  void Close();
  const HostPort& target() const { return target_; }

 private:
  Status Connect();
  Status WriteAll(std::string_view data);
  Result<HttpResponse> ReadResponse();
  Status Fill();  // reads more bytes into buf_

  HostPort target_;
  int timeout_ms_;
  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;
};

// One-shot GET on a fresh connection.
Result<HttpResponse> HttpGet(const HostPort& target, std::string_view path,
                             int timeout_ms = 30'000);

// Percent-encodes a query-parameter value.
std::string UrlEncode(std::string_view s);

}  // namespace ew::tools
