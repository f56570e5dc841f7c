#pragma once
// What the route handlers share: the config store, the active config snapshot, token service and
// the app's controls. Built anew at every (re)start of the services.
#include <chrono>
#include <functional>
#include <memory>

#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "http/router.hpp"
#include "http/service.hpp"

namespace dragon::restream {
class Registry;
}
namespace dragon::webrtc {
class Server;
}
namespace dragon::metrics {
class Registry;
class Monitor;
}
namespace dragon::session {
class Registry;
}
namespace dragon::fs {
class FilesystemRegistry;
}

namespace dragon::api {

class LoginLimiter;
class SkillsState;

struct ApiContext {
  config::Store* store = nullptr;
  std::shared_ptr<const config::Config> config;  // the active config these routes were built from
  std::unique_ptr<auth::JwtService> jwt;         // null when api.auth.enable is false
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  std::function<void()> request_reload;  // restart the services with the stored config
  std::shared_ptr<LoginLimiter> login_limiter;
  restream::Registry* registry = nullptr;  // FFmpeg processes; null in tests of other groups
  std::shared_ptr<SkillsState> skills;     // the installed FFmpeg's capabilities
  webrtc::Server* webrtc = nullptr;        // WHEP egress; null when webrtc.enable is off
  metrics::Registry* metrics = nullptr;    // every subsystem's metrics (outlives reloads)
  metrics::Monitor* monitor = nullptr;     // upstream's metric catalogue for /api/v3/metrics
  session::Registry* sessions = nullptr;   // viewer sessions (outlives reloads); null: none collected
  fs::FilesystemRegistry* filesystems = nullptr;  // mem, disk, S3 (outlives reloads)
  // GET /api/v3/rtmp and /api/v3/srt answers (upstream's shapes); empty when that server is off.
  std::function<nlohmann::json()> rtmp_channels;
  std::function<nlohmann::json()> srt_channels;
  bool read_only = false;
  bool auth_enabled = false;
};

// Fills the context's derived fields (jwt, flags) from ctx.config.
void prepare_context(ApiContext& ctx);

// Every route of the API and the public endpoints.
void register_routes(http::Router& router, ApiContext& ctx);

// JWT checks per route access level (upstream's rules, incl. api.auth.disable_localhost).
http::Authorizer make_authorizer(const ApiContext& ctx);

// Upstream's 401 body for missing or bad tokens.
http::Response unauthorized();

// Route groups, one file each.
void register_about_routes(http::Router& router, ApiContext& ctx);
void register_login_routes(http::Router& router, ApiContext& ctx);
void register_config_routes(http::Router& router, ApiContext& ctx);
void register_log_routes(http::Router& router, ApiContext& ctx);
void register_swagger_routes(http::Router& router, ApiContext& ctx);
void register_process_routes(http::Router& router, ApiContext& ctx);
void register_metadata_routes(http::Router& router, ApiContext& ctx);
void register_skills_routes(http::Router& router, ApiContext& ctx);
void register_whep_routes(http::Router& router, ApiContext& ctx);
void register_metrics_routes(http::Router& router, ApiContext& ctx);
void register_player_routes(http::Router& router, ApiContext& ctx);
void register_ui_routes(http::Router& router, ApiContext& ctx);  // /ui/ (embedded or router.ui_path)
void register_session_routes(http::Router& router, ApiContext& ctx);
void register_relay_routes(http::Router& router, ApiContext& ctx);  // /api/v3/rtmp, /api/v3/srt  // /api/v3/session*, /api/v3/widget/process/{id}

}  // namespace dragon::api
