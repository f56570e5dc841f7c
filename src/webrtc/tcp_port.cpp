#include "webrtc/tcp_port.hpp"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "webrtc/stun.hpp"
#include "webrtc/tcp_framing.hpp"
#include "webrtc/udp_port.hpp"  // parse_endpoint

namespace dragon::webrtc {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
constexpr int k_max_reads_per_wake = 4;  // one busy connection cannot starve the loop
constexpr auto k_accept_retry = std::chrono::milliseconds(100);
constexpr auto k_release_grace = std::chrono::seconds(2);
thread_local std::uint8_t g_read_buffer[65536];
}  // namespace

struct TcpPort::Connection {
  Connection(asio::ip::tcp::socket s, std::size_t max_frame) : socket(std::move(s)), decoder(max_frame) {}
  asio::ip::tcp::socket socket;
  Endpoint peer;
  TcpFrameDecoder decoder;
  bool open = true;
  bool bound = false;
  bool released = false;
  bool write_armed = false;
  Clock::time_point opened, last_frame, released_at;
  std::vector<std::uint8_t> pending;  // framed bytes the kernel did not take yet
  std::size_t pending_head = 0;       // how much of `pending` is sent
  std::size_t queued() const { return pending.size() - pending_head; }
};

TcpPort::TcpPort(asio::io_context& io, Handler handler, TcpPortOptions options)
    : io_(io), acceptor_(io), sweep_timer_(io), accept_retry_(io), handler_(std::move(handler)), options_(options) {
  options_.max_frame = std::clamp<std::size_t>(options_.max_frame, k_stun_header_size, k_tcp_max_frame_limit);
}

TcpPort::~TcpPort() {
  close();
  *alive_ = false;
}

bool TcpPort::bind(const std::string& address, std::string& error) {
  const auto local = parse_endpoint(address);
  if (!local) {
    error = "not a numeric host:port: " + address;
    return false;
  }
  asio::ip::tcp::endpoint ep;
  std::memcpy(ep.data(), local->sa(), local->len);
  ep.resize(local->len);  // sizeof sockaddr_in or sockaddr_in6: parse_endpoint made it
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor_.non_blocking(true, ec);
  if (ec) {
    error = "listen " + local->to_string() + ": " + ec.message();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return false;
  }
  return true;
}

std::uint16_t TcpPort::local_port() const {
  boost::system::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void TcpPort::start() {
  accept();
  schedule_sweep();
}

void TcpPort::accept() {
  std::weak_ptr<bool> alive = alive_;
  acceptor_.async_accept([this, alive](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
    auto a = alive.lock();
    if (!a || !*a || ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // EMFILE, ENFILE, ENOBUFS…: retry a little later rather than spinning on the loop.
      accept_retry_.expires_after(k_accept_retry);
      accept_retry_.async_wait([this, alive](const boost::system::error_code& e) {
        auto a2 = alive.lock();
        if (!e && a2 && *a2) accept();
      });
      return;
    }
    accept();
    boost::system::error_code ignored;
    if (connections_.size() >= options_.max_connections) {
      ++stats_.refused_limit;
      socket.close(ignored);
      return;
    }
    Endpoint peer;
    peer.len = sizeof peer.addr;
    peer.tcp = true;
    if (::getpeername(socket.native_handle(), reinterpret_cast<sockaddr*>(&peer.addr), &peer.len) != 0 ||
        connections_.count(peer) != 0) {
      ++stats_.closed_peer;  // reset before we saw it, or (impossible in practice) a duplicate 4-tuple
      socket.close(ignored);
      return;
    }
    socket.non_blocking(true, ignored);
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // media: never wait for Nagle
    auto c = std::make_shared<Connection>(std::move(socket), options_.max_frame);
    c->peer = peer;
    c->opened = c->last_frame = Clock::now();
    connections_.emplace(peer, c);
    ++stats_.accepted;
    stats_.active = connections_.size();
    arm_read(c);
  });
}

void TcpPort::arm_read(const std::shared_ptr<Connection>& c) {
  std::weak_ptr<bool> alive = alive_;
  c->socket.async_wait(asio::ip::tcp::socket::wait_read, [this, alive, c](const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a || !c->open) return;
    on_readable(c);
  });
}

