// The Beast server over real loopback sockets: keep-alive, 100-continue, limits, timeouts, shutdown.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "http/server.hpp"

using namespace dragon;
using namespace dragon::http;
using namespace std::chrono_literals;

namespace {

class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  void send(std::string_view s) {
    std::size_t off = 0;
    while (off < s.size()) {
      auto n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }
  // Reads until `until` appears (or the peer closes / the timeout passes).
  std::string read_until(std::string_view until, std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.find(until) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[8192];
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
    auto pos = buffer_.find(until);
    std::string out;
    if (pos == std::string::npos) {
      out.swap(buffer_);
    } else {
      out = buffer_.substr(0, pos + until.size());
      buffer_.erase(0, pos + until.size());
    }
    return out;
  }
  // One full response with a Content-Length body.
  std::string response() {
    auto head = read_until("\r\n\r\n");
    auto cl = head.find("Content-Length: ");
    if (cl == std::string::npos) cl = head.find("content-length: ");
    if (cl != std::string::npos) {
      const auto n = std::stoul(head.substr(cl + 16));
      while (buffer_.size() < n && !closed_) read_more();
      head += buffer_.substr(0, n);
      buffer_.erase(0, std::min(n, buffer_.size()));
    }
    return head;
  }
  bool closed_by_peer(std::chrono::milliseconds timeout = 3000ms) {
    read_until("\x01\x02never", timeout);
    return closed_;
  }

 private:
  void read_more() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 3000) <= 0) {
      closed_ = true;
      return;
    }
    char buf[8192];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = true;
      return;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

struct ServerFixture : ::testing::Test {
  net::LoopPool loops{2, 2};
  Router router;
  std::unique_ptr<Service> service;
  std::unique_ptr<Server> server;
  std::atomic<int> slow_started{0};

  void SetUp() override {
    router.add(Method::Get, "/ping", [](Request&) { return Response::text(200, "pong"); }, {.access = Access::Public});
    router.add(Method::Put, "/upload", [](Request& r) { return Response::text(201, std::to_string(r.body.size())); },
               {.access = Access::Public, .max_body = 1000});
    router.add(Method::Put, "/guarded", [](Request& r) { return Response::text(204, r.body); },
               {.access = Access::Custom, .max_body = 1000, .precheck = [](Request& r) -> std::optional<Response> {
                  if (r.header("Authorization")) return std::nullopt;
                  auto res = Response::error(401);
                  res.headers.set("WWW-Authenticate", "Basic realm=\"Restricted\"");
                  return res;
                }});
    router.add(Method::Get, "/slow", [this](Request&) {
      return Response::deferred([this] {
        slow_started++;
        std::this_thread::sleep_for(700ms);
        return Response::text(200, "done");
      });
    }, {.access = Access::Public});
    router.add(Method::Get, "/deferred-capture", [](Request&) {
      // The captured string must survive until the blocking pool runs the work.
      return Response::deferred([msg = std::string(200, 'x')] { return Response::text(200, msg); });
    }, {.access = Access::Public});
    router.add(Method::Get, "/delayed", [](Request&) {
      auto r = Response::text(200, "late");
      r.delay = 300ms;
      return r;
    }, {.access = Access::Public});
    service = std::make_unique<Service>(router, ServiceOptions{}, nullptr);
    ServerOptions o;
    o.address = "127.0.0.1:0";
    o.read_header_timeout = 1s;
    o.idle_timeout = 2s;
    o.header_limit = 4096;
    loops.start();
    server = std::make_unique<Server>(loops, *service, o);
    server->start();
  }
  void TearDown() override {
    server->shutdown(1s);
    loops.stop();
  }
};

}  // namespace

TEST_F(ServerFixture, KeepAliveServesManyRequestsOnOneConnection) {
  Client c(server->local_port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 20; ++i) {
    c.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ASSERT_NE(r.find("200 OK"), std::string::npos) << r;
    ASSERT_NE(r.find("pong"), std::string::npos);
  }
  EXPECT_EQ(server->connection_count(), 1u);
}

TEST_F(ServerFixture, PipelinedRequestsAreAnsweredInOrder) {
  Client c(server->local_port());
  c.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\nPUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.response().find("pong"), std::string::npos);
  auto up = c.response();
  EXPECT_NE(up.find("201"), std::string::npos) << up;
  EXPECT_NE(c.response().find("pong"), std::string::npos);
}

