#include <gtest/gtest.h>

#include "webrtc/h264_profile.hpp"
#include "webrtc/sdp.hpp"

using namespace dragon::webrtc;

namespace {

SdpCodec h264(std::string fmtp) {
  SdpCodec c;
  c.payload_type = 102;
  c.name = "H264";
  c.clock_rate = 90000;
  c.fmtp = std::move(fmtp);
  return c;
}

std::optional<H264Profile> profile_of(std::string_view hex) {
  const auto p = parse_h264_profile_level_id(hex);
  if (!p) return std::nullopt;
  return p->profile;
}

std::optional<H264Level> level_of(std::string_view hex) {
  const auto p = parse_h264_profile_level_id(hex);
  if (!p) return std::nullopt;
  return p->level;
}

}  // namespace

// The cases of libwebrtc's h264_profile_level_id unittest, which browsers apply to our answer.
TEST(WebrtcH264Profile, ProfilesByIdcAndIopPatterns) {
  EXPECT_EQ(profile_of("42e01f"), H264Profile::ConstrainedBaseline);
  EXPECT_EQ(profile_of("42C02A"), H264Profile::ConstrainedBaseline);
  EXPECT_EQ(profile_of("4de01f"), H264Profile::ConstrainedBaseline);
  EXPECT_EQ(profile_of("58f01f"), H264Profile::ConstrainedBaseline);
  EXPECT_EQ(profile_of("42a01f"), H264Profile::Baseline);
  EXPECT_EQ(profile_of("42001f"), H264Profile::Baseline);
  EXPECT_EQ(profile_of("58A01E"), H264Profile::Baseline);
  EXPECT_EQ(profile_of("4D401f"), H264Profile::Main);
  EXPECT_EQ(profile_of("4d001f"), H264Profile::Main);
  EXPECT_EQ(profile_of("64001f"), H264Profile::High);
  EXPECT_EQ(profile_of("640c1f"), H264Profile::ConstrainedHigh);
  EXPECT_EQ(profile_of("f4001f"), H264Profile::PredictiveHigh444);
  EXPECT_EQ(to_string(H264Profile::ConstrainedHigh), "Constrained High");
}

TEST(WebrtcH264Profile, Levels) {
  EXPECT_EQ(level_of("42e01f"), H264Level::L3_1);
  EXPECT_EQ(level_of("420032"), H264Level::L5);
  EXPECT_EQ(level_of("42e034"), H264Level::L5_2);
  EXPECT_EQ(level_of("42e00a"), H264Level::L1);
  // Level 1b: level_idc 11 with constraint_set3_flag; 11 without it is 1.1.
  EXPECT_EQ(level_of("42f00b"), H264Level::L1b);
  EXPECT_EQ(level_of("42e00b"), H264Level::L1_1);
  EXPECT_EQ(level_of("640c0b"), H264Level::L1_1);
  EXPECT_TRUE(h264_level_less(H264Level::L1, H264Level::L1b));
  EXPECT_TRUE(h264_level_less(H264Level::L1b, H264Level::L1_1));
  EXPECT_FALSE(h264_level_less(H264Level::L1b, H264Level::L1));
  EXPECT_FALSE(h264_level_less(H264Level::L1b, H264Level::L1b));
  EXPECT_TRUE(h264_level_less(H264Level::L3_1, H264Level::L4));
  EXPECT_FALSE(h264_level_less(H264Level::L5_2, H264Level::L3));
}

TEST(WebrtcH264Profile, RejectsMalformedIds) {
  for (const char* bad : {"", "42e01", "42e01f0", " 42e01f", "42e01g", "gggggg", "42e0-f", "+2e01f",
                          "42e000", "42e009", "42e01a", "42e0ff",  // levels that do not exist
                          "6d001f", "00e01f",                      // unknown profile_idc
                          "42e11f", "640d1f", "f4101f"}) {         // profile_iop matching no pattern
    EXPECT_FALSE(parse_h264_profile_level_id(bad)) << bad;
  }
}

