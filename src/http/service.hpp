#pragma once
// The request pipeline between the socket and the handlers, in upstream's middleware order:
// IP access lists → CORS (preflights answered here) → routing (404/405) → auth → handler → gzip.
// Pure: no sockets, so every rule is unit-testable and the route-table test runs in-process.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/message.hpp"
#include "http/router.hpp"
#include "util/ip_network.hpp"

namespace dragon::http {

struct CorsRule {
  std::string prefix;                // "/api", "/memfs", "/" ...; the longest matching prefix wins
  std::vector<std::string> origins;  // "*" or full origins ("https://example.com")
};

struct ServiceOptions {
  util::IpAccessList http_access;   // api.access.http.*  (plain-HTTP listener)
  util::IpAccessList https_access;  // api.access.https.* (TLS listener)
  std::vector<CorsRule> cors;
  bool gzip = true;
  std::size_t unrouted_body_limit = 64 * 1024;  // requests that match no route
  // Unknown paths below this prefix answer 401 to unauthenticated callers, as upstream (whose JWT
  // middleware guards the whole /api group), so the route table cannot be probed without a token.
  std::string protected_prefix = "/api";
};

// Authorises a request for a route's access level. Returns an error response to refuse; on success
// may set req.auth_subject.
using Authorizer = std::function<std::optional<Response>(Request&, Access)>;
// Called once per answered request (access log, metrics).
using Observer = std::function<void(const Request&, const Response&, std::chrono::steady_clock::duration)>;

struct BodyDecision {
  std::optional<Response> reject;  // answer now without reading the body (and close)
  std::size_t max_body = 0;
};

class Service {
 public:
  Service(const Router& router, ServiceOptions options, Authorizer authorize, Observer observe = {});

  // After the header, before the body: the body limit of the route, or an early answer (403 from the
  // access list, 413 for a declared Content-Length over the limit, 401 before a body is uploaded).
  BodyDecision before_body(Request& head) const;
  // Full pipeline for a complete request. The response may carry `offload`/`delay` for the server.
  Response handle(Request& req) const;
  // After the handler (and any offloaded work): CORS headers, gzip, HEAD handling, observer.
  void finish(const Request& req, Response& res, std::chrono::steady_clock::time_point started) const;

  const Router& router() const { return router_; }

 private:
  const CorsRule* cors_rule(std::string_view path) const;
  std::optional<Response> check_ip(const Request& req, const Route* route) const;
  std::optional<Response> preflight(const Request& req) const;

  const Router& router_;
  ServiceOptions options_;
  Authorizer authorize_;
  Observer observe_;
};

// True for "/api" and everything below it ("/apifoo" is not).
bool path_has_prefix(std::string_view path, std::string_view prefix);

}  // namespace dragon::http
