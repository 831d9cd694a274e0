#include "tools/http_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace ew::tools {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool HasHeaderIn(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

constexpr std::string_view kClosed = "connection closed by server";

// The request line and headers (Host and Content-Length added unless given); a chunked body is
// appended in its chunks, any other body is left to the caller.
std::string Head(const HostPort& target, std::string_view method, std::string_view path,
                 const HttpHeaders& headers, size_t body_size, bool chunked) {
  std::string head;
  head.reserve(256);
  head.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  if (!HasHeaderIn(headers, "host")) {
    head.append("Host: ").append(target.host).append(":");
    head.append(std::to_string(target.port)).append("\r\n");
  }
  for (const auto& [k, v] : headers) head.append(k).append(": ").append(v).append("\r\n");
  const bool has_length =
      HasHeaderIn(headers, "content-length") || HasHeaderIn(headers, "transfer-encoding");
  if (chunked) {
    if (!has_length) head.append("Transfer-Encoding: chunked\r\n");
  } else if (!has_length && (body_size > 0 || method == "POST" || method == "PUT")) {
    head.append("Content-Length: ").append(std::to_string(body_size)).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

void AppendChunked(std::string_view body, size_t chunk_size, std::string* out) {
  const size_t step = chunk_size == 0 ? 4096 : chunk_size;
  for (size_t pos = 0; pos < body.size(); pos += step) {
    const size_t n = std::min(step, body.size() - pos);
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
    out->append(size_line).append(body.substr(pos, n)).append("\r\n");
  }
  out->append("0\r\n\r\n");
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view text) {
  std::string_view t = text;
  if (t.substr(0, 7) == "http://") t.remove_prefix(7);
  while (!t.empty() && t.back() == '/') t.remove_suffix(1);
  size_t colon = t.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument("expected HOST:PORT, got '" + std::string(text) + "'");
  }
  unsigned port = 0;
  std::string_view p = t.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || ptr != p.data() + p.size() || port == 0 || port > 65535) {
    return Status::InvalidArgument("bad port in '" + std::string(text) + "'");
  }
  HostPort hp;
  hp.host = std::string(t.substr(0, colon));
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

bool HttpResponse::HasHeader(std::string_view name) const { return HasHeaderIn(headers, name); }

HttpConnection::HttpConnection(HostPort target, int timeout_ms)
    : target_(std::move(target)), timeout_ms_(timeout_ms) {}

HttpConnection::HttpConnection(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : HttpConnection(HostPort{std::move(host), port}, static_cast<int>(timeout.count())) {}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
  pos_ = 0;
}

void HttpConnection::set_timeout(std::chrono::milliseconds timeout) {
  timeout_ms_ = static_cast<int>(timeout.count());
  if (fd_ >= 0) ApplyTimeout();
}

void HttpConnection::ApplyTimeout() {
  timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect()
}

Status HttpConnection::Connect() {
  Close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(target_.port);
  int rc = ::getaddrinfo(target_.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::Unavailable("resolving " + target_.host + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd_ < 0) continue;
    ApplyTimeout();
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) break;
    last_error = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) {
    return Status::Unavailable("connecting to " + target_.host + ":" + port + ": " + last_error);
  }
  ++connections_opened_;
  return Status::Ok();
}

// Writes head and body with one sendmsg where the socket takes them (no copy of the body).
Status HttpConnection::WriteAll(std::string_view head, std::string_view body) {
  while (!head.empty() || !body.empty()) {
    iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                    {const_cast<char*>(body.data()), body.size()}};
    msghdr msg{};
    msg.msg_iov = head.empty() ? iov + 1 : iov;
    msg.msg_iovlen = head.empty() ? 1 : 2;
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Unavailable("write timed out");
      return Status::Unavailable(std::string("send: ") + std::strerror(errno));
    }
    size_t sent = static_cast<size_t>(n);
    const size_t from_head = std::min(sent, head.size());
    head.remove_prefix(from_head);
    body.remove_prefix(sent - from_head);
  }
  return Status::Ok();
}

Status HttpConnection::SendRaw(std::string_view bytes) {
  if (fd_ < 0) EW_RETURN_IF_ERROR(Connect());
  Status st = WriteAll(bytes);
  if (!st.ok()) Close();
  return st;
}

Status HttpConnection::Fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  char tmp[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      buf_.append(tmp, static_cast<size_t>(n));
      return Status::Ok();
    }
    if (n == 0) return Status::Unavailable(std::string(kClosed));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Unavailable("read timed out");
    if (errno == ECONNRESET) return Status::Unavailable(std::string(kClosed));
    return Status::Unavailable(std::string("recv: ") + std::strerror(errno));
  }
}

// Status line and headers; sets keep_alive from the version and Connection.
Status HttpConnection::ReadHead(HttpResponse* resp) {
  size_t header_end;
  while ((header_end = buf_.find("\r\n\r\n", pos_)) == std::string::npos) {
    if (buf_.size() - pos_ > (1 << 20)) return Status::Unavailable("response header too large");
    EW_RETURN_IF_ERROR(Fill());
  }
  std::string_view head(buf_.data() + pos_, header_end - pos_);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    return Status::Unavailable("bad status line from server");
  }
  std::from_chars(status_line.data() + 9, status_line.data() + 12, resp->status);
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    resp->headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                               std::string(Trim(line.substr(colon + 1))));
  }
  const std::string connection = Lower(resp->Header("connection"));
  resp->keep_alive = status_line.substr(0, 8) == "HTTP/1.0"
                         ? connection.find("keep-alive") != std::string::npos
                         : connection.find("close") == std::string::npos;
  pos_ = header_end + 4;
  return Status::Ok();
}

