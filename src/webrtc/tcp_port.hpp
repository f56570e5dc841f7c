#pragma once
// Passive ICE-TCP (RFC 6544) on one listening TCP port, on the WebRTC loop: viewers whose UDP is
// blocked connect here and send RFC 4571-framed STUN, DTLS and SRTCP; we answer on the same
// connection. The port knows nothing of viewers: like UdpPort, it hands each frame to a callback
// with the sender's address (an Endpoint marked tcp), and the server demultiplexes it exactly as a
// datagram (STUN by USERNAME ufrag, everything else by address). Sends address a connection by
// that same Endpoint.
//
// Hostile or idle peers cost little and go away:
// - at most max_connections at once (more are accepted and closed at once, so the backlog drains);
// - until the callback accepts a STUN Binding request from it, a connection may send only STUN,
//   and must be accepted within first_frame_timeout; any other frame, an invalid length, or a frame
//   the callback refuses closes it;
// - an accepted connection that sends nothing for idle_timeout is closed; one whose viewer is gone
//   (the callback refuses its frame) is closed;
// - sends never block the loop: what the kernel does not take at once is queued up to
//   max_outstanding_bytes per connection; beyond that whole packets are dropped and counted.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include <utility>  // Boost 1.74's asio headers need std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "webrtc/endpoint.hpp"

namespace dragon::webrtc {

struct TcpPortOptions {
  std::size_t max_connections = 1024;
  std::size_t max_frame = 2048;                        // larger length prefixes close the connection
  std::size_t max_outstanding_bytes = 256 * 1024;     // per connection, queued beyond the kernel's buffer
  std::chrono::milliseconds first_frame_timeout{10000};  // to get a STUN request accepted
  std::chrono::milliseconds idle_timeout{30000};        // accepted connections: nothing received
  std::chrono::milliseconds sweep_interval{500};        // how often timeouts are checked
};

struct TcpPortStats {
  std::uint64_t accepted = 0;           // connections accepted (within the limit)
  std::uint64_t refused_limit = 0;      // closed at once: max_connections reached
  std::uint64_t bound = 0;              // connections whose STUN request the callback accepted
  std::uint64_t closed_bad_frame = 0;   // invalid length, non-STUN before binding, or a refused frame
  std::uint64_t closed_timeout = 0;     // first-frame or idle timeout
  std::uint64_t closed_peer = 0;        // EOF or a socket error
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t send_drops = 0;         // packets dropped: queue full, or no such connection
  std::size_t active = 0;               // open connections now
};

class TcpPort {
 public:
  // A frame from `from` (from.tcp is set). Return true if the sender belongs to a viewer after this
  // frame (for a STUN request: the viewer accepted the check); false closes the connection.
  using Handler = std::function<bool(std::span<std::uint8_t> frame, const Endpoint& from)>;

  TcpPort(boost::asio::io_context& io, Handler handler, TcpPortOptions options = {});
  ~TcpPort();
  TcpPort(const TcpPort&) = delete;
  TcpPort& operator=(const TcpPort&) = delete;

  // Binds and listens on "host:port" (empty host = all IPv4 interfaces, "[v6]:port"). False with `error`.
  bool bind(const std::string& address, std::string& error);
  void start();
  std::uint16_t local_port() const;

  // Frames and sends (or queues) one packet to the connection `to`. False if dropped.
  bool send(const Endpoint& to, std::span<const std::uint8_t> packet);
  // Closes the connection once what is queued for it is sent (at most a sweep interval later
  // than the first-frame timeout if the peer does not read). No-op for an unknown endpoint.
  void release(const Endpoint& to);
  // Closes every connection and stops accepting.
  void close();

  const TcpPortStats& stats() const { return stats_; }

 private:
  struct Connection;
  enum class CloseReason { BadFrame, Timeout, Peer, Limit, Shutdown, Released };

  void accept();
  void arm_read(const std::shared_ptr<Connection>& c);
  void arm_write(const std::shared_ptr<Connection>& c);
  void on_readable(const std::shared_ptr<Connection>& c);
  bool on_frame(const std::shared_ptr<Connection>& c, std::span<std::uint8_t> frame);
  bool flush(const std::shared_ptr<Connection>& c);
  void close_connection(const std::shared_ptr<Connection>& c, CloseReason why);
  void schedule_sweep();
  void sweep();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer accept_retry_;
  Handler handler_;
  TcpPortOptions options_;
  std::unordered_map<Endpoint, std::shared_ptr<Connection>, EndpointHash> connections_;
  TcpPortStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dragon::webrtc
