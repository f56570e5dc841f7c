#pragma once
// Offer/answer for a WHEP egress (RFC 9725 with an ICE-lite, DTLS-passive server): which offered
// m-lines receive which of our tracks on which payload type, and the answer SDP that says so.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "webrtc/sdp.hpp"

namespace dragon::webrtc {

inline constexpr std::string_view k_playout_delay_uri = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
inline constexpr std::string_view k_twcc_uri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

// One track the process can send.
struct SendTrack {
  std::string codec;  // "H264", "VP8", "opus"
  int clock_rate = 0;
  int channels = 0;                   // audio: 2 for opus
  std::string h264_profile_level_id;  // H264 only, e.g. "42e01f"
};

struct NegotiatedMedia {
  std::size_t offer_index = 0;  // index into SdpOffer::media
  std::string kind;             // "video" or "audio"
  std::string mid;
  SdpCodec codec;  // the offer's payload-type entry we chose
  // The a=fmtp we answer for that payload type: for H.264 our own profile-level-id with the
  // chosen packetization-mode and level-asymmetry-allowed=1; otherwise the offer's.
  std::string fmtp;
  // The offered feedback among nack, nack pli, ccm fir, goog-remb, transport-cc (the last only
  // when the transport-wide-cc extension is negotiated too).
  std::vector<std::string> rtcp_fb;
  int playout_delay_ext_id = 0;  // 0 if not offered
  int twcc_ext_id = 0;           // 0 if not offered
  bool rtcp_rsize = false;
};

struct Negotiation {
  std::vector<NegotiatedMedia> accepted;  // in offer order
  int error_status = 0;                   // 0, 400 (malformed offer) or 406 (no codec we can send)
  std::string error;                      // says what the offer had and what we wanted
  // The remote transport, from the first accepted m-line of the bundle.
  std::string ice_ufrag, ice_pwd, fingerprint_algorithm, fingerprint, setup;
  explicit operator bool() const { return error_status == 0; }
};

// Picks, for each m-line that can receive (recvonly or sendrecv), the first offered codec we can
// send: H.264 through h264_can_send() in packetization-mode 1, failing that 0 (within a mode, a
// payload type of our exact profile before a Baseline one that accepts Constrained Baseline);
// others by name and
// clock rate (and channels for audio). At most one video and one audio m-line are served; the
// rest are rejected. Video is what a viewer comes for: an offer that wants video but cannot take
// ours is a 406 even if its audio would fit. A process without audio rejects audio m-lines.
Negotiation negotiate(const SdpOffer& offer, const std::optional<SendTrack>& video,
                      const std::optional<SendTrack>& audio);

struct AnswerParams {
  std::uint64_t session_id = 0;
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint_sha256;  // "AB:CD:..."
  std::vector<AnswerCandidate> candidates;
  std::uint32_t video_ssrc = 0, audio_ssrc = 0;
  std::string cname, stream_id;
};

// The answer (CRLF): session-level a=ice-lite, BUNDLE of the accepted mids and msid-semantic;
// every offered m-line in order, rejected ones with port 0; accepted ones a=setup:passive, our
// ICE credentials and sha-256 fingerprint, only the chosen payload type, only the negotiated
// header extensions, our SSRC/msid, candidates and a=end-of-candidates.
std::string build_answer(const SdpOffer& offer, const Negotiation& negotiation, const AnswerParams& params);

}  // namespace dragon::webrtc
