#include "tests/common/http_client.h"

#include <strings.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <optional>

namespace ew::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the io_context until the posted async operation completes.
  void Run() {
    ioc.restart();
    ioc.run();
  }
};

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool HasHeaderIn(const HttpHeaders& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (IEquals(k, name)) return true;
  }
  return false;
}

Status NetError(const char* what, const beast::error_code& ec) {
  return Status::Unavailable(std::string(what) + ": " + ec.message());
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

bool HttpResponse::HasHeader(std::string_view name) const { return HasHeaderIn(headers, name); }

HttpClient::HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), host_(std::move(host)), port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() { Close(); }

bool HttpClient::connected() const { return impl_->stream.has_value(); }

void HttpClient::Close() {
  if (!impl_->stream) return;
  beast::error_code ec;
  impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
  impl_->stream->socket().close(ec);
  impl_->stream.reset();
  impl_->buffer.clear();
}

Status HttpClient::Connect() {
  Close();
  beast::error_code ec;
  auto address = asio::ip::make_address(host_, ec);
  if (ec) return Status::InvalidArgument("bad host " + host_ + ": " + ec.message());
  impl_->stream.emplace(impl_->ioc);
  impl_->stream->expires_after(timeout_);
  beast::error_code result;
  impl_->stream->async_connect(tcp::endpoint(address, port_),
                               [&](beast::error_code e) { result = e; });
  impl_->Run();
  if (result) {
    impl_->stream.reset();
    return NetError("connect", result);
  }
  ++connections_opened_;
  return Status::Ok();
}

Status HttpClient::SendRaw(std::string_view bytes) {
  if (!impl_->stream) EW_RETURN_IF_ERROR(Connect());
  impl_->stream->expires_after(timeout_);
  beast::error_code result;
  asio::async_write(*impl_->stream, asio::buffer(bytes.data(), bytes.size()),
                    [&](beast::error_code e, size_t) { result = e; });
  impl_->Run();
  if (result) {
    Close();
    return NetError("write", result);
  }
  return Status::Ok();
}

Result<HttpResponse> HttpClient::ReadResponse(bool head_request) {
  if (!impl_->stream) return Status::FailedPrecondition("not connected");
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ULL << 30);
  parser.skip(head_request);
  impl_->stream->expires_after(timeout_);
  beast::error_code result;
  http::async_read(*impl_->stream, impl_->buffer, parser,
                   [&](beast::error_code e, size_t) { result = e; });
  impl_->Run();
  if (result) {
    Close();
    return NetError("read", result);
  }
  auto& msg = parser.get();
  HttpResponse response;
  response.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(msg.body());
  response.keep_alive = msg.keep_alive();
  if (!response.keep_alive) Close();
  return response;
}

std::string HttpClient::ReadUntilClose(bool* closed, std::chrono::milliseconds timeout) {
  *closed = false;
  if (!impl_->stream) {
    *closed = true;
    return {};
  }
  std::string data(static_cast<const char*>(impl_->buffer.data().data()), impl_->buffer.size());
  impl_->buffer.clear();
  impl_->stream->expires_after(timeout);
  char chunk[4096];
  while (true) {
    beast::error_code result;
    size_t got = 0;
    impl_->stream->async_read_some(asio::buffer(chunk), [&](beast::error_code e, size_t n) {
      result = e;
      got = n;
    });
    impl_->Run();
    data.append(chunk, got);
    if (result) {
      *closed = result != beast::error::timeout;
      break;
    }
  }
  Close();
  return data;
}

std::string HttpClient::Serialize(const HttpRequest& request) const {
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
  if (!HasHeaderIn(request.headers, "Host")) {
    out += "Host: " + host_ + ":" + std::to_string(port_) + "\r\n";
  }
  if (!HasHeaderIn(request.headers, "User-Agent")) out += "User-Agent: ew-test\r\n";
  for (const auto& [k, v] : request.headers) out += k + ": " + v + "\r\n";
  bool has_length = HasHeaderIn(request.headers, "Content-Length") ||
                    HasHeaderIn(request.headers, "Transfer-Encoding");
  if (request.chunked) {
    if (!has_length) out += "Transfer-Encoding: chunked\r\n";
    out += "\r\n";
    size_t step = request.chunk_size == 0 ? 4096 : request.chunk_size;
    for (size_t pos = 0; pos < request.body.size(); pos += step) {
      size_t n = std::min(step, request.body.size() - pos);
      char size_line[32];
      std::snprintf(size_line, sizeof(size_line), "%zx\r\n", n);
      out += size_line;
      out.append(request.body, pos, n);
      out += "\r\n";
    }
    out += "0\r\n\r\n";
    return out;
  }
  if (!has_length &&
      (!request.body.empty() || request.method == "POST" || request.method == "PUT")) {
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += request.body;
  return out;
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  std::string wire = Serialize(request);
  bool reused = connected();
  for (int attempt = 0; attempt < 2; ++attempt) {
    Status st = SendRaw(wire);
    if (st.ok()) {
      bool buffered = impl_->buffer.size() > 0;
      Result<HttpResponse> r = ReadResponse(request.method == "HEAD");
      if (r.ok() || !reused || buffered || attempt == 1) return r;
    } else if (!reused || attempt == 1) {
      return st;
    }
    // The kept-alive connection was closed by the server: retry once on a fresh one.
    reused = false;
    Close();
  }
  return Status::Internal("unreachable");
}

Result<HttpResponse> HttpClient::Get(const std::string& target, const HttpHeaders& headers) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  r.headers = headers;
  return Send(r);
}

Result<HttpResponse> HttpClient::Post(const std::string& target, std::string body,
                                      const std::string& content_type, const HttpHeaders& headers) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.headers = headers;
  if (!content_type.empty() && !HasHeaderIn(headers, "Content-Type")) {
    r.headers.emplace_back("Content-Type", content_type);
  }
  r.body = std::move(body);
  return Send(r);
}

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace ew::testing
