#include "ffmpeg/input_limits.hpp"

#include <array>
#include <cctype>

#include <fmt/format.h>

namespace dragon::ffmpeg {

namespace {
constexpr std::array k_known = {"memfs", "diskfs", "fs", "rtmp", "srt", "processid", "reference", "inputid", "outputid"};

bool has_control(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::optional<std::string> check_string(const std::string& field, const std::string& value) {
  if (value.size() > k_max_field_bytes) {
    return fmt::format("{} is {} bytes long, the limit is {}", field, value.size(), k_max_field_bytes);
  }
  if (has_control(value)) return fmt::format("{} contains control characters", field);
  if (auto name = unknown_placeholder(value)) return fmt::format("{} uses the unknown placeholder {}", field, *name);
  return std::nullopt;
}

std::optional<std::string> check_address(const std::string& field, const std::string& address) {
  if (auto err = check_string(field, address)) return err;
  // A leading '-' would make FFmpeg read an output address as an option ("-" alone is the pipe).
  if (address.size() > 1 && address[0] == '-') {
    return fmt::format("{} \"{}\" starts with '-' and would be read as an option", field, address.substr(0, 64));
  }
  // No shell ever runs these, but such syntax in an address is an attack or a mistake.
  if (address.find('`') != std::string::npos || address.find("$(") != std::string::npos) {
    return fmt::format("{} contains shell syntax", field);
  }
  return std::nullopt;
}

std::optional<std::string> check_id(const std::string& field, const std::string& id) {
  if (id.size() > k_max_id_bytes) return fmt::format("{} is longer than {} bytes", field, k_max_id_bytes);
  if (has_control(id)) return fmt::format("{} contains control characters", field);
  if (id.find('/') != std::string::npos) return fmt::format("{} must not contain '/'", field);
  return std::nullopt;
}

std::optional<std::string> check_ios(const std::string& side, const std::vector<ConfigIO>& list) {
  if (list.size() > k_max_list_items) return fmt::format("more than {} {}s", k_max_list_items, side);
  for (const auto& io : list) {
    const auto name = fmt::format("{} '{}'", side, io.id.substr(0, 64));
    if (auto err = check_id(side + " id", io.id)) return err;
    if (auto err = check_address(name + " address", io.address)) return err;
    if (io.options.size() > k_max_list_items) return fmt::format("{} has more than {} options", name, k_max_list_items);
    for (std::size_t i = 0; i < io.options.size(); ++i) {
      if (auto err = check_string(fmt::format("{} option {}", name, i + 1), io.options[i])) return err;
    }
    for (const auto& rule : io.cleanup) {
      if (auto err = check_string(name + " cleanup pattern", rule.pattern)) return err;
    }
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::string> unknown_placeholder(const std::string& value) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '{' || (i > 0 && value[i - 1] == '%')) continue;
    std::size_t j = i + 1;
    while (j < value.size() && std::islower(static_cast<unsigned char>(value[j]))) ++j;
    if (j == i + 1 || j >= value.size()) continue;
    const char next = value[j];
    // Upstream's syntax: {name}, {name:sub}, {name^X...}, {name,params}.
    if (next != '}' && next != ':' && next != '^' && next != ',') continue;
    if (next != '}' && value.find('}', j) == std::string::npos) continue;
    const std::string name = value.substr(i + 1, j - i - 1);
    bool known = false;
    for (const char* k : k_known) known = known || name == k;
    if (!known) return "{" + name + (next == '}' ? "}" : "...}");
  }
  return std::nullopt;
}

std::optional<std::string> check_process_input(const ProcessConfig& c) {
  if (auto err = check_id("id", c.id)) return err;
  if (c.reference.size() > k_max_field_bytes || has_control(c.reference)) return std::string("reference is invalid");
  if (c.options.size() > k_max_list_items) return fmt::format("more than {} global options", k_max_list_items);
  for (std::size_t i = 0; i < c.options.size(); ++i) {
    if (auto err = check_string(fmt::format("global option {}", i + 1), c.options[i])) return err;
  }
  if (auto err = check_ios("input", c.input)) return err;
  if (auto err = check_ios("output", c.output)) return err;
  return std::nullopt;
}

}  // namespace dragon::ffmpeg
