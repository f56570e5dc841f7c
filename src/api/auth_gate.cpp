// Token checks for the API routes.
#include "api/context.hpp"
#include "util/ip_network.hpp"
#include "util/strings.hpp"

namespace dragon::api {

http::Response unauthorized() {
  return http::Response::error(401, "Unauthorized", {"Missing or invalid JWT token"});
}

namespace {
std::optional<std::string_view> bearer_token(const http::Request& req) {
  const auto h = req.headers.get("Authorization");
  if (!h || !util::starts_with_icase(*h, "Bearer ")) return std::nullopt;
  return util::trim(h->substr(7));
}
}  // namespace

http::Authorizer make_authorizer(const ApiContext& ctx) {
  const bool enabled = ctx.auth_enabled;
  const bool skip_localhost = ctx.config->get_bool("api.auth.disable_localhost");
  const auth::JwtService* jwt = ctx.jwt.get();
  return [enabled, skip_localhost, jwt](http::Request& req, http::Access access) -> std::optional<http::Response> {
    if (!enabled || !jwt) {
      // Auth disabled by explicit configuration (the start-up log says so loudly).
      req.authenticated = true;
      return std::nullopt;
    }
    // The peer address only: proxy headers are not trusted for this shortcut.
    if (skip_localhost && access != http::Access::RefreshJwt) {
      if (auto ip = util::IpAddress::parse(req.remote_ip); ip && ip->is_loopback()) {
        req.authenticated = true;
        return std::nullopt;
      }
    }
    const auto token = bearer_token(req);
    switch (access) {
      case http::Access::Public:
      case http::Access::Custom:
        return std::nullopt;
      case http::Access::JwtOptional: {
        if (token) {
          if (auto r = jwt->verify(*token, auth::TokenUse::Access)) {
            req.auth_subject = r.claims->subject;
            req.authenticated = true;
          }
        }
        return std::nullopt;
      }
      case http::Access::Jwt: {
        if (!token) return unauthorized();
        auto r = jwt->verify(*token, auth::TokenUse::Access);
        if (!r) return unauthorized();
        req.auth_subject = r.claims->subject;
        req.authenticated = true;
        return std::nullopt;
      }
      case http::Access::RefreshJwt: {
        if (!token) return unauthorized();
        auto r = jwt->verify(*token, auth::TokenUse::Refresh);
        if (!r) {
          if (r.error == auth::VerifyError::WrongUse) return unauthorized();
          return http::Response::error(403, "Forbidden", {"Invalid token"});
        }
        req.auth_subject = r.claims->subject;
        req.authenticated = true;
        return std::nullopt;
      }
    }
    return unauthorized();
  };
}

}  // namespace dragon::api
