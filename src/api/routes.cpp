// The route table: which groups exist and how the context is derived from the config.
#include "api/context.hpp"
#include "api/login_limiter.hpp"

namespace dragon::api {

void prepare_context(ApiContext& ctx) {
  const auto& c = *ctx.config;
  ctx.read_only = c.get_bool("api.read_only");
  ctx.auth_enabled = c.get_bool("api.auth.enable");
  if (ctx.auth_enabled) {
    // Upstream's key: credentials plus secret, so new credentials invalidate old tokens.
    ctx.jwt = std::make_unique<auth::JwtService>(c.get_string("api.auth.username") + c.get_string("api.auth.password") +
                                                 c.get_string("api.auth.jwt.secret"));
  }
  if (!ctx.login_limiter) ctx.login_limiter = std::make_shared<LoginLimiter>();
}

void register_routes(http::Router& router, ApiContext& ctx) {
  register_about_routes(router, ctx);
  register_login_routes(router, ctx);
  register_config_routes(router, ctx);
  register_log_routes(router, ctx);
  register_swagger_routes(router, ctx);
  if (ctx.registry) {
    register_process_routes(router, ctx);
    register_metadata_routes(router, ctx);
    register_whep_routes(router, ctx);
  }
  register_skills_routes(router, ctx);
  register_metrics_routes(router, ctx);
  register_session_routes(router, ctx);
  register_relay_routes(router, ctx);
  register_player_routes(router, ctx);
  register_ui_routes(router, ctx);
}

}  // namespace dragon::api
