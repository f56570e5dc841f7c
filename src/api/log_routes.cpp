// GET /api/v3/log: the application log ring in upstream's console or raw format.
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "log/log.hpp"

namespace dragon::api {

void register_log_routes(http::Router& router, ApiContext&) {
  router.add(http::Method::Get, "/api/v3/log", [](http::Request& req) {
    const auto format = req.query_param("format").value_or("console");
    if (format != "console" && format != "raw") {
      return http::Response::error(400, "Bad Request", {"format must be \"console\" or \"raw\""});
    }
    auto out = nlohmann::json::array();
    for (const auto& e : log::recent()) {
      if (format == "raw") {
        out.push_back(log::format_raw(e));
      } else {
        out.push_back(log::format_console(e));
      }
    }
    return json_response(req, 200, out);
  });
}

}  // namespace dragon::api
