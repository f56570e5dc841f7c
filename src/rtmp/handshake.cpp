#include "rtmp/handshake.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace dragon::rtmp {

namespace {

constexpr std::uint8_t k_fp_key[62] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ', 'F', 'l', 'a', 's', 'h', ' ', 'P',
    'l', 'a', 'y', 'e', 'r', ' ', '0', '0', '1', 0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00,
    0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36,
    0xCF, 0xEB, 0x31, 0xAE};
constexpr std::uint8_t k_fms_key[68] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ', 'F', 'l', 'a', 's', 'h', ' ', 'M',
    'e', 'd', 'i', 'a', ' ', 'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1', 0xF0, 0xEE, 0xC2, 0x4A, 0x80,
    0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F,
    0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};
constexpr std::size_t k_fp_key_open = 30;
constexpr std::size_t k_fms_key_open = 36;

void fill_random(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    // Not a secret: the handshake only needs bytes that differ between runs.
    std::uint64_t x = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (auto& b : out) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      b = static_cast<std::uint8_t>(x >> 56);
    }
  }
}

void put_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace

std::span<const std::uint8_t> genuine_fp_key() { return {k_fp_key, sizeof k_fp_key}; }
std::span<const std::uint8_t> genuine_fms_key() { return {k_fms_key, sizeof k_fms_key}; }

std::size_t digest_offset(std::span<const std::uint8_t> block, int scheme) {
  const std::size_t base = scheme == 0 ? 8 : 772;
  const unsigned sum = unsigned{block[base]} + block[base + 1] + block[base + 2] + block[base + 3];
  return sum % 728 + base + 4;
}

std::array<std::uint8_t, k_digest_size> hmac_sha256(std::span<const std::uint8_t> key,
                                                    std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, k_digest_size> out{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  return out;
}

std::array<std::uint8_t, k_digest_size> block_digest(std::span<const std::uint8_t> block, std::size_t offset,
                                                     std::span<const std::uint8_t> key) {
  std::array<std::uint8_t, k_handshake_size - k_digest_size> msg{};
  std::memcpy(msg.data(), block.data(), offset);
  std::memcpy(msg.data() + offset, block.data() + offset + k_digest_size, block.size() - offset - k_digest_size);
  return hmac_sha256(key, {msg.data(), block.size() - k_digest_size});
}

int find_digest_scheme(std::span<const std::uint8_t> block, std::span<const std::uint8_t> key) {
  if (block.size() != k_handshake_size) return -1;
  for (int scheme = 0; scheme < 2; ++scheme) {
    const std::size_t off = digest_offset(block, scheme);
    const auto d = block_digest(block, off, key);
    if (std::equal(d.begin(), d.end(), block.begin() + static_cast<std::ptrdiff_t>(off))) return scheme;
  }
  return -1;
}

std::vector<std::uint8_t> Handshake::take_output() {
  std::vector<std::uint8_t> out;
  out.swap(out_);
  return out;
}

std::size_t Handshake::feed(std::span<const std::uint8_t> in) {
  std::size_t used = 0;
  while (used < in.size() && (state_ == State::WaitC0C1 || state_ == State::WaitC2)) {
    const std::size_t want = state_ == State::WaitC0C1 ? 1 + k_handshake_size : k_handshake_size;
    if (state_ == State::WaitC0C1 && in_.empty() && in[used] != k_rtmp_version) {
      state_ = State::Failed;
      error_ = in[used] == 6 || in[used] == 8 ? "encrypted RTMP (RTMPE) is not supported"
                                              : "unsupported RTMP version byte " + std::to_string(in[used]);
      return used + 1;
    }
    const std::size_t n = std::min(want - in_.size(), in.size() - used);
    in_.insert(in_.end(), in.begin() + static_cast<std::ptrdiff_t>(used),
               in.begin() + static_cast<std::ptrdiff_t>(used + n));
    used += n;
    if (in_.size() < want) break;
    if (state_ == State::WaitC0C1) {
      answer();
      in_.clear();
      state_ = State::WaitC2;
    } else {
      check_c2();
      in_.clear();
      in_.shrink_to_fit();
      state_ = State::Done;
    }
  }
  return used;
}

void Handshake::answer() {
  const std::span<const std::uint8_t> c1(in_.data() + 1, k_handshake_size);
  // A client that sends a zero version field (bytes 4..7) speaks the simple handshake.
  const bool versioned = c1[4] | c1[5] | c1[6] | c1[7];
  scheme_ = versioned ? find_digest_scheme(c1, genuine_fp_key().first(k_fp_key_open)) : -1;

  const auto now_ms = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
  fill_random(s1_);
  put_be32(s1_.data(), now_ms);
  std::array<std::uint8_t, k_handshake_size> s2{};
  if (scheme_ < 0) {
    std::memset(s1_.data() + 4, 0, 4);
    std::memcpy(s2.data(), c1.data(), k_handshake_size);  // echo of C1
  } else {
    const std::size_t coff = digest_offset(c1, scheme_);
    std::memcpy(client_digest_.data(), c1.data() + coff, k_digest_size);
    // S1: server version 4.5.0.1 and our digest at the same scheme's offset.
    s1_[4] = 4, s1_[5] = 5, s1_[6] = 0, s1_[7] = 1;
    const std::size_t soff = digest_offset(s1_, scheme_);
    const auto sd = block_digest(s1_, soff, genuine_fms_key().first(k_fms_key_open));
    std::memcpy(s1_.data() + soff, sd.data(), k_digest_size);
    // S2: random, signed with a key derived from the client's digest.
    fill_random(s2);
    const auto key = hmac_sha256(genuine_fms_key(), client_digest_);
    const auto sig = hmac_sha256(key, {s2.data(), k_handshake_size - k_digest_size});
    std::memcpy(s2.data() + k_handshake_size - k_digest_size, sig.data(), k_digest_size);
  }
  out_.reserve(out_.size() + 1 + 2 * k_handshake_size);
  out_.push_back(k_rtmp_version);
  out_.insert(out_.end(), s1_.begin(), s1_.end());
  out_.insert(out_.end(), s2.begin(), s2.end());
}

void Handshake::check_c2() {
  const std::span<const std::uint8_t> c2(in_.data(), k_handshake_size);
  if (scheme_ < 0) {
    c2_valid_ = std::equal(c2.begin(), c2.end(), s1_.begin());
    return;
  }
  const std::size_t soff = digest_offset(s1_, scheme_);
  const auto key = hmac_sha256(genuine_fp_key(), {s1_.data() + soff, k_digest_size});
  const auto sig = hmac_sha256(key, c2.first(k_handshake_size - k_digest_size));
  c2_valid_ = std::equal(sig.begin(), sig.end(), c2.end() - k_digest_size);
}

}  // namespace dragon::rtmp
