#pragma once
// Server side of the RTMP handshake as a pure state machine over bytes (no sockets).
//
//   client → C0 (version 3) + C1 (1536 bytes)      server → S0 + S1 + S2
//   client → C2 (1536 bytes)                        done; the chunk stream follows
//
// Two variants:
// - simple (RTMP 1.0 spec): S1 = time + zero + random, S2 = echo of C1.
// - digest ("complex", Flash Player 9+): C1 carries an HMAC-SHA256 digest keyed with the "Genuine Adobe
//   Flash Player 001" key at an offset derived from four bytes at 8..11 (scheme 0) or 772..775 (scheme 1).
//   When it validates, S1 carries a digest keyed with the first 36 bytes of the FMS key at the same
//   scheme's offset, and S2 ends with HMAC(HMAC(full FMS key, client digest), S2[0..1504)). Players that
//   check the server (FFmpeg does when it plays) need this; a C1 without a valid digest gets the simple
//   answer.
// C2 is read but not required to validate (encoders differ); c2_valid() says whether it did.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dragon::rtmp {

inline constexpr std::size_t k_handshake_size = 1536;
inline constexpr std::size_t k_digest_size = 32;
inline constexpr std::uint8_t k_rtmp_version = 3;

// The well-known handshake keys: "Genuine Adobe Flash Player 001" / "... Flash Media Server 001" + 32 bytes.
std::span<const std::uint8_t> genuine_fp_key();   // 62 bytes; digests of C1 use the first 30
std::span<const std::uint8_t> genuine_fms_key();  // 68 bytes; digests of S1 use the first 36

// Offset of the 32-byte digest inside a 1536-byte C1/S1 for a scheme (0: bytes 8..11, 1: bytes 772..775).
std::size_t digest_offset(std::span<const std::uint8_t> block, int scheme);
// HMAC-SHA256 over `block` without the 32 bytes at `offset`.
std::array<std::uint8_t, k_digest_size> block_digest(std::span<const std::uint8_t> block, std::size_t offset,
                                                     std::span<const std::uint8_t> key);
std::array<std::uint8_t, k_digest_size> hmac_sha256(std::span<const std::uint8_t> key,
                                                    std::span<const std::uint8_t> data);
// The scheme (0 or 1) whose digest in `block` validates with `key`, or -1.
int find_digest_scheme(std::span<const std::uint8_t> block, std::span<const std::uint8_t> key);

class Handshake {
 public:
  enum class State { WaitC0C1, WaitC2, Done, Failed };

  // Consumes bytes from `in` (never past the end of the handshake: what follows C2 belongs to the chunk
  // stream) and returns how many were used. Replies to send are appended to output().
  std::size_t feed(std::span<const std::uint8_t> in);

  State state() const { return state_; }
  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  const std::string& error() const { return error_; }

  // Bytes to send (S0+S1+S2 once C0+C1 are in); the caller takes them with take_output().
  const std::vector<std::uint8_t>& output() const { return out_; }
  std::vector<std::uint8_t> take_output();

  bool digest() const { return scheme_ >= 0; }  // the digest variant was used
  int scheme() const { return scheme_; }
  bool c2_valid() const { return c2_valid_; }

 private:
  void answer();
  void check_c2();

  State state_ = State::WaitC0C1;
  std::string error_;
  std::vector<std::uint8_t> in_;  // C0+C1, then C2
  std::vector<std::uint8_t> out_;
  std::array<std::uint8_t, k_handshake_size> s1_{};
  std::array<std::uint8_t, k_digest_size> client_digest_{};
  int scheme_ = -1;
  bool c2_valid_ = false;
};

}  // namespace dragon::rtmp
