// Config: the document, typed overlay of client/file documents, environment binding, validation and
// redaction. Everything is driven by the table in keys.cpp.
#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "config/config.hpp"
#include "config/internal.hpp"
#include "log/log.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

extern char** environ;

namespace dragon::config {

namespace detail {

std::vector<std::string> split_path(std::string_view path) { return util::split(path, '.', false); }

const Json* lookup(const Json& doc, std::string_view path) {
  const Json* cur = &doc;
  for (const auto& seg : split_path(path)) {
    if (!cur->is_object()) return nullptr;
    const auto it = cur->find(seg);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

Json* lookup(Json& doc, std::string_view path) { return const_cast<Json*>(lookup(std::as_const(doc), path)); }

void assign(Json& doc, std::string_view path, Json value) {
  Json* cur = &doc;
  const auto segs = split_path(path);
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    if (!cur->is_object()) *cur = Json::object();
    cur = &(*cur)[segs[i]];
  }
  if (!cur->is_object()) *cur = Json::object();
  (*cur)[segs.back()] = std::move(value);
}

std::string describe_kind(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    case Json::value_t::number_float: return "a fractional number";
    default: return "a number";
  }
}

std::string describe(const Json& v) {
  if (v.is_array() || v.is_object()) return describe_kind(v);
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > 64) return Json(s.substr(0, 64)).dump(-1, ' ', false, Json::error_handler_t::replace) + "...";
  }
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string type_name(Type t) {
  switch (t) {
    case Type::Bool: return "boolean";
    case Type::Int: return "integer";
    case Type::Uint: return "unsigned integer";
    case Type::Float: return "number";
    case Type::String: return "string";
    case Type::Address: return "address";
    case Type::Dir: return "directory";
    case Type::File: return "file";
    case Type::Exec: return "program";
    case Type::AbsPath: return "absolute path";
    case Type::StringList: return "string list";
    case Type::StringMap: return "string map";
    case Type::JsonValue: return "JSON";
    case Type::Time: return "RFC 3339 time";
  }
  return "value";
}

std::string expected_label(const Key& k) {
  switch (k.type) {
    case Type::Bool: return "a boolean";
    case Type::Int: return "an integer";
    case Type::Uint: return "a non-negative integer";
    case Type::Float: return "a number";
    case Type::StringList: return "an array of strings";
    case Type::StringMap: return "an object of strings";
    case Type::JsonValue: return k.default_value().is_object() ? "an object" : "an array";
    default: return "a string";
  }
}

std::size_t depth(const Json& v, std::size_t limit) {
  std::vector<std::pair<const Json*, std::size_t>> stack{{&v, 1}};
  std::size_t max = 0;
  while (!stack.empty()) {
    const auto [j, d] = stack.back();
    stack.pop_back();
    max = std::max(max, d);
    if (max > limit) return max;
    if (j->is_array() || j->is_object()) {
      for (const auto& child : *j) stack.emplace_back(&child, d + 1);
    }
  }
  return max;
}

bool parse_time(const std::string& s, std::chrono::system_clock::time_point& out) {
  // Nanosecond time points cover 1678..2261; refuse anything outside before util parses it.
  if (s.size() < 4 || !std::all_of(s.begin(), s.begin() + 4, [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int year = std::stoi(s.substr(0, 4));
  if (year < 1700 || year > 2250) return false;
  return util::parse_rfc3339(s, out);
}

namespace {

std::string got(const Key& k, const Json& v) { return k.secret ? describe_kind(v) : describe(v); }

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_utf8(const std::string& s) {
  try {
    (void)Json(s).dump();
    return true;
  } catch (const Json::type_error&) {
    return false;
  }
}

}  // namespace

std::optional<std::string> coerce(const Key& k, const Json& in, Json& out) {
  out = Json(Json::value_t::discarded);
  const auto fail = [&] { return fmt::format("expected {}, got {}", expected_label(k), got(k, in)); };
  if (in.is_null()) {
    // Go's decoder: null empties slices and maps and leaves everything else unchanged.
    if (k.type == Type::StringList) out = Json::array();
    if (k.type == Type::StringMap) out = Json::object();
    if (k.type == Type::JsonValue) out = k.default_value().is_object() ? Json::object() : Json::array();
    return std::nullopt;
  }
  switch (k.type) {
    case Type::Bool:
      if (!in.is_boolean()) return fail();
      out = in;
      return std::nullopt;
    case Type::Int:
      if (!in.is_number_integer()) return fail();
      if (in.is_number_unsigned() && in.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        return fail() + " (out of range)";
      }
      out = in.get<std::int64_t>();
      return std::nullopt;
    case Type::Uint:
      if (!in.is_number_integer()) return fail();
      if (!in.is_number_unsigned() && in.get<std::int64_t>() < 0) return fail();
      out = in.get<std::uint64_t>();
      return std::nullopt;
    case Type::Float:
      if (!in.is_number()) return fail();
      out = in.get<double>();
      return std::nullopt;
    case Type::Address: {
      if (!in.is_string()) return fail();
      const auto& s = in.get_ref<const std::string&>();
      out = is_digits(s) ? ":" + s : s;  // a bare port means all interfaces
      return std::nullopt;
    }
    case Type::String:
    case Type::Dir:
    case Type::File:
    case Type::Exec:
    case Type::AbsPath:
    case Type::Time:
      if (!in.is_string()) return fail();
      out = in;
      return std::nullopt;
    case Type::StringList:
      if (!in.is_array()) return fail();
      for (const auto& e : in) {
        if (!e.is_string()) return fmt::format("expected an array of strings, got an element {}", got(k, e));
      }
      out = in;
      return std::nullopt;
    case Type::StringMap:
      if (!in.is_object()) return fail();
      for (const auto& [key, val] : in.items()) {
        if (!val.is_string()) return fmt::format("expected an object of strings, got {} for \"{}\"", got(k, val), key);
      }
      out = in;
      return std::nullopt;
    case Type::JsonValue: {
      const Json def = k.default_value();
      if (in.type() != def.type()) return fail();
      if (depth(in, k_max_json_depth) > k_max_json_depth) return "value nested too deeply";
      return normalize_json_value(k, in, out);
    }
  }
  return fail();
}

std::optional<std::string> parse_env(const Key& k, const std::string& text, Json& out) {
  const auto bad = [&](std::string_view what) {
    return fmt::format("expected {}, got {}", what, describe(Json(valid_utf8(text) ? text : std::string("?"))));
  };
  if (!valid_utf8(text)) return std::string("value is not valid UTF-8");
  switch (k.type) {
    case Type::Bool: {
      // Go's strconv.ParseBool.
      static const std::set<std::string> yes = {"1", "t", "T", "TRUE", "true", "True"};
      static const std::set<std::string> no = {"0", "f", "F", "FALSE", "false", "False"};
      if (yes.count(text)) out = true;
      else if (no.count(text)) out = false;
      else return bad("a boolean (1, t, true, 0, f, false)");
      return std::nullopt;
    }
    case Type::Int: {
      const std::string_view digits = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? std::string_view(text).substr(1) : std::string_view(text);
      if (!is_digits(digits)) return bad("an integer");
      errno = 0;
      const long long v = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) return bad("an integer") + " (out of range)";
      out = static_cast<std::int64_t>(v);
      return std::nullopt;
    }
    case Type::Uint: {
      if (!is_digits(text)) return bad("a non-negative integer");
      errno = 0;
      const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
      if (errno == ERANGE) return bad("a non-negative integer") + " (out of range)";
      out = static_cast<std::uint64_t>(v);
      return std::nullopt;
    }
    case Type::Float: {
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v)) {
        return bad("a number");
      }
      out = v;
      return std::nullopt;
    }
    case Type::StringList: {
      out = Json::array();
      for (const auto& item : util::split(text, k.list_separator, true)) {
        const auto t = util::trim(item);
        if (!t.empty()) out.push_back(std::string(t));
      }
      return std::nullopt;
    }
    case Type::StringMap: {
      out = Json::object();
      for (const auto& item : util::split(text, ' ', true)) {
        const auto t = std::string(util::trim(item));
        if (t.empty()) continue;
        const auto colon = t.find(':');
        if (colon == std::string::npos) return fmt::format("invalid mapping \"{}\": expected from:to", t);
        out[t.substr(0, colon)] = t.substr(colon + 1);
      }
      return std::nullopt;
    }
    case Type::JsonValue: {
      if (auto special = parse_env_special(k, text, out)) return *special;
      if (util::trim(text).empty()) {
        out = k.default_value().is_object() ? Json::object() : Json::array();
        return std::nullopt;
      }
      try {
        out = Json::parse(text);
      } catch (const Json::parse_error& e) {
        return fmt::format("invalid JSON at byte {}", e.byte);
      }
      return std::nullopt;
    }
    default:
      out = text;
      return std::nullopt;
  }
}

}  // namespace detail

