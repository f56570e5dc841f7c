#include "webrtc/h264_profile.hpp"

#include <array>
#include <charconv>
#include <cstdint>

#include "webrtc/sdp.hpp"

namespace dragon::webrtc {
namespace {

constexpr std::uint8_t k_constraint_set3_flag = 0x10;

// An 8-bit pattern written most significant bit first: '0' and '1' must match, 'x' is free.
struct BitPattern {
  std::uint8_t mask = 0;
  std::uint8_t value = 0;
  constexpr explicit BitPattern(const char (&bits)[9]) {
    for (int i = 0; i < 8; ++i) {
      const auto bit = static_cast<std::uint8_t>(1u << (7 - i));
      if (bits[i] != 'x') mask |= bit;
      if (bits[i] == '1') value |= bit;
    }
  }
  constexpr bool matches(std::uint8_t byte) const { return (byte & mask) == value; }
};

struct ProfilePattern {
  std::uint8_t profile_idc;
  BitPattern profile_iop;
  H264Profile profile;
};

// libwebrtc's table (api/video_codecs/h264_profile_level_id.cc); the first match wins.
constexpr std::array<ProfilePattern, 9> k_profile_patterns{{
    {0x42, BitPattern("x1xx0000"), H264Profile::ConstrainedBaseline},
    {0x4D, BitPattern("1xxx0000"), H264Profile::ConstrainedBaseline},
    {0x58, BitPattern("11xx0000"), H264Profile::ConstrainedBaseline},
    {0x42, BitPattern("x0xx0000"), H264Profile::Baseline},
    {0x58, BitPattern("10xx0000"), H264Profile::Baseline},
    {0x4D, BitPattern("0x0x0000"), H264Profile::Main},
    {0x64, BitPattern("00000000"), H264Profile::High},
    {0x64, BitPattern("00001100"), H264Profile::ConstrainedHigh},
    {0xF4, BitPattern("00000000"), H264Profile::PredictiveHigh444},
}};

bool parse_hex_byte(std::string_view two, std::uint8_t& out) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(two.data(), two.data() + two.size(), value, 16);
  if (ec != std::errc() || end != two.data() + two.size()) return false;
  out = static_cast<std::uint8_t>(value);
  return true;
}

}  // namespace

std::optional<H264ProfileLevelId> parse_h264_profile_level_id(std::string_view hex) {
  if (hex.size() != 6) return std::nullopt;
  std::uint8_t profile_idc = 0, profile_iop = 0, level_idc = 0;
  if (!parse_hex_byte(hex.substr(0, 2), profile_idc) || !parse_hex_byte(hex.substr(2, 2), profile_iop) ||
      !parse_hex_byte(hex.substr(4, 2), level_idc)) {
    return std::nullopt;
  }
  H264Level level;
  switch (level_idc) {
    case 11:
      level = (profile_iop & k_constraint_set3_flag) != 0 ? H264Level::L1b : H264Level::L1_1;
      break;
    case 10: case 12: case 13: case 20: case 21: case 22: case 30: case 31: case 32:
    case 40: case 41: case 42: case 50: case 51: case 52:
      level = static_cast<H264Level>(level_idc);
      break;
    default:
      return std::nullopt;
  }
  for (const auto& pattern : k_profile_patterns) {
    if (pattern.profile_idc == profile_idc && pattern.profile_iop.matches(profile_iop)) {
      return H264ProfileLevelId{pattern.profile, level};
    }
  }
  return std::nullopt;
}

std::string_view to_string(H264Profile profile) {
  switch (profile) {
    case H264Profile::ConstrainedBaseline: return "Constrained Baseline";
    case H264Profile::Baseline: return "Baseline";
    case H264Profile::Main: return "Main";
    case H264Profile::ConstrainedHigh: return "Constrained High";
    case H264Profile::High: return "High";
    case H264Profile::PredictiveHigh444: return "Predictive High 4:4:4";
  }
  return "unknown";
}

bool h264_level_less(H264Level a, H264Level b) {
  if (a == H264Level::L1b) return b != H264Level::L1 && b != H264Level::L1b;
  if (b == H264Level::L1b) return a == H264Level::L1;
  return static_cast<int>(a) < static_cast<int>(b);
}

std::optional<H264ProfileLevelId> h264_offered_profile_level_id(const SdpCodec& offered) {
  const auto id = fmtp_parameter(offered.fmtp, "profile-level-id");
  return parse_h264_profile_level_id(id ? *id : k_h264_default_profile_level_id);
}

bool h264_can_send(const std::string& our_profile_level_id, int our_packetization_mode, const SdpCodec& offered) {
  if (!iequals(offered.name, "H264") || offered.clock_rate != 90000) return false;
  const auto ours = parse_h264_profile_level_id(our_profile_level_id);
  if (!ours) return false;
  const auto theirs = h264_offered_profile_level_id(offered);
  if (!theirs) return false;

  const bool same_profile = ours->profile == theirs->profile ||
                            (ours->profile == H264Profile::ConstrainedBaseline &&
                             theirs->profile == H264Profile::Baseline);
  if (!same_profile) return false;

  int offered_mode = 0;
  if (const auto mode = fmtp_parameter(offered.fmtp, "packetization-mode")) {
    if (*mode == "1") {
      offered_mode = 1;
    } else if (*mode == "2") {
      offered_mode = 2;
    } else if (*mode != "0") {
      return false;
    }
  }
  if (offered_mode != our_packetization_mode) return false;

  const auto asymmetry = fmtp_parameter(offered.fmtp, "level-asymmetry-allowed");
  if (asymmetry && *asymmetry == "1") return true;
  return !h264_level_less(theirs->level, ours->level);
}

}  // namespace dragon::webrtc
