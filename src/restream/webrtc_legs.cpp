#include "restream/webrtc_legs.hpp"

#include <charconv>

#include "util/strings.hpp"

namespace dragon::restream {

namespace {

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The probe stream a specifier selects: "I:S", "I:v", "I:v:N", "I:a:N" (the forms a user writes for
// one stream); nullptr for anything else (filters' outputs, metadata selectors, ...).
const ffmpeg::StreamInfo* select(const ffmpeg::Probe& probe, std::string_view spec, std::string_view type) {
  const auto parts = util::split(spec, ':');
  if (parts.empty() || parts.size() > 3) return nullptr;
  const auto input = number(parts[0]);
  if (!input) return nullptr;
  std::optional<std::uint64_t> absolute, nth;
  if (parts.size() == 2) {
    if (parts[1] == "v" || parts[1] == "a") {
      nth = 0;
    } else {
      absolute = number(parts[1]);
      if (!absolute) return nullptr;
    }
  } else if (parts.size() == 3) {
    if (parts[1] != "v" && parts[1] != "a") return nullptr;
    nth = number(parts[2]);
    if (!nth) return nullptr;
  } else {
    nth = 0;
  }
  std::uint64_t seen = 0;
  for (const auto& s : probe.streams) {
    if (s.index != *input) continue;
    if (absolute) {
      if (s.stream == *absolute) return &s;
      continue;
    }
    if (s.type != type) continue;
    if (seen++ == *nth) return &s;
  }
  return nullptr;
}

const ffmpeg::StreamInfo* first_of(const ffmpeg::Probe& probe, std::string_view type) {
  for (const auto& s : probe.streams) {
    if (s.type == type) return &s;
  }
  return nullptr;
}

std::string absolute_map(const ffmpeg::StreamInfo& s) {
  return std::to_string(s.index) + ":" + std::to_string(s.stream);
}

// "Stream #0:0[0x1](und): Video: h264 (Main) (avc1 / …)" → "Main".
std::string h264_profile(const ffmpeg::Probe& probe, const ffmpeg::StreamInfo& s) {
  const std::string tag = "Stream #" + std::to_string(s.index) + ":" + std::to_string(s.stream);
  for (const auto& line : probe.log) {
    const auto at = line.find(tag);
    if (at == std::string::npos) continue;
    const auto rest = line.substr(at + tag.size());
    if (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) continue;  // "#0:1" vs "#0:10"
    const auto v = line.find("Video: h264 (", at);
    if (v == std::string::npos) return "";
    const auto start = v + 13;
    const auto end = line.find(')', start);
    return end == std::string::npos ? "" : line.substr(start, end - start);
  }
  return "";
}

}  // namespace

WebrtcLegPlan plan_webrtc_legs(const ffmpeg::Probe& probe, const ffmpeg::WebRTCConfig& config) {
  WebrtcLegPlan plan;
  const ffmpeg::StreamInfo* video = config.video_map.empty() ? first_of(probe, "video")
                                                             : select(probe, config.video_map, "video");
  plan.video_map = !config.video_map.empty() ? config.video_map : video ? absolute_map(*video) : "";
  if (!plan.video_map.empty()) {
    if (config.force_transcode) {
      plan.video_reason = "force_transcode is set";
    } else if (!video) {
      plan.video_reason = "video_map " + config.video_map + " is not a plain input stream";
    } else if (video->codec != "h264") {
      plan.video_reason = "the input video is " + (video->codec.empty() ? std::string("unknown") : video->codec);
    } else if (video->pix_fmt != "yuv420p" && video->pix_fmt != "yuvj420p") {
      plan.video_reason = "the input pixel format is " + video->pix_fmt;
    } else {
      const auto profile = h264_profile(probe, *video);
      if (profile == "Constrained Baseline" || profile == "Baseline" || profile == "Main") {
        plan.video_copy = true;
        plan.video_reason = "the input is H.264 " + profile;
      } else {
        plan.video_reason = "the input is H.264 " + (profile.empty() ? std::string("of unknown profile") : profile) +
                            ", which browsers do not all decode";
      }
    }
  }
  if (!config.audio_map.empty()) {
    plan.audio_map = config.audio_map;
  } else if (const auto* audio = first_of(probe, "audio")) {
    plan.audio_map = absolute_map(*audio);
  }
  return plan;
}

WebrtcLegPlan fallback_webrtc_legs(const ffmpeg::WebRTCConfig& config) {
  WebrtcLegPlan plan;
  plan.video_map = config.video_map.empty() ? "0:v:0" : config.video_map;
  plan.video_reason = "the inputs could not be probed";
  plan.audio_map = config.audio_map;
  return plan;
}

std::vector<std::string> webrtc_leg_arguments(const WebrtcLegPlan& plan, const WebrtcLegProvider::Ports& ports,
                                              bool force_transcode) {
  // -pkt_size 1200: FFmpeg's default 1472 plus SRTP overhead would exceed a real path MTU.
  auto rtp_url = [](std::uint16_t port) {
    return "rtp://127.0.0.1:" + std::to_string(port) + "?pkt_size=1200&rtcpport=" + std::to_string(port + 1);
  };
  std::vector<std::string> a;
  if (!plan.video_map.empty()) {
    a.insert(a.end(), {"-map", plan.video_map});
    if (plan.video_copy && !force_transcode) {
      // MP4/FLV sources keep SPS/PPS out of band: dragon-core reads them from -sdp_file below
      // (h264_mp4toannexb would put them in-band, but FFmpeg 5.1 stops it at a -stream_loop wrap).
      a.insert(a.end(), {"-c:v", "copy"});
    } else {
      // No B-frames, no lookahead; an IDR every 2 s bounds the GOP cache and a late viewer's wait.
      a.insert(a.end(), {"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "baseline",
                         "-pix_fmt", "yuv420p", "-bf", "0", "-force_key_frames", "expr:gte(t,n_forced*2)", "-maxrate",
                         "4M", "-bufsize", "4M"});
    }
    a.insert(a.end(), {"-f", "rtp", "-pkt_size", "1200", rtp_url(ports.video)});
  }
  if (!plan.audio_map.empty()) {
    a.insert(a.end(), {"-map", plan.audio_map, "-c:a", "libopus", "-ar", "48000", "-ac", "2", "-b:a", "96k",
                       "-application", "lowdelay", "-f", "rtp", "-pkt_size", "1200", rtp_url(ports.audio)});
  }
  if (!ports.sdp_file.empty() && !a.empty()) a.insert(a.end(), {"-sdp_file", ports.sdp_file});
  return a;
}

}  // namespace dragon::restream
