#include "webrtc/endpoint.hpp"

#include <arpa/inet.h>

namespace dragon::webrtc {

std::string Endpoint::to_string() const {
  char host[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &x.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(x.sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &x.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(x.sin6_port));
  }
  return "?";
}

}  // namespace dragon::webrtc
