#pragma once
// Route table: patterns with static segments, {param} segments and a trailing {name*} wildcard.
// Static segments win over parameters, parameters over wildcards. The table can be enumerated, so
// tests check that every route is documented and guarded.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace dragon::http {

using Handler = std::function<Response(Request&)>;

// Who may call a route.
enum class Access {
  Public,       // anybody
  Jwt,          // access token (when api.auth.enable)
  JwtOptional,  // token checked when present; handler sees auth_subject (GET /api)
  RefreshJwt,   // refresh token (GET /api/login/refresh)
  Custom,       // the handler authorises by itself (memfs Basic auth, WHEP resource URLs)
};

struct RouteOptions {
  Access access = Access::Jwt;
  std::size_t max_body = 1 << 20;  // bytes accepted in the request body
  bool ip_limited = true;          // subject to api.access.* lists
  // Runs after the header and before the body is read (e.g. Basic auth for uploads, so a client
  // waiting on "Expect: 100-continue" gets its 401 before it sends anything).
  std::function<std::optional<Response>(Request&)> precheck;
};

struct Route {
  Method method = Method::Get;
  std::string pattern;
  Handler handler;
  RouteOptions options;
};

struct Match {
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<Method> allowed;  // methods the path has when `route` is null (405 vs 404)
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Throws std::invalid_argument for a malformed pattern or a duplicate (method, pattern).
  void add(Method method, std::string pattern, Handler handler, RouteOptions options = {});
  Match find(Method method, std::string_view path) const;
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 struct Node;  // trie node, defined in router.cpp

 private:
  std::unique_ptr<Node> root_;
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace dragon::http
