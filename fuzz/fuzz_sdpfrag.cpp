// A WHEP PATCH body (trickle ICE or ICE restart) is an sdpfrag from whoever knows the resource
// URL: parsing must not crash, and a fragment we build from what we parsed must parse back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "webrtc/sdp.hpp"

using namespace dragon::webrtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = parse_sdpfrag(text);
  if (!r) {
    if (r.error.empty()) __builtin_trap();
    return 0;
  }
  const auto& f = *r.frag;
  if (f.media.size() > k_sdp_max_media) __builtin_trap();
  SdpFragAnswerParams p;
  p.ice_ufrag = f.ice_ufrag.empty() ? "abcd" : f.ice_ufrag;
  p.ice_pwd = f.ice_pwd.empty() ? "0123456789012345678901" : f.ice_pwd;
  p.ice_options = f.ice_options;
  p.mid = f.media.empty() ? "0" : f.media.front().mid;
  p.candidates = {{"1", 1, "udp", 2130706431, "192.0.2.1", 9000, ""}};
  const auto back = parse_sdpfrag(build_sdpfrag(p));
  if (!back || back.frag->ice_ufrag != p.ice_ufrag || back.frag->ice_pwd != p.ice_pwd) __builtin_trap();
  if (back.frag->ice_options != p.ice_options || !back.frag->end_of_candidates) __builtin_trap();
  return 0;
}
