// STUN arrives on the media port from anyone on the network: the parser must reject anything
// malformed without reading outside the datagram, and what it accepts must survive our writers.
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "webrtc/stun.hpp"

using namespace dragon::webrtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> packet(data, size);
  const bool looks_like_stun = is_stun(packet);
  const auto m = parse_stun(packet);
  if (!m) return 0;
  if (!looks_like_stun) __builtin_trap();  // a full parse implies the cheap test
  if (!m->username.empty()) {
    const auto* u = reinterpret_cast<const std::uint8_t*>(m->username.data());
    if (u < data || u + m->username.size() > data + size) __builtin_trap();
  }
  if (m->integrity_offset != 0 && m->integrity_offset + 24 > size) __builtin_trap();
  (void)verify_integrity(packet, *m, "VOkJxbRl1RmTxUk/WvJxBt");

  // Whatever we answer with must parse back and verify.
  std::uint8_t out[1500];
  const sockaddr* mapped = m->mapped.ss_family == AF_UNSPEC ? nullptr : reinterpret_cast<const sockaddr*>(&m->mapped);
  const auto n = write_binding_success(out, m->transaction_id, mapped, "fuzz-password-0123456789");
  if (n == 0) __builtin_trap();
  const std::span<const std::uint8_t> answer(out, n);
  const auto back = parse_stun(answer);
  if (!back || !back->fingerprint_ok || !verify_integrity(answer, *back, "fuzz-password-0123456789")) __builtin_trap();
  if (back->mapped.ss_family != m->mapped.ss_family) __builtin_trap();

  const auto r = write_binding_request(out, m->transaction_id, m->username, "pw", m->priority, m->ice_controlling,
                                       m->tie_breaker, m->use_candidate);
  if (r == 0) __builtin_trap();  // usernames are bounded by the parser to what the writer takes
  const auto request = parse_stun(std::span<const std::uint8_t>(out, r));
  if (!request || request->username != m->username || request->priority != m->priority) __builtin_trap();
  if (m->error_code != 0) {
    const auto e = write_binding_error(out, m->transaction_id, m->error_code, m->error_reason, "");
    const auto err = parse_stun(std::span<const std::uint8_t>(out, e));
    if (e == 0 || !err || err->error_code != m->error_code) __builtin_trap();
  }
  return 0;
}
