// HttpServer: the Beast/Asio side of Edgewise — listeners, one session per connection on a
// strand, timeouts on every read and write, header and body limits, keep-alive, bounded
// pipelining, request metrics, and a graceful drain. Routes are plain Handlers (http_types.h),
// so this header (and everything but http_server.cc) stays free of Beast.
//
// Thread-safety: Start, WaitForSignal, StopAccepting, Drain and Stop are called from one control
// thread (main); handlers run on the I/O threads and may answer from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/status.h"
#include "server/http_types.h"

namespace ew::server {

struct ListenerSpec {
  std::string name;               // metric label: "otlp" or "http"
  std::string address;            // HOST:PORT; port 0 binds a free port
  uint64_t body_limit = 1 << 20;  // larger bodies get 413
  Handler handler;
};

struct HttpServerOptions {
  uint32_t io_threads = 2;
  // The whole request header must arrive within this time (also the keep-alive idle limit).
  std::chrono::milliseconds header_timeout{10'000};
  // Reading the body, and writing a response, must finish within this time.
  std::chrono::milliseconds body_timeout{120'000};
  // Requests read ahead of their responses on one connection (HTTP/1.1 pipelining).
  uint32_t max_pipelined = 8;
  uint32_t header_limit = 16 * 1024;
  // TLS on every listener when tls_cert is set (PEM files; the handshake must finish within
  // header_timeout). tls_client_ca: mutual TLS.
  std::string tls_cert, tls_key, tls_client_ca;
  // Called on an I/O thread for each SIGHUP (which no longer ends the process).
  std::function<void()> on_hangup;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, MetricsRegistry* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every listener (errors name the address), starts accepting and the I/O threads.
  Status Start(std::vector<ListenerSpec> listeners);
  // "HOST:PORT" as bound (IPv6 in brackets), in the order given to Start.
  std::vector<std::string> BoundAddresses() const;
  // Blocks until SIGTERM or SIGINT arrives.
  void WaitForSignal();
  // Closes the listening sockets (idempotent).
  void StopAccepting();
  // Closes idle connections, lets requests in progress finish (their responses say
  // Connection: close) and waits until every session has ended. False on timeout.
  bool Drain(std::chrono::milliseconds timeout);
  // Stops the I/O threads and joins them (idempotent).
  void Stop();

 private:
  void WaitForHangup();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port", "[v6]:port" or ":port" (host 0.0.0.0). False when malformed.
bool SplitHostPort(const std::string& address, std::string* host, uint16_t* port);

}  // namespace ew::server
