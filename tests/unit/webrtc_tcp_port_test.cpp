// The passive ICE-TCP port on a real loopback socket: hostile peers are closed (garbage, a non-STUN
// first frame, invalid lengths, silence, over the connection limit), a thousand of them leave no
// descriptor behind, a STUN check gets a framed answer, and a viewer that does not read loses
// packets instead of blocking the loop.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "webrtc/stun.hpp"
#include "webrtc/tcp_framing.hpp"
#include "webrtc/tcp_port.hpp"

using namespace dragon::webrtc;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

constexpr std::string_view k_server_ufrag = "srvU";
constexpr std::string_view k_client_ufrag = "cliU";
constexpr std::string_view k_server_pwd = "server-password-0123456789";

std::size_t open_fds() {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

// A TcpPort on its own loop thread; the handler plays the server: it accepts STUN Binding
// requests for k_server_ufrag with valid integrity (answering them) and, afterwards, anything
// from the same connection.
struct Harness {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::unique_ptr<TcpPort> port;
  std::thread thread;
  std::uint16_t tcp_port = 0;
  std::atomic<int> frames{0};
  std::atomic<int> checks{0};
  std::vector<Endpoint> known;  // loop thread only

  explicit Harness(TcpPortOptions options) {
    port = std::make_unique<TcpPort>(
        io, [this](std::span<std::uint8_t> f, const Endpoint& from) { return handle(f, from); }, options);
    std::string error;
    if (!port->bind("127.0.0.1:0", error)) throw std::runtime_error(error);
    port->start();
    tcp_port = port->local_port();
    thread = std::thread([this] { io.run(); });
  }
  ~Harness() {
    on_loop([this] {
      port.reset();
      return 0;
    });
    work.reset();
    io.stop();
    thread.join();
  }

  template <class F>
  auto on_loop(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io, [&task] { task(); });
    return fut.get();
  }
  TcpPortStats stats() {
    return on_loop([this] { return port->stats(); });
  }

  bool handle(std::span<std::uint8_t> f, const Endpoint& from) {
    EXPECT_TRUE(from.tcp);
    ++frames;
    const bool is_known = std::find(known.begin(), known.end(), from) != known.end();
    if (!is_stun(f)) return is_known;
    const auto m = parse_stun(f);
    if (!m || m->type != k_stun_binding_request) return is_known;
    const std::string expected = std::string(k_server_ufrag) + ":" + std::string(k_client_ufrag);
    if (m->username != expected || !verify_integrity(f, *m, k_server_pwd)) return is_known;
    std::uint8_t out[256];
    const auto n = write_binding_success(out, m->transaction_id, from.sa(), k_server_pwd);
    EXPECT_TRUE(port->send(from, {out, n}));
    ++checks;
    if (!is_known) known.push_back(from);
    return true;
  }
};

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::vector<std::uint8_t>& b) {
  std::size_t off = 0;
  while (off < b.size()) {
    const ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// True once the server closed the connection (EOF or reset) within `timeout`; reads and discards
// anything it sent before.
bool closed_by_peer(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint8_t buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto remaining = deadline - std::chrono::steady_clock::now();
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(remaining).count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
  return false;
}

// Reads one framed packet (blocking up to `timeout`).
std::optional<std::vector<std::uint8_t>> read_frame(int fd, TcpFrameDecoder& d, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint8_t byte;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    if (::recv(fd, &byte, 1, 0) != 1) return std::nullopt;  // one byte at a time: exercises every split
    const auto r = d.next({&byte, 1});
    if (r.status == TcpFrameDecoder::Status::Error) return std::nullopt;
    if (r.status == TcpFrameDecoder::Status::Frame) return std::vector<std::uint8_t>(r.frame.begin(), r.frame.end());
  }
  return std::nullopt;
}

std::vector<std::uint8_t> framed(std::span<const std::uint8_t> p) {
  std::vector<std::uint8_t> out(2 + p.size());
  write_tcp_frame_header(out, p.size());
  std::memcpy(out.data() + 2, p.data(), p.size());
  return out;
}

std::vector<std::uint8_t> binding_request(std::string_view ufrag, std::string_view pwd, std::uint8_t tid_seed) {
  StunTransactionId tid{};
  for (std::size_t i = 0; i < tid.size(); ++i) tid[i] = static_cast<std::uint8_t>(tid_seed + i);
  std::uint8_t out[512];
  const std::string username = std::string(ufrag) + ":" + std::string(k_client_ufrag);
  const auto n = write_binding_request(out, tid, username, pwd, 1853824767, true, 42, true);
  return framed({out, n});
}

TcpPortOptions fast_options() {
  TcpPortOptions o;
  o.first_frame_timeout = 400ms;
  o.idle_timeout = 400ms;
  o.sweep_interval = 50ms;
  return o;
}

}  // namespace

