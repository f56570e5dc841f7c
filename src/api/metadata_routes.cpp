// Metadata: global (/api/v3/metadata) and per process (/api/v3/process/{id}/metadata). Any JSON
// value is stored as it is; null deletes the key.
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "restream/registry.hpp"

namespace dragon::api {

namespace {
using nlohmann::json;

bool valid_key(const std::string& key) {
  return !key.empty() && key.size() <= 256 && key.find('/') == std::string::npos;
}
}  // namespace

void register_metadata_routes(http::Router& router, ApiContext& ctx) {
  auto* reg = ctx.registry;

  router.add(http::Method::Get, "/api/v3/metadata", [reg](http::Request& req) {
    // Upstream answers {} for the global map (but null for a process without metadata).
    return json_response(req, 200, reg->system_metadata());
  });
  router.add(http::Method::Get, "/api/v3/metadata/{key}", [reg](http::Request& req) {
    const auto all = reg->system_metadata();
    const auto& key = req.param("key");
    if (!all.contains(key)) return http::Response::error(404, "Metadata not found", {"unknown key: " + key});
    return json_response(req, 200, all[key]);
  });
  router.add(http::Method::Get, "/api/v3/process/{id}/metadata", [reg](http::Request& req) {
    auto md = reg->metadata(req.param("id"));
    if (!md) return http::Response::error(404, "Unknown process ID", {req.param("id")});
    return json_response(req, 200, md->empty() ? json(nullptr) : *md);
  });
  router.add(http::Method::Get, "/api/v3/process/{id}/metadata/{key}", [reg](http::Request& req) {
    auto md = reg->metadata(req.param("id"));
    if (!md) return http::Response::error(404, "Unknown process ID", {req.param("id")});
    const auto& key = req.param("key");
    if (!md->contains(key)) return http::Response::error(404, "Unknown process ID", {"unknown key"});
    return json_response(req, 200, (*md)[key]);
  });

  if (ctx.read_only) return;

  router.add(
      http::Method::Put, "/api/v3/metadata/{key}",
      [reg](http::Request& req) {
        const auto& key = req.param("key");
        if (!valid_key(key)) return http::Response::error(400, "Invalid key", {key});
        auto body = parse_json_body(req);
        if (body.error) return std::move(*body.error);
        auto value = *body.value;
        return http::Response::deferred([reg, key, value, &req] {
          reg->set_system_metadata(key, value);
          return json_response(req, 200, value);
        });
      },
      {.max_body = 1 << 20});
  router.add(
      http::Method::Put, "/api/v3/process/{id}/metadata/{key}",
      [reg](http::Request& req) {
        const auto& key = req.param("key");
        if (!valid_key(key)) return http::Response::error(400, "Invalid key", {key});
        auto body = parse_json_body(req);
        if (body.error) return std::move(*body.error);
        auto value = *body.value;
        const auto id = req.param("id");
        return http::Response::deferred([reg, id, key, value, &req] {
          if (auto err = reg->set_metadata(id, key, value)) return http::Response::error(404, "Unknown process ID", {id});
          return json_response(req, 200, value);
        });
      },
      {.max_body = 1 << 20});
}

}  // namespace dragon::api
