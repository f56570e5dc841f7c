#include "webrtc/udp_port.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

namespace dragon::webrtc {

namespace {
constexpr int k_max_datagrams_per_wake = 256;
thread_local std::uint8_t g_receive_buffer[65536];
}  // namespace

std::optional<Endpoint> parse_endpoint(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const unsigned long port = std::stoul(port_text);
  if (port > 65535) return std::nullopt;
  Endpoint e;
  if (!host.empty() && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    auto& a6 = reinterpret_cast<sockaddr_in6&>(e.addr);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a6.sin6_addr) != 1) return std::nullopt;
    e.len = sizeof(sockaddr_in6);
    return e;
  }
  auto& a4 = reinterpret_cast<sockaddr_in&>(e.addr);
  a4.sin_family = AF_INET;
  a4.sin_port = htons(static_cast<std::uint16_t>(port));
  if (host.empty()) {
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (inet_pton(AF_INET, host.c_str(), &a4.sin_addr) != 1) {
    return std::nullopt;
  }
  e.len = sizeof(sockaddr_in);
  return e;
}

UdpPort::UdpPort(boost::asio::io_context& io, Handler handler) : socket_(io), handler_(std::move(handler)) {}

UdpPort::~UdpPort() {
  *alive_ = false;
  boost::system::error_code ec;
  socket_.close(ec);
}

bool UdpPort::bind(const std::string& address, std::string& error) {
  auto e = parse_endpoint(address);
  if (!e) {
    error = "not a numeric host:port: " + address;
    return false;
  }
  return bind(*e, error);
}

bool UdpPort::bind(const Endpoint& local, std::string& error) {
  const int family = local.addr.ss_family;
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + strerror(errno);
    return false;
  }
  // Room for bursts (GOP-cache catch-up, many viewers); the kernel caps it at rmem_max/wmem_max.
  const int size = 4 * 1024 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (::bind(fd, local.sa(), local.len) != 0) {
    error = "bind " + local.to_string() + ": " + strerror(errno);
    ::close(fd);
    return false;
  }
  boost::system::error_code ec;
  socket_.assign(family == AF_INET6 ? boost::asio::ip::udp::v6() : boost::asio::ip::udp::v4(), fd, ec);
  if (ec) {
    error = "assign: " + ec.message();
    ::close(fd);
    return false;
  }
  fd_ = fd;
  return true;
}

std::uint16_t UdpPort::local_port() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6&>(ss).sin6_port);
  return 0;
}

void UdpPort::start() { arm(); }

void UdpPort::arm() {
  std::weak_ptr<bool> alive = alive_;
  socket_.async_wait(boost::asio::ip::udp::socket::wait_read, [this, alive](const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a) return;
    drain();
    if (*a) arm();
  });
}

void UdpPort::drain() {
  auto alive = alive_;  // the handler may destroy us
  for (int i = 0; i < k_max_datagrams_per_wake && *alive; ++i) {
    Endpoint from;
    from.len = sizeof from.addr;
    const ssize_t n = ::recvfrom(fd_, g_receive_buffer, sizeof g_receive_buffer, MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from.addr), &from.len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN, or an ICMP error surfaced on the socket: wait for the next datagram
    }
    handler_({g_receive_buffer, static_cast<std::size_t>(n)}, from);
  }
}

bool UdpPort::send_to(const Endpoint& to, std::span<const std::uint8_t> datagram) const {
  const ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL, to.sa(), to.len);
  return n == static_cast<ssize_t>(datagram.size());
}

}  // namespace dragon::webrtc
