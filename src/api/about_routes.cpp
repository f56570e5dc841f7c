// GET /api (about) and GET /ping.
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "util/build_info.hpp"
#include "util/time.hpp"

namespace dragon::api {

namespace {
// Clients (Restreamer UI) require app "datarhei-core" and a 16.x version number; Dragon Core's own
// version is reported in the other version fields.
constexpr const char* k_compat_version = "16.16.0";

nlohmann::json auths(const ApiContext& ctx) {
  auto list = nlohmann::json::array();
  if (ctx.auth_enabled) list.push_back("localjwt");
  if (ctx.config->get_bool("api.auth.auth0.enable")) {
    for (const auto& t : ctx.config->get("api.auth.auth0.tenants")) {
      list.push_back("auth0 domain=" + t.value("domain", "") + " audience=" + t.value("audience", "") +
                     " clientid=" + t.value("clientid", ""));
    }
  }
  return list;
}
}  // namespace

void register_about_routes(http::Router& router, ApiContext& ctx) {
  router.add(
      http::Method::Get, "/api",
      [&ctx](http::Request& req) {
        if (!req.authenticated) {
          // Upstream: no "id" before login; clients show their login form on that.
          return json_response(req, 200,
                               {{"app", "datarhei-core"}, {"auths", auths(ctx)}, {"version", {{"number", "16.0.0"}}}});
        }
        const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                                             ctx.started_at);
        return json_response(
            req, 200,
            {{"app", "datarhei-core"},
             {"auths", auths(ctx)},
             {"name", ctx.config->get_string("name")},
             {"id", ctx.config->get_string("id")},
             {"created_at", util::rfc3339(ctx.started_at)},
             {"uptime_seconds", uptime.count()},
             {"version",
              {{"number", k_compat_version},
               {"repository_commit", build::k_commit},
               {"repository_branch", build::k_branch},
               {"build_date", build::k_build_date},
               {"arch", "linux/amd64"},
               {"compiler", std::string("dragon-core ") + build::k_version + " (" + build::k_compiler + ")"}}}});
      },
      {.access = http::Access::JwtOptional});

  router.add(
      http::Method::Get, "/ping", [](http::Request&) { return http::Response::text(200, "pong"); },
      {.access = http::Access::Public, .ip_limited = false});
}

}  // namespace dragon::api
