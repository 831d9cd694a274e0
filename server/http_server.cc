#include "server/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <csignal>
#include <deque>
#include <exception>
#include <future>
#include <list>
#include <optional>
#include <thread>

#include "base/log.h"
#include "base/mutex.h"
#include "base/thread_name.h"

namespace ew::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Receive-buffer room while a body is read (see Session::ReadBody).
constexpr size_t kMinBodyReadBuffer = 64 << 10;
constexpr size_t kMaxBodyReadBuffer = 1 << 20;

struct ServerShared;

// One listening socket and what its sessions need.
struct Listener {
  ListenerSpec spec;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> retry;  // backs off after a failed accept (e.g. EMFILE)
  std::string bound;
  Counter* bytes_received = nullptr;
  Counter* tls_failures = nullptr;  // handshakes that failed (TLS listeners only)
  ssl::context* tls = nullptr;      // null: plain TCP
  ServerShared* shared = nullptr;
};

// What the registry of live sessions (Drain) needs of a session, plain or TLS.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Run() = 0;
  virtual void BeginShutdown() = 0;
};

// State shared by all sessions: options, metrics, the live-session registry used by Drain.
struct ServerShared {
  HttpServerOptions options;
  MetricsRegistry* metrics = nullptr;
  std::atomic<bool> stopping{false};
  Mutex mu;
  CondVar cv;  // live decreased
  std::list<std::weak_ptr<SessionBase>> sessions GUARDED_BY(mu);
  size_t live GUARDED_BY(mu) = 0;
  Gauge* connections = nullptr;

  void CountRequest(const std::string& listener, const std::string& route, int code) {
    metrics
        ->GetCounter("ew_http_requests_total", "HTTP requests answered, by listener/route/code",
                     {{"listener", listener}, {"route", route}, {"code", std::to_string(code)}})
        ->Add();
  }
};