void TcpPort::on_readable(const std::shared_ptr<Connection>& c) {
  auto alive = alive_;  // the handler may close the port
  const int fd = c->socket.native_handle();
  for (int i = 0; i < k_max_reads_per_wake; ++i) {
    const ssize_t n = ::recv(fd, g_read_buffer, sizeof g_read_buffer, MSG_DONTWAIT);
    if (n == 0) {
      close_connection(c, CloseReason::Peer);
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      close_connection(c, CloseReason::Peer);
      return;
    }
    std::span<std::uint8_t> in(g_read_buffer, static_cast<std::size_t>(n));
    while (!in.empty()) {
      const auto r = c->decoder.next(in);
      in = in.subspan(r.consumed);
      if (r.status == TcpFrameDecoder::Status::Error) {
        close_connection(c, CloseReason::BadFrame);
        return;
      }
      if (r.status == TcpFrameDecoder::Status::NeedMore) break;
      if (!on_frame(c, r.frame) || !*alive || !c->open) return;
    }
    if (static_cast<std::size_t>(n) < sizeof g_read_buffer) break;  // drained
  }
  if (*alive && c->open) arm_read(c);
}

bool TcpPort::on_frame(const std::shared_ptr<Connection>& c, std::span<std::uint8_t> frame) {
  ++stats_.frames_in;
  c->last_frame = Clock::now();
  // Until a STUN check binds it to a viewer, a connection may send nothing else.
  if (!c->bound && !is_stun(frame)) {
    close_connection(c, CloseReason::BadFrame);
    return false;
  }
  auto alive = alive_;
  const bool known = handler_(frame, c->peer);
  if (!*alive || !c->open) return false;
  if (!known) {
    close_connection(c, CloseReason::BadFrame);
    return false;
  }
  if (!c->bound) {
    c->bound = true;
    ++stats_.bound;
  }
  return true;
}

bool TcpPort::send(const Endpoint& to, std::span<const std::uint8_t> packet) {
  auto it = connections_.find(to);
  if (it == connections_.end() || !it->second->open || packet.empty() || packet.size() > k_tcp_max_frame_limit) {
    ++stats_.send_drops;
    return false;
  }
  auto c = it->second;  // a failed send closes it: keep it alive until we return
  const std::size_t total = k_tcp_frame_header + packet.size();
  if (c->queued() == 0) {
    std::uint8_t header[k_tcp_frame_header];
    write_tcp_frame_header(header, packet.size());
    iovec iov[2] = {{header, sizeof header}, {const_cast<std::uint8_t*>(packet.data()), packet.size()}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    ssize_t n;
    do {
      n = ::sendmsg(c->socket.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ++stats_.send_drops;
        close_connection(c, CloseReason::Peer);
        return false;
      }
      n = 0;
    }
    ++stats_.frames_out;
    const auto sent = static_cast<std::size_t>(n);
    if (sent == total) return true;
    // The kernel took part (or none) of the frame: the rest must follow before anything else.
    c->pending.clear();
    c->pending_head = 0;
    if (sent < k_tcp_frame_header) c->pending.insert(c->pending.end(), header + sent, header + k_tcp_frame_header);
    const std::size_t from_payload = sent > k_tcp_frame_header ? sent - k_tcp_frame_header : 0;
    c->pending.insert(c->pending.end(), packet.begin() + static_cast<std::ptrdiff_t>(from_payload), packet.end());
    arm_write(c);
    return true;
  }
  if (c->queued() + total > options_.max_outstanding_bytes) {
    ++stats_.send_drops;  // a slow viewer loses packets; the loop never waits for it
    return false;
  }
  const std::size_t at = c->pending.size();
  c->pending.resize(at + total);
  write_tcp_frame_header({c->pending.data() + at, k_tcp_frame_header}, packet.size());
  std::memcpy(c->pending.data() + at + k_tcp_frame_header, packet.data(), packet.size());
  ++stats_.frames_out;
  return true;
}

void TcpPort::arm_write(const std::shared_ptr<Connection>& c) {
  if (c->write_armed) return;
  c->write_armed = true;
  std::weak_ptr<bool> alive = alive_;
  c->socket.async_wait(asio::ip::tcp::socket::wait_write, [this, alive, c](const boost::system::error_code& ec) {
    c->write_armed = false;
    auto a = alive.lock();
    if (ec || !a || !*a || !c->open) return;
    flush(c);
  });
}

bool TcpPort::flush(const std::shared_ptr<Connection>& c) {
  while (c->queued() > 0) {
    const ssize_t n = ::send(c->socket.native_handle(), c->pending.data() + c->pending_head, c->queued(),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // Keep the buffer from creeping: drop what is sent once it is most of it.
        if (c->pending_head > c->pending.size() / 2) {
          c->pending.erase(c->pending.begin(), c->pending.begin() + static_cast<std::ptrdiff_t>(c->pending_head));
          c->pending_head = 0;
        }
        arm_write(c);
        return true;
      }
      close_connection(c, CloseReason::Peer);
      return false;
    }
    c->pending_head += static_cast<std::size_t>(n);
  }
  c->pending.clear();  // keeps its capacity: no allocation while this viewer stays slow-ish
  c->pending_head = 0;
  if (c->released) {
    close_connection(c, CloseReason::Released);
    return false;
  }
  return true;
}