Status HttpConnection::ReadChunkedBody(HttpResponse* resp) {
  for (;;) {
    size_t eol;
    while ((eol = buf_.find("\r\n", pos_)) == std::string::npos) EW_RETURN_IF_ERROR(Fill());
    size_t size = 0;
    auto [ptr, ec] = std::from_chars(buf_.data() + pos_, buf_.data() + eol, size, 16);
    if (ec != std::errc() || ptr == buf_.data() + pos_) {
      return Status::Unavailable("bad chunk size from server");
    }
    pos_ = eol + 2;
    if (size == 0) break;
    while (buf_.size() - pos_ < size + 2) EW_RETURN_IF_ERROR(Fill());
    resp->body.append(buf_, pos_, size);
    pos_ += size + 2;
  }
  for (;;) {  // trailer lines up to the empty one
    size_t eol;
    while ((eol = buf_.find("\r\n", pos_)) == std::string::npos) EW_RETURN_IF_ERROR(Fill());
    const bool last = eol == pos_;
    pos_ = eol + 2;
    if (last) return Status::Ok();
  }
}

Status HttpConnection::ReadBody(HttpResponse* resp, bool head_request) {
  if (head_request || resp->status / 100 == 1 || resp->status == 204 || resp->status == 304) {
    return Status::Ok();
  }
  if (Lower(resp->Header("transfer-encoding")).find("chunked") != std::string::npos) {
    return ReadChunkedBody(resp);
  }
  std::string_view cl = resp->Header("content-length");
  if (cl.empty() && !resp->keep_alive) {  // the body runs to the end of the connection
    Status st;
    while ((st = Fill()).ok()) {
    }
    if (st.message() != kClosed) return st;
    resp->body.assign(buf_, pos_);
    pos_ = buf_.size();
    return Status::Ok();
  }
  size_t length = 0;
  std::from_chars(cl.data(), cl.data() + cl.size(), length);
  while (buf_.size() - pos_ < length) EW_RETURN_IF_ERROR(Fill());
  resp->body.assign(buf_, pos_, length);
  pos_ += length;
  return Status::Ok();
}

Result<HttpResponse> HttpConnection::ReadResponse(bool head_request) {
  if (fd_ < 0) return Status::FailedPrecondition("not connected");
  HttpResponse resp;
  Status st = ReadHead(&resp);
  if (st.ok()) st = ReadBody(&resp, head_request);
  if (!st.ok()) {
    Close();
    return st;
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  if (!resp.keep_alive) Close();
  return resp;
}

std::string HttpConnection::ReadUntilClose(bool* closed, std::chrono::milliseconds timeout) {
  *closed = fd_ < 0;
  std::string data = buf_.substr(pos_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char tmp[4096];
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;  // timed out
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      data.append(tmp, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      *closed = true;  // EOF or reset
      break;
    }
  }
  Close();
  return data;
}

std::string HttpConnection::Serialize(const HttpRequest& request) const {
  std::string out = Head(target_, request.method, request.target, request.headers,
                         request.body.size(), request.chunked);
  if (request.chunked) {
    AppendChunked(request.body, request.chunk_size, &out);
  } else {
    out.append(request.body);
  }
  return out;
}

Result<HttpResponse> HttpConnection::Exchange(std::string_view head, std::string_view body,
                                              bool head_request, bool* maybe_sent) {
  if (maybe_sent) *maybe_sent = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = fd_ < 0;
    if (fresh) EW_RETURN_IF_ERROR(Connect());
    const bool buffered = pos_ < buf_.size();
    Status st = WriteAll(head, body);
    if (st.ok()) {
      if (maybe_sent) *maybe_sent = true;
      Result<HttpResponse> r = ReadResponse(head_request);
      if (r.ok()) return r;
      st = r.status();
      Close();
      // A kept-alive connection that the server closed while idle: nothing was processed.
      if (!fresh && !buffered && st.message() == kClosed) {
        if (maybe_sent) *maybe_sent = false;
        continue;
      }
      return st;
    }
    Close();
    if (fresh) return st;
  }
  return Status::Unavailable("connection closed twice");
}

Result<HttpResponse> HttpConnection::Request(std::string_view method, std::string_view target,
                                             const HttpHeaders& headers, std::string_view body,
                                             bool* maybe_sent) {
  const std::string head = Head(target_, method, target, headers, body.size(), false);
  return Exchange(head, body, method == "HEAD", maybe_sent);
}

Result<HttpResponse> HttpConnection::Send(const HttpRequest& request, bool* maybe_sent) {
  if (!request.chunked) {
    return Request(request.method, request.target, request.headers, request.body, maybe_sent);
  }
  return Exchange(Serialize(request), {}, request.method == "HEAD", maybe_sent);
}

Result<HttpResponse> HttpConnection::Get(std::string_view target, const HttpHeaders& headers) {
  return Request("GET", target, headers, "");
}

Result<HttpResponse> HttpConnection::Post(std::string_view target, std::string_view body,
                                          std::string_view content_type,
                                          const HttpHeaders& headers) {
  if (content_type.empty() || HasHeaderIn(headers, "content-type")) {
    return Request("POST", target, headers, body);
  }
  HttpHeaders with_type = headers;
  with_type.emplace_back("Content-Type", std::string(content_type));
  return Request("POST", target, with_type, body);
}

Result<HttpResponse> HttpGet(const HostPort& target, std::string_view path, int timeout_ms) {
  HttpConnection c(target, timeout_ms);
  return c.Get(path);
}

std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace ew::tools
