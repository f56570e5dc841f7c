// The WebRTC server with ICE-TCP: answers carry passive TCP host candidates only when enabled (and
// no UDP ones when UDP is off), and a viewer's STUN check framed over TCP reaches it by its ufrag
// and is answered on the same connection, which then carries the viewer's traffic.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "webrtc/server.hpp"
#include "webrtc/stun.hpp"
#include "webrtc/tcp_framing.hpp"

using namespace dragon::webrtc;
using namespace std::chrono_literals;

namespace {

std::string chromium_offer() {
  std::ifstream in(DRAGON_SOURCE_DIR "/tests/data/sdp/chromium-156-linux-recvonly.sdp");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sdp_value(const std::string& sdp, const std::string& attr) {
  const auto at = sdp.find("a=" + attr + ":");
  if (at == std::string::npos) return "";
  const auto start = at + attr.size() + 3;
  return sdp.substr(start, sdp.find_first_of("\r\n", start) - start);
}

std::vector<std::string> candidate_lines(const std::string& sdp) {
  std::vector<std::string> out;
  std::istringstream in(sdp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("a=candidate:", 0) == 0) out.push_back(line);
  }
  return out;
}

// Sends one Opus-looking RTP packet to the audio leg: the stream then has media to offer.
void feed_audio(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::uint8_t rtp[32] = {0x80, 111, 0, 1, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78};
  std::memset(rtp + 12, 0xAA, sizeof rtp - 12);
  ::sendto(fd, rtp, sizeof rtp, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::close(fd);
}

ServerOptions options(bool udp, bool tcp) {
  ServerOptions o;
  o.udp_enable = udp;
  o.udp_address = "127.0.0.1:0";
  o.tcp_enable = tcp;
  o.tcp_address = "127.0.0.1:0";
  o.rtp_port_min = 31200;
  o.rtp_port_max = 31299;
  o.media_wait = 2000ms;
  o.ice_timeout = 5s;
  return o;
}

WhepResult offer_with_media(Server& s) {
  const auto legs = s.open_stream("p1");
  EXPECT_TRUE(legs);
  if (!legs) return {};
  for (int i = 0; i < 50 && !s.stream_json("p1")["audio"]["packets"].get<std::uint64_t>(); ++i) {
    feed_audio(legs->audio);
    std::this_thread::sleep_for(10ms);
  }
  return s.offer("p1", chromium_offer());
}

std::optional<std::vector<std::uint8_t>> read_frame(int fd, TcpFrameDecoder& d, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint8_t buf[2048];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, 1, 0);
    if (n <= 0) return std::nullopt;
    const auto r = d.next({buf, 1});
    if (r.status == TcpFrameDecoder::Status::Error) return std::nullopt;
    if (r.status == TcpFrameDecoder::Status::Frame) return std::vector<std::uint8_t>(r.frame.begin(), r.frame.end());
  }
  return std::nullopt;
}

}  // namespace

