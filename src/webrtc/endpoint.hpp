#pragma once
// A peer's transport address usable as a hash-map key (IPv4 or IPv6, with port): a UDP peer, or,
// with `tcp` set, the far end of an ICE-TCP connection (which names that connection).
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

namespace dragon::webrtc {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool tcp = false;  // an ICE-TCP connection (TcpPort), not a UDP peer

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  bool valid() const { return len > 0; }
  std::string to_string() const;  // "1.2.3.4:5" / "[::1]:5"

  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    if (a.addr.ss_family != b.addr.ss_family || a.tcp != b.tcp) return false;
    if (a.addr.ss_family == AF_INET) {
      const auto& x = reinterpret_cast<const sockaddr_in&>(a.addr);
      const auto& y = reinterpret_cast<const sockaddr_in&>(b.addr);
      return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
    }
    if (a.addr.ss_family == AF_INET6) {
      const auto& x = reinterpret_cast<const sockaddr_in6&>(a.addr);
      const auto& y = reinterpret_cast<const sockaddr_in6&>(b.addr);
      return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
    }
    return false;
  }
};

struct EndpointHash {
  std::size_t operator()(const Endpoint& e) const noexcept {
    std::uint64_t h = e.tcp ? 1099511628211ull : 1469598103934665603ull;
    auto mix = [&h](const void* p, std::size_t n) {
      const auto* b = static_cast<const unsigned char*>(p);
      for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    };
    if (e.addr.ss_family == AF_INET) {
      const auto& x = reinterpret_cast<const sockaddr_in&>(e.addr);
      mix(&x.sin_addr, sizeof x.sin_addr);
      mix(&x.sin_port, sizeof x.sin_port);
    } else if (e.addr.ss_family == AF_INET6) {
      const auto& x = reinterpret_cast<const sockaddr_in6&>(e.addr);
      mix(&x.sin6_addr, sizeof x.sin6_addr);
      mix(&x.sin6_port, sizeof x.sin6_port);
    }
    return static_cast<std::size_t>(h);
  }
};

}  // namespace dragon::webrtc
