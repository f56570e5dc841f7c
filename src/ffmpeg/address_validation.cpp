#include "ffmpeg/address_validation.hpp"

#include <unordered_set>

#include <fmt/format.h>

#include "ffmpeg/path.hpp"
#include "ffmpeg/url.hpp"
#include "util/strings.hpp"

namespace dragon::ffmpeg {
namespace {

std::string_view base_dir(const ValidationSettings& s) {
  return s.disk_dir.empty() ? std::string_view("/") : std::string_view(s.disk_dir);
}

// `^\[[^\]]*\]`
std::size_t tee_options_length(std::string_view part) {
  if (part.empty() || part[0] != '[') return 0;
  auto close = part.find(']');
  return close == std::string_view::npos ? 0 : close + 1;
}

}  // namespace

AddressCheck check_input_address(std::string_view address, const ValidationSettings& s) {
  AddressCheck r;
  r.normalized = std::string(address);
  if (url::has_scheme(address)) {
    if (auto e = url::parse(address)) {
      r.error = std::move(e);
      return r;
    }
  }
  if (!s.input_access.allowed(address)) r.error = "address is not allowed";
  return r;
}

namespace {
AddressCheck check_single_output(std::string_view address, const ValidationSettings& s);
}  // namespace

AddressCheck check_output_address(std::string_view address, const ValidationSettings& s) {
  AddressCheck r;
  if (address.find('|') != std::string_view::npos || address.starts_with("[")) {
    std::string joined;
    std::size_t start = 0;
    while (true) {
      auto bar = address.find('|', start);
      auto part = address.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
      auto olen = tee_options_length(part);
      // One level only: a part is never a tee again (a part without "]" once recursed forever).
      auto sub = check_single_output(part.substr(olen), s);
      if (sub.error) {
        r.normalized = std::string(address);
        r.error = std::move(sub.error);
        r.is_file = false;
        return r;
      }
      if (sub.is_file) r.is_file = true;
      if (start) joined += '|';
      joined.append(part.substr(0, olen));
      joined += sub.normalized;
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    r.normalized = std::move(joined);
    return r;
  }
  return check_single_output(address, s);
}

namespace {
AddressCheck check_single_output(std::string_view address, const ValidationSettings& s) {
  AddressCheck r;
  if (address.starts_with("file:")) address.remove_prefix(5);

  if (url::has_scheme(address)) {
    r.normalized = std::string(address);
    if (auto e = url::parse(address)) r.error = std::move(e);
    else if (!s.output_access.allowed(address)) r.error = "address is not allowed";
    return r;
  }

  if (address == "-") {
    r.normalized = "pipe:";
    return r;
  }

  std::string abs = path::absolute(address, s.cwd);
  if (abs.starts_with("/dev/")) {
    r.normalized = "file:" + abs;
    if (!s.output_access.allowed(r.normalized)) {
      r.normalized = abs;
      r.error = "address is not allowed";
    }
    return r;
  }
  auto base = base_dir(s);
  if (!std::string_view(abs).starts_with(base)) {
    r.error = fmt::format("{} is not inside of {}", abs, base);
    r.normalized = std::move(abs);
    return r;
  }
  r.normalized = "file:" + abs;
  if (!s.output_access.allowed(r.normalized)) {
    r.normalized = abs;
    r.error = "address is not allowed";
    return r;
  }
  r.is_file = true;
  return r;
}
}  // namespace

ValidationResult validate_config(const ProcessConfig& c, const ValidationSettings& s) {
  ValidationResult res;
  if (c.input.empty()) {
    res.error = fmt::format("at least one input must be defined for the process '{}'", c.id);
    return res;
  }
  std::unordered_set<std::string_view> ids;
  for (const auto& io : c.input) {
    auto id = util::trim(io.id);
    if (id.empty()) {
      res.error = fmt::format("empty input IDs are not allowed (process '{}')", c.id);
      return res;
    }
    if (!ids.insert(id).second) {
      res.error = fmt::format("the input ID '{}' is already in use for the process `{}`", id, c.id);
      return res;
    }
    auto address = util::trim(io.address);
    if (address.empty()) {
      res.error = fmt::format("the address for input '#{}:{}' must not be empty", c.id, id);
      return res;
    }
    auto check = check_input_address(address, s);
    if (check.error) {
      res.error = fmt::format("the address for input '#{}:{}' ({}) is invalid: {}", c.id, id, check.normalized,
                              *check.error);
      return res;
    }
  }

  if (c.output.empty()) {
    res.error = fmt::format("at least one output must be defined for the process '#{}'", c.id);
    return res;
  }
  ids.clear();
  for (const auto& io : c.output) {
    auto id = util::trim(io.id);
    if (id.empty()) {
      res.error = fmt::format("empty output IDs are not allowed (process '{}')", c.id);
      return res;
    }
    if (!ids.insert(id).second) {
      res.error = fmt::format("the output ID '{}' is already in use for the process `{}`", id, c.id);
      return res;
    }
    auto address = util::trim(io.address);
    if (address.empty()) {
      res.error = fmt::format("the address for output '#{}:{}' must not be empty", c.id, id);
      return res;
    }
    auto check = check_output_address(address, s);
    if (check.error) {
      res.error = fmt::format("the address for output '#{}:{}' is invalid: {}", c.id, id, *check.error);
      return res;
    }
    if (check.is_file) res.uses_disk = true;
  }
  return res;
}

}  // namespace dragon::ffmpeg
