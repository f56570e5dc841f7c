#pragma once
// SDP as a WHEP server meets it: the browser's offer (RFC 8866 with the WebRTC attributes of
// RFC 8829/8839/8842/8843), and trickle-ICE fragments (RFC 8840, the PATCH body of WHEP).
// The parsers take text from the network: they bound its size, tolerate CRLF or LF and a missing
// final newline, and name the line of any error. The answer itself is built in negotiation.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::webrtc {

inline constexpr std::size_t k_sdp_max_size = 64 * 1024;
inline constexpr std::size_t k_sdp_max_lines = 4096;
inline constexpr std::size_t k_sdp_max_media = 32;
inline constexpr std::size_t k_sdp_max_formats = 128;      // per m-line
inline constexpr std::size_t k_sdp_max_candidates = 64;    // per m-line
inline constexpr std::size_t k_sdp_max_line_length = 4096;

struct SdpCodec {
  int payload_type = -1;
  std::string name;    // as written, e.g. "H264", "opus"
  int clock_rate = 0;
  int channels = 0;    // 0 when a=rtpmap gives none
  std::string fmtp;    // the a=fmtp value, e.g. "level-asymmetry-allowed=1;packetization-mode=1;..."
  std::vector<std::string> rtcp_fb;  // "nack", "nack pli", "ccm fir", "goog-remb", "transport-cc", ...
};

struct SdpExtmap {
  int id = 0;
  std::string uri;
  std::string direction;  // from "a=extmap:6/recvonly ..."; empty if none
};

struct SdpMedia {
  std::size_t line = 0;  // the m= line's number, for error messages
  std::string kind;      // "video", "audio", "application", ...
  int port = 0;
  std::string protocol;  // "UDP/TLS/RTP/SAVPF", ...
  std::vector<std::string> formats;
  std::string mid;
  std::string direction = "sendrecv";  // "sendrecv", "sendonly", "recvonly", "inactive"
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint_algorithm, fingerprint;  // algorithm lower-cased; value as written
  std::string setup;  // "actpass", "active", "passive", "holdconn"; empty if absent
  bool rtcp_mux = false;
  bool rtcp_rsize = false;
  std::vector<SdpCodec> codecs;  // in the m= line's format order
  std::vector<SdpExtmap> extmaps;
  std::vector<std::string> candidates;  // the value after "a=candidate:"
  bool end_of_candidates = false;
  bool bundle_only = false;  // a=bundle-only: port 0 then means "in the bundle", not "rejected"
  std::vector<std::string> ice_options;
};

struct SdpOffer {
  std::vector<SdpMedia> media;
  std::vector<std::string> bundle;  // mids of the first a=group:BUNDLE
  bool extmap_allow_mixed = false;
  bool ice_lite = false;
  std::vector<std::string> ice_options;  // session level
};

struct SdpParseResult {
  std::optional<SdpOffer> offer;
  std::string error;  // "line 7: m= line with 3 fields"; empty on success
  explicit operator bool() const { return offer.has_value(); }
};

// Parses an offer. Session-level ice-ufrag/ice-pwd/fingerprint/setup/direction/ice-options become
// each m-line's defaults; the m-line's own attributes win.
SdpParseResult parse_sdp_offer(std::string_view text);

// A trickle-ICE fragment (application/trickle-ice-sdpfrag): ICE credentials and options, and per
// media section (an m= line, or a bare a=mid: as some clients send) its candidates.
struct SdpFragMedia {
  std::string mid;
  std::string kind;  // from the m= line; empty for a bare a=mid
  std::string ice_ufrag, ice_pwd;
  std::vector<std::string> candidates;
  bool end_of_candidates = false;
};

struct SdpFrag {
  std::string ice_ufrag, ice_pwd;  // session level, or else the first section's
  std::vector<std::string> ice_options;
  std::vector<std::string> bundle;
  std::vector<SdpFragMedia> media;
  bool end_of_candidates = false;  // at session level or in any section
};

struct SdpFragParseResult {
  std::optional<SdpFrag> frag;
  std::string error;
  explicit operator bool() const { return frag.has_value(); }
};

SdpFragParseResult parse_sdpfrag(std::string_view text);

// One of our ICE candidates, as the answer or a fragment lists it.
struct AnswerCandidate {
  std::string foundation;
  int component = 1;
  std::string transport;  // "udp" or "tcp"
  std::uint32_t priority = 0;
  std::string address;
  int port = 0;
  std::string tcptype;  // "passive" for our TCP candidates; empty for UDP
};

// "foundation component transport priority address port typ host [tcptype passive]"
std::string format_candidate(const AnswerCandidate& candidate);

// The 200 body of an ICE-restart PATCH (RFC 9725 §4.3.2): a=ice-lite, ice-options, the bundle
// group, one media section with our new ufrag/pwd, candidates and a=end-of-candidates.
struct SdpFragAnswerParams {
  std::string ice_ufrag, ice_pwd;
  std::vector<std::string> ice_options;  // e.g. {"trickle", "ice2"}; none if empty
  std::vector<std::string> bundle;       // mids; no a=group line if empty
  std::string mid;
  std::string kind = "video";
  int payload_type = 96;
  std::vector<AnswerCandidate> candidates;
};
std::string build_sdpfrag(const SdpFragAnswerParams& params);

// Helpers shared by the negotiation code.
bool iequals(std::string_view a, std::string_view b);
// The value of `name` in an fmtp string ("a=1;b=2"); names compare case-insensitively.
std::optional<std::string_view> fmtp_parameter(std::string_view fmtp, std::string_view name);
// ICE credentials per RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/", ufrag 4–256, pwd 22–256.
bool valid_ice_ufrag(std::string_view ufrag);
bool valid_ice_pwd(std::string_view pwd);

}  // namespace dragon::webrtc