std::string FormatEndpoint(const tcp::endpoint& ep) {
  auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

Request ToRequest(http::request<http::string_body>&& msg) {
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (const auto& field : msg) {
    req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  req.body = std::move(msg.body());
  return req;
}

// One connection over Stream: beast::tcp_stream, or an ssl_stream over one (TLS: the handshake
// comes first, within the header timeout). All members are touched only on the session's strand.
template <class Stream>
class Session : public SessionBase {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  template <class... Args>
  explicit Session(Listener* listener, Args&&... args)
      : stream_(std::forward<Args>(args)...), listener_(listener), shared_(listener->shared) {}

  ~Session() {
    shared_->connections->Add(-1);
    MutexLock lock(&shared_->mu);
    --shared_->live;
    shared_->cv.NotifyAll();
  }

  void Run() override {
    asio::dispatch(stream_.get_executor(), [self = Self()] { self->Begin(); });
  }

  // Drain: close now when idle between requests; otherwise finish what is in progress and close.
  void BeginShutdown() override {
    asio::dispatch(stream_.get_executor(), [self = Self()] {
      self->stopping_ = true;
      if (self->queue_.empty() && !self->writing_ && !self->in_request_) self->CloseNow();
    });
  }

 private:
  struct Slot {
    bool ready = false;
    bool close = false;
    bool head = false;
    http::response<http::string_body> res;
  };

  std::shared_ptr<Session> Self() {
    return std::static_pointer_cast<Session>(this->shared_from_this());
  }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void Begin() {
    if constexpr (kTls) {
      Tcp().expires_after(shared_->options.header_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec) {
          self->listener_->tls_failures->Add();
          EW_LOG(kDebug) << "server: " << self->listener_->spec.name
                         << ": TLS handshake failed: " << ec.message();
          return self->CloseNow();
        }
        self->ReadHeader();
      });
    } else {
      ReadHeader();
    }
  }

  void ReadHeader() {
    if (closed_ || read_done_) return;
    parser_.emplace();
    parser_->header_limit(shared_->options.header_limit);
    parser_->body_limit(listener_->spec.body_limit);
    reading_ = true;
    Tcp().expires_after(shared_->options.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, Self()));
  }

  void OnHeader(beast::error_code ec, size_t bytes) {
    listener_->bytes_received->Add(bytes);
    if (ec) return OnReadError(ec);
    in_request_ = true;
    auto& req = parser_->get();
    if (req[http::field::expect].size() > 0 && IEquals(req[http::field::expect], "100-continue") &&
        !parser_->is_done()) {
      if (queue_.empty() && !writing_) return WriteContinue();
      // Earlier responses are still being written (the client may already have read them and
      // sent this header before our write completion ran): the 100 goes out once they are all
      // written, never between them; OnWrite sends it. The body is not read before.
      continue_wanted_ = true;
      return;
    }
    ReadBody();
  }

  void WriteContinue() {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    Tcp().expires_after(shared_->options.body_timeout);
    asio::async_write(stream_, asio::buffer(kContinue),
                      [self = Self()](beast::error_code ec, size_t) {
                        if (ec) return self->CloseNow();
                        self->ReadBody();
                      });
  }

  void ReadBody() {
    // Beast reads at most the buffer's free capacity (at least 512 B) per receive: a small
    // buffer turns one 100 KB body into ~200 recvmsg calls, each with its own timer, strand hop
    // and futex traffic. Room for the body (capped) makes that one or two receives.
    const size_t want = std::clamp<size_t>(parser_->content_length().value_or(0) + buffer_.size(),
                                           kMinBodyReadBuffer, kMaxBodyReadBuffer);
    if (buffer_.capacity() < want) buffer_.reserve(want);
    Tcp().expires_after(shared_->options.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, Self()));
  }

  void OnBody(beast::error_code ec, size_t bytes) {
    reading_ = false;
    listener_->bytes_received->Add(bytes);
    if (ec) return OnReadError(ec);
    in_request_ = false;
    auto msg = parser_->release();
    bool keep_alive = msg.keep_alive() && !stopping_;
    bool head = msg.method() == http::verb::head;
    auto slot = std::make_shared<Slot>();
    slot->close = !keep_alive;
    slot->head = head;
    slot->res.version(msg.version());
    queue_.push_back(slot);
    Dispatch(ToRequest(std::move(msg)), slot);
    if (keep_alive) {
      if (queue_.size() < shared_->options.max_pipelined) ReadHeader();
    } else {
      read_done_ = true;
    }
  }

  // Runs the route handler; its answer comes back on this strand, in any order.
  void Dispatch(Request&& request, const std::shared_ptr<Slot>& slot) {
    auto done = [self = Self(), slot](Response response) {
      asio::post(self->stream_.get_executor(),
                 [self, slot, response = std::move(response)]() mutable {
                   self->Complete(slot, std::move(response));
                 });
    };
    try {
      listener_->spec.handler(std::move(request), std::move(done));
    } catch (const std::exception& e) {
      EW_LOG(kError) << "server: handler threw: " << e.what();
      Complete(slot, ErrorResponse(500, "internal error"));
    } catch (...) {
      EW_LOG(kError) << "server: handler threw a non-exception";
      Complete(slot, ErrorResponse(500, "internal error"));
    }
  }

  void Complete(const std::shared_ptr<Slot>& slot, Response response) {
    if (slot->ready) return;  // answered twice (a handler bug): keep the first
    shared_->CountRequest(listener_->spec.name, response.route, response.status);
    auto& res = slot->res;
    res.result(static_cast<unsigned>(response.status));
    res.set(http::field::server, "edgewise");
    res.set(http::field::content_type, response.content_type);
    for (auto& [k, v] : response.headers) res.set(k, v);
    if (stopping_) slot->close = true;
    res.keep_alive(!slot->close);
    res.body() = std::move(response.body);
    res.prepare_payload();
    if (slot->head) res.body().clear();  // Content-Length stays that of the full body
    slot->ready = true;
    MaybeWrite();
  }

  // Sends an error for a request that could not be read, then closes.
  void RespondAndClose(int status, std::string_view message) {
    read_done_ = true;
    auto slot = std::make_shared<Slot>();
    slot->close = true;
    slot->res.version(11);
    queue_.push_back(slot);
    Complete(slot, ErrorResponse(status, message));
  }

  void OnReadError(beast::error_code ec) {
    reading_ = false;
    bool partial = in_request_ || buffer_.size() > 0 || (parser_ && parser_->got_some());
    in_request_ = false;
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        (ec == beast::error::timeout && !partial)) {
      read_done_ = true;
      if (queue_.empty() && !writing_) CloseNow();
      return;
    }
    if (ec == beast::error::timeout) {
      EW_LOG(kDebug) << "server: " << listener_->spec.name << ": request read timed out";
      read_done_ = true;
      return RespondAndClose(408, "request timed out");
    }
    if (ec == http::error::body_limit) {
      return RespondAndClose(
          413, "request body larger than " + std::to_string(listener_->spec.body_limit) + " bytes");
    }
    if (ec == http::error::header_limit) return RespondAndClose(431, "request header too large");
    RespondAndClose(400, "malformed HTTP request: " + ec.message());
  }

  void MaybeWrite() {
    if (writing_ || closed_ || queue_.empty() || !queue_.front()->ready) return;
    writing_ = true;
    auto slot = queue_.front();
    Tcp().expires_after(shared_->options.body_timeout);
    http::async_write(stream_, slot->res, [self = Self(), slot](beast::error_code ec, size_t) {
      self->OnWrite(ec, slot);
    });
  }

  void OnWrite(beast::error_code ec, const std::shared_ptr<Slot>& slot) {
    writing_ = false;
    queue_.pop_front();
    if (ec) return CloseNow();
    if (slot->close) return ShutdownAfterClose();
    if (stopping_ && queue_.empty() && !in_request_) return CloseNow();
    MaybeWrite();
    if (continue_wanted_ && queue_.empty() && !writing_) {
      continue_wanted_ = false;
      return WriteContinue();
    }
    if (!reading_ && !read_done_ && queue_.size() < shared_->options.max_pipelined) ReadHeader();
    if (read_done_ && queue_.empty()) CloseNow();
  }

  // After a "Connection: close" response: stop sending, then read and discard what the client
  // still sends (for a short while) so that closing does not reset the response away.
  void ShutdownAfterClose() {
    beast::error_code ec;
    if constexpr (kTls) {
      if (reading_) {  // cancel the pipelined read first: its handler closes (queue is empty)
        Tcp().socket().cancel(ec);
        read_done_ = true;
        return;
      }
      // close_notify, then close (the client's close_notify or the timeout, whichever first).
      Tcp().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = Self()](beast::error_code) { self->CloseNow(); });
      return;
    }
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (reading_) {
      // A pipelined read is pending: cancel it; its handler sees operation_aborted.
      Tcp().socket().cancel(ec);
      read_done_ = true;
      return;
    }
    Tcp().expires_after(std::chrono::seconds(2));
    Discard();
  }

  void Discard() {
    stream_.async_read_some(asio::buffer(discard_), [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->CloseNow();
      self->Discard();
    });
  }

  void CloseNow() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    Tcp().socket().close(ec);
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::shared_ptr<Slot>> queue_;
  Listener* listener_;
  ServerShared* shared_;
  char discard_[4096];
  bool reading_ = false;     // a header or body read is pending
  bool in_request_ = false;  // a header has arrived, its body has not
  bool writing_ = false;
  bool continue_wanted_ = false;  // a "100 Continue" waits for the earlier responses
  bool read_done_ = false;        // no more requests are read on this connection
  bool closed_ = false;
  bool stopping_ = false;
};

}  // namespace

