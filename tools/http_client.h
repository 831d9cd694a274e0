// HttpConnection: a small blocking HTTP/1.1 client over one keep-alive TCP connection (plain
// sockets), the one HTTP client of the Edgewise tools (load generator, ctl, verify) and tests. It
// speaks just enough HTTP for talking to an Edgewise server: Content-Length or chunked request
// and response bodies, reconnect on a closed connection, a timeout on every connect, read and
// write, and a raw mode (send arbitrary bytes, read responses one by one) for pipelining and
// hostile-input tests.
//
// Thread-safety: one HttpConnection per thread; the free functions are pure.
#pragma once

#include <chrono>
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

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One request as HttpConnection::Send writes it (see Serialize).
struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  HttpHeaders headers;  // Host and Content-Length are added unless given
  std::string body;
  // Send the body with Transfer-Encoding: chunked, in chunks of chunk_size bytes.
  bool chunked = false;
  size_t chunk_size = 4096;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased
  std::string body;
  // False when the server will close the connection after this response (Connection: close, or
  // HTTP/1.0 without keep-alive); the connection is then closed on our side too.
  bool keep_alive = true;
  // The value of the first header with this name (compared without case), or "".
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

class HttpConnection {
 public:
  explicit HttpConnection(HostPort target, int timeout_ms = 30'000);
  HttpConnection(std::string host, uint16_t port,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads the response. Connects (or reconnects) as needed. A request on
  // a kept-alive connection that the server had closed before answering anything is retried once
  // on a fresh one. Errors: Unavailable when the server cannot be reached or the connection
  // broke; *maybe_sent tells whether the request was written (it may have been processed).
  Result<HttpResponse> Request(std::string_view method, std::string_view target,
                               const HttpHeaders& headers, std::string_view body,
                               bool* maybe_sent = nullptr);
  // The same for a request given whole (chunked bodies, a HEAD, headers of one's own).
  Result<HttpResponse> Send(const HttpRequest& request, bool* maybe_sent = nullptr);
  Result<HttpResponse> Get(std::string_view target, const HttpHeaders& headers = {});
  // A POST with Content-Type: content_type (unless `headers` names one, or it is empty).
  Result<HttpResponse> Post(std::string_view target, std::string_view body,
                            std::string_view content_type, const HttpHeaders& headers = {});

  // --- Raw mode, on the same connection.
  // Opens a fresh connection (closing the current one).
  Status Connect();
  void Close();
  bool connected() const { return fd_ >= 0; }
  // Writes bytes as they are (connecting first when not connected).
  Status SendRaw(std::string_view bytes);
  // Reads exactly one response: pipelined responses are read one by one, a 100 Continue is a
  // response of its own. head_request: it answers a HEAD (no body follows its header).
  Result<HttpResponse> ReadResponse(bool head_request = false);
  // Reads until the peer closes or `timeout` has passed, and closes; returns what arrived
  // (including what was buffered). *closed tells whether the peer closed (EOF or reset).
  std::string ReadUntilClose(bool* closed, std::chrono::milliseconds timeout);
  // The request as Send writes it.
  std::string Serialize(const HttpRequest& request) const;

  // Connections opened so far (a keep-alive test expects 1 after several requests).
  int connections_opened() const { return connections_opened_; }
  // The timeout for each later connect, read and write (also on the open connection).
  void set_timeout(std::chrono::milliseconds timeout);
  const HostPort& target() const { return target_; }

 private:
  Result<HttpResponse> Exchange(std::string_view head, std::string_view body, bool head_request,
                                bool* maybe_sent);
  Status WriteAll(std::string_view head, std::string_view body = {});
  Status ReadHead(HttpResponse* resp);
  Status ReadChunkedBody(HttpResponse* resp);
  Status ReadBody(HttpResponse* resp, bool head_request);
  Status Fill();  // reads more bytes into buf_
  void ApplyTimeout();

  HostPort target_;
  int timeout_ms_;
  int fd_ = -1;
  int connections_opened_ = 0;
  std::string buf_;
  size_t pos_ = 0;
};

// One-shot GET on a fresh connection.
Result<HttpResponse> HttpGet(const HostPort& target, std::string_view path,
                             int timeout_ms = 30'000);

// Percent-encodes a query-parameter value.
std::string UrlEncode(std::string_view s);

}  // namespace ew::tools