TEST(TcpPort, StunCheckGetsFramedSuccessThenLaterFramesFlow) {
  auto o = fast_options();
  o.idle_timeout = 1500ms;
  Harness h(o);
  const int fd = connect_to(h.tcp_port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, binding_request(k_server_ufrag, k_server_pwd, 1)));
  TcpFrameDecoder d;
  auto answer = read_frame(fd, d, 2000ms);
  ASSERT_TRUE(answer);
  const auto m = parse_stun(*answer);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, k_stun_binding_success);
  EXPECT_TRUE(m->fingerprint_ok);
  EXPECT_TRUE(verify_integrity(*answer, *m, k_server_pwd));
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  ASSERT_EQ(m->mapped.ss_family, AF_INET);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(m->mapped).sin_port, local.sin_port);  // the peer's TCP address

  // Now bound: non-STUN frames (DTLS, SRTCP) pass, split anywhere, and a second check is answered.
  std::vector<std::uint8_t> burst;
  for (int i = 0; i < 10; ++i) {
    std::vector<std::uint8_t> dtls(100 + i, static_cast<std::uint8_t>(22));
    const auto f = framed(dtls);
    burst.insert(burst.end(), f.begin(), f.end());
  }
  const auto again = binding_request(k_server_ufrag, k_server_pwd, 2);
  burst.insert(burst.end(), again.begin(), again.end());
  for (std::size_t i = 0; i < burst.size(); i += 7) {
    const auto end = burst.begin() + static_cast<std::ptrdiff_t>(std::min(i + 7, burst.size()));
    ASSERT_TRUE(send_all(fd, std::vector<std::uint8_t>(burst.begin() + static_cast<std::ptrdiff_t>(i), end)));
  }
  ASSERT_TRUE(read_frame(fd, d, 2000ms));
  EXPECT_EQ(h.frames.load(), 12);
  EXPECT_EQ(h.checks.load(), 2);
  const auto s = h.stats();
  EXPECT_EQ(s.bound, 1u);
  EXPECT_EQ(s.active, 1u);
  EXPECT_EQ(s.frames_out, 2u);
  // Silence past the idle timeout closes it.
  EXPECT_TRUE(closed_by_peer(fd, 3000ms));
  EXPECT_EQ(h.stats().closed_timeout, 1u);
  ::close(fd);
}

TEST(TcpPort, HostileFirstFramesAreClosed) {
  auto o = fast_options();
  o.first_frame_timeout = 10s;  // every close below is for the frame, not for silence
  Harness h(o);
  const std::vector<std::vector<std::uint8_t>> hostile = {
      framed(std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'}),              // not STUN
      {0x00, 0x00},                                                            // zero length
      {0xFF, 0xFF, 1, 2, 3},                                                   // over the cap
      {0x16, 0xfe, 0xfd, 0x00, 0x00},                                          // unframed DTLS
      binding_request("nobody", k_server_pwd, 3),                              // unknown ufrag
      binding_request(k_server_ufrag, "wrong-password-0123456789", 4),         // bad integrity
  };
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    const int fd = connect_to(h.tcp_port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, hostile[i]));
    EXPECT_TRUE(closed_by_peer(fd, 2000ms)) << "case " << i;
    ::close(fd);
  }
  const auto s = h.stats();
  EXPECT_EQ(s.closed_bad_frame, hostile.size());
  EXPECT_EQ(s.bound, 0u);
  EXPECT_EQ(h.checks.load(), 0);
}

TEST(TcpPort, SilenceAndPartialFramesTimeOut) {
  Harness h(fast_options());
  const int silent = connect_to(h.tcp_port);
  const int partial = connect_to(h.tcp_port);
  ASSERT_GE(silent, 0);
  ASSERT_GE(partial, 0);
  ASSERT_TRUE(send_all(partial, {0x00, 0x40, 1, 2, 3}));  // 64 announced, 3 sent
  EXPECT_TRUE(closed_by_peer(silent, 3000ms));
  EXPECT_TRUE(closed_by_peer(partial, 3000ms));
  EXPECT_EQ(h.stats().closed_timeout, 2u);
  ::close(silent);
  ::close(partial);
}

TEST(TcpPort, ConnectionLimitClosesTheExtraOnes) {
  auto o = fast_options();
  o.max_connections = 4;
  o.first_frame_timeout = 10s;
  Harness h(o);
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) fds.push_back(connect_to(h.tcp_port));
  for (int i = 0; i < 50 && h.stats().active < 4; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(h.stats().active, 4u);
  const int extra = connect_to(h.tcp_port);
  ASSERT_GE(extra, 0);
  EXPECT_TRUE(closed_by_peer(extra, 2000ms));
  EXPECT_EQ(h.stats().refused_limit, 1u);
  ::close(extra);
  for (int fd : fds) EXPECT_FALSE(closed_by_peer(fd, 20ms));
  ::close(fds[0]);
  for (int i = 0; i < 100 && h.stats().active > 3; ++i) std::this_thread::sleep_for(10ms);
  const int next = connect_to(h.tcp_port);  // a slot is free again
  EXPECT_FALSE(closed_by_peer(next, 200ms));
  ::close(next);
  for (std::size_t i = 1; i < fds.size(); ++i) ::close(fds[i]);
}

