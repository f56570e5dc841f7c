#pragma once
// What the installed FFmpeg can do (GET /api/v3/skills), detected as upstream's ffmpeg/skills does:
// the text of `-version`, `-codecs`, `-filters`, `-formats`, `-protocols`, `-hwaccels`, `-devices`,
// plus ALSA cards (/proc/asound), framebuffers (/dev/fbN, fbset) and V4L2 devices (v4l2-ctl, if
// installed). The parse_* functions are pure and reproduce upstream's regular expressions, quirks
// included (e.g. `-devices` names come from the line, so "alsa" demuxer reads "ALSA audio output").
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dragon::ffmpeg {

struct SkillsLibrary {
  std::string name, compiled, linked;  // "libavutil", "57. 28.100", "57. 28.100"
  bool operator==(const SkillsLibrary&) const = default;
};

struct SkillsVersion {
  std::string version;  // "5.1.9" (upstream's ^ffmpeg version (\d+\.\d+(\.\d+)?), ".0" added if short)
  std::string compiler, configuration;
  std::vector<SkillsLibrary> libraries;
};

struct SkillsEntry {  // filter, hwaccel, format, protocol
  std::string id, name;
  bool operator==(const SkillsEntry&) const = default;
};

struct SkillsCodec {
  std::string id, name;
  // nullopt = the D/E flag is not set (upstream's nil slice → JSON null).
  std::optional<std::vector<std::string>> encoders, decoders;
};

struct SkillsCodecs {
  std::vector<SkillsCodec> audio, video, subtitle;
};

struct SkillsHWDevice {
  std::string id, name, extra, media;
  bool operator==(const SkillsHWDevice&) const = default;
};

struct SkillsDevice {
  std::string id, name;
  std::vector<SkillsHWDevice> devices;
};

struct SkillsDevices {
  std::vector<SkillsDevice> demuxers, muxers;
};

struct SkillsFormats {
  std::vector<SkillsEntry> demuxers, muxers;
};

struct SkillsProtocols {
  std::vector<SkillsEntry> input, output;
};

struct Skills {
  SkillsVersion ffmpeg;
  std::vector<SkillsEntry> filters, hwaccels;
  SkillsCodecs codecs;
  SkillsDevices devices;
  SkillsFormats formats;
  SkillsProtocols protocols;
};

// ---- pure parsers (text of the respective command's stdout) ----
SkillsVersion parse_skills_version(std::string_view text);
std::vector<SkillsEntry> parse_skills_filters(std::string_view text);
SkillsCodecs parse_skills_codecs(std::string_view text);
SkillsFormats parse_skills_formats(std::string_view text);
std::vector<SkillsEntry> parse_skills_hwaccels(std::string_view text);
SkillsProtocols parse_skills_protocols(std::string_view text);
// `lookup(id)` supplies the attached devices of a device type (id "alsa", "video4linux2", "fbdev").
SkillsDevices parse_skills_devices(
    std::string_view text, const std::function<std::vector<SkillsHWDevice>(std::string_view id)>& lookup = {});
// /proc/asound/cards + /proc/asound/devices → "hw:C,D" capture devices.
std::vector<SkillsHWDevice> parse_alsa_devices(std::string_view cards, std::string_view devices);
// `v4l2-ctl --list-devices` → /dev/videoN devices.
std::vector<SkillsHWDevice> parse_v4l2_devices(std::string_view text);
// `fbset -s -fb /dev/fbN` → "1920x1080 bgra" (or "" when unknown).
std::string parse_fbset(std::string_view text);

// Upstream's /api/v3/skills body: same keys, order and types (empty lists are [], codec
// encoders/decoders null when unsupported).
nlohmann::ordered_json skills_to_json(const Skills& s);

struct SkillsOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // per command
  bool hardware_devices = true;  // ALSA / framebuffer / V4L2 lookups
  std::string asound_dir = "/proc/asound";
  std::string dev_dir = "/dev";
};

// Runs the binary (empty environment, like upstream). nullopt + `error` when `-version` fails or
// its version cannot be parsed (upstream refuses to start then); the other lists degrade to empty.
std::optional<Skills> detect_skills(const std::string& binary, std::string& error, const SkillsOptions& options = {});

}  // namespace dragon::ffmpeg
