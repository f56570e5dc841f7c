// /api/v3/process: CRUD, commands, config/state/report, with upstream's shapes and error texts.
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "ffmpeg/process_config.hpp"
#include "restream/registry.hpp"
#include "util/random.hpp"
#include "util/strings.hpp"

namespace dragon::api {

namespace {
using nlohmann::json;
using nlohmann::ordered_json;

http::Response ordered(const http::Request& req, int status, const ordered_json& body) {
  return http::Response::json_text(status, req.has_query_param("pretty") ? body.dump(2) : body.dump(), true);
}

// Handlers that wait on children or write db.json run on the blocking pool.
template <typename F>
http::Response blocking(F&& f) {
  return http::Response::deferred(std::forward<F>(f));
}
}  // namespace

void register_process_routes(http::Router& router, ApiContext& ctx) {
  auto* reg = ctx.registry;

  router.add(http::Method::Get, "/api/v3/process", [reg](http::Request& req) {
    const auto filter = restream::Filter::parse(req.query_param("filter").value_or(""));
    std::vector<std::string> ids;
    if (auto list = req.query_param("id")) {
      for (auto& id : util::split(*list, ',')) ids.push_back(std::string(util::trim(id)));
    }
    ordered_json out = ordered_json::array();
    for (const auto& id : reg->list(req.query_param("reference").value_or(""), ids,
                                    req.query_param("idpattern").value_or(""),
                                    req.query_param("refpattern").value_or(""))) {
      if (auto p = reg->process_json(id, filter)) out.push_back(std::move(*p));
    }
    return ordered(req, 200, out);
  });

  router.add(http::Method::Get, "/api/v3/process/{id}", [reg](http::Request& req) {
    auto p = reg->process_json(req.param("id"), restream::Filter::parse(req.query_param("filter").value_or("")));
    if (!p) return http::Response::error(404, "Unknown process ID", {"unknown process"});
    return ordered(req, 200, *p);
  });
  router.add(http::Method::Get, "/api/v3/process/{id}/config", [reg](http::Request& req) {
    auto c = reg->config_json(req.param("id"));
    if (!c) return http::Response::error(404, "Unknown process ID", {req.param("id")});
    return ordered(req, 200, *c);
  });
  router.add(http::Method::Get, "/api/v3/process/{id}/state", [reg](http::Request& req) {
    auto s = reg->state_json(req.param("id"));
    if (!s) return http::Response::error(404, "Unknown process ID", {req.param("id")});
    return ordered(req, 200, *s);
  });
  router.add(http::Method::Get, "/api/v3/process/{id}/report", [reg](http::Request& req) {
    auto r = reg->report_json(req.param("id"));
    if (!r) return http::Response::error(404, "Unknown process ID", {req.param("id")});
    return ordered(req, 200, *r);
  });

  if (ctx.read_only) return;

  router.add(
      http::Method::Post, "/api/v3/process",
      [reg](http::Request& req) {
        auto body = parse_json_body(req);
        if (body.error) return std::move(*body.error);
        if (!body.value->is_object()) return http::Response::error(400, "Invalid JSON", {"expected a JSON object"});
        // Upstream's defaults before binding.
        ffmpeg::ProcessConfig config;
        config.id = util::short_uuid();
        config.autostart = true;
        const auto& v = *body.value;
        if (v.contains("type") && (!v["type"].is_string() || v["type"] != "ffmpeg")) {
          return http::Response::error(400, "Unsupported process type", {"type must be \"ffmpeg\""});
        }
        if (auto err = ffmpeg::process_config_from_json(v, config)) {
          return http::Response::error(400, "Invalid JSON", {*err});
        }
        if (config.input.empty() || config.output.empty()) {
          return http::Response::error(400, "At least one input and one output need to be defined");
        }
        return blocking([reg, config, &req]() mutable {
          if (auto err = reg->add(config)) return http::Response::error(400, "Invalid process config", {err->message});
          return ordered(req, 200, ffmpeg::process_config_to_json(config));
        });
      },
      {.max_body = 4 << 20});

  router.add(
      http::Method::Put, "/api/v3/process/{id}",
      [reg](http::Request& req) {
        const auto id = req.param("id");
        auto current = reg->config_json(id);
        if (!current) return http::Response::error(404, "Process not found", {id});
        auto body = parse_json_body(req);
        if (body.error) return std::move(*body.error);
        if (!body.value->is_object()) return http::Response::error(400, "Invalid JSON", {"expected a JSON object"});
        // Prefilled with the current config, so partial bodies work as upstream.
        ffmpeg::ProcessConfig config;
        ffmpeg::process_config_from_json(json::parse(current->dump()), config);
        if (body.value->contains("type") && (*body.value)["type"] != "ffmpeg") {
          return http::Response::error(400, "Unsupported process type", {"type must be \"ffmpeg\""});
        }
        if (auto err = ffmpeg::process_config_from_json(*body.value, config)) {
          return http::Response::error(400, "Invalid JSON", {*err});
        }
        if (config.input.empty() || config.output.empty()) {
          return http::Response::error(400, "At least one input and one output need to be defined");
        }
        return blocking([reg, id, config, &req]() mutable {
          if (auto err = reg->update(id, config)) {
            if (err->kind == restream::ErrorKind::NotFound) return http::Response::error(404, "Process not found", {id});
            return http::Response::error(400, "Process can't be updated", {err->message});
          }
          return ordered(req, 200, ffmpeg::process_config_to_json(config));
        });
      },
      {.max_body = 4 << 20});

  router.add(http::Method::Delete, "/api/v3/process/{id}", [reg](http::Request& req) {
    const auto id = req.param("id");
    if (!reg->exists(id)) return http::Response::error(404, "Unknown process ID", {id});
    return blocking([reg, id, &req] {
      if (auto err = reg->remove(id)) {
        if (err->kind == restream::ErrorKind::NotFound) return http::Response::error(404, "Unknown process ID", {id});
        return http::Response::error(500, "Process can't be deleted", {err->message});
      }
      return json_response(req, 200, "OK");
    });
  });

  router.add(http::Method::Put, "/api/v3/process/{id}/command", [reg](http::Request& req) {
    auto body = parse_json_body(req);
    if (body.error) return std::move(*body.error);
    const auto& v = *body.value;
    if (!v.is_object() || !v.contains("command") || !v["command"].is_string()) {
      return http::Response::error(400, "Invalid JSON", {"expected {\"command\": \"start|stop|restart|reload\"}"});
    }
    const auto cmd = v["command"].get<std::string>();
    if (cmd != "start" && cmd != "stop" && cmd != "restart" && cmd != "reload") {
      return http::Response::error(400, "Unknown command provided", {"Known commands are: start, stop, reload, restart"});
    }
    const auto id = req.param("id");
    return blocking([reg, id, cmd, &req] {
      if (auto err = reg->command(id, cmd)) return http::Response::error(400, "Command failed", {err->message});
      return json_response(req, 200, "OK");
    });
  });
}

}  // namespace dragon::api