void TcpPort::release(const Endpoint& to) {
  auto it = connections_.find(to);
  if (it == connections_.end()) return;
  auto c = it->second;
  if (c->released) return;
  c->released = true;
  c->released_at = Clock::now();
  if (c->queued() == 0) close_connection(c, CloseReason::Released);
}

void TcpPort::close_connection(const std::shared_ptr<Connection>& c, CloseReason why) {
  if (!c->open) return;
  c->open = false;
  switch (why) {
    case CloseReason::BadFrame: ++stats_.closed_bad_frame; break;
    case CloseReason::Timeout: ++stats_.closed_timeout; break;
    case CloseReason::Peer: ++stats_.closed_peer; break;
    case CloseReason::Limit: ++stats_.refused_limit; break;
    case CloseReason::Shutdown:
    case CloseReason::Released: break;
  }
  boost::system::error_code ignored;
  c->socket.close(ignored);  // pending waits complete with operation_aborted and drop their references
  c->pending.clear();
  c->pending.shrink_to_fit();
  const Endpoint peer = c->peer;  // erasing may destroy *c when the caller holds no reference
  connections_.erase(peer);
  stats_.active = connections_.size();
}

void TcpPort::schedule_sweep() {
  std::weak_ptr<bool> alive = alive_;
  sweep_timer_.expires_after(options_.sweep_interval);
  sweep_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a) return;
    sweep();
    schedule_sweep();
  });
}

void TcpPort::sweep() {
  const auto now = Clock::now();
  std::vector<std::pair<std::shared_ptr<Connection>, CloseReason>> doomed;
  for (const auto& [peer, c] : connections_) {
    if (c->released && now - c->released_at > k_release_grace) {
      doomed.emplace_back(c, CloseReason::Released);
    } else if (!c->bound && now - c->opened > options_.first_frame_timeout) {
      doomed.emplace_back(c, CloseReason::Timeout);
    } else if (c->bound && now - c->last_frame > options_.idle_timeout) {
      doomed.emplace_back(c, CloseReason::Timeout);
    }
  }
  for (auto& [c, why] : doomed) close_connection(c, why);
}

void TcpPort::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  sweep_timer_.cancel();
  accept_retry_.cancel();
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(connections_.size());
  for (const auto& [peer, c] : connections_) all.push_back(c);
  for (auto& c : all) close_connection(c, CloseReason::Shutdown);
}

}  // namespace dragon::webrtc
