#include "tools/http_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
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

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

constexpr std::string_view kClosed = "connection closed by server";

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
    if (k == name) return v;
  }
  return {};
}

HttpConnection::HttpConnection(HostPort target, int timeout_ms)
    : target_(std::move(target)), timeout_ms_(timeout_ms) {}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
  pos_ = 0;
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
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
      break;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) {
    return Status::Unavailable("connecting to " + target_.host + ":" + port + ": " + last_error);
  }
  return Status::Ok();
}

Status HttpConnection::WriteAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(std::string("send: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
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

Result<HttpResponse> HttpConnection::ReadResponse() {
  size_t header_end;
  while ((header_end = buf_.find("\r\n\r\n", pos_)) == std::string::npos) {
    if (buf_.size() - pos_ > (1 << 20)) return Status::Unavailable("response header too large");
    EW_RETURN_IF_ERROR(Fill());
  }
  HttpResponse resp;
  std::string_view head(buf_.data() + pos_, header_end - pos_);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    return Status::Unavailable("bad status line from server");
  }
  std::from_chars(status_line.data() + 9, status_line.data() + 12, resp.status);
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    resp.headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                              std::string(Trim(line.substr(colon + 1))));
  }
  pos_ = header_end + 4;
  if (Lower(resp.Header("transfer-encoding")).find("chunked") != std::string::npos) {
    for (;;) {
      size_t eol;
      while ((eol = buf_.find("\r\n", pos_)) == std::string::npos) EW_RETURN_IF_ERROR(Fill());
      size_t size = 0;
      std::from_chars(buf_.data() + pos_, buf_.data() + eol, size, 16);
      pos_ = eol + 2;
      while (buf_.size() - pos_ < size + 2) EW_RETURN_IF_ERROR(Fill());
      resp.body.append(buf_, pos_, size);
      pos_ += size + 2;
      if (size == 0) break;  // Edgewise sends no trailers
    }
  } else {
    size_t length = 0;
    std::string_view cl = resp.Header("content-length");
    std::from_chars(cl.data(), cl.data() + cl.size(), length);
    while (buf_.size() - pos_ < length) EW_RETURN_IF_ERROR(Fill());
    resp.body.assign(buf_, pos_, length);
    pos_ += length;
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  if (Lower(resp.Header("connection")) == "close") Close();
  return resp;
}

Result<HttpResponse> HttpConnection::Request(
    std::string_view method, std::string_view target,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
    bool* maybe_sent) {
  std::string head;
  head.reserve(256);
  head.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  head.append(target_.host).append(":").append(std::to_string(target_.port)).append("\r\n");
  for (const auto& [k, v] : headers) head.append(k).append(": ").append(v).append("\r\n");
  if (!body.empty() || method == "POST") {
    head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  head.append("\r\n");
  if (maybe_sent) *maybe_sent = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = fd_ < 0;
    if (fresh) EW_RETURN_IF_ERROR(Connect());
    Status st = WriteAll(head);
    if (st.ok() && !body.empty()) st = WriteAll(body);
    if (st.ok()) {
      if (maybe_sent) *maybe_sent = true;
      Result<HttpResponse> r = ReadResponse();
      if (r.ok()) return r;
      st = r.status();
      Close();
      // A kept-alive connection that the server closed while idle: nothing was processed.
      if (!fresh && st.message() == kClosed) {
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