TEST_F(ServerFixture, ExpectContinueAuthFailsBeforeBody) {
  Client c(server->local_port());
  // FFmpeg's upload: chunked, Expect: 100-continue, no credentials until challenged.
  c.send("PUT /guarded HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
  auto r = c.read_until("\r\n\r\n");
  EXPECT_NE(r.find("401"), std::string::npos) << r;
  EXPECT_NE(r.find("WWW-Authenticate: Basic"), std::string::npos) << r;
  Client c2(server->local_port());
  c2.send("PUT /guarded HTTP/1.1\r\nHost: x\r\nAuthorization: Basic eDp5\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
  auto cont = c2.read_until("\r\n\r\n");
  EXPECT_NE(cont.find("100 Continue"), std::string::npos) << cont;
  c2.send("5\r\nhello\r\n0\r\n\r\n");
  auto done = c2.read_until("\r\n\r\n");
  EXPECT_NE(done.find("204"), std::string::npos) << done;
}

TEST_F(ServerFixture, OversizedBodyGets413AndClose) {
  Client c(server->local_port());
  c.send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  auto r = c.response();
  EXPECT_NE(r.find("413"), std::string::npos) << r;
  EXPECT_TRUE(c.closed_by_peer());
  // Chunked bodies have no declared length: the limit applies while reading.
  Client c2(server->local_port());
  c2.send("PUT /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; ++i) c2.send("1f4\r\n" + std::string(500, 'a') + "\r\n");
  auto r2 = c2.response();
  EXPECT_NE(r2.find("413"), std::string::npos) << r2;
}

TEST_F(ServerFixture, OversizedHeaderGets431) {
  Client c(server->local_port());
  c.send("GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  auto r = c.response();
  EXPECT_NE(r.find("431"), std::string::npos) << r;
}

TEST_F(ServerFixture, GarbageGets400AndServerKeepsServing) {
  {
    Client c(server->local_port());
    c.send("\x16\x03\x01 this is not http\r\n\r\n");
    auto r = c.response();
    EXPECT_NE(r.find("400"), std::string::npos) << r;
  }
  {
    Client c(server->local_port());
    c.send("GET ../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(c.response().find("400"), std::string::npos);
  }
  Client ok(server->local_port());
  ok.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(ok.response().find("pong"), std::string::npos);
}

TEST_F(ServerFixture, SlowHeaderIsCutOffByReadHeaderTimeout) {
  Client c(server->local_port());
  c.send("GET /ping HTTP/1.1\r\n");  // never finishes the header
  EXPECT_TRUE(c.closed_by_peer(3000ms));
}

TEST_F(ServerFixture, IdleKeepAliveConnectionClosedAfterIdleTimeout) {
  Client c(server->local_port());
  c.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.response().find("pong"), std::string::npos);
  EXPECT_TRUE(c.closed_by_peer(4000ms));
}

TEST_F(ServerFixture, DeferredWorkKeepsItsCaptures) {
  Client c(server->local_port());
  for (int i = 0; i < 5; ++i) {
    c.send("GET /deferred-capture HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    ASSERT_NE(r.find(std::string(200, 'x')), std::string::npos) << r;
  }
}

TEST_F(ServerFixture, DelayedResponseDoesNotBlockOthers) {
  Client slow(server->local_port());
  slow.send("GET /delayed HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto t0 = std::chrono::steady_clock::now();
  Client fast(server->local_port());
  fast.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(fast.response().find("pong"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_NE(slow.response().find("late"), std::string::npos);
}

TEST_F(ServerFixture, GracefulShutdownFinishesInFlightAndClosesIdle) {
  const auto port = server->local_port();
  Client idle(port);
  idle.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(idle.response().find("pong"), std::string::npos);
  Client busy(server->local_port());
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  while (slow_started.load() == 0) std::this_thread::sleep_for(5ms);
  std::thread stopper([&] { server->shutdown(5s); });
  auto r = busy.response();
  EXPECT_NE(r.find("done"), std::string::npos) << r;
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  EXPECT_TRUE(idle.closed_by_peer(2000ms));
  stopper.join();
  EXPECT_EQ(server->connection_count(), 0u);
  Client late(port);
  EXPECT_FALSE(late.connected());
}

TEST(HttpServerAddress, SplitHostPort) {
  std::string host;
  std::uint16_t port = 0;
  EXPECT_TRUE(split_host_port(":8080", host, port));
  EXPECT_EQ(host, "");
  EXPECT_EQ(port, 8080);
  EXPECT_TRUE(split_host_port("127.0.0.1:1", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_TRUE(split_host_port("[::1]:443", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_TRUE(split_host_port("8080", host, port));
  EXPECT_FALSE(split_host_port("::1:80", host, port));
  EXPECT_FALSE(split_host_port("host:99999", host, port));
  EXPECT_FALSE(split_host_port("host:", host, port));
  EXPECT_FALSE(split_host_port("", host, port));
}
