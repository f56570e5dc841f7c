#pragma once
// A non-blocking UDP socket read on an asio loop: each wake-up drains what the kernel has (up to a
// bound, so one busy socket cannot starve the loop) and hands every datagram to a callback.
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <span>
#include <string>

#include <utility>  // Boost 1.74's asio headers need std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "webrtc/endpoint.hpp"

namespace dragon::webrtc {

class UdpPort {
 public:
  using Handler = std::function<void(std::span<std::uint8_t> datagram, const Endpoint& from)>;

  UdpPort(boost::asio::io_context& io, Handler handler);
  ~UdpPort();
  UdpPort(const UdpPort&) = delete;
  UdpPort& operator=(const UdpPort&) = delete;

  // Binds "host:port" (empty host = all IPv4 interfaces, "[v6]:port" for IPv6). False with `error`.
  bool bind(const std::string& address, std::string& error);
  bool bind(const Endpoint& local, std::string& error);
  void start();
  int fd() const { return fd_; }
  std::uint16_t local_port() const;
  // Non-blocking; false when the datagram was not sent (buffer full, unreachable).
  bool send_to(const Endpoint& to, std::span<const std::uint8_t> datagram) const;

 private:
  void arm();
  void drain();

  boost::asio::ip::udp::socket socket_;
  Handler handler_;
  int fd_ = -1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "host:port" → endpoint (numeric hosts only; empty host = 0.0.0.0). nullopt if malformed.
std::optional<Endpoint> parse_endpoint(const std::string& address);

}  // namespace dragon::webrtc
