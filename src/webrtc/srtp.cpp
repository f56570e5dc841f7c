#include "webrtc/srtp.hpp"

#include <srtp2/srtp.h>

#include <mutex>
#include <stdexcept>

namespace dragon::webrtc {

namespace {

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("libsrtp2 initialisation failed");
  });
}

void set_policy_crypto(srtp_policy_t& p, SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::AeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
      break;
    case SrtpProfile::AeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
      break;
    case SrtpProfile::Aes128CmSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
      break;
  }
}

srtp_t make_session(SrtpProfile profile, const std::vector<std::uint8_t>& key_salt, srtp_ssrc_type_t direction) {
  srtp_policy_t policy{};
  set_policy_crypto(policy, profile);
  policy.ssrc.type = direction;
  policy.key = const_cast<unsigned char*>(key_salt.data());
  // Retransmissions answer NACKs with the packet's own sequence number, long after it was sent.
  policy.window_size = 4096;
  policy.allow_repeat_tx = 1;
  policy.next = nullptr;
  srtp_t session = nullptr;
  const auto status = srtp_create(&session, &policy);
  if (status != srtp_err_status_ok) {
    throw std::runtime_error("libsrtp2 refused the session keys (status " + std::to_string(status) + ")");
  }
  return session;
}

}  // namespace

struct SrtpSession::Impl {
  srtp_t outbound = nullptr;
  srtp_t inbound = nullptr;
  ~Impl() {
    if (outbound) srtp_dealloc(outbound);
    if (inbound) srtp_dealloc(inbound);
  }
};

SrtpSession::SrtpSession(const SrtpKeys& keys) : impl_(std::make_unique<Impl>()), profile_(keys.profile) {
  init_library();
  impl_->outbound = make_session(keys.profile, keys.local_key_salt, ssrc_any_outbound);
  impl_->inbound = make_session(keys.profile, keys.remote_key_salt, ssrc_any_inbound);
}

SrtpSession::~SrtpSession() = default;

bool SrtpSession::protect_rtp(std::uint8_t* packet, std::size_t& len) {
  int n = static_cast<int>(len);
  if (srtp_protect(impl_->outbound, packet, &n) != srtp_err_status_ok) return false;
  len = static_cast<std::size_t>(n);
  return true;
}

bool SrtpSession::protect_rtcp(std::uint8_t* packet, std::size_t& len) {
  int n = static_cast<int>(len);
  if (srtp_protect_rtcp(impl_->outbound, packet, &n) != srtp_err_status_ok) return false;
  len = static_cast<std::size_t>(n);
  return true;
}

bool SrtpSession::unprotect_rtcp(std::uint8_t* packet, std::size_t& len) {
  int n = static_cast<int>(len);
  if (srtp_unprotect_rtcp(impl_->inbound, packet, &n) != srtp_err_status_ok) return false;
  len = static_cast<std::size_t>(n);
  return true;
}

bool SrtpSession::unprotect_rtp(std::uint8_t* packet, std::size_t& len) {
  int n = static_cast<int>(len);
  if (srtp_unprotect(impl_->inbound, packet, &n) != srtp_err_status_ok) return false;
  len = static_cast<std::size_t>(n);
  return true;
}

}  // namespace dragon::webrtc
