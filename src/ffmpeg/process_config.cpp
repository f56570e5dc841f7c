#include "ffmpeg/process_config.hpp"

#include <unordered_set>

#include <fmt/format.h>

namespace dragon::ffmpeg {
namespace {

using json = nlohmann::json;

// Each getter: absent or null keeps the default; a mismatching type is an error (as Go's decoder).
std::optional<std::string> get_string(const json& o, const char* key, std::string& out, std::string_view ctx) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return fmt::format("{}{}: expected a string", ctx, key);
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<std::string> get_bool(const json& o, const char* key, bool& out, std::string_view ctx) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return fmt::format("{}{}: expected a boolean", ctx, key);
  out = it->get<bool>();
  return std::nullopt;
}

std::optional<std::string> get_uint(const json& o, const char* key, std::uint64_t& out, std::string_view ctx) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_unsigned()) {
    // 3.0 is accepted by nlohmann as float; Go rejects any fraction or sign, so do we.
    if (it->is_number_float()) {
      double d = it->get<double>();
      if (d >= 0 && d < 1.8e19 && d == static_cast<double>(static_cast<std::uint64_t>(d))) {
        out = static_cast<std::uint64_t>(d);
        return std::nullopt;
      }
    }
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
      out = static_cast<std::uint64_t>(it->get<std::int64_t>());
      return std::nullopt;
    }
    return fmt::format("{}{}: expected an unsigned integer", ctx, key);
  }
  out = it->get<std::uint64_t>();
  return std::nullopt;
}

std::optional<std::string> get_double(const json& o, const char* key, double& out, std::string_view ctx) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return fmt::format("{}{}: expected a number", ctx, key);
  out = it->get<double>();
  return std::nullopt;
}

std::optional<std::string> get_strings(const json& o, const char* key, std::vector<std::string>& out,
                                       std::string_view ctx) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return fmt::format("{}{}: expected an array of strings", ctx, key);
  out.clear();
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_string()) return fmt::format("{}{}: expected an array of strings", ctx, key);
    out.push_back(v.get<std::string>());
  }
  return std::nullopt;
}

#define DRAGON_TRY(expr)            \
  do {                              \
    if (auto e_ = (expr)) return e_; \
  } while (0)

std::optional<std::string> parse_io(const json& j, ConfigIO& io, const std::string& ctx) {
  if (!j.is_object()) return fmt::format("{}: expected an object", ctx);
  std::string c = ctx + ".";
  DRAGON_TRY(get_string(j, "id", io.id, c));
  DRAGON_TRY(get_string(j, "address", io.address, c));
  DRAGON_TRY(get_strings(j, "options", io.options, c));
  auto it = j.find("cleanup");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_array()) return fmt::format("{}cleanup: expected an array", c);
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& r = (*it)[i];
      std::string rc = fmt::format("{}cleanup[{}]", c, i);
      if (!r.is_object()) return rc + ": expected an object";
      rc += ".";
      CleanupRule rule;
      DRAGON_TRY(get_string(r, "pattern", rule.pattern, rc));
      DRAGON_TRY(get_uint(r, "max_files", rule.max_files, rc));
      DRAGON_TRY(get_uint(r, "max_file_age_seconds", rule.max_file_age_seconds, rc));
      DRAGON_TRY(get_bool(r, "purge_on_delete", rule.purge_on_delete, rc));
      io.cleanup.push_back(std::move(rule));
    }
  }
  return std::nullopt;
}

std::optional<std::string> parse_ios(const json& j, const char* key, std::vector<ConfigIO>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return fmt::format("{}: expected an array", key);
  out.clear();
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    ConfigIO io;
    DRAGON_TRY(parse_io((*it)[i], io, fmt::format("{}[{}]", key, i)));
    out.push_back(std::move(io));
  }
  return std::nullopt;
}

nlohmann::ordered_json strings_json(const std::vector<std::string>& v) {
  auto a = nlohmann::ordered_json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

nlohmann::ordered_json io_json(const ConfigIO& io) {
  nlohmann::ordered_json o;
  o["id"] = io.id;
  o["address"] = io.address;
  o["options"] = strings_json(io.options);
  if (!io.cleanup.empty()) {
    auto a = nlohmann::ordered_json::array();
    for (const auto& r : io.cleanup) {
      nlohmann::ordered_json c;
      c["pattern"] = r.pattern;
      c["max_files"] = r.max_files;
      c["max_file_age_seconds"] = r.max_file_age_seconds;
      c["purge_on_delete"] = r.purge_on_delete;
      a.push_back(std::move(c));
    }
    o["cleanup"] = std::move(a);
  }
  return o;
}

// Upstream renders floats as integers when integral, else with 3 decimals (http/api/json.go).
nlohmann::ordered_json number_json(double v) {
  if (v == static_cast<double>(static_cast<std::int64_t>(v))) return static_cast<std::int64_t>(v);
  return v;
}

}  // namespace