bool SplitHostPort(const std::string& address, std::string* host, uint16_t* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 >= address.size()) return false;
  std::string h = address.substr(0, colon);
  std::string p = address.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned long v = std::stoul(p);
  if (v > 65535) return false;
  *host = h;
  *port = static_cast<uint16_t>(v);
  return true;
}

// Member order matters: sessions still queued in `ioc` when it is destroyed use `shared`, the
// acceptors and signal set must go before `ioc`, and `ioc` before `more_iocs`.
struct HttpServer::Impl {
  ServerShared shared;
  // One io_context per I/O thread: `ioc` (thread 0: acceptors, signals, and sessions) and one
  // more per further thread. A connection lives on one context for its whole life (accepted
  // round-robin), so its reads, handlers and writes stay on one thread; with one context shared
  // by all threads, its reactor handed events between the threads (futex wake-ups, epoll_ctl on
  // the interrupter): per-thread contexts measured +13 % ingest spans per server CPU-s.
  // more_iocs outlive ioc: destroying ioc destroys its pending accept operations, whose
  // accepted sockets are bound to strands of the other contexts (TSan: "use of an invalid
  // mutex" in ~strand_impl when those contexts went first).
  std::vector<std::unique_ptr<asio::io_context>> more_iocs;
  asio::io_context ioc;
  std::atomic<uint32_t> next_ioc{0};
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::signal_set signals{ioc, SIGTERM, SIGINT};
  // SIGHUP's default action ends the process; here it calls on_hangup and the server goes on.
  asio::signal_set hangups{ioc, SIGHUP};
  std::optional<ssl::context> tls;  // when options.tls_cert is set; shared by every listener
  std::vector<std::unique_ptr<Listener>> listeners;
  std::vector<std::thread> threads;
  Mutex signal_mu;
  CondVar signal_cv;
  bool signalled GUARDED_BY(signal_mu) = false;

