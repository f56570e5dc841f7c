// GET /metrics: the Prometheus text exposition of the metric registry, when
// metrics.enable_prometheus is on (as upstream: not behind the JWT, only the IP access lists).
#include "api/context.hpp"
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
}

}  // namespace dragon::api