using detail::lookup;

// ---------------------------------------------------------------------------------------------------

Json errors_to_json(const Errors& errors) {
  Json out = Json::object();
  for (const auto& e : errors) {
    auto& list = out[e.var];
    if (!list.is_array()) list = Json::array();
    list.push_back(e.message);
  }
  return out;
}

std::string errors_to_string(const Errors& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.var.empty() ? e.message : e.var + ": " + e.message;
  }
  return out;
}

Environment process_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::string locate_config_file(const std::optional<std::string>& flag, const Environment& env) {
  if (flag && !flag->empty()) return *flag;
  const auto get = [&](const char* name) {
    const auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  if (auto f = get("CORE_CONFIGFILE"); !f.empty()) return f;

  std::vector<std::string> candidates;
  const auto home = get("HOME");
  // Go's os.UserConfigDir: $XDG_CONFIG_HOME (absolute) or ~/.config.
  std::string user_config = get("XDG_CONFIG_HOME");
  if (user_config.empty() || user_config.front() != '/') user_config = home.empty() ? "" : home + "/.config";
  if (!user_config.empty()) {
    candidates.push_back(user_config + "/datarhei-core/config.js");
    candidates.push_back(user_config + "/datarhei-core/config.json");
  }
  if (!home.empty()) {
    candidates.push_back(home + "/.config/datarhei-core/config.js");
    candidates.push_back(home + "/.config/datarhei-core/config.json");
  }
  candidates.emplace_back("./config/config.js");
  candidates.emplace_back("./config/config.json");

  std::string found;
  for (const auto& c : candidates) {  // the last existing one wins, as upstream
    struct stat st {};
    if (::stat(c.c_str(), &st) == 0 && S_ISREG(st.st_mode)) found = c;
  }
  return found.empty() ? "./config/config.json" : found;
}

// ---------------------------------------------------------------------------------------------------

Config Config::defaults() {
  Config c;
  for (const auto& k : keys()) detail::assign(c.data_, k.json_path, k.default_value());
  return c;
}

Errors Config::overlay(const Json& doc) {
  if (!doc.is_object()) return {{"", fmt::format("expected a JSON object, got {}", detail::describe(doc))}};
  if (detail::depth(doc, 32) > 32) return {{"", "document nested too deeply (more than 32 levels)"}};

  int version = 3;
  if (const auto it = doc.find("version"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 3 ||
        (it->is_number_unsigned() && it->get<std::uint64_t>() > 3)) {
      return {{"version", fmt::format("Invalid config version {}: expected 1, 2 or 3", detail::describe(*it))}};
    }
    version = static_cast<int>(it->get<std::int64_t>());
  }

  Errors errors;
  std::set<std::string> bad_parents;
  Json next = data_;
  for (const auto& k : keys()) {
    if (k.json_path == "version") continue;
    const auto src = detail::source_path(k, version);
    if (!src) continue;
    // Walk the document; an intermediate of the wrong type is reported once, under its own path.
    const auto segs = detail::split_path(*src);
    const Json* cur = &doc;
    std::string prefix;
    for (std::size_t i = 0; cur && i < segs.size(); ++i) {
      const auto it = cur->find(segs[i]);
      if (it == cur->end()) {
        cur = nullptr;
        break;
      }
      prefix += (i ? "." : "") + segs[i];
      cur = &*it;
      if (i + 1 < segs.size()) {
        if (cur->is_null()) {
          cur = nullptr;  // null object: nothing to overlay, as Go's decoder
        } else if (!cur->is_object()) {
          if (bad_parents.insert(prefix).second) {
            errors.push_back({prefix, fmt::format("expected an object, got {}", detail::describe(*cur))});
          }
          cur = nullptr;
        }
      }
    }
    if (!cur) continue;
    Json value;
    if (auto reason = detail::coerce(k, *cur, value)) {
      errors.push_back({k.var_name, *reason});
      continue;
    }
    if (!value.is_discarded()) detail::assign(next, k.json_path, std::move(value));
  }
  if (version == 1) detail::migrate_v1_rtmp(doc, next, errors);
  if (!errors.empty()) return errors;
  next["version"] = 3;
  data_ = std::move(next);
  return {};
}

Errors Config::apply_env(const Environment& env) {
  Errors errors;
  Json next = data_;
  std::set<std::string> merged;
  std::vector<std::string> warnings;
  for (const auto& k : keys()) {
    if (k.env.empty()) continue;
    std::string name;
    const std::string* text = nullptr;
    for (std::size_t i = 0; i < k.env.size() && !text; ++i) {
      if (const auto it = env.find(k.env[i]); it != env.end()) {
        text = &it->second;
        name = k.env[i];
        if (i > 0) warnings.push_back(fmt::format("{} is deprecated, use {}", name, k.env[0]));
      }
    }
    if (!text) continue;
    Json raw, value;
    if (auto reason = detail::parse_env(k, *text, raw)) {
      errors.push_back({k.var_name, fmt::format("{}: {}", name, *reason)});
      continue;
    }
    if (auto reason = detail::coerce(k, raw, value)) {
      errors.push_back({k.var_name, fmt::format("{}: {}", name, *reason)});
      continue;
    }
    if (!value.is_discarded()) detail::assign(next, k.json_path, std::move(value));
    merged.insert(k.var_name);
  }
  if (!errors.empty()) return errors;

  // Upstream: memfs credentials both given by the environment switch Basic auth on (off when both empty).
  if (merged.count("storage.memory.auth.username") && merged.count("storage.memory.auth.password")) {
    const bool empty = lookup(next, "storage.memory.auth.username")->get<std::string>().empty() &&
                       lookup(next, "storage.memory.auth.password")->get<std::string>().empty();
    detail::assign(next, "storage.memory.auth.enable", !empty);
  }

  std::vector<std::string> overrides;
  for (const auto& k : keys()) {
    if (merged.count(k.var_name) ||
        std::find(overrides_.begin(), overrides_.end(), k.var_name) != overrides_.end()) {
      overrides.push_back(k.var_name);
    }
  }
  data_ = std::move(next);
  overrides_ = std::move(overrides);
  for (const auto& w : warnings) log::warn("Config", w);
  return {};
}

namespace {

struct Listener {
  std::string var;
  std::string host;
  unsigned port = 0;
};

bool parse_listener(const std::string& var, const std::string& address, Listener& out) {
  const auto pos = address.rfind(':');
  if (pos == std::string::npos) return false;
  std::string host = address.substr(0, pos);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const auto port = address.substr(pos + 1);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  out = {var, host, static_cast<unsigned>(std::stoul(port))};
  return true;
}

bool wildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

}  // namespace

Errors Config::validate() const {
  Errors errors;
  const auto add = [&](std::string var, std::string msg) { errors.push_back({std::move(var), std::move(msg)}); };

  bool well_typed = true;
  for (const auto& k : keys()) {
    const Json* v = lookup(data_, k.json_path);
    if (!v) {
      add(k.var_name, "missing");
      well_typed = false;
      continue;
    }
    if (k.json_path == "version") {
      if (!v->is_number_integer() || v->get<std::int64_t>() != 3) {
        add("version", fmt::format("unknown configuration layout version {} (expected 3)", detail::describe(*v)));
      }
      continue;
    }
    Json value;
    if (auto reason = detail::coerce(k, *v, value)) {
      add(k.var_name, *reason);
      well_typed = false;
      continue;
    }
    if (value.is_discarded()) {
      add(k.var_name, "must not be null");
      well_typed = false;
      continue;
    }
    if (k.validate) {
      if (auto reason = k.validate(value)) add(k.var_name, *reason);
    }
  }
  if (!well_typed) return errors;  // the cross-field rules below read values by type

  const auto b = [&](const char* p) { return get_bool(p); };
  const auto s = [&](const char* p) { return get_string(p); };
  const auto i = [&](const char* p) { return get_int(p); };

  if (b("api.auth.enable")) {
    if (s("api.auth.username").empty()) add("api.auth.username", "must not be empty when api.auth.enable is true");
    if (s("api.auth.password").empty()) add("api.auth.password", "must not be empty when api.auth.enable is true");
  }
  if (b("api.auth.auth0.enable")) {
    const auto& tenants = get("api.auth.auth0.tenants");
    if (tenants.empty()) add("api.auth.auth0.enable", "at least one tenant must be set in api.auth.auth0.tenants");
    for (std::size_t n = 0; n < tenants.size(); ++n) {
      if (tenants[n].value("clientid", std::string()).empty()) {
        add("api.auth.auth0.tenants", fmt::format("the clientid for tenant {} is missing", n));
      }
    }
  }
  if (b("tls.enable") && !b("tls.auto")) {
    if (s("tls.cert_file").empty()) add("tls.cert_file", "must be set when tls.enable is true (unless tls.auto)");
    if (s("tls.key_file").empty()) add("tls.key_file", "must be set when tls.enable is true (unless tls.auto)");
  }
  if (b("tls.enable") && b("tls.auto")) {
    const auto names = get_strings("host.name");
    if (names.empty()) add("host.name", "a host name must be set for automatic TLS certificates (tls.auto)");
    for (const auto& n : names) {
      in6_addr a6{};
      in_addr a4{};
      if (inet_pton(AF_INET, n.c_str(), &a4) == 1 || inet_pton(AF_INET6, n.c_str(), &a6) == 1) {
        add("host.name", fmt::format("only host names are allowed with tls.auto, found IP address \"{}\"", n));
      }
    }
    if (s("tls.email").empty()) add("tls.email", "must be set when tls.auto is true");
  }
  if (b("rtmp.enable_tls")) {
    if (!b("rtmp.enable")) add("rtmp.enable", "must be true when rtmp.enable_tls is true");
    if (!b("tls.enable")) add("rtmp.enable_tls", "RTMPS needs tls.enable");
  }
  if (b("storage.memory.auth.enable")) {
    if (s("storage.memory.auth.username").empty()) {
      add("storage.memory.auth.username", "must not be empty when storage.memory.auth.enable is true");
    }
    if (s("storage.memory.auth.password").empty()) {
      add("storage.memory.auth.password", "must not be empty when storage.memory.auth.enable is true");
    }
  }
  if (b("playout.enable") && i("playout.min_port") >= i("playout.max_port")) {
    add("playout.min_port", "must be less than playout.max_port when playout.enable is true");
  }
  if (b("sessions.enable")) {
    if (i("sessions.session_timeout_sec") < 1) add("sessions.session_timeout_sec", "must be at least 1");
    if (i("sessions.persist_interval_sec") < 0) add("sessions.persist_interval_sec", "must be at least 0");
  }
  if (b("service.enable")) {
    if (s("service.token").empty()) add("service.token", "must not be empty when service.enable is true");
    if (s("service.url").empty()) add("service.url", "must not be empty when service.enable is true");
  }
  if (b("metrics.enable")) {
    const auto range = i("metrics.range_sec");
    const auto interval = i("metrics.interval_sec");
    if (range <= 0) add("metrics.range_seconds", "must be greater than 0 when metrics.enable is true");
    if (interval <= 0) add("metrics.interval_seconds", "must be greater than 0 when metrics.enable is true");
    if (interval > range) add("metrics.interval_seconds", "must not be greater than metrics.range_seconds");
  }

  const auto rtp_min = get_uint("webrtc.rtp_port_min");
  const auto rtp_max = get_uint("webrtc.rtp_port_max");
  if (rtp_min % 2 != 0) add("webrtc.rtp_port_min", "must be even (RTP/RTCP port pairs)");
  if (rtp_min >= rtp_max) add("webrtc.rtp_port_max", "must be greater than webrtc.rtp_port_min");

  // Listeners of one protocol must not share a port (the same port for UDP and TCP is fine).
  const bool webrtc = b("webrtc.enable");
  const auto check_listeners = [&](const char* proto, const std::vector<std::pair<const char*, bool>>& list) {
    std::vector<Listener> active;
    for (const auto& [path, enabled] : list) {
      Listener l;
      if (!enabled || !parse_listener(find_key(path)->var_name, s(path), l) || l.port == 0) continue;
      for (const auto& other : active) {
        if (other.port == l.port && (other.host == l.host || wildcard(other.host) || wildcard(l.host))) {
          add(l.var, fmt::format("conflicts with {}: both listen on {} port {}", other.var, proto, l.port));
        }
      }
      active.push_back(l);
    }
    for (const auto& l : active) {
      if (std::string_view(proto) == "UDP" && l.port >= rtp_min && l.port <= rtp_max) {
        add(l.var, fmt::format("port {} lies inside webrtc.rtp_port_min..webrtc.rtp_port_max", l.port));
      }
    }
  };
  check_listeners("TCP", {{"address", true},
                          {"tls.address", b("tls.enable")},
                          {"rtmp.address", b("rtmp.enable")},
                          {"rtmp.address_tls", b("rtmp.enable") && b("rtmp.enable_tls")},
                          {"webrtc.tcp.address", webrtc && b("webrtc.tcp.enable")}});
  check_listeners("UDP", {{"srt.address", b("srt.enable")}, {"webrtc.address", webrtc && b("webrtc.udp.enable")}});
  return errors;
}

// ---------------------------------------------------------------------------------------------------

namespace {

// Redacts the secret fields (e.g. "auth.password") of each element of a JSON-valued key.
void redact_elements(const Key& k, Json& array) {
  if (!array.is_array()) return;
  for (auto& elem : array) {
    for (const auto& f : k.secret_fields) {
      Json* v = detail::lookup(elem, f);
      if (v && v->is_string() && !v->get<std::string>().empty()) *v = std::string(k_redacted);
    }
  }
}

}  // namespace

Json Config::to_json_redacted() const {
  Json out = data_;
  for (const auto& k : keys()) {
    Json* v = detail::lookup(out, k.json_path);
    if (!v) continue;
    if (k.secret && v->is_string() && !v->get<std::string>().empty()) *v = std::string(k_redacted);
    if (!k.secret_fields.empty()) redact_elements(k, *v);
  }
  return out;
}

void Config::unredact(Json& doc) const {
  if (!doc.is_object() || detail::depth(doc, 32) > 32) return;
  for (const auto& k : keys()) {
    Json* v = detail::lookup(doc, k.json_path);
    const Json* current = lookup(data_, k.json_path);
    if (!v || !current) continue;
    if (k.secret && v->is_string() && v->get<std::string>() == k_redacted) *v = *current;
    if (k.secret_fields.empty() || !v->is_array() || !current->is_array()) continue;
    for (auto& elem : *v) {
      if (!elem.is_object() || !elem.contains("name")) continue;
      // Elements are matched by name: the client may have reordered, added or removed some.
      const auto match = std::find_if(current->begin(), current->end(), [&](const Json& c) {
        return c.is_object() && c.contains("name") && c["name"] == elem["name"];
      });
      if (match == current->end()) continue;
      for (const auto& f : k.secret_fields) {
        Json* field = detail::lookup(elem, f);
        const Json* cur_field = lookup(*match, f);
        if (field && cur_field && field->is_string() && field->get<std::string>() == k_redacted) *field = *cur_field;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------

const Json& Config::get(std::string_view path) const {
  const Json* v = lookup(data_, path);
  if (!v) throw std::logic_error(fmt::format("config: unknown path \"{}\"", path));
  return *v;
}

bool Config::get_bool(std::string_view path) const {
  const auto& v = get(path);
  if (!v.is_boolean()) throw std::logic_error(fmt::format("config: \"{}\" is not a boolean", path));
  return v.get<bool>();
}

std::int64_t Config::get_int(std::string_view path) const {
  const auto& v = get(path);
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))) {
    throw std::logic_error(fmt::format("config: \"{}\" is not an integer", path));
  }
  return v.get<std::int64_t>();
}

std::uint64_t Config::get_uint(std::string_view path) const {
  const auto& v = get(path);
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0)) {
    throw std::logic_error(fmt::format("config: \"{}\" is not an unsigned integer", path));
  }
  return v.get<std::uint64_t>();
}

double Config::get_float(std::string_view path) const {
  const auto& v = get(path);
  if (!v.is_number()) throw std::logic_error(fmt::format("config: \"{}\" is not a number", path));
  return v.get<double>();
}

std::string Config::get_string(std::string_view path) const {
  const auto& v = get(path);
  if (!v.is_string()) throw std::logic_error(fmt::format("config: \"{}\" is not a string", path));
  return v.get<std::string>();
}

std::vector<std::string> Config::get_strings(std::string_view path) const {
  const auto& v = get(path);
  std::vector<std::string> out;
  if (v.is_null()) return out;  // as Go's decoder: a null list is an empty one
  if (!v.is_array()) throw std::logic_error(fmt::format("config: \"{}\" is not a list", path));
  for (const auto& e : v) {
    if (!e.is_string()) throw std::logic_error(fmt::format("config: \"{}\" is not a list of strings", path));
    out.push_back(e.get<std::string>());
  }
  return out;
}

void Config::set(std::string_view path, Json value) {
  if (!find_key(path)) throw std::logic_error(fmt::format("config: unknown key \"{}\"", path));
  detail::assign(data_, path, std::move(value));
}

}  // namespace dragon::config