std::optional<std::string> process_config_from_json(const json& j, ProcessConfig& out) {
  if (!j.is_object()) return std::string("expected a JSON object");
  // Bind over what `out` holds: missing keys keep those values (upstream prefills defaults on POST
  // and the current config on PUT).
  ProcessConfig c = out;
  DRAGON_TRY(get_string(j, "id", c.id, ""));
  DRAGON_TRY(get_string(j, "type", c.type, ""));
  if (!c.type.empty() && c.type != "ffmpeg") return fmt::format("type: must be 'ffmpeg', got '{}'", c.type);
  c.type = "ffmpeg";
  DRAGON_TRY(get_string(j, "reference", c.reference, ""));
  DRAGON_TRY(parse_ios(j, "input", c.input));
  for (auto& io : c.input) io.cleanup.clear();  // upstream keeps cleanup rules on outputs only
  DRAGON_TRY(parse_ios(j, "output", c.output));
  DRAGON_TRY(get_strings(j, "options", c.options, ""));
  DRAGON_TRY(get_bool(j, "reconnect", c.reconnect, ""));
  DRAGON_TRY(get_uint(j, "reconnect_delay_seconds", c.reconnect_delay_seconds, ""));
  DRAGON_TRY(get_bool(j, "autostart", c.autostart, ""));
  DRAGON_TRY(get_uint(j, "stale_timeout_seconds", c.stale_timeout_seconds, ""));
  if (auto it = j.find("limits"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return std::string("limits: expected an object");
    DRAGON_TRY(get_double(*it, "cpu_usage", c.limits.cpu_usage, "limits."));
    DRAGON_TRY(get_uint(*it, "memory_mbytes", c.limits.memory_mbytes, "limits."));
    DRAGON_TRY(get_uint(*it, "waitfor_seconds", c.limits.waitfor_seconds, "limits."));
  }
  if (auto it = j.find("webrtc"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return std::string("webrtc: expected an object");
    WebRTCConfig w = c.webrtc.value_or(WebRTCConfig{});
    DRAGON_TRY(get_bool(*it, "enabled", w.enabled, "webrtc."));
    DRAGON_TRY(get_string(*it, "video_map", w.video_map, "webrtc."));
    DRAGON_TRY(get_string(*it, "audio_map", w.audio_map, "webrtc."));
    DRAGON_TRY(get_bool(*it, "force_transcode", w.force_transcode, "webrtc."));
    c.webrtc = std::move(w);
  }
  out = std::move(c);
  return std::nullopt;
}

nlohmann::ordered_json process_config_to_json(const ProcessConfig& c) {
  nlohmann::ordered_json o;
  o["id"] = c.id;
  o["type"] = "ffmpeg";
  o["reference"] = c.reference;
  auto in = nlohmann::ordered_json::array();
  for (const auto& io : c.input) in.push_back(io_json(io));
  o["input"] = std::move(in);
  auto out = nlohmann::ordered_json::array();
  for (const auto& io : c.output) out.push_back(io_json(io));
  o["output"] = std::move(out);
  o["options"] = strings_json(c.options);
  o["reconnect"] = c.reconnect;
  o["reconnect_delay_seconds"] = c.reconnect_delay_seconds;
  o["autostart"] = c.autostart;
  o["stale_timeout_seconds"] = c.stale_timeout_seconds;
  o["limits"] = {{"cpu_usage", number_json(c.limits.cpu_usage)},
                 {"memory_mbytes", c.limits.memory_mbytes},
                 {"waitfor_seconds", c.limits.waitfor_seconds}};
  if (c.webrtc) {
    o["webrtc"] = {{"enabled", c.webrtc->enabled},
                   {"video_map", c.webrtc->video_map},
                   {"audio_map", c.webrtc->audio_map},
                   {"force_transcode", c.webrtc->force_transcode}};
  }
  return o;
}

void fill_missing_io_ids(ProcessConfig& c, const std::function<std::string()>& gen) {
  auto fill = [&](std::vector<ConfigIO>& ios) {
    std::unordered_set<std::string> used;
    for (const auto& io : ios)
      if (!io.id.empty()) used.insert(io.id);
    for (auto& io : ios) {
      if (!io.id.empty()) continue;
      for (int tries = 0; tries < 1000; ++tries) {
        std::string id = gen();
        if (!id.empty() && used.insert(id).second) {
          io.id = std::move(id);
          break;
        }
      }
    }
  };
  fill(c.input);
  fill(c.output);
}

}  // namespace dragon::ffmpeg