TEST(WebrtcH264Profile, SameProfileOrBaselineForConstrainedBaseline) {
  EXPECT_TRUE(h264_can_send("42e01f", 1, h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")));
  // A constrained-baseline stream decodes on a Baseline decoder, not the other way round.
  EXPECT_TRUE(h264_can_send("42e01f", 1, h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f")));
  EXPECT_FALSE(h264_can_send("42001f", 1, h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")));
  EXPECT_FALSE(h264_can_send("42e01f", 1, h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f")));
  EXPECT_FALSE(h264_can_send("42e01f", 1, h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f")));
  EXPECT_FALSE(h264_can_send("42e01f", 1, h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f")));
  EXPECT_TRUE(h264_can_send("4d001f", 1, h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d0032")));
  EXPECT_TRUE(h264_can_send("640c1f", 1, h264("packetization-mode=1;profile-level-id=640c1f")));
  EXPECT_FALSE(h264_can_send("64001f", 1, h264("packetization-mode=1;profile-level-id=640c1f")));
}

TEST(WebrtcH264Profile, PacketizationModeMustMatch) {
  // Absent means 0 (Firefox 60's PT 97).
  const auto mode0 = h264("profile-level-id=42e01f;level-asymmetry-allowed=1");
  EXPECT_FALSE(h264_can_send("42e01f", 1, mode0));
  EXPECT_TRUE(h264_can_send("42e01f", 0, mode0));
  EXPECT_FALSE(h264_can_send("42e01f", 1, h264("packetization-mode=2;profile-level-id=42e01f")));
  EXPECT_FALSE(h264_can_send("42e01f", 1, h264("packetization-mode=one;profile-level-id=42e01f")));
  // Parameter order and case do not matter.
  EXPECT_TRUE(h264_can_send("42e01f", 1, h264(" Profile-Level-Id=42E01F ; PACKETIZATION-MODE=1")));
}

TEST(WebrtcH264Profile, LevelNotAboveOfferedUnlessAsymmetryAllowed) {
  EXPECT_FALSE(h264_can_send("42e01f", 1, h264("packetization-mode=1;profile-level-id=42e01e")));
  EXPECT_TRUE(h264_can_send("42e01f", 1, h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01e")));
  EXPECT_FALSE(h264_can_send("42e01f", 1, h264("level-asymmetry-allowed=0;packetization-mode=1;profile-level-id=42e01e")));
  EXPECT_TRUE(h264_can_send("42e01f", 1, h264("packetization-mode=1;profile-level-id=42e032")));
  EXPECT_TRUE(h264_can_send("42e01f", 1, h264("packetization-mode=1;profile-level-id=42e01f")));
  EXPECT_TRUE(h264_can_send("42f00b", 1, h264("packetization-mode=1;profile-level-id=42e00b")));   // 1b ≤ 1.1
  EXPECT_FALSE(h264_can_send("42e00b", 1, h264("packetization-mode=1;profile-level-id=42f00b")));  // 1.1 > 1b
}

TEST(WebrtcH264Profile, DefaultsAndNonH264) {
  // No profile-level-id: libwebrtc's default 42e01f.
  EXPECT_TRUE(h264_can_send("42e01f", 1, h264("packetization-mode=1")));
  EXPECT_TRUE(h264_can_send("42e01f", 0, h264("")));
  EXPECT_FALSE(h264_can_send("42e028", 0, h264("")));  // level 4 > 3.1
  auto lower = h264("packetization-mode=1");
  lower.name = "h264";
  EXPECT_TRUE(h264_can_send("42e01f", 1, lower));
  auto vp8 = h264("");
  vp8.name = "VP8";
  EXPECT_FALSE(h264_can_send("42e01f", 0, vp8));
  auto clock = h264("packetization-mode=1");
  clock.clock_rate = 8000;
  EXPECT_FALSE(h264_can_send("42e01f", 1, clock));
  EXPECT_FALSE(h264_can_send("nonsense", 1, h264("packetization-mode=1")));
  EXPECT_FALSE(h264_can_send("42e01f", 1, h264("packetization-mode=1;profile-level-id=zz")));
}
