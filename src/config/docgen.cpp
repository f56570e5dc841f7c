// docs/config.md from the key table. Output is deterministic (random defaults are described, not
// generated), so a test can compare it with the committed file.
#include <fmt/format.h>

#include "config/internal.hpp"

namespace dragon::config {

namespace {

std::string cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string type_cell(const Key& k) {
  std::string t = detail::type_name(k.type);
  if (k.type == Type::StringList) t += k.list_separator == ' ' ? " (env: space-separated)" : fmt::format(" (env: `{}`-separated)", k.list_separator);
  if (k.type == Type::StringMap) t += " (env: space-separated `from:to`)";
  return cell(t);
}

std::string default_cell(const Key& k) {
  if (auto d = detail::dynamic_default_doc(k.json_path)) return cell(*d);
  return "`" + cell(k.default_value().dump()) + "`";
}

std::string env_cell(const Key& k) {
  if (k.env.empty()) return "—";
  std::string out = "`" + k.env[0] + "`";
  for (std::size_t i = 1; i < k.env.size(); ++i) out += (i == 1 ? " (deprecated: `" : ", `") + k.env[i] + "`";
  if (k.env.size() > 1) out += ")";
  return out;
}

std::string section_of(const Key& k) {
  const auto dot = k.json_path.find('.');
  return dot == std::string::npos ? std::string() : k.json_path.substr(0, dot);
}

}  // namespace

std::string markdown_reference() {
  std::string out;
  out += "# Configuration reference\n\n";
  out += "<!-- Generated from src/config/keys.cpp (dragon-core --print-config-doc); do not edit. -->\n\n";
  out += "The configuration file is JSON in datarhei Core's layout version 3 plus a `webrtc` block; files of "
         "layout versions 1 and 2 are migrated when loaded. Precedence: defaults < file < environment. "
         "Environment values are applied in memory only and listed under `overrides` in `GET /api/v3/config`; "
         "deprecated names still work and log a warning. Booleans in the environment take Go's forms "
         "(`1`, `t`, `true`, `TRUE`, `True`, `0`, `f`, `false`, ...). Lists are split at the separator shown, "
         "items trimmed and empty ones dropped. Secrets (API password, JWT secret, memfs password, S3 secret "
         "keys, service token) are shown as `" +
         std::string(k_redacted) +
         "` by the API; sending that marker back keeps the stored value. Validation errors name the variable "
         "(its JSON path, except `storage.disk.cache.type.*` and `metrics.range_seconds`/`metrics.interval_seconds`).\n\n";
  out += "The config file is `--config FILE`, else `$CORE_CONFIGFILE`, else the last existing one of "
         "`<UserConfigDir>/datarhei-core/config.js(on)`, `~/.config/datarhei-core/config.js(on)`, "
         "`./config/config.js(on)`, else `./config/config.json` (created with defaults).\n";

  std::string current = "\x01";
  for (const auto& k : keys()) {
    const auto section = section_of(k);
    if (section != current) {
      current = section;
      out += fmt::format("\n## {}\n\n", section.empty() ? "General" : "`" + section + "`");
      out += "| JSON path | Environment | Type | Default | Description |\n";
      out += "|---|---|---|---|---|\n";
    }
    std::string path = "`" + k.json_path + "`";
    if (k.var_name != k.json_path) path += " (var `" + k.var_name + "`)";
    std::string doc = k.doc;
    if (k.secret) doc += " (secret)";
    if (!k.secret_fields.empty()) {
      doc += " (secret fields:";
      for (std::size_t n = 0; n < k.secret_fields.size(); ++n) doc += (n ? ", `" : " `") + k.secret_fields[n] + "`";
      doc += ")";
    }
    out += fmt::format("| {} | {} | {} | {} | {} |\n", path, env_cell(k), type_cell(k), default_cell(k), cell(doc));
  }
  return out;
}

}  // namespace dragon::config
