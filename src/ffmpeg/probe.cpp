#include "ffmpeg/json_number.hpp"
#include "ffmpeg/probe.hpp"

#include <cmath>
#include <limits>

#include "ffmpeg/line_splitter.hpp"
#include "util/run_command.hpp"

namespace dragon::ffmpeg {
namespace {

constexpr std::string_view kInputsPrefix = "ffmpeg.inputs:";

// Go's encoding/json into upstream's probeIO: fields of the wrong type stay zero, the rest is kept.
StreamInfo stream_from_json(const nlohmann::json& o) {
  StreamInfo s;
  s.language.clear();  // Go's zero value, not the prelude's "und"
  if (!o.is_object()) return s;
  auto str = [&](const char* k, std::string& into) {
    if (auto it = o.find(k); it != o.end() && it->is_string()) into = it->get<std::string>();
  };
  auto u64 = [&](const char* k, std::uint64_t& into) {
    if (auto it = o.find(k); it != o.end() && it->is_number_unsigned()) into = it->get<std::uint64_t>();
  };
  auto f64 = [&](const char* k, double& into) {
    if (auto it = o.find(k); it != o.end() && it->is_number()) into = it->get<double>();
  };
  str("url", s.address);
  str("format", s.format);
  u64("index", s.index);
  u64("stream", s.stream);
  str("language", s.language);
  str("type", s.type);
  str("codec", s.codec);
  str("coder", s.coder);
  f64("bitrate_kbps", s.bitrate_kbps);
  f64("duration_sec", s.duration_seconds);
  f64("fps", s.fps);
  str("pix_fmt", s.pix_fmt);
  u64("width", s.width);
  u64("height", s.height);
  u64("sampling_hz", s.sampling_hz);
  str("layout", s.layout);
  u64("channels", s.channels);
  return s;
}

nlohmann::ordered_json number(double v) { return json_number(v); }

}  // namespace

Probe parse_probe_lines(std::vector<std::string> lines) {
  Probe p;
  p.log.reserve(lines.size());
  for (auto& l : lines) {
    if (strip_level_prefix(l).starts_with("avstream.progress:")) continue;
    p.log.push_back(std::move(l));
  }
  for (const auto& l : p.log) {
    auto line = strip_level_prefix(l);
    if (!line.starts_with(kInputsPrefix)) continue;
    // Only the first such line counts; unparsable JSON means no streams (upstream logs an error).
    auto j = nlohmann::json::parse(line.substr(kInputsPrefix.size()), nullptr, false);
    if (j.is_array())
      for (const auto& e : j) p.streams.push_back(stream_from_json(e));
    return p;
  }
  p.streams = parse_prelude(p.log).inputs;
  return p;
}

Probe parse_probe(std::string_view stderr_text) {
  std::vector<std::string> lines;
  LineSplitter split;
  auto add = [&](std::string_view l) { lines.emplace_back(l); };
  split.feed(stderr_text, add);
  split.finish(add);
  return parse_probe_lines(std::move(lines));
}

std::vector<std::string> probe_arguments(const ProcessConfig& c) {
  std::vector<std::string> args(c.options.begin(), c.options.end());
  for (const auto& in : c.input) {
    args.insert(args.end(), in.options.begin(), in.options.end());
    args.push_back("-i");
    args.push_back(in.address);
  }
  return args;
}

Probe run_probe(const std::string& binary, const ProcessConfig& resolved, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{binary};
  auto args = probe_arguments(resolved);
  argv.insert(argv.end(), args.begin(), args.end());
  util::RunOptions opts;
  opts.timeout = timeout;
  auto r = util::run_command(argv, opts);
  if (!r.started) {
    Probe p;
    p.log.push_back(r.error);
    return p;
  }
  // FFmpeg prints the overview and its complaint about the missing output on stderr.
  return parse_probe(r.err);
}

nlohmann::ordered_json probe_to_json(const Probe& p) {
  using oj = nlohmann::ordered_json;
  oj streams = oj::array();
  for (const auto& s : p.streams) {
    oj o;
    o["url"] = s.address;
    o["format"] = s.format;
    o["index"] = s.index;
    o["stream"] = s.stream;
    o["language"] = s.language;
    o["type"] = s.type;
    o["codec"] = s.codec;
    o["coder"] = s.coder;
    o["bitrate_kbps"] = number(s.bitrate_kbps);
    o["duration_sec"] = number(s.duration_seconds);
    o["fps"] = number(s.fps);
    o["pix_fmt"] = s.pix_fmt;
    o["width"] = s.width;
    o["height"] = s.height;
    o["sampling_hz"] = s.sampling_hz;
    o["layout"] = s.layout;
    o["channels"] = s.channels;
    streams.push_back(std::move(o));
  }
  oj j;
  j["streams"] = std::move(streams);
  j["log"] = p.log;
  return j;
}

}  // namespace dragon::ffmpeg