  Status Bind(Listener* l);
  asio::io_context& NextContext() {
    const uint32_t i = next_ioc.fetch_add(1, std::memory_order_relaxed) %
                       static_cast<uint32_t>(more_iocs.size() + 1);
    return i == 0 ? ioc : *more_iocs[i - 1];
  }
  void Accept(Listener* l);
  void OnAccept(Listener* l, beast::error_code ec, tcp::socket socket);
};

Status HttpServer::Impl::Bind(Listener* l) {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(l->spec.address, &host, &port)) {
    return Status::InvalidArgument("bad " + l->spec.name + " address '" + l->spec.address +
                                   "' (want HOST:PORT)");
  }
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument("cannot resolve " + l->spec.name + " address '" +
                                   l->spec.address + "': " + ec.message());
  }
  tcp::endpoint ep = results.begin()->endpoint();
  auto& a = l->acceptor.emplace(asio::make_strand(ioc));
  l->retry.emplace(a.get_executor());
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + l->spec.name + " address " + l->spec.address +
                           ": " + ec.message());
  }
  l->bound = FormatEndpoint(a.local_endpoint(ec));
  return Status::Ok();
}

void HttpServer::Impl::Accept(Listener* l) {
  l->acceptor->async_accept(
      asio::make_strand(NextContext()),
      [this, l](beast::error_code ec, tcp::socket socket) { OnAccept(l, ec, std::move(socket)); });
}

void HttpServer::Impl::OnAccept(Listener* l, beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !l->acceptor->is_open()) return;
  if (ec) {
    // Out of descriptors or similar: retrying at once would spin; wait a little.
    EW_LOG(kWarn) << "server: " << l->spec.name << ": accept failed: " << ec.message();
    l->retry->expires_after(std::chrono::milliseconds(100));
    l->retry->async_wait([this, l](beast::error_code wait_ec) {
      if (!wait_ec && l->acceptor->is_open()) Accept(l);
    });
    return;
  }
  if (shared.stopping.load()) {
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    socket.set_option(tcp::no_delay(true), ec);
    std::shared_ptr<SessionBase> session;
    if (l->tls != nullptr) {
      session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          l, std::move(socket), *l->tls);
    } else {
      session = std::make_shared<Session<beast::tcp_stream>>(l, std::move(socket));
    }
    {
      MutexLock lock(&shared.mu);
      ++shared.live;
      // Forget ended sessions once they are half of the list (amortized O(1) per accept).
      if (shared.sessions.size() >= 2 * shared.live + 16) {
        shared.sessions.remove_if([](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
      }
      shared.sessions.push_back(session);
    }
    shared.connections->Add(1);
    session->Run();
  }
  Accept(l);
}

HttpServer::HttpServer(HttpServerOptions options, MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->shared.options = options;
  impl_->shared.metrics = metrics;
  impl_->shared.connections = metrics->GetGauge("ew_http_connections", "HTTP connections open now");
}

HttpServer::~HttpServer() { Stop(); }

// The server's TLS context from PEM files: TLS 1.2 and later; with a client CA, clients must
// present a certificate it signed (mutual TLS).
Status LoadTls(const HttpServerOptions& o, std::optional<ssl::context>* out) {
  auto& ctx = out->emplace(ssl::context::tls_server);
  beast::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use,
                  ec);
  if (!ec) ctx.use_certificate_chain_file(o.tls_cert, ec);
  if (ec) return Status::InvalidArgument("tls-cert " + o.tls_cert + ": " + ec.message());
  ctx.use_private_key_file(o.tls_key, ssl::context::pem, ec);
  if (ec) return Status::InvalidArgument("tls-key " + o.tls_key + ": " + ec.message());
  if (!o.tls_client_ca.empty()) {
    ctx.load_verify_file(o.tls_client_ca, ec);
    if (ec) {
      return Status::InvalidArgument("tls-client-ca " + o.tls_client_ca + ": " + ec.message());
    }
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return Status::Internal("tls: " + ec.message());
  }
  return Status::Ok();
}

