#include "metrics/prometheus.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

namespace dragon::metrics {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

namespace {

class PrometheusVisitor final : public Visitor {
 public:
  PrometheusVisitor(std::string& out, const Labels& constant) : out_(out) {
    for (const auto& [name, value] : constant) {
      if (!valid_label_name(name) || name == "le") {
        throw std::invalid_argument(fmt::format("constant label name '{}' is not valid", name));
      }
      constant_ += fmt::format("{}=\"{}\",", name, escape_label_value(sanitize_utf8(value)));
    }
    constant_names_.reserve(constant.size());
    for (const auto& kv : constant) constant_names_.push_back(kv.first);
  }

  void family(const FamilyInfo& info) override {
    for (const auto& n : info.label_names) {
      if (std::find(constant_names_.begin(), constant_names_.end(), n) != constant_names_.end()) {
        throw std::invalid_argument(fmt::format("constant label '{}' is also a label of metric {}", n, info.name));
      }
    }
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", info.name, escape_help(info.help),
                   info.name, type_name(info.type));
  }

  void sample(const FamilyInfo& info, std::string_view suffix, std::span<const std::string> label_values,
              std::string_view le, Value value) override {
    out_ += info.name;
    out_ += suffix;
    if (!constant_.empty() || !label_values.empty() || !le.empty()) {
      out_ += '{';
      out_ += constant_;
      for (std::size_t i = 0; i < label_values.size(); ++i) {
        fmt::format_to(std::back_inserter(out_), "{}=\"{}\",", info.label_names[i], escape_label_value(label_values[i]));
      }
      if (!le.empty()) fmt::format_to(std::back_inserter(out_), "le=\"{}\",", le);
      out_.back() = '}';  // replaces the last comma
    }
    out_ += ' ';
    if (value.is_uint) {
      fmt::format_to(std::back_inserter(out_), "{}", value.u);
    } else {
      out_ += format_value(value.d);
    }
    out_ += '\n';
  }

 private:
  std::string& out_;
  std::string constant_;  // 'name="value",' for each constant label
  std::vector<std::string> constant_names_;
};

}  // namespace

std::string render_prometheus(const Registry& registry, const RenderOptions& options) {
  std::string out;
  PrometheusVisitor v(out, options.constant_labels);
  registry.visit(v);
  return out;
}

}  // namespace dragon::metrics
