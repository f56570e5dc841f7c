#pragma once
// WebRTC leg injection: a process with webrtc.enabled gets two more FFmpeg outputs, RTP to loopback
// ports that the WebRTC server listens on (video, audio; RTCP on port + 1). Which streams go there
// and whether video is copied or transcoded is planned from a probe of the process's inputs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ffmpeg/probe.hpp"
#include "ffmpeg/process_config.hpp"

namespace dragon::restream {

// Implemented by the WebRTC server (wired in app/), so restream/ does not depend on webrtc/.
class WebrtcLegProvider {
 public:
  struct Ports {
    std::uint16_t video = 0;
    std::uint16_t audio = 0;
    std::string sdp_file;  // FFmpeg writes the legs' SDP there (SPS/PPS of a copied leg)
  };
  virtual ~WebrtcLegProvider() = default;
  // Idempotent per process: a restart gets the same ports and keeps the viewers.
  virtual std::optional<Ports> open(const std::string& process_id) = 0;
  // The process stopped for good (stop, delete, WebRTC disabled): viewers are told, ports freed.
  virtual void close(const std::string& process_id) = 0;
};

struct WebrtcLegPlan {
  std::string video_map;     // FFmpeg stream specifier; empty = no video leg
  bool video_copy = false;   // H.264 a browser can take as is; otherwise libx264
  std::string video_reason;  // why copy or transcode (logged)
  std::string audio_map;     // empty = no audio leg
};

// From the probe: video_map/audio_map of the process config when set, else the first video and
// audio streams. Copy only when the input is H.264 Constrained Baseline, Baseline or Main in 8-bit
// 4:2:0 (what browsers offer) and force_transcode is off; B-frames found later force transcoding.
WebrtcLegPlan plan_webrtc_legs(const ffmpeg::Probe& probe, const ffmpeg::WebRTCConfig& config);
// When the inputs cannot be probed (not reachable yet): the configured maps or the first video
// stream, transcoded; audio only when audio_map is set.
WebrtcLegPlan fallback_webrtc_legs(const ffmpeg::WebRTCConfig& config);

// The output arguments to append to the process's FFmpeg command.
std::vector<std::string> webrtc_leg_arguments(const WebrtcLegPlan& plan, const WebrtcLegProvider::Ports& ports,
                                              bool force_transcode);

}  // namespace dragon::restream