Status HttpServer::Start(std::vector<ListenerSpec> listeners) {
  if (!impl_->shared.options.tls_cert.empty()) {
    EW_RETURN_IF_ERROR(LoadTls(impl_->shared.options, &impl_->tls));
  }
  for (auto& spec : listeners) {
    auto l = std::make_unique<Listener>();
    l->bytes_received = impl_->shared.metrics->GetCounter(
        "ew_http_bytes_received_total", "bytes read from HTTP connections (headers and bodies)",
        {{"listener", spec.name}});
    l->tls_failures = impl_->shared.metrics->GetCounter(
        "ew_tls_handshake_failures_total", "TLS handshakes that failed (plain HTTP, bad certs)",
        {{"listener", spec.name}});
    l->tls = impl_->tls ? &*impl_->tls : nullptr;
    l->spec = std::move(spec);
    l->shared = &impl_->shared;
    EW_RETURN_IF_ERROR(impl_->Bind(l.get()));
    impl_->listeners.push_back(std::move(l));
  }
  WaitForHangup();
  impl_->signals.async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    EW_LOG(kInfo) << "server: signal " << sig << ", shutting down";
    MutexLock lock(&impl_->signal_mu);
    impl_->signalled = true;
    impl_->signal_cv.NotifyAll();
  });
  uint32_t n = std::max<uint32_t>(1, impl_->shared.options.io_threads);
  for (uint32_t i = 1; i < n; ++i)
    impl_->more_iocs.push_back(std::make_unique<asio::io_context>(1));
  for (auto& l : impl_->listeners) impl_->Accept(l.get());
  impl_->work.push_back(asio::make_work_guard(impl_->ioc));
  for (auto& c : impl_->more_iocs) impl_->work.push_back(asio::make_work_guard(*c));
  for (uint32_t i = 0; i < n; ++i) {
    asio::io_context* ctx = i == 0 ? &impl_->ioc : impl_->more_iocs[i - 1].get();
    impl_->threads.emplace_back([ctx, i] {
      SetThreadName("ew-io-" + std::to_string(i));
      for (;;) {
        try {
          ctx->run();
          return;
        } catch (const std::exception& e) {
          EW_LOG(kError) << "server: I/O thread caught: " << e.what();
        }
      }
    });
  }
  return Status::Ok();
}

void HttpServer::WaitForHangup() {
  impl_->hangups.async_wait([this](beast::error_code ec, int) {
    if (ec) return;
    EW_LOG(kInfo) << "server: SIGHUP";
    if (impl_->shared.options.on_hangup) impl_->shared.options.on_hangup();
    WaitForHangup();
  });
}

std::vector<std::string> HttpServer::BoundAddresses() const {
  std::vector<std::string> out;
  for (const auto& l : impl_->listeners) out.push_back(l->bound);
  return out;
}

void HttpServer::WaitForSignal() {
  MutexLock lock(&impl_->signal_mu);
  while (!impl_->signalled) impl_->signal_cv.Wait(impl_->signal_mu);
}

void HttpServer::StopAccepting() {
  impl_->shared.stopping.store(true);
  for (auto& l : impl_->listeners) {
    if (!l->acceptor) continue;
    std::promise<void> closed;
    asio::dispatch(l->acceptor->get_executor(), [&] {
      beast::error_code ec;
      l->acceptor->close(ec);
      l->retry->cancel();
      closed.set_value();
    });
    if (!impl_->threads.empty()) closed.get_future().wait();
  }
}

bool HttpServer::Drain(std::chrono::milliseconds timeout) {
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    MutexLock lock(&impl_->shared.mu);
    for (auto& w : impl_->shared.sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->BeginShutdown();
  live.clear();
  MutexLock lock(&impl_->shared.mu);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->shared.live != 0 && impl_->shared.cv.WaitUntil(impl_->shared.mu, deadline)) {
  }
  return impl_->shared.live == 0;
}

void HttpServer::Stop() {
  if (!impl_) return;
  impl_->shared.stopping.store(true);
  beast::error_code ec;
  impl_->signals.cancel(ec);
  impl_->hangups.cancel(ec);
  impl_->work.clear();
  impl_->ioc.stop();
  for (auto& c : impl_->more_iocs) c->stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

}  // namespace ew::server
