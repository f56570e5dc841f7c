// OpenSSL 3's EVP HMAC allocates on every call (measured here: 5 blocks per EVP_MAC init/update/final,
// 13 per one-shot HMAC()), and this code runs for every STUN packet. So HMAC-SHA1 is built below on
// the low-level SHA1 functions, whose state is a plain struct on the stack. They are deprecated in
// OpenSSL 3 but still part of its API; the suppression is local to this file.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "webrtc/stun.hpp"

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <zlib.h>

#include <cstring>

namespace dragon::webrtc {
namespace {

constexpr std::size_t k_attr_header = 4;
constexpr std::size_t k_hmac_sha1_size = 20;
constexpr std::size_t k_sha1_block = 64;

std::uint16_t load16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t load32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint64_t load64(const std::uint8_t* p) { return (std::uint64_t{load32(p)} << 32) | load32(p + 4); }
void store16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void store32(std::uint8_t* p, std::uint32_t v) {
  store16(p, static_cast<std::uint16_t>(v >> 16));
  store16(p + 2, static_cast<std::uint16_t>(v));
}
void store64(std::uint8_t* p, std::uint64_t v) {
  store32(p, static_cast<std::uint32_t>(v >> 32));
  store32(p + 4, static_cast<std::uint32_t>(v));
}
constexpr std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// HMAC (RFC 2104) with SHA-1, on the stack.
class HmacSha1 {
 public:
  explicit HmacSha1(std::string_view key) {
    std::uint8_t block[k_sha1_block] = {};
    if (key.size() > k_sha1_block) {
      SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block);
    } else if (!key.empty()) {
      std::memcpy(block, key.data(), key.size());
    }
    std::uint8_t pad[k_sha1_block];
    for (std::size_t i = 0; i < k_sha1_block; ++i) pad[i] = block[i] ^ 0x36;
    SHA1_Init(&inner_);
    SHA1_Update(&inner_, pad, sizeof pad);
    for (std::size_t i = 0; i < k_sha1_block; ++i) pad[i] = block[i] ^ 0x5c;
    SHA1_Init(&outer_);
    SHA1_Update(&outer_, pad, sizeof pad);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
  }
  HmacSha1(const HmacSha1&) = delete;
  HmacSha1& operator=(const HmacSha1&) = delete;
  ~HmacSha1() {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
  }

  void update(const std::uint8_t* data, std::size_t size) { SHA1_Update(&inner_, data, size); }
  void finish(std::uint8_t* mac) {
    std::uint8_t inner_hash[SHA_DIGEST_LENGTH];
    SHA1_Final(inner_hash, &inner_);
    SHA1_Update(&outer_, inner_hash, sizeof inner_hash);
    SHA1_Final(mac, &outer_);
  }

 private:
  SHA_CTX inner_;
  SHA_CTX outer_;
};

std::uint32_t stun_crc32(const std::uint8_t* data, std::size_t size) {
  // The sizes here are bounded by a 16-bit length field, far below uInt's range.
  const auto crc = crc32(crc32(0L, Z_NULL, 0), data, static_cast<uInt>(size));
  return static_cast<std::uint32_t>(crc) ^ k_stun_fingerprint_xor;
}

// Comprehension-required attributes that are understood (or harmlessly tolerated) here; any other
// type below 0x8000 is reported so that a server can answer 420.
bool known_required_attribute(std::uint16_t type) {
  switch (type) {
    case k_stun_attr_mapped_address:
    case k_stun_attr_username:
    case k_stun_attr_message_integrity:
    case k_stun_attr_error_code:
    case k_stun_attr_unknown_attributes:
    case 0x0014:  // REALM
    case 0x0015:  // NONCE
    case k_stun_attr_message_integrity_sha256:
    case 0x001D:  // PASSWORD-ALGORITHM
    case 0x001E:  // USERHASH
    case k_stun_attr_xor_mapped_address:
    case k_stun_attr_priority:
    case k_stun_attr_use_candidate:
      return true;
    default:
      return false;
  }
}

bool parse_xor_address(std::span<const std::uint8_t> v, const std::uint8_t* header, sockaddr_storage& out) {
  if (v.size() < 4) return false;
  const std::uint8_t family = v[1];
  const auto port = static_cast<std::uint16_t>(load16(&v[2]) ^ (k_stun_magic_cookie >> 16));
  if (family == 0x01) {
    if (v.size() != 8) return false;
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    const std::uint32_t addr = load32(&v[4]) ^ k_stun_magic_cookie;
    sin.sin_addr.s_addr = htonl(addr);
    std::memcpy(&out, &sin, sizeof sin);
    return true;
  }
  if (family == 0x02) {
    if (v.size() != 20) return false;
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    // The key is the magic cookie followed by the transaction id: header bytes 4..19.
    for (std::size_t i = 0; i < 16; ++i) sin6.sin6_addr.s6_addr[i] = v[4 + i] ^ header[4 + i];
    std::memcpy(&out, &sin6, sizeof sin6);
    return true;
  }
  return false;
}

// Appends attributes to a caller's buffer; any overflow sticks and makes finish() return 0.
class StunWriter {
 public:
  StunWriter(std::span<std::uint8_t> out, std::uint16_t type, const StunTransactionId& transaction_id)
      : out_(out) {
    if (out_.size() < k_stun_header_size) {
      ok_ = false;
      return;
    }
    store16(&out_[0], type);
    store16(&out_[2], 0);
    store32(&out_[4], k_stun_magic_cookie);
    std::memcpy(&out_[8], transaction_id.data(), transaction_id.size());
    pos_ = k_stun_header_size;
  }

