// POST /api/login and GET /api/login/refresh (upstream's local JWT login).
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "api/login_limiter.hpp"
#include "log/log.hpp"
#include "util/strings.hpp"

namespace dragon::api {

namespace {
// Upstream delays every failed login by 5 s, without holding a thread here.
constexpr std::chrono::seconds k_failure_delay{5};

http::Response delayed(http::Response r) {
  r.delay = k_failure_delay;
  return r;
}
}  // namespace

void register_login_routes(http::Router& router, ApiContext& ctx) {
  if (!ctx.auth_enabled) return;  // as upstream: no login routes without auth

  router.add(
      http::Method::Post, "/api/login",
      [&ctx](http::Request& req) {
        auto& limiter = *ctx.login_limiter;
        if (limiter.blocked(req.remote_ip)) {
          return http::Response::error(429, "Too Many Requests",
                                       {"too many failed logins from this address, try again in a minute"});
        }
        std::string username, password;
        bool have = false;
        if (!req.body.empty()) {
          auto body = parse_json_body(req);
          if (body.value && body.value->is_object()) {
            const auto& v = *body.value;
            if (v.contains("username") && v["username"].is_string() && v.contains("password") &&
                v["password"].is_string()) {
              username = v["username"].get<std::string>();
              password = v["password"].get<std::string>();
              have = !username.empty() || !password.empty();
            }
          }
        }
        if (!have) {
          limiter.record_failure(req.remote_ip);
          return delayed(http::Response::error(400, "Bad Request", {"Missing authorization credentials"}));
        }
        const auto& c = *ctx.config;
        const bool user_ok = util::secure_equals(username, c.get_string("api.auth.username"));
        const bool pass_ok = util::secure_equals(password, c.get_string("api.auth.password"));
        if (!(user_ok && pass_ok)) {
          limiter.record_failure(req.remote_ip);
          log::warn("HTTP", "Login failed", {{"client", req.remote_ip}});
          return delayed(http::Response::error(
              401, "Unauthorized", {"Invalid authorization credentials: invalid username or password"}));
        }
        limiter.record_success(req.remote_ip);
        const auto pair = ctx.jwt->issue_pair(username);
        return json_response(req, 200, {{"access_token", pair.access_token}, {"refresh_token", pair.refresh_token}});
      },
      {.access = http::Access::Public, .max_body = 16 * 1024});

  router.add(
      http::Method::Get, "/api/login/refresh",
      [&ctx](http::Request& req) {
        if (req.auth_subject != ctx.config->get_string("api.auth.username")) {
          return http::Response::error(403, "Forbidden", {"Invalid subject"});
        }
        return json_response(req, 200, {{"access_token", ctx.jwt->issue(req.auth_subject, auth::TokenUse::Access)}});
      },
      {.access = http::Access::RefreshJwt});
}

}  // namespace dragon::api