TEST(TcpPort, ThousandGarbageConnectionsLeaveNoDescriptors) {
  auto o = fast_options();
  o.first_frame_timeout = 500ms;
  o.max_connections = 2000;
  Harness h(o);
  const std::size_t baseline = open_fds();
  std::mt19937 rng(6544);
  constexpr int k_connections = 1000;
  std::vector<int> fds;
  fds.reserve(k_connections);
  for (int i = 0; i < k_connections; ++i) {
    const int fd = connect_to(h.tcp_port);
    ASSERT_GE(fd, 0) << "connect " << i << ": " << strerror(errno);
    std::vector<std::uint8_t> junk(1 + rng() % 3000);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (i % 10 == 0) junk[0] = 0;  // some with a plausible length: a complete non-STUN frame or a timeout
    send_all(fd, junk);            // may fail with a reset once the server has closed it
    fds.push_back(fd);
  }
  int closed = 0;
  for (int fd : fds) closed += closed_by_peer(fd, 5000ms) ? 1 : 0;
  EXPECT_EQ(closed, k_connections);
  for (int fd : fds) ::close(fd);
  for (int i = 0; i < 300 && h.stats().active > 0; ++i) std::this_thread::sleep_for(10ms);
  const auto s = h.stats();
  EXPECT_EQ(s.active, 0u);
  EXPECT_EQ(s.accepted, static_cast<std::uint64_t>(k_connections));
  EXPECT_EQ(s.closed_bad_frame + s.closed_timeout + s.closed_peer, static_cast<std::uint64_t>(k_connections));
  EXPECT_EQ(s.bound, 0u);
  EXPECT_EQ(open_fds(), baseline);
}

TEST(TcpPort, SlowReaderDropsInsteadOfBlocking) {
  auto o = fast_options();
  o.idle_timeout = 10s;
  o.max_outstanding_bytes = 64 * 1024;
  Harness h(o);
  const int fd = connect_to(h.tcp_port);
  ASSERT_GE(fd, 0);
  const int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_TRUE(send_all(fd, binding_request(k_server_ufrag, k_server_pwd, 5)));
  for (int i = 0; i < 200 && h.checks.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(h.checks.load(), 1);
  // The client never reads: the kernel buffers fill, then the port's queue, then packets drop.
  const auto result = h.on_loop([&h] {
    const Endpoint to = h.known.front();
    std::vector<std::uint8_t> packet(1200, 0x80);
    int sent = 0, dropped = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20000; ++i) (h.port->send(to, packet) ? sent : dropped)++;
    return std::make_tuple(sent, dropped, std::chrono::steady_clock::now() - start);
  });
  EXPECT_GT(std::get<0>(result), 0);
  EXPECT_GT(std::get<1>(result), 10000);  // 24 MB offered; kernel buffers + 64 KiB taken
  EXPECT_LT(std::get<2>(result), 5s);     // never waited on the socket
  EXPECT_EQ(h.stats().send_drops, static_cast<std::uint64_t>(std::get<1>(result)));
  // Reading now drains what was queued, in order and whole.
  TcpFrameDecoder d;
  auto first = read_frame(fd, d, 2000ms);  // the binding success
  ASSERT_TRUE(first);
  EXPECT_TRUE(is_stun(*first));
  for (int i = 0; i < 5; ++i) {
    auto f = read_frame(fd, d, 2000ms);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->size(), 1200u);
  }
  ::close(fd);
}

TEST(TcpPort, ReleaseClosesAfterFlushAndUnknownSendsDrop) {
  Harness h(fast_options());
  const int fd = connect_to(h.tcp_port);
  ASSERT_TRUE(send_all(fd, binding_request(k_server_ufrag, k_server_pwd, 6)));
  for (int i = 0; i < 200 && h.checks.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(h.checks.load(), 1);
  h.on_loop([&h] {
    const std::vector<std::uint8_t> bye(8, 0x81);
    EXPECT_TRUE(h.port->send(h.known.front(), bye));
    h.port->release(h.known.front());
    Endpoint nobody = h.known.front();
    reinterpret_cast<sockaddr_in&>(nobody.addr).sin_port = htons(1);
    EXPECT_FALSE(h.port->send(nobody, bye));
    return 0;
  });
  TcpFrameDecoder d;
  ASSERT_TRUE(read_frame(fd, d, 2000ms));  // binding success
  auto bye = read_frame(fd, d, 2000ms);
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->size(), 8u);
  EXPECT_TRUE(closed_by_peer(fd, 2000ms));
  ::close(fd);
}
