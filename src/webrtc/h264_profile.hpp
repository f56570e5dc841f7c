#pragma once
// H.264 profile-level-id (RFC 6184 §8.1) as libwebrtc interprets it, which is what browsers check
// an answer against: the profile comes from profile_idc plus bit patterns of profile-iop (so
// 42e01f is Constrained Baseline while 42001f is Baseline), the level from level_idc, with level
// 1b written as level_idc 11 plus constraint_set3_flag. A missing profile-level-id means 42e01f
// (Constrained Baseline 3.1), libwebrtc's default, not RFC 6184's 420010.
#include <optional>
#include <string>
#include <string_view>

namespace dragon::webrtc {

struct SdpCodec;

enum class H264Profile {
  ConstrainedBaseline,
  Baseline,
  Main,
  ConstrainedHigh,
  High,
  PredictiveHigh444,
};

// Values are level_idc, except 1b.
enum class H264Level : int {
  L1b = 0,
  L1 = 10,
  L1_1 = 11,
  L1_2 = 12,
  L1_3 = 13,
  L2 = 20,
  L2_1 = 21,
  L2_2 = 22,
  L3 = 30,
  L3_1 = 31,
  L3_2 = 32,
  L4 = 40,
  L4_1 = 41,
  L4_2 = 42,
  L5 = 50,
  L5_1 = 51,
  L5_2 = 52,
};

struct H264ProfileLevelId {
  H264Profile profile = H264Profile::ConstrainedBaseline;
  H264Level level = H264Level::L3_1;
  friend bool operator==(const H264ProfileLevelId&, const H264ProfileLevelId&) = default;
};

inline constexpr std::string_view k_h264_default_profile_level_id = "42e01f";

// Six hex digits; nullopt for anything else or an unknown profile/level.
std::optional<H264ProfileLevelId> parse_h264_profile_level_id(std::string_view hex);

std::string_view to_string(H264Profile profile);

// Level order with 1b between 1 and 1.1.
bool h264_level_less(H264Level a, H264Level b);

// The offered payload type's profile-level-id, libwebrtc's default when the fmtp has none;
// nullopt if it does not parse.
std::optional<H264ProfileLevelId> h264_offered_profile_level_id(const SdpCodec& offered);

// Whether a stream we encode as `our_profile_level_id` in `our_packetization_mode` may be sent
// on the offered H.264 payload type: same profile (a Constrained Baseline stream also fits a
// receiver that offered Baseline), the same packetization-mode (absent = 0), and our level not
// above the offered one unless the offer says level-asymmetry-allowed=1.
bool h264_can_send(const std::string& our_profile_level_id, int our_packetization_mode, const SdpCodec& offered);

}  // namespace dragon::webrtc
