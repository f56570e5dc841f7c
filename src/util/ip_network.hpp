#pragma once
// IPv4/IPv6 addresses and CIDR networks for allow/block lists (api.access.*, sessions.ip_ignorelist).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::util {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 stored as IPv4-mapped IPv6
  bool v4 = false;
  static std::optional<IpAddress> parse(std::string_view s);
  bool is_loopback() const;
};

struct IpNetwork {
  IpAddress base;
  int prefix = 0;  // in the address family's own bits (0..32 or 0..128)
  // "10.0.0.0/8", "::1/128", or a bare address (full-length prefix).
  static std::optional<IpNetwork> parse(std::string_view s);
  bool contains(const IpAddress& ip) const;
};

// Block wins; an empty allow list allows everything; an unparsable address is denied.
class IpAccessList {
 public:
  IpAccessList() = default;
  // Throws std::invalid_argument naming the bad entry.
  IpAccessList(const std::vector<std::string>& allow, const std::vector<std::string>& block);
  bool allowed(std::string_view ip) const;
  bool empty() const { return allow_.empty() && block_.empty(); }

 private:
  std::vector<IpNetwork> allow_;
  std::vector<IpNetwork> block_;
};

}  // namespace dragon::util
