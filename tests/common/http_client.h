// HttpClient: a small synchronous HTTP/1.1 client for tests (Boost.Beast underneath, kept out of
// this header). One persistent connection with keep-alive (reconnects when the server closed
// it), Content-Length or chunked request bodies, a timeout on every connect/read/write, and a raw
// mode (send arbitrary bytes, read responses) for pipelining and hostile-input tests.
//
// Thread-safety: one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ew::testing {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  HttpHeaders headers;  // Host, User-Agent, Content-Length are added unless given
  std::string body;
  // Send the body with Transfer-Encoding: chunked in pieces of chunk_size bytes.
  bool chunked = false;
  size_t chunk_size = 4096;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names as received
  std::string body;
  bool keep_alive = false;
  // Case-insensitive header lookup; empty when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request on the kept-alive connection (connecting when needed) and reads the
  // response. When a reused connection turns out closed before any response byte, reconnects once.
  Result<HttpResponse> Send(const HttpRequest& request);
  Result<HttpResponse> Get(const std::string& target, const HttpHeaders& headers = {});
  Result<HttpResponse> Post(const std::string& target, std::string body,
                            const std::string& content_type, const HttpHeaders& headers = {});

  // --- Raw mode on the same connection.
  Status Connect();
  void Close();
  bool connected() const;
  // Writes bytes as they are.
  Status SendRaw(std::string_view bytes);
  // Reads exactly one response (after SendRaw; pipelined responses are read one by one).
  // head_request: the response answers a HEAD (no body follows its header).
  Result<HttpResponse> ReadResponse(bool head_request = false);
  // Reads until the peer closes or the timeout passes; returns what arrived. `closed` tells
  // whether the peer closed (EOF/reset) rather than timing out.
  std::string ReadUntilClose(bool* closed, std::chrono::milliseconds timeout);

  // Connections opened so far (a keep-alive test expects 1 after several requests).
  int connections_opened() const { return connections_opened_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

  // Serializes a request as it goes on the wire (exposed for pipelining tests).
  std::string Serialize(const HttpRequest& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  int connections_opened_ = 0;
};

// "%XX"-encodes everything but unreserved characters (for query parameters).
std::string UrlEncode(std::string_view text);

}  // namespace ew::testing
