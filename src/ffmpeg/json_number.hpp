#pragma once
// Upstream's toNumber (http/api/json.go): integral values as JSON integers, others rounded to three
// decimals. Used by every FFmpeg-derived figure in the API (progress, probe, state.cpu_usage).
#include <cmath>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace dragon::ffmpeg {

inline nlohmann::ordered_json json_number(double v) {
  if (!std::isfinite(v)) return 0;
  if (v == std::trunc(v) && std::fabs(v) < 9e18) return static_cast<std::int64_t>(v);
  return std::round(v * 1000) / 1000;
}

}  // namespace dragon::ffmpeg
