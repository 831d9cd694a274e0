// tools/http_client.h against a scripted peer on a local socket: the response forms an Edgewise
// server does not produce but HTTP allows (chunk extensions and trailers, close-delimited bodies,
// interim responses, HEAD), chunked request bodies, the one retry on a connection the server
// closed while idle, timeouts, and ReadUntilClose. (tests/server drives the same client against
// the real server.)
#include "tools/http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace ew::tools {
namespace {

// Accepts one connection per script, in order, and runs the script on it.
class ScriptedPeer {
 public:
  using Script = std::function<void(int fd)>;
  explicit ScriptedPeer(std::vector<Script> scripts) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, scripts = std::move(scripts)] {
      for (const Script& script : scripts) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        script(fd);
        ::close(fd);
      }
    });
  }
  ~ScriptedPeer() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // unblocks an accept no client will answer
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// Reads from fd until `end` has arrived (or the peer closed); returns everything read.
std::string ReadUntil(int fd, std::string_view end) {
  std::string in;
  char buf[4096];
  while (in.find(end) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  return in;
}

void Write(int fd, std::string_view s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

TEST(HttpConnection, ChunkedWithTrailersThenACloseDelimitedBody) {
  ScriptedPeer peer({[](int fd) {
    ReadUntil(fd, "\r\n\r\n");
    Write(fd,
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n"
          "0\r\nX-Trailer: 1\r\n\r\n");
    ReadUntil(fd, "\r\n\r\n");
    Write(fd, "HTTP/1.0 200 OK\r\nX-A: b\r\n\r\nuntil the end");
  }});
  HttpConnection c("127.0.0.1", peer.port(), std::chrono::seconds(10));
  auto first = c.Get("/a");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->body, "hello world");
  EXPECT_TRUE(first->keep_alive);
  auto second = c.Get("/b");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->body, "until the end");
  EXPECT_EQ(second->Header("x-a"), "b");
  EXPECT_EQ(second->Header("X-A"), "b");
  EXPECT_FALSE(second->keep_alive);
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(c.connections_opened(), 1);
}

TEST(HttpConnection, RetriesOnceOnAConnectionTheServerClosedWhileIdle) {
  auto answer_one = [](int fd) {
    ReadUntil(fd, "\r\n\r\n");
    Write(fd, "HTTP/1.1 204 No Content\r\n\r\n");
  };
  ScriptedPeer peer({answer_one, answer_one});
  HttpConnection c("127.0.0.1", peer.port(), std::chrono::seconds(10));
  ASSERT_TRUE(c.Get("/").ok());
  bool maybe_sent = false;
  auto r = c.Request("GET", "/", {}, "", &maybe_sent);  // the first connection is closed now
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 204);
  EXPECT_TRUE(maybe_sent);
  EXPECT_EQ(c.connections_opened(), 2);
}

TEST(HttpConnection, ChunkedRequestBodyIsWrittenAsSerialized) {
  std::string received;
  {
    ScriptedPeer peer({[&](int fd) {
      received = ReadUntil(fd, "0\r\n\r\n");
      Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }});
    HttpConnection c("127.0.0.1", peer.port(), std::chrono::seconds(10));
    HttpRequest req;
    req.method = "POST";
    req.target = "/v1/traces";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = "abcdefg";
    req.chunked = true;
    req.chunk_size = 3;
    auto r = c.Send(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "ok");
    EXPECT_EQ(received, c.Serialize(req));
  }
  EXPECT_NE(received.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << received;
  EXPECT_EQ(received.find("Content-Length"), std::string::npos) << received;
  EXPECT_NE(received.find("\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n1\r\ng\r\n0\r\n\r\n"), std::string::npos)
      << received;
}

TEST(HttpConnection, InterimAndHeadResponsesInRawMode) {
  ScriptedPeer peer({[](int fd) {
    ReadUntil(fd, "\r\n\r\n");
    Write(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    Write(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnot");
  }});
  HttpConnection c("127.0.0.1", peer.port(), std::chrono::seconds(10));
  ASSERT_TRUE(c.SendRaw("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  auto interim = c.ReadResponse();
  ASSERT_TRUE(interim.ok()) << interim.status().ToString();
  EXPECT_EQ(interim->status, 100);
  auto head = c.ReadResponse(/*head_request=*/true);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-length"), "5");
  EXPECT_EQ(head->body, "");
  auto next = c.ReadResponse();  // pipelined behind it
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->status, 404);
  EXPECT_EQ(next->body, "not");
}

TEST(HttpConnection, ASilentServerTimesOutAndReadUntilCloseReturnsWhatCame) {
  ScriptedPeer peer({[](int fd) { ReadUntil(fd, "never"); },
                     [](int fd) {
                       ReadUntil(fd, "\r\n\r\n");
                       Write(fd, "partial answer");
                     }});
  HttpConnection c("127.0.0.1", peer.port(), std::chrono::seconds(10));
  c.set_timeout(std::chrono::milliseconds(200));
  auto r = c.Get("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(c.connected());
  c.set_timeout(std::chrono::seconds(10));
  ASSERT_TRUE(c.SendRaw("GET / HTTP/1.1\r\n\r\n").ok());  // a second connection
  bool closed = false;
  EXPECT_EQ(c.ReadUntilClose(&closed, std::chrono::seconds(10)), "partial answer");
  EXPECT_TRUE(closed);
  EXPECT_EQ(c.connections_opened(), 2);
}

}  // namespace
}  // namespace ew::tools
