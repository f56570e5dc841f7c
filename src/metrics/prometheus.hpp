#pragma once
// Prometheus text exposition format 0.0.4 of a Registry (what GET /metrics serves).
// Per family with samples: "# HELP name help" (backslash and newline escaped), "# TYPE name type", then
// its samples in Registry::visit order; label values escape backslash, double quote and newline.
// Histograms give cumulative name_bucket{...,le="..."} lines ending in le="+Inf", then name_sum and
// name_count. Values: integers exactly, other numbers in the shortest form that reads back the same,
// "+Inf", "-Inf", "NaN". No timestamps.
#include <string>
#include <string_view>

#include "metrics/registry.hpp"

namespace dragon::metrics {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

struct RenderOptions {
  // Added to every sample before the family's own labels; upstream adds core="<instance id>". Throws
  // std::invalid_argument for an invalid name, "le", or a name that a rendered family also uses.
  Labels constant_labels;
};

// Runs the registry's collectors. Thread-safe against concurrent updates and registrations.
std::string render_prometheus(const Registry& registry, const RenderOptions& options = {});

std::string escape_label_value(std::string_view value);  // \ -> \\, " -> \", newline -> \n
std::string escape_help(std::string_view help);          // \ -> \\, newline -> \n
std::string format_value(double value);                   // 1, 0.25, 1e+21, +Inf, -Inf, NaN

}  // namespace dragon::metrics
