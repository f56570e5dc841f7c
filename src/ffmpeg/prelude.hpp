#pragma once
// The stream overview FFmpeg prints before progress ("Input #0, lavfi, from 'x':", "Stream #0:0: Video:
// ...", "Output #0, hls, to 'y':", "Stream mapping:"), parsed as upstream's ffmpeg/prelude does,
// tolerating the "[level] " prefix that `-loglevel level+info` adds (as upstream's dev branch).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::ffmpeg {

struct StreamInfo {
  std::string address, format;
  std::uint64_t index = 0, stream = 0;
  std::string language = "und";
  std::string type;  // "video" | "audio" | "subtitle"
  std::string codec, coder;
  double bitrate_kbps = 0, duration_seconds = 0;
  double fps = 0;  // video
  std::string pix_fmt;
  std::uint64_t width = 0, height = 0;
  std::uint64_t sampling_hz = 0;  // audio
  std::string layout;
  std::uint64_t channels = 0;  // not in FFmpeg's text; only from patched JSON
};

struct PreludeInfo {
  std::vector<StreamInfo> inputs, outputs;
  std::size_t mapped_outputs = 0;  // lines under "Stream mapping:"
};

// "[info] x" → "x" (only the av_log level names); anything else unchanged.
std::string_view strip_level_prefix(std::string_view line);

PreludeInfo parse_prelude(const std::vector<std::string>& lines);

}  // namespace dragon::ffmpeg
