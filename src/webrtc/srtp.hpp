#pragma once
// SRTP/SRTCP for one viewer (RFC 3711, RFC 7714) on libsrtp2: one outbound context for what we send
// and one inbound context for the viewer's RTCP. Protection happens in place in the caller's buffer,
// which must have k_max_trailer spare bytes after the packet.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "webrtc/dtls.hpp"

namespace dragon::webrtc {

class SrtpSession {
 public:
  static constexpr std::size_t k_max_trailer = 16 + 4 + 16;  // auth tag/GCM tag + SRTCP index (+ MKI room)

  // Throws std::runtime_error when libsrtp2 refuses the keys.
  explicit SrtpSession(const SrtpKeys& keys);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // In place; `len` is the plaintext length in, the protected length out. False on failure.
  bool protect_rtp(std::uint8_t* packet, std::size_t& len);
  bool protect_rtcp(std::uint8_t* packet, std::size_t& len);
  // In place; `len` shrinks to the plaintext. False when authentication or replay checks fail.
  bool unprotect_rtcp(std::uint8_t* packet, std::size_t& len);
  bool unprotect_rtp(std::uint8_t* packet, std::size_t& len);  // client mode (tests, load tool)

  SrtpProfile profile() const { return profile_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  SrtpProfile profile_;
};

}  // namespace dragon::webrtc
