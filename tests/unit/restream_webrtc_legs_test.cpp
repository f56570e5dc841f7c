// WebRTC leg planning: which streams go to the legs and whether video is copied, from probe output.
#include <gtest/gtest.h>

#include <algorithm>

#include "restream/webrtc_legs.hpp"

using namespace dragon;

namespace {

ffmpeg::Probe probe_of(const std::vector<std::string>& lines) {
  return ffmpeg::parse_probe_lines(lines);
}

const std::vector<std::string> k_h264_main = {
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'in.mp4':",
    "  Duration: 00:00:10.00, start: 0.000000, bitrate: 500 kb/s",
    "  Stream #0:0[0x1](und): Video: h264 (Main) (avc1 / 0x31637661), yuv420p(progressive), 640x360 [SAR 1:1 DAR 16:9], 457 kb/s, 25 fps, 25 tbr, 12800 tbn (default)",
    "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 76 kb/s (default)",
};

const std::vector<std::string> k_h264_high_video_only = {
    "Input #0, flv, from 'rtmp://x/live/a':",
    "  Stream #0:0: Video: h264 (High), yuv420p(progressive), 1920x1080, 25 fps, 25 tbr, 1k tbn",
};

const std::vector<std::string> k_lavfi_two_inputs = {
    "Input #0, lavfi, from 'testsrc2':",
    "  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p, 320x240 [SAR 1:1 DAR 4:3], 25 tbr, 25 tbn",
    "Input #1, lavfi, from 'sine':",
    "  Stream #1:0: Audio: pcm_s16le, 44100 Hz, mono, s16, 705 kb/s",
};

bool has_sequence(const std::vector<std::string>& a, const std::vector<std::string>& seq) {
  return std::search(a.begin(), a.end(), seq.begin(), seq.end()) != a.end();
}

}  // namespace

TEST(RestreamWebrtcLegs, CopiesH264MainAndMapsTheFirstStreams) {
  const auto plan = restream::plan_webrtc_legs(probe_of(k_h264_main), {.enabled = true});
  EXPECT_EQ(plan.video_map, "0:0");
  EXPECT_TRUE(plan.video_copy) << plan.video_reason;
  EXPECT_EQ(plan.audio_map, "0:1");
  const auto args = restream::webrtc_leg_arguments(plan, {20000, 20002, "/tmp/w/20000.sdp"}, false);
  EXPECT_TRUE(has_sequence(args, {"-map", "0:0", "-c:v", "copy", "-f", "rtp", "-pkt_size", "1200",
                                   "rtp://127.0.0.1:20000?pkt_size=1200&rtcpport=20001"}));
  EXPECT_TRUE(has_sequence(args, {"-sdp_file", "/tmp/w/20000.sdp"}));
  EXPECT_EQ(args.back(), "/tmp/w/20000.sdp");
  EXPECT_TRUE(has_sequence(args, {"-map", "0:1", "-c:a", "libopus", "-ar", "48000", "-ac", "2"}));
  EXPECT_TRUE(has_sequence(args, {"rtp://127.0.0.1:20002?pkt_size=1200&rtcpport=20003"}));
}

TEST(RestreamWebrtcLegs, ForceTranscodeAndB_FramesTranscode) {
  auto plan = restream::plan_webrtc_legs(probe_of(k_h264_main), {.enabled = true, .force_transcode = true});
  EXPECT_FALSE(plan.video_copy);
  EXPECT_NE(plan.video_reason.find("force_transcode"), std::string::npos);
  plan = restream::plan_webrtc_legs(probe_of(k_h264_main), {.enabled = true});
  const auto args = restream::webrtc_leg_arguments(plan, {20000, 20002}, /*force_transcode (B-frames seen)=*/true);
  EXPECT_TRUE(has_sequence(args, {"-c:v", "libx264"}));
  EXPECT_TRUE(has_sequence(args, {"-bf", "0"}));
  EXPECT_TRUE(has_sequence(args, {"-tune", "zerolatency"}));
  EXPECT_FALSE(has_sequence(args, {"-c:v", "copy"}));
}

TEST(RestreamWebrtcLegs, HighProfileIsTranscodedAndNoAudioMeansNoAudioLeg) {
  const auto plan = restream::plan_webrtc_legs(probe_of(k_h264_high_video_only), {.enabled = true});
  EXPECT_FALSE(plan.video_copy);
  EXPECT_NE(plan.video_reason.find("High"), std::string::npos) << plan.video_reason;
  EXPECT_TRUE(plan.audio_map.empty());
  const auto args = restream::webrtc_leg_arguments(plan, {20000, 20002}, false);
  EXPECT_EQ(std::count(args.begin(), args.end(), "-map"), 1);
  EXPECT_FALSE(has_sequence(args, {"-c:a", "libopus"}));
}

TEST(RestreamWebrtcLegs, RawInputsAndExplicitMaps) {
  auto plan = restream::plan_webrtc_legs(probe_of(k_lavfi_two_inputs), {.enabled = true});
  EXPECT_EQ(plan.video_map, "0:0");
  EXPECT_FALSE(plan.video_copy);
  EXPECT_EQ(plan.audio_map, "1:0");
  plan = restream::plan_webrtc_legs(probe_of(k_h264_main), {.enabled = true, .video_map = "0:v:0", .audio_map = "0:a"});
  EXPECT_EQ(plan.video_map, "0:v:0");
  EXPECT_TRUE(plan.video_copy);
  EXPECT_EQ(plan.audio_map, "0:a");
  // A specifier that names no plain stream is used as given, and transcoded.
  plan = restream::plan_webrtc_legs(probe_of(k_h264_main), {.enabled = true, .video_map = "[v]"});
  EXPECT_EQ(plan.video_map, "[v]");
  EXPECT_FALSE(plan.video_copy);
  // Unprobed inputs: the first video stream, transcoded; audio only when configured.
  plan = restream::fallback_webrtc_legs({.enabled = true});
  EXPECT_EQ(plan.video_map, "0:v:0");
  EXPECT_FALSE(plan.video_copy);
  EXPECT_TRUE(plan.audio_map.empty());
}
