#include "util/ip_network.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace dragon::util {

std::optional<IpAddress> IpAddress::parse(std::string_view s) {
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  IpAddress ip;
  in_addr a4{};
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    ip.v4 = true;
    ip.bytes[10] = 0xff;
    ip.bytes[11] = 0xff;
    std::memcpy(ip.bytes.data() + 12, &a4, 4);
    return ip;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, buf, &a6) == 1) {
    std::memcpy(ip.bytes.data(), &a6, 16);
    static constexpr std::uint8_t k_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    ip.v4 = std::memcmp(ip.bytes.data(), k_mapped, 12) == 0;
    return ip;
  }
  return std::nullopt;
}

bool IpAddress::is_loopback() const {
  if (v4) return bytes[12] == 127;
  static constexpr std::uint8_t k_lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(bytes.data(), k_lo, 16) == 0;
}

std::optional<IpNetwork> IpNetwork::parse(std::string_view s) {
  IpNetwork n;
  const auto slash = s.find('/');
  auto ip = IpAddress::parse(s.substr(0, slash));
  if (!ip) return std::nullopt;
  n.base = *ip;
  const int max = ip->v4 ? 32 : 128;
  n.prefix = max;
  if (slash != std::string_view::npos) {
    const auto p = s.substr(slash + 1);
    int v = -1;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size() || v < 0 || v > max) return std::nullopt;
    n.prefix = v;
  }
  return n;
}

bool IpNetwork::contains(const IpAddress& ip) const {
  if (ip.v4 != base.v4) return false;
  const int bits = base.v4 ? prefix + 96 : prefix;
  const int full = bits / 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), static_cast<std::size_t>(full)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (ip.bytes[static_cast<std::size_t>(full)] & mask) == (base.bytes[static_cast<std::size_t>(full)] & mask);
}

IpAccessList::IpAccessList(const std::vector<std::string>& allow, const std::vector<std::string>& block) {
  for (const auto& a : allow) {
    auto n = IpNetwork::parse(a);
    if (!n) throw std::invalid_argument("invalid CIDR \"" + a + "\"");
    allow_.push_back(*n);
  }
  for (const auto& b : block) {
    auto n = IpNetwork::parse(b);
    if (!n) throw std::invalid_argument("invalid CIDR \"" + b + "\"");
    block_.push_back(*n);
  }
}

bool IpAccessList::allowed(std::string_view ip_text) const {
  if (empty()) return true;
  const auto ip = IpAddress::parse(ip_text);
  if (!ip) return false;
  for (const auto& n : block_) {
    if (n.contains(*ip)) return false;
  }
  if (allow_.empty()) return true;
  for (const auto& n : allow_) {
    if (n.contains(*ip)) return true;
  }
  return false;
}

}  // namespace dragon::util
