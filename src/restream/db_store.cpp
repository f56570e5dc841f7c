#include "restream/db_store.hpp"

#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "util/atomic_file.hpp"

namespace dragon::restream {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json stored_config_to_json(const ffmpeg::ProcessConfig& c, const std::string& ffversion) {
  auto io = [](const std::vector<ffmpeg::ConfigIO>& list) {
    auto arr = ordered_json::array();
    for (const auto& x : list) {
      ordered_json o;
      o["id"] = x.id;
      o["address"] = x.address;
      o["options"] = x.options;
      auto cleanup = ordered_json::array();
      for (const auto& r : x.cleanup) {
        cleanup.push_back({{"pattern", r.pattern},
                           {"max_files", r.max_files},
                           {"max_file_age_seconds", r.max_file_age_seconds},
                           {"purge_on_delete", r.purge_on_delete}});
      }
      o["cleanup"] = cleanup;
      arr.push_back(std::move(o));
    }
    return arr;
  };
  ordered_json j;
  j["id"] = c.id;
  j["reference"] = c.reference;
  j["ffversion"] = ffversion;
  j["input"] = io(c.input);
  j["output"] = io(c.output);
  j["options"] = c.options;
  j["reconnect"] = c.reconnect;
  j["reconnect_delay_seconds"] = c.reconnect_delay_seconds;
  j["autostart"] = c.autostart;
  j["stale_timeout_seconds"] = c.stale_timeout_seconds;
  j["limit_cpu_usage"] = c.limits.cpu_usage;
  j["limit_memory_bytes"] = c.limits.memory_mbytes * 1024 * 1024;
  j["limit_waitfor_seconds"] = c.limits.waitfor_seconds;
  if (c.webrtc) {
    j["webrtc"] = {{"enabled", c.webrtc->enabled},
                   {"video_map", c.webrtc->video_map},
                   {"audio_map", c.webrtc->audio_map},
                   {"force_transcode", c.webrtc->force_transcode}};
  }
  return j;
}

std::optional<std::string> stored_config_from_json(const json& j, ffmpeg::ProcessConfig& out,
                                                   std::string& ffversion) {
  if (!j.is_object()) return "config is not an object";
  // The API binder understands the shared fields; the limit_* fields are db-only.
  json api = j;
  api.erase("limit_cpu_usage");
  api.erase("limit_memory_bytes");
  api.erase("limit_waitfor_seconds");
  api.erase("ffversion");
  ffmpeg::ProcessConfig c;
  if (auto err = ffmpeg::process_config_from_json(api, c)) return *err;
  try {
    c.limits.cpu_usage = j.value("limit_cpu_usage", 0.0);
    c.limits.memory_mbytes = j.value("limit_memory_bytes", std::uint64_t{0}) / (1024 * 1024);
    c.limits.waitfor_seconds = j.value("limit_waitfor_seconds", std::uint64_t{0});
    ffversion = j.value("ffversion", std::string());
  } catch (const json::exception& e) {
    return std::string("invalid limit_* or ffversion field: ") + e.what();
  }
  out = std::move(c);
  return std::nullopt;
}

Database DbStore::load() const {
  Database db;
  std::optional<std::string> text;
  try {
    text = util::read_file(path_);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot read {}: {}", path_, e.what()));
  }
  if (!text || text->empty()) return db;
  json doc;
  try {
    doc = json::parse(*text);
  } catch (const json::parse_error& e) {
    throw std::runtime_error(fmt::format("{} is not valid JSON: {}", path_, e.what()));
  }
  if (!doc.is_object() || !doc.contains("version") || !doc["version"].is_number_integer() || doc["version"] != 4) {
    throw std::runtime_error(fmt::format("{} is not a version 4 database (found version {})", path_,
                                         doc.is_object() && doc.contains("version") ? doc["version"].dump() : "none"));
  }
  if (doc.contains("process") && doc["process"].is_object()) {
    for (const auto& [id, p] : doc["process"].items()) {
      if (!p.is_object() || !p.contains("config")) {
        throw std::runtime_error(fmt::format("{}: process \"{}\" has no config", path_, id));
      }
      StoredProcess sp;
      if (auto err = stored_config_from_json(p["config"], sp.config, sp.ffversion)) {
        throw std::runtime_error(fmt::format("{}: process \"{}\": {}", path_, id, *err));
      }
      if (sp.config.id.empty()) sp.config.id = id;
      sp.created_at = p.value("created_at", std::int64_t{0});
      sp.updated_at = p.value("updated_at", std::int64_t{0});
      sp.order_start = p.value("order", std::string("stop")) == "start";
      db.processes.emplace(sp.config.id, std::move(sp));
    }
  }
  if (doc.contains("metadata") && doc["metadata"].is_object()) {
    const auto& md = doc["metadata"];
    if (md.contains("system") && md["system"].is_object()) db.system_metadata = md["system"];
    if (md.contains("process") && md["process"].is_object()) {
      for (const auto& [id, m] : md["process"].items()) {
        if (m.is_object() && !m.empty()) db.process_metadata[id] = m;
      }
    }
  }
  return db;
}

void DbStore::save(const Database& db) const {
  ordered_json doc;
  doc["version"] = 4;
  ordered_json procs = ordered_json::object();
  for (const auto& [id, p] : db.processes) {
    ordered_json e;
    e["id"] = id;
    e["reference"] = p.config.reference;
    e["config"] = stored_config_to_json(p.config, p.ffversion);
    e["created_at"] = p.created_at;
    e["updated_at"] = p.updated_at;
    e["order"] = p.order_start ? "start" : "stop";
    procs[id] = std::move(e);
  }
  doc["process"] = std::move(procs);
  ordered_json pm = ordered_json::object();
  for (const auto& [id, m] : db.process_metadata) {
    if (!m.empty()) pm[id] = ordered_json::parse(m.dump());
  }
  doc["metadata"] = {{"system", ordered_json::parse(db.system_metadata.dump())}, {"process", std::move(pm)}};
  const auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  try {
    util::write_file_atomic(path_, doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n", 0600);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot write {}: {}", path_, e.what()));
  }
}

}  // namespace dragon::restream