  // Reserves an attribute of `size` value bytes (zero padding included) and returns its value.
  std::uint8_t* attribute(std::uint16_t type, std::size_t size) {
    if (!ok_ || size > 0xFFFF || out_.size() - pos_ < k_attr_header + padded(size)) {
      ok_ = false;
      return nullptr;
    }
    store16(&out_[pos_], type);
    store16(&out_[pos_ + 2], static_cast<std::uint16_t>(size));
    std::uint8_t* value = &out_[pos_ + k_attr_header];
    std::memset(value + size, 0, padded(size) - size);
    pos_ += k_attr_header + padded(size);
    return value;
  }
  void bytes(std::uint16_t type, std::string_view value) {
    if (auto* v = attribute(type, value.size()); v != nullptr && !value.empty()) {
      std::memcpy(v, value.data(), value.size());
    }
  }
  void xor_address(const sockaddr* address) {
    if (address == nullptr) return;
    const std::uint16_t port_key = k_stun_magic_cookie >> 16;
    if (address->sa_family == AF_INET) {
      sockaddr_in sin;
      std::memcpy(&sin, address, sizeof sin);
      if (auto* v = attribute(k_stun_attr_xor_mapped_address, 8)) {
        v[0] = 0;
        v[1] = 0x01;
        store16(v + 2, static_cast<std::uint16_t>(ntohs(sin.sin_port) ^ port_key));
        store32(v + 4, ntohl(sin.sin_addr.s_addr) ^ k_stun_magic_cookie);
      }
    } else if (address->sa_family == AF_INET6) {
      sockaddr_in6 sin6;
      std::memcpy(&sin6, address, sizeof sin6);
      if (auto* v = attribute(k_stun_attr_xor_mapped_address, 20)) {
        v[0] = 0;
        v[1] = 0x02;
        store16(v + 2, static_cast<std::uint16_t>(ntohs(sin6.sin6_port) ^ port_key));
        for (std::size_t i = 0; i < 16; ++i) v[4 + i] = sin6.sin6_addr.s6_addr[i] ^ out_[4 + i];
      }
    } else {
      ok_ = false;
    }
  }

  // MESSAGE-INTEGRITY (if a key is given) and FINGERPRINT, each computed with the length field
  // counting the message up to and including that attribute.
  std::size_t finish(std::string_view key) {
    if (!ok_) return 0;
    if (!key.empty()) {
      if (out_.size() - pos_ < k_attr_header + k_hmac_sha1_size) return 0;
      set_length(pos_ + k_attr_header + k_hmac_sha1_size);
      HmacSha1 hmac(key);
      hmac.update(out_.data(), pos_);
      std::uint8_t mac[k_hmac_sha1_size];
      hmac.finish(mac);
      if (auto* v = attribute(k_stun_attr_message_integrity, sizeof mac)) std::memcpy(v, mac, sizeof mac);
    }
    if (!ok_ || out_.size() - pos_ < k_attr_header + 4) return 0;
    set_length(pos_ + k_attr_header + 4);
    const std::uint32_t crc = stun_crc32(out_.data(), pos_);
    if (auto* v = attribute(k_stun_attr_fingerprint, 4)) store32(v, crc);
    return ok_ ? pos_ : 0;
  }

