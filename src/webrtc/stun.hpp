#pragma once
// STUN (RFC 5389/8489) as ICE (RFC 8445) uses it: Binding requests, responses and errors with
// short-term credentials. The server side is ICE-lite: it answers Binding requests and learns the
// peer's address from them. The client side (for the WHEP load tool) sends the requests.
//
// Every function here runs per packet: parse_stun() reads in place (the message's strings are views
// into the caller's packet) and the writers fill a caller's buffer. Nothing allocates.
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dragon::webrtc {

inline constexpr std::uint32_t k_stun_magic_cookie = 0x2112A442;
inline constexpr std::size_t k_stun_header_size = 20;
inline constexpr std::uint32_t k_stun_fingerprint_xor = 0x5354554E;  // "STUN"

// Message types (method Binding combined with the four classes).
inline constexpr std::uint16_t k_stun_binding_request = 0x0001;
inline constexpr std::uint16_t k_stun_binding_indication = 0x0011;
inline constexpr std::uint16_t k_stun_binding_success = 0x0101;
inline constexpr std::uint16_t k_stun_binding_error = 0x0111;

// Attribute types this code reads or writes.
inline constexpr std::uint16_t k_stun_attr_mapped_address = 0x0001;
inline constexpr std::uint16_t k_stun_attr_username = 0x0006;
inline constexpr std::uint16_t k_stun_attr_message_integrity = 0x0008;
inline constexpr std::uint16_t k_stun_attr_error_code = 0x0009;
inline constexpr std::uint16_t k_stun_attr_unknown_attributes = 0x000A;
inline constexpr std::uint16_t k_stun_attr_message_integrity_sha256 = 0x001C;
inline constexpr std::uint16_t k_stun_attr_xor_mapped_address = 0x0020;
inline constexpr std::uint16_t k_stun_attr_priority = 0x0024;
inline constexpr std::uint16_t k_stun_attr_use_candidate = 0x0025;
inline constexpr std::uint16_t k_stun_attr_software = 0x8022;
inline constexpr std::uint16_t k_stun_attr_fingerprint = 0x8028;
inline constexpr std::uint16_t k_stun_attr_ice_controlled = 0x8029;
inline constexpr std::uint16_t k_stun_attr_ice_controlling = 0x802A;

// Error codes an ICE agent answers with.
inline constexpr std::uint16_t k_stun_error_bad_request = 400;
inline constexpr std::uint16_t k_stun_error_unauthorized = 401;
inline constexpr std::uint16_t k_stun_error_unknown_attribute = 420;
inline constexpr std::uint16_t k_stun_error_role_conflict = 487;

inline constexpr std::size_t k_stun_max_username = 512;  // RFC 8489 §14.3: < 513 bytes
inline constexpr std::size_t k_stun_max_reason = 763;    // RFC 8489 §14.8: < 128 characters, ≤ 763 bytes

using StunTransactionId = std::array<std::uint8_t, 12>;

struct StunMessage {
  std::uint16_t type = 0;
  StunTransactionId transaction_id{};
  std::string_view username;  // a view into the parsed packet
  bool use_candidate = false;
  bool ice_controlling = false;
  bool ice_controlled = false;
  std::uint64_t tie_breaker = 0;  // of ICE-CONTROLLING or ICE-CONTROLLED
  std::uint32_t priority = 0;
  std::size_t integrity_offset = 0;  // where MESSAGE-INTEGRITY's attribute header starts; 0 if none
  bool has_fingerprint = false;
  bool fingerprint_ok = false;
  std::uint16_t error_code = 0;  // ERROR-CODE as class*100+number; 0 if none
  std::string_view error_reason;
  // The first comprehension-required attribute (type < 0x8000) this code does not know; 0 if none.
  // A server answers such a request with 420.
  std::uint16_t unknown_required_attribute = 0;
  sockaddr_storage mapped{};  // XOR-MAPPED-ADDRESS; ss_family AF_UNSPEC if none
};

// The cheap demultiplexing test (RFC 7983 plus the STUN header): first two bits zero, the magic
// cookie, a length that is a multiple of 4 and matches the datagram.
bool is_stun(std::span<const std::uint8_t> packet);

// A full parse. Rejects anything malformed: bad header, attributes overrunning the message, wrong
// lengths for fixed-size attributes, anything but FINGERPRINT after MESSAGE-INTEGRITY, anything
// after FINGERPRINT, both ICE-CONTROLLING and ICE-CONTROLLED. The fingerprint is checked
// (fingerprint_ok) but a wrong one does not reject: callers decide.
std::optional<StunMessage> parse_stun(std::span<const std::uint8_t> packet);

// Short-term credentials: HMAC-SHA1 keyed with the password over the message up to
// MESSAGE-INTEGRITY, the header's length field counting up to and including MESSAGE-INTEGRITY.
// False when the message has no MESSAGE-INTEGRITY.
bool verify_integrity(std::span<const std::uint8_t> packet, const StunMessage& message,
                      std::string_view key);

// Writers: each fills `out` and returns the message size, or 0 if `out` is too small or an
// argument cannot be encoded. An empty key leaves MESSAGE-INTEGRITY out; FINGERPRINT is always
// added (ICE requires it).

// Binding success with XOR-MAPPED-ADDRESS (AF_INET or AF_INET6 `mapped`; nullptr leaves it out).
std::size_t write_binding_success(std::span<std::uint8_t> out, const StunTransactionId& transaction_id,
                                  const sockaddr* mapped, std::string_view key);

// Binding error response (e.g. 400, 401, 487) with a reason phrase.
std::size_t write_binding_error(std::span<std::uint8_t> out, const StunTransactionId& transaction_id,
                                std::uint16_t code, std::string_view reason, std::string_view key);

// The client side's connectivity check: USERNAME ("remote-ufrag:local-ufrag"), PRIORITY,
// ICE-CONTROLLING or ICE-CONTROLLED with the tie breaker, USE-CANDIDATE if nominating,
// MESSAGE-INTEGRITY with the remote password, FINGERPRINT.
std::size_t write_binding_request(std::span<std::uint8_t> out, const StunTransactionId& transaction_id,
                                  std::string_view username, std::string_view key, std::uint32_t priority,
                                  bool controlling, std::uint64_t tie_breaker, bool use_candidate);

}  // namespace dragon::webrtc
