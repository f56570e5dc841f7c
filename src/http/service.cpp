#include "http/service.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>

#include "http/gzip.hpp"
#include "log/log.hpp"
#include "util/strings.hpp"

namespace dragon::http {

bool path_has_prefix(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

Service::Service(const Router& router, ServiceOptions options, Authorizer authorize, Observer observe)
    : router_(router), options_(std::move(options)), authorize_(std::move(authorize)), observe_(std::move(observe)) {}

const CorsRule* Service::cors_rule(std::string_view path) const {
  const CorsRule* best = nullptr;
  for (const auto& rule : options_.cors) {
    if (path_has_prefix(path, rule.prefix) && (!best || rule.prefix.size() > best->prefix.size())) best = &rule;
  }
  return best;
}

std::optional<Response> Service::check_ip(const Request& req, const Route* route) const {
  if (route && !route->options.ip_limited) return std::nullopt;
  const auto& list = req.tls ? options_.https_access : options_.http_access;
  if (list.allowed(req.remote_ip)) return std::nullopt;
  return Response::error(403, "Forbidden", {"access from " + req.remote_ip + " is not allowed"});
}

namespace {
const char* k_cors_methods = "GET,HEAD,PUT,POST,DELETE,PATCH,OPTIONS";
const char* k_cors_headers = "Origin,Content-Length,Content-Type,Authorization,If-Match";
const char* k_cors_expose = "Content-Length,Location,Link,ETag";

std::optional<std::string> allowed_origin(const CorsRule& rule, std::string_view origin) {
  for (const auto& o : rule.origins) {
    if (o == "*" || util::iequals(o, origin)) return std::string(origin);
  }
  return std::nullopt;
}

bool is_api_path(std::string_view path) { return path_has_prefix(path, "/api"); }

// Upstream compresses API answers of any type, filesystem answers only for text-like types.
bool compressible(const Request& req, const Response& res) {
  if (is_api_path(req.path)) return true;
  const auto ct = res.headers.get("Content-Type");
  if (!ct) return false;
  static constexpr std::string_view k_types[] = {"text/plain", "text/html", "text/javascript", "text/css",
                                                 "application/json", "application/javascript",
                                                 "application/x-mpegurl", "application/vnd.apple.mpegurl",
                                                 "application/dash+xml", "image/svg+xml"};
  for (auto t : k_types) {
    if (util::starts_with_icase(*ct, t)) return true;
  }
  return false;
}

bool accepts_gzip(const Request& req) {
  const auto ae = req.headers.get("Accept-Encoding");
  if (!ae) return false;
  for (const auto& part : util::split(*ae, ',')) {
    const auto token = util::trim(std::string_view(part).substr(0, part.find(';')));
    if (!util::iequals(token, "gzip")) continue;
    const auto q = part.find("q=");
    return q == std::string::npos || std::strtod(part.c_str() + q + 2, nullptr) > 0;
  }
  return false;
}
}  // namespace

std::optional<Response> Service::preflight(const Request& req) const {
  if (req.method != Method::Options) return std::nullopt;
  const auto origin = req.headers.get("Origin");
  if (!origin || !req.headers.has("Access-Control-Request-Method")) return std::nullopt;
  const auto* rule = cors_rule(req.path);
  if (!rule) return std::nullopt;
  // A route's own OPTIONS answer (e.g. WHEP's Accept-Post) is kept; CORS headers are added to it.
  Response res = Response::empty(204);
  if (const auto own = router_.find(Method::Options, req.path); own.route) {
    Request copy = req;
    for (const auto& [k, v] : own.params) copy.params[k] = v;
    res = own.route->handler(copy);
  }
  if (auto allowed = allowed_origin(*rule, *origin)) {
    res.headers.set("Access-Control-Allow-Origin", *allowed);
    res.headers.set("Access-Control-Allow-Methods", k_cors_methods);
    res.headers.set("Access-Control-Allow-Headers", k_cors_headers);
    res.headers.set("Access-Control-Allow-Credentials", "true");
    res.headers.set("Access-Control-Max-Age", "86400");
  }
  res.headers.add("Vary", "Origin");
  return res;
}

BodyDecision Service::before_body(Request& head) const {
  BodyDecision d;
  const auto match = router_.find(head.method, head.path);
  if (auto denied = check_ip(head, match.route)) {
    d.reject = std::move(denied);
    return d;
  }
  if (!match.route) {
    d.max_body = options_.unrouted_body_limit;
    return d;
  }
  d.max_body = match.route->options.max_body;
  // Refuse unauthorised uploads before reading them.
  if (match.route->options.access != Access::Public && match.route->options.access != Access::Custom && authorize_) {
    if (auto refused = authorize_(head, match.route->options.access)) {
      d.reject = std::move(refused);
      return d;
    }
  }
  if (match.route->options.precheck) {
    for (auto& [k, v] : match.params) head.params.emplace(k, v);
    if (auto refused = match.route->options.precheck(head)) {
      d.reject = std::move(refused);
      return d;
    }
  }
  if (auto cl = head.headers.get("Content-Length")) {
    std::uint64_t n = 0;
    try {
      n = std::stoull(std::string(*cl));
    } catch (...) {
      d.reject = Response::error(400, "Bad Request", {"invalid Content-Length"});
      return d;
    }
    if (n > d.max_body) {
      d.reject = Response::error(413, {}, {"request body of " + std::to_string(n) + " bytes exceeds the limit of " +
                                               std::to_string(d.max_body) + " bytes for this route"});
    }
  }
  return d;
}

Response Service::handle(Request& req) const {
  if (auto pf = preflight(req)) return std::move(*pf);
  const auto match = router_.find(req.method, req.path);
  if (auto denied = check_ip(req, match.route)) return std::move(*denied);
  if (!match.route) {
    if (!options_.protected_prefix.empty() && path_has_prefix(req.path, options_.protected_prefix) && authorize_) {
      if (auto refused = authorize_(req, Access::Jwt)) return std::move(*refused);
    }
    if (!match.allowed.empty()) {
      Response res = Response::error(405);
      std::string allow;
      for (auto m : match.allowed) {
        if (!allow.empty()) allow += ", ";
        allow += method_name(m);
      }
      res.headers.set("Allow", allow);
      return res;
    }
    return Response::error(404);
  }
  req.params.clear();
  for (auto& [k, v] : match.params) req.params.emplace(k, v);
  if (match.route->options.access != Access::Public && match.route->options.access != Access::Custom && authorize_) {
    if (auto refused = authorize_(req, match.route->options.access)) return std::move(*refused);
  }
  try {
    return match.route->handler(req);
  } catch (const std::exception& e) {
    log::error("HTTP", "Handler failed", {{"method", std::string(method_name(req.method))}, {"path", req.path},
                                          {"error", e.what()}});
    return Response::error(500, {}, {e.what()});
  }
}

void Service::finish(const Request& req, Response& res, std::chrono::steady_clock::time_point started) const {
  if (const auto origin = req.headers.get("Origin"); origin && req.method != Method::Options) {
    if (const auto* rule = cors_rule(req.path)) {
      if (auto allowed = allowed_origin(*rule, *origin)) {
        res.headers.set("Access-Control-Allow-Origin", *allowed);
        res.headers.set("Access-Control-Allow-Credentials", "true");
        res.headers.set("Access-Control-Expose-Headers", k_cors_expose);
      }
      res.headers.add("Vary", "Origin");
    }
  }
  if (options_.gzip && !res.file && !res.shared && res.body.size() >= 1000 && !res.headers.has("Content-Encoding") &&
      compressible(req, res)) {
    res.headers.add("Vary", "Accept-Encoding");
    if (accepts_gzip(req)) {
      if (auto z = gzip_compress(res.body)) {
        res.body = std::move(*z);
        res.headers.set("Content-Encoding", "gzip");
      }
    }
  }
  if (observe_) observe_(req, res, std::chrono::steady_clock::now() - started);
}

}  // namespace dragon::http
