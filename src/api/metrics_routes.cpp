// GET /metrics: the Prometheus text exposition of the metric registry, when
// metrics.enable_prometheus is on (as upstream: not behind the JWT, only the IP access lists).
// GET/POST /api/v3/metrics: upstream's catalogue and its queries (what the Restreamer UI polls).
#include "api/context.hpp"
#include "api/json_body.hpp"
#include "metrics/monitor.hpp"
#include "metrics/prometheus.hpp"

namespace dragon::api {

void register_metrics_routes(http::Router& router, ApiContext& ctx) {
  auto* registry = ctx.metrics;
  const bool enabled = registry && ctx.config->get_bool("metrics.enable_prometheus");
  const std::string core_id = ctx.config->get_string("id");
  router.add(
      http::Method::Get, "/metrics",
      [registry, enabled, core_id](http::Request&) {
        if (!enabled) return http::Response::error(404, "Not Found", {"metrics.enable_prometheus is off"});
        metrics::RenderOptions options;
        options.constant_labels = {{"core", core_id}};
        return http::Response::text(200, metrics::render_prometheus(*registry, options),
                                    std::string(metrics::kPrometheusContentType));
      },
      {.access = http::Access::Public});

  auto* monitor = ctx.monitor;
  router.add(http::Method::Get, "/api/v3/metrics", [monitor](http::Request&) {
    auto out = nlohmann::json::array();
    if (monitor) {
      for (const auto& d : monitor->describe()) {
        out.push_back({{"name", d.name}, {"description", d.description}, {"labels", d.labels}});
      }
    }
    return http::Response::json(200, out);
  });
  router.add(
      http::Method::Post, "/api/v3/metrics",
      [monitor](http::Request& req) {
        auto body = parse_json_body(req);
        if (body.error) return std::move(*body.error);
        if (!monitor) return http::Response::error(503, "Service Unavailable", {"metrics are not collected"});
        std::string error;
        auto result = monitor->query(*body.value, error);
        if (!error.empty()) return http::Response::error(400, "Invalid query", {error});
        return http::Response::json(200, result);
      },
      {.max_body = 64 * 1024});
}

}  // namespace dragon::api
