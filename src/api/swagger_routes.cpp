// GET /api/swagger: Swagger UI and the OpenAPI document of Dragon Core's API, served from the
// binary (no network at run time).
#include "api/context.hpp"
#include "util/embedded_assets.hpp"

namespace dragon::api {

namespace {
std::string content_type_for(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".json")) return "application/json";
  if (path.ends_with(".png")) return "image/png";
  return "application/octet-stream";
}
}  // namespace

void register_swagger_routes(http::Router& router, ApiContext&) {
  auto serve = [](http::Request& req) {
    std::string rel = req.param("path");
    if (rel.empty() || rel == "/") rel = "index.html";
    if (rel == "doc.json") rel = "openapi.json";
    auto data = assets::find("swagger/" + rel);
    if (!data) return http::Response::error(404);
    http::Response res = http::Response::text(200, std::string(*data), content_type_for(rel));
    res.headers.set("Cache-Control", "no-cache");
    return res;
  };
  router.add(
      http::Method::Get, "/api/swagger",
      [](http::Request&) {
        http::Response r = http::Response::empty(301);
        r.headers.set("Location", "/api/swagger/index.html");
        return r;
      },
      {.access = http::Access::Public});
  router.add(http::Method::Get, "/api/swagger/{path*}", serve, {.access = http::Access::Public});
}

}  // namespace dragon::api
