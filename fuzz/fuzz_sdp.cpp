// A WHEP POST body is an SDP offer from anyone holding a viewer token: parse, negotiate and answer
// must never crash, and every answer we build must parse with our own parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "webrtc/negotiation.hpp"
#include "webrtc/sdp.hpp"

using namespace dragon::webrtc;

namespace {
void answer_and_check(const SdpOffer& offer, const Negotiation& n) {
  if (n.error_status != 0 && n.error_status != 400 && n.error_status != 406) __builtin_trap();
  if (n.error_status != 0) {
    if (n.error.empty() || !n.accepted.empty()) __builtin_trap();
    return;
  }
  if (n.accepted.empty() || n.accepted.size() > 2) __builtin_trap();
  AnswerParams p;
  p.session_id = 1;
  p.ice_ufrag = "abcd";
  p.ice_pwd = "0123456789012345678901";
  p.fingerprint_sha256 = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
  p.candidates = {{"1", 1, "udp", 2130706431, "192.0.2.1", 9000, ""}};
  p.video_ssrc = 1;
  p.audio_ssrc = 2;
  p.cname = "c";
  p.stream_id = "s";
  const auto answer = build_answer(offer, n, p);
  // An offer near the size limit can yield an answer just over it (the echoed rejected m-lines).
  if (answer.size() > k_sdp_max_size) return;
  const auto back = parse_sdp_offer(answer);
  if (!back || back.offer->media.size() != offer.media.size()) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = parse_sdp_offer(text);
  if (!r) {
    if (r.error.empty()) __builtin_trap();
    return 0;
  }
  const auto& offer = *r.offer;
  answer_and_check(offer, negotiate(offer, SendTrack{"H264", 90000, 0, "42e01f"}, SendTrack{"opus", 48000, 2, ""}));
  answer_and_check(offer, negotiate(offer, SendTrack{"VP8", 90000, 0, ""}, std::nullopt));
  answer_and_check(offer, negotiate(offer, std::nullopt, SendTrack{"opus", 48000, 2, ""}));
  return 0;
}
