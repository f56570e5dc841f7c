#pragma once
// A process config in upstream's API form (POST/PUT /api/v3/process, GET .../config), plus our
// `webrtc` block. The stored config keeps raw placeholders; resolution works on a copy.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dragon::ffmpeg {

struct CleanupRule {
  std::string pattern;
  std::uint64_t max_files = 0;
  std::uint64_t max_file_age_seconds = 0;
  bool purge_on_delete = false;
  bool operator==(const CleanupRule&) const = default;
};

struct ConfigIO {
  std::string id;
  std::string address;
  std::vector<std::string> options;
  std::vector<CleanupRule> cleanup;  // outputs only; omitted from JSON when empty
  bool operator==(const ConfigIO&) const = default;
};

struct Limits {
  double cpu_usage = 0;  // percent, 0 = none
  std::uint64_t memory_mbytes = 0;
  std::uint64_t waitfor_seconds = 0;
  bool operator==(const Limits&) const = default;
};

struct WebRTCConfig {
  bool enabled = false;
  std::string video_map;
  std::string audio_map;
  bool force_transcode = false;
  bool operator==(const WebRTCConfig&) const = default;
};

struct ProcessConfig {
  std::string id;
  std::string type = "ffmpeg";
  std::string reference;
  std::vector<ConfigIO> input;
  std::vector<ConfigIO> output;
  std::vector<std::string> options;
  bool reconnect = false;
  std::uint64_t reconnect_delay_seconds = 0;
  bool autostart = false;
  std::uint64_t stale_timeout_seconds = 0;
  Limits limits;
  std::optional<WebRTCConfig> webrtc;  // absent = never sent; emitted only when present

  bool operator==(const ProcessConfig&) const = default;
};

// Binds a request body like upstream (echo + encoding/json): unknown keys ignored, missing keys keep
// defaults, null = default, a wrong JSON type is an error. `type` must be "ffmpeg" or "".
// Returns an error message, or nullopt on success.
std::optional<std::string> process_config_from_json(const nlohmann::json& j, ProcessConfig& out);

// Upstream's field order; `type` is always "ffmpeg", `options` always arrays, `cleanup` only when
// non-empty, `webrtc` only when present.
nlohmann::ordered_json process_config_to_json(const ProcessConfig& c);

// Upstream fills empty io ids with fresh shortuuids (unique per side) before anything else.
// `gen` supplies ids (restream/ passes its shortuuid generator; tests pass a counter).
void fill_missing_io_ids(ProcessConfig& c, const std::function<std::string()>& gen);

}  // namespace dragon::ffmpeg
