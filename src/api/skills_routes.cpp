// GET /api/v3/skills[/reload] and GET /api/v3/process/{id}/probe: what the installed FFmpeg can do
// and what a process's inputs contain.
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "api/skills_state.hpp"
#include "ffmpeg/probe.hpp"
#include "log/log.hpp"
#include "restream/registry.hpp"

namespace dragon::api {

bool SkillsState::detect(std::string& error) {
  auto skills = ffmpeg::detect_skills(binary_, error);
  if (!skills) return false;
  auto j = ffmpeg::skills_to_json(*skills);
  std::lock_guard lock(mu_);
  json_ = std::move(j);
  version_ = skills->ffmpeg.version;
  return true;
}

nlohmann::ordered_json SkillsState::json() const {
  std::lock_guard lock(mu_);
  return json_;
}

std::string SkillsState::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

void register_skills_routes(http::Router& router, ApiContext& ctx) {
  auto skills = ctx.skills;
  if (skills) {
    router.add(http::Method::Get, "/api/v3/skills", [skills](http::Request& req) {
      const auto j = skills->json();
      return http::Response::json_text(200, req.has_query_param("pretty") ? j.dump(2) : j.dump());
    });
    router.add(http::Method::Get, "/api/v3/skills/reload", [skills](http::Request& req) {
      const bool pretty = req.has_query_param("pretty");
      return http::Response::deferred([skills, pretty] {
        std::string error;
        if (!skills->detect(error)) return http::Response::error(500, "Skills detection failed", {error});
        log::info("FFmpeg", "Skills reloaded", {{"version", skills->version()}});
        const auto j = skills->json();
        return http::Response::json_text(200, pretty ? j.dump(2) : j.dump());
      });
    });
  }
  if (auto* reg = ctx.registry; reg && skills) {
    router.add(http::Method::Get, "/api/v3/process/{id}/probe", [reg, skills](http::Request& req) {
      const auto id = req.param("id");
      auto resolved = reg->resolved_config(id);
      if (!resolved) {
        // Upstream answers 200 with the reason in the log.
        return http::Response::json(200, {{"streams", nlohmann::json::array()},
                                          {"log", {"Unknown process ID (" + id + ")"}}});
      }
      const bool pretty = req.has_query_param("pretty");
      return http::Response::deferred([binary = skills->binary(), cfg = std::move(*resolved), pretty] {
        const auto j = ffmpeg::probe_to_json(ffmpeg::run_probe(binary, cfg));
        return http::Response::json_text(200, pretty ? j.dump(2) : j.dump());
      });
    });
  }
}

}  // namespace dragon::api