TEST(WebrtcTcpServer, TcpOnlyAnswerHasPassiveTcpCandidatesAndStunOverTcpIsAnswered) {
  Server s(options(false, true));
  s.start();
  const auto r = offer_with_media(s);
  ASSERT_EQ(r.status, 201) << r.body;
  const auto candidates = candidate_lines(r.body);
  ASSERT_FALSE(candidates.empty()) << r.body;
  int port = 0;
  for (const auto& c : candidates) {
    EXPECT_NE(c.find(" 1 tcp "), std::string::npos) << c;
    EXPECT_NE(c.find(" typ host tcptype passive"), std::string::npos) << c;
    EXPECT_EQ(c.find(" udp "), std::string::npos) << c;
    char address[64];
    unsigned priority = 0;
    ASSERT_EQ(std::sscanf(c.c_str(), "a=candidate:%*s 1 tcp %u %63s %d typ host", &priority, address, &port), 3) << c;
    EXPECT_EQ(std::string(address), "127.0.0.1");
    EXPECT_EQ(priority >> 24, 99u);  // below UDP host (126)
  }
  const std::string ufrag = sdp_value(r.body, "ice-ufrag");
  const std::string pwd = sdp_value(r.body, "ice-pwd");
  ASSERT_FALSE(ufrag.empty());

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  StunTransactionId tid{};
  tid.fill(7);
  std::uint8_t req[512];
  const auto n = write_binding_request({req + 2, sizeof req - 2}, tid, ufrag + ":FH0r", pwd, 1853824767, true, 99, true);
  ASSERT_GT(n, 0u);
  const auto frame = frame_in_headroom(req, n);
  ASSERT_EQ(::send(fd, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()));

  TcpFrameDecoder d;
  const auto answer = read_frame(fd, d, 3000ms);
  ASSERT_TRUE(answer);
  const auto m = parse_stun(*answer);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, k_stun_binding_success);
  EXPECT_EQ(m->transaction_id, tid);
  EXPECT_TRUE(verify_integrity(*answer, *m, pwd));
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(m->mapped).sin_port, local.sin_port);

  const auto st = s.stream_json("p1");
  ASSERT_EQ(st["viewer_list"].size(), 1u);
  EXPECT_EQ(st["viewer_list"][0]["transport"], "tcp");
  auto c = s.counters();
  EXPECT_EQ(c.tcp_accepted, 1u);
  EXPECT_EQ(c.tcp_active, 1u);

  // DELETE: the viewer goes and its connection is closed.
  EXPECT_TRUE(s.remove("p1", r.resource_id));
  bool closed = false;
  std::uint8_t buf[256];
  for (int i = 0; i < 200 && !closed; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) > 0) {
      const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
      closed = got <= 0;
    }
  }
  EXPECT_TRUE(closed);
  ::close(fd);
  s.stop();
}

TEST(WebrtcTcpServer, StunForAnUnknownUfragOverTcpIsClosed) {
  Server s(options(false, true));
  s.start();
  const auto r = offer_with_media(s);
  ASSERT_EQ(r.status, 201) << r.body;
  int port = 0;
  std::sscanf(candidate_lines(r.body).front().c_str(), "a=candidate:%*s 1 tcp %*u %*s %d", &port);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  StunTransactionId tid{};
  std::uint8_t req[512];
  const auto n = write_binding_request({req + 2, sizeof req - 2}, tid, "nobody:FH0r", "x", 1, true, 1, true);
  const auto frame = frame_in_headroom(req, n);
  ASSERT_EQ(::send(fd, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()));
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  std::uint8_t buf[64];
  EXPECT_LE(::recv(fd, buf, sizeof buf, 0), 0);
  ::close(fd);
  EXPECT_EQ(s.counters().tcp_bad_frame, 1u);
  s.stop();
}

TEST(WebrtcTcpServer, CandidatesFollowTheTransportsEnabled) {
  {
    Server s(options(true, false));
    s.start();
    const auto r = offer_with_media(s);
    ASSERT_EQ(r.status, 201) << r.body;
    for (const auto& c : candidate_lines(r.body)) EXPECT_EQ(c.find(" tcp "), std::string::npos) << c;
    s.stop();
  }
  {
    Server s(options(true, true));
    s.start();
    const auto r = offer_with_media(s);
    ASSERT_EQ(r.status, 201) << r.body;
    const auto lines = candidate_lines(r.body);
    ASSERT_GE(lines.size(), 2u);
    EXPECT_NE(lines.front().find(" 1 udp "), std::string::npos);  // UDP first: it is the default candidate
    EXPECT_NE(lines.back().find(" 1 tcp "), std::string::npos);
    EXPECT_NE(lines.back().find("tcptype passive"), std::string::npos);
    s.stop();
  }
  {
    Server s(options(false, false));
    s.start();
    const auto r = offer_with_media(s);
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.body.find("webrtc.tcp.enable"), std::string::npos);
    s.stop();
  }
}