 private:
  void set_length(std::size_t total) {
    store16(&out_[2], static_cast<std::uint16_t>(total - k_stun_header_size));
  }

  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

bool is_stun(std::span<const std::uint8_t> packet) {
  if (packet.size() < k_stun_header_size) return false;
  if ((packet[0] & 0xC0) != 0) return false;
  const std::size_t length = load16(&packet[2]);
  if (length % 4 != 0 || length + k_stun_header_size != packet.size()) return false;
  return load32(&packet[4]) == k_stun_magic_cookie;
}

std::optional<StunMessage> parse_stun(std::span<const std::uint8_t> packet) {
  if (!is_stun(packet)) return std::nullopt;
  StunMessage m;
  m.type = load16(&packet[0]);
  std::memcpy(m.transaction_id.data(), &packet[8], m.transaction_id.size());
  m.mapped.ss_family = AF_UNSPEC;

  bool seen_username = false;
  bool seen_priority = false;
  bool seen_control = false;
  bool seen_error = false;
  bool seen_mapped = false;
  bool after_integrity = false;         // only MESSAGE-INTEGRITY-SHA256 or FINGERPRINT may follow
  bool after_integrity_sha256 = false;  // only FINGERPRINT may follow
  bool after_fingerprint = false;       // nothing may follow

  std::size_t pos = k_stun_header_size;
  while (pos < packet.size()) {
    if (after_fingerprint) return std::nullopt;
    if (packet.size() - pos < k_attr_header) return std::nullopt;
    const std::uint16_t type = load16(&packet[pos]);
    const std::size_t length = load16(&packet[pos + 2]);
    if (padded(length) > packet.size() - pos - k_attr_header) return std::nullopt;
    const auto value = packet.subspan(pos + k_attr_header, length);

    if (after_integrity_sha256 && type != k_stun_attr_fingerprint) return std::nullopt;
    if (after_integrity && type != k_stun_attr_fingerprint && type != k_stun_attr_message_integrity_sha256) {
      return std::nullopt;
    }
    switch (type) {
      case k_stun_attr_username:
        if (length > k_stun_max_username) return std::nullopt;
        if (!seen_username) {
          m.username = std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
          seen_username = true;
        }
        break;
      case k_stun_attr_message_integrity:
        if (length != k_hmac_sha1_size) return std::nullopt;
        m.integrity_offset = pos;
        after_integrity = true;
        break;
      case k_stun_attr_message_integrity_sha256:
        // RFC 8489 §14.6: truncated to at least 16 bytes, a multiple of 4. Not verified here.
        if (length < 16 || length > 32 || length % 4 != 0) return std::nullopt;
        after_integrity = true;
        after_integrity_sha256 = true;
        break;
      case k_stun_attr_fingerprint:
        if (length != 4) return std::nullopt;
        m.has_fingerprint = true;
        m.fingerprint_ok = stun_crc32(packet.data(), pos) == load32(value.data());
        after_fingerprint = true;
        break;
      case k_stun_attr_priority:
        if (length != 4) return std::nullopt;
        if (!seen_priority) m.priority = load32(value.data());
        seen_priority = true;
        break;
      case k_stun_attr_use_candidate:
        if (length != 0) return std::nullopt;
        m.use_candidate = true;
        break;
      case k_stun_attr_ice_controlling:
      case k_stun_attr_ice_controlled:
        if (length != 8) return std::nullopt;
        if (type == k_stun_attr_ice_controlling) {
          m.ice_controlling = true;
        } else {
          m.ice_controlled = true;
        }
        if (!seen_control) m.tie_breaker = load64(value.data());
        seen_control = true;
        break;
      case k_stun_attr_error_code: {
        if (length < 4 || length > 4 + k_stun_max_reason) return std::nullopt;
        const int error_class = value[2] & 0x07;
        const int number = value[3];
        if (error_class < 3 || error_class > 6 || number > 99) return std::nullopt;
        if (!seen_error) {
          m.error_code = static_cast<std::uint16_t>(error_class * 100 + number);
          m.error_reason = std::string_view(reinterpret_cast<const char*>(value.data()) + 4, length - 4);
        }
        seen_error = true;
        break;
      }
      case k_stun_attr_xor_mapped_address:
        if (!seen_mapped) {
          if (!parse_xor_address(value, packet.data(), m.mapped)) return std::nullopt;
        } else {
          sockaddr_storage ignored{};
          if (!parse_xor_address(value, packet.data(), ignored)) return std::nullopt;
        }
        seen_mapped = true;
        break;
      default:
        if (type < 0x8000 && !known_required_attribute(type) && m.unknown_required_attribute == 0) {
          m.unknown_required_attribute = type;
        }
        break;
    }
    pos += k_attr_header + padded(length);
  }
  // One agent cannot claim both roles.
  if (m.ice_controlling && m.ice_controlled) return std::nullopt;
  return m;
}

bool verify_integrity(std::span<const std::uint8_t> packet, const StunMessage& message, std::string_view key) {
  const std::size_t offset = message.integrity_offset;
  if (offset < k_stun_header_size || offset % 4 != 0 || packet.size() < offset + k_attr_header + k_hmac_sha1_size) {
    return false;
  }
  if (load16(&packet[offset]) != k_stun_attr_message_integrity || load16(&packet[offset + 2]) != k_hmac_sha1_size) {
    return false;
  }
  // The MAC covers the header with the length field counting up to the end of MESSAGE-INTEGRITY
  // (RFC 8489 §14.5), whatever follows it.
  std::uint8_t header[k_stun_header_size];
  std::memcpy(header, packet.data(), sizeof header);
  store16(&header[2], static_cast<std::uint16_t>(offset + k_attr_header + k_hmac_sha1_size - k_stun_header_size));
  HmacSha1 hmac(key);
  hmac.update(header, sizeof header);
  hmac.update(packet.data() + k_stun_header_size, offset - k_stun_header_size);
  std::uint8_t mac[k_hmac_sha1_size];
  hmac.finish(mac);
  return CRYPTO_memcmp(mac, packet.data() + offset + k_attr_header, sizeof mac) == 0;
}

std::size_t write_binding_success(std::span<std::uint8_t> out, const StunTransactionId& transaction_id,
                                  const sockaddr* mapped, std::string_view key) {
  StunWriter w(out, k_stun_binding_success, transaction_id);
  w.xor_address(mapped);
  return w.finish(key);
}

std::size_t write_binding_error(std::span<std::uint8_t> out, const StunTransactionId& transaction_id,
                                std::uint16_t code, std::string_view reason, std::string_view key) {
  if (code < 300 || code > 699 || reason.size() > k_stun_max_reason) return 0;
  StunWriter w(out, k_stun_binding_error, transaction_id);
  if (auto* v = w.attribute(k_stun_attr_error_code, 4 + reason.size())) {
    v[0] = 0;
    v[1] = 0;
    v[2] = static_cast<std::uint8_t>(code / 100);
    v[3] = static_cast<std::uint8_t>(code % 100);
    if (!reason.empty()) std::memcpy(v + 4, reason.data(), reason.size());
  }
  return w.finish(key);
}

std::size_t write_binding_request(std::span<std::uint8_t> out, const StunTransactionId& transaction_id,
                                  std::string_view username, std::string_view key, std::uint32_t priority,
                                  bool controlling, std::uint64_t tie_breaker, bool use_candidate) {
  if (username.size() > k_stun_max_username) return 0;
  StunWriter w(out, k_stun_binding_request, transaction_id);
  w.bytes(k_stun_attr_username, username);
  if (auto* v = w.attribute(k_stun_attr_priority, 4)) store32(v, priority);
  if (auto* v = w.attribute(controlling ? k_stun_attr_ice_controlling : k_stun_attr_ice_controlled, 8)) {
    store64(v, tie_breaker);
  }
  if (use_candidate) w.attribute(k_stun_attr_use_candidate, 0);
  return w.finish(key);
}

}  // namespace dragon::webrtc
