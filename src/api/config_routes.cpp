// GET/PUT /api/v3/config and GET /api/v3/config/reload.
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "log/log.hpp"

namespace dragon::api {

void register_config_routes(http::Router& router, ApiContext& ctx) {
  router.add(http::Method::Get, "/api/v3/config",
             [&ctx](http::Request& req) { return json_response(req, 200, ctx.store->api_view()); });

  if (ctx.read_only) return;

  router.add(
      http::Method::Put, "/api/v3/config",
      [&ctx](http::Request& req) {
        auto body = parse_json_body(req);
        if (body.error) return std::move(*body.error);
        if (!body.value->is_object()) {
          return http::Response::error(400, "Invalid JSON", {"the config must be a JSON object"});
        }
        const auto errors = ctx.store->update(*body.value);
        if (errors.empty()) {
          log::info("Config", "Config updated via API; active after reload", {{"path", ctx.store->path()}});
          return json_response(req, 200, "OK");
        }
        for (const auto& e : errors) {
          if (e.var.empty()) return http::Response::error(400, "Failed to store config", {e.message});
          if (e.var == "version") return http::Response::error(400, "Invalid config version", {e.message});
        }
        // Upstream: 409 with {"<var>": ["message", ...]}.
        return json_response(req, 409, config::errors_to_json(errors));
      },
      {.max_body = 1 << 20});

  router.add(http::Method::Get, "/api/v3/config/reload", [&ctx](http::Request& req) {
    log::info("Config", "Reload requested via API");
    if (ctx.request_reload) ctx.request_reload();
    return json_response(req, 200, "OK");
  });
}

}  // namespace dragon::api
