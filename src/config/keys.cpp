// The declarative table of every configuration key, plus the value checks it uses. Layout, env names,
// alternatives and defaults are upstream datarhei Core's config v3 (16.16), except where marked
// "Dragon Core:" (deliberate security changes and the webrtc block).
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <set>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "config/internal.hpp"
#include "util/base64.hpp"
#include "util/random.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace dragon::config {

namespace {

using Validator = std::function<std::optional<std::string>(const Json&)>;
using Reason = std::optional<std::string>;

// ---------------------------------------------------------------------------------------------------
// Value checks

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// A value quoted for a message, cut so hostile input cannot produce huge errors.
std::string q(const std::string& s) { return detail::describe(Json(s)); }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Reason check_address(const std::string& a) {
  const auto pos = a.rfind(':');
  if (pos == std::string::npos) return fmt::format("invalid address {}: expected host:port or :port", q(a));
  const std::string host = a.substr(0, pos);
  const std::string port = a.substr(pos + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.back() != ']' || !is_ipv6(host.substr(1, host.size() - 2))) {
      return fmt::format("invalid address {}: bad IPv6 host", q(a));
    }
  } else if (host.find(':') != std::string::npos) {
    return fmt::format("invalid address {}: IPv6 hosts need brackets, e.g. [::1]:8080", q(a));
  }
  if (!all_digits(port) || port.size() > 5 || std::stoul(port) < 1 || std::stoul(port) > 65535) {
    return fmt::format("invalid address {}: port must be 1..65535", q(a));
  }
  return std::nullopt;
}

bool valid_cidr(const std::string& s) {
  const auto pos = s.find('/');
  if (pos == std::string::npos) return false;
  const std::string addr = s.substr(0, pos);
  const std::string bits = s.substr(pos + 1);
  if (!all_digits(bits) || bits.size() > 3) return false;
  const auto n = std::stoul(bits);
  if (is_ipv4(addr)) return n <= 32;
  if (is_ipv6(addr)) return n <= 128;
  return false;
}

Reason check_regex(const std::string& pattern) {
  // libstdc++ compiles regexes recursively: bound the input so a hostile pattern cannot exhaust the stack.
  if (pattern.size() > 1024) return fmt::format("regular expression too long ({} bytes, at most 1024)", pattern.size());
  int nesting = 0, max_nesting = 0;
  for (char c : pattern) {
    if (c == '(') max_nesting = std::max(max_nesting, ++nesting);
    if (c == ')') --nesting;
  }
  if (max_nesting > 32) return fmt::format("regular expression {} nests groups too deeply", q(pattern));
  try {
    std::regex re(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return fmt::format("invalid regular expression {}: {}", q(pattern), e.what());
  }
  return std::nullopt;
}

Reason check_email(const std::string& s) {
  if (s.empty()) return std::nullopt;
  const auto at = s.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == s.size() || s.find('@', at + 1) != std::string::npos ||
      s.find_first_of(" \t<>,;\"") != std::string::npos) {
    return fmt::format("invalid email address {}", q(s));
  }
  return std::nullopt;
}

Reason check_url(const std::string& s) {
  if (s.empty()) return std::nullopt;
  const auto pos = s.find("://");
  if (pos == std::string::npos || pos == 0 || pos + 3 >= s.size() || s[pos + 3] == '/') {
    return fmt::format("{} is not a valid URL", q(s));
  }
  return std::nullopt;
}

bool is_regular_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
bool is_directory(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_executable_file(const std::string& p) { return is_regular_file(p) && ::access(p.c_str(), X_OK) == 0; }

bool resolve_exec(const std::string& name) {
  if (name.find('/') != std::string::npos) return is_executable_file(name);
  const char* path = std::getenv("PATH");
  for (const auto& dir : util::split(path ? path : "", ':', true)) {
    if (is_executable_file(dir + "/" + name)) return true;
  }
  return false;
}

std::int64_t as_int(const Json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    return u > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(u);
  }
  return v.get<std::int64_t>();
}

// The checks implied by a key's type; key-specific validators run after these.
Reason check_type(Type type, const Json& v) {
  switch (type) {
    case Type::Address:
      return check_address(v.get<std::string>());
    case Type::Dir:
      if (v.get<std::string>().empty()) return std::string("must not be empty");
      return std::nullopt;
    case Type::File: {
      const auto& p = v.get<std::string>();
      if (p.empty() || is_regular_file(p)) return std::nullopt;
      return fmt::format("file {} does not exist or is not a regular file", q(p));
    }
    case Type::Exec: {
      const auto& p = v.get<std::string>();
      if (p.empty()) return std::string("must not be empty");
      if (!resolve_exec(p)) return fmt::format("{} not found in PATH or not executable", q(p));
      return std::nullopt;
    }
    case Type::AbsPath: {
      const auto& p = v.get<std::string>();
      if (p.empty() || p.front() != '/') return fmt::format("{} is not an absolute path", q(p));
      return std::nullopt;
    }
    case Type::Time: {
      std::chrono::system_clock::time_point t;
      if (v.get<std::string>() != detail::k_zero_time && !detail::parse_time(v.get<std::string>(), t)) {
        return fmt::format("{} is not an RFC 3339 timestamp", q(v.get<std::string>()));
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------------
// Validator builders

Validator one_of(std::vector<std::string> allowed) {
  return [allowed](const Json& v) -> Reason {
    for (const auto& a : allowed) {
      if (util::iequals(a, v.get<std::string>())) return std::nullopt;
    }
    return fmt::format("must be one of {}, got {}", util::join(allowed, ", "), q(v.get<std::string>()));
  };
}

Validator int_range(std::int64_t lo, std::int64_t hi) {
  return [lo, hi](const Json& v) -> Reason {
    const auto n = as_int(v);  // clamped: only for the comparison
    if (n < lo || n > hi) {
      if (hi == INT64_MAX) return fmt::format("must be at least {}, got {}", lo, v.dump());
      return fmt::format("must be {}..{}, got {}", lo, hi, v.dump());
    }
    return std::nullopt;
  };
}

Validator port_or_zero() {
  return [](const Json& v) -> Reason {
    const auto n = as_int(v);
    if (n < 0 || n > 65535) return fmt::format("port must be 0..65535, got {}", v.dump());
    return std::nullopt;
  };
}

Validator each(std::function<Reason(const std::string&)> check) {
  return [check](const Json& v) -> Reason {
    for (const auto& e : v) {
      if (auto r = check(e.get<std::string>())) return r;
    }
    return std::nullopt;
  };
}

Reason cidr_item(const std::string& s) {
  if (!valid_cidr(s)) return fmt::format("invalid CIDR {} (expected e.g. 10.0.0.0/8 or ::1/128)", q(s));
  return std::nullopt;
}

Reason cors_item(const std::string& s) {
  // Upstream accepts any origin with a wildcard, or one with an http(s) scheme.
  if (s.find('*') != std::string::npos || util::starts_with_icase(s, "http://") ||
      util::starts_with_icase(s, "https://")) {
    return std::nullopt;
  }
  return fmt::format("invalid CORS origin {}: must be \"*\" or start with http:// or https://", q(s));
}

Reason ip_item(const std::string& s) {
  if (is_ipv4(s) || is_ipv6(s)) return std::nullopt;
  return fmt::format("invalid IP address {}", q(s));
}

Reason codec_item(const std::string& s) {
  if (s == "vp8" || s == "vp9" || s == "h264") return std::nullopt;
  return fmt::format("unknown codec {}: must be one of vp8, vp9, h264", q(s));
}

Reason not_redacted(const Json& v) {
  if (v.is_string() && v.get<std::string>() == k_redacted) {
    return fmt::format("must not be the redaction marker \"{}\"", k_redacted);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// Element shapes of JSON-valued keys

enum class FieldKind { Str, Bool, StrList, StrOrStrList, Obj };
struct Field {
  const char* name;
  FieldKind kind;
  std::vector<Field> sub;  // for Obj
};

const std::vector<Field>& s3_fields() {
  static const std::vector<Field> f = {
      {"name", FieldKind::Str, {}},
      {"mountpoint", FieldKind::Str, {}},
      {"auth",
       FieldKind::Obj,
       {{"enable", FieldKind::Bool, {}}, {"username", FieldKind::Str, {}}, {"password", FieldKind::Str, {}}}},
      {"endpoint", FieldKind::Str, {}},
      {"access_key_id", FieldKind::Str, {}},
      {"secret_access_key", FieldKind::Str, {}},
      {"bucket", FieldKind::Str, {}},
      {"region", FieldKind::Str, {}},
      {"use_ssl", FieldKind::Bool, {}},
  };
  return f;
}

const std::vector<Field>& tenant_fields() {
  static const std::vector<Field> f = {
      {"domain", FieldKind::Str, {}},
      {"audience", FieldKind::Str, {}},
      {"clientid", FieldKind::Str, {}},
      {"users", FieldKind::StrList, {}},
  };
  return f;
}

const std::vector<Field>& ice_fields() {
  static const std::vector<Field> f = {
      {"urls", FieldKind::StrOrStrList, {}},
      {"username", FieldKind::Str, {}},
      {"credential", FieldKind::Str, {}},
  };
  return f;
}

Reason normalize_object(const Json& in, const std::vector<Field>& fields, Json& out, const std::string& where) {
  if (!in.is_object()) return fmt::format("{}: expected an object, got {}", where, detail::describe(in));
  out = Json::object();
  for (const auto& f : fields) {
    const auto it = in.find(f.name);
    const Json* v = (it == in.end() || it->is_null()) ? nullptr : &*it;
    const std::string at = fmt::format("{}.{}", where, f.name);
    switch (f.kind) {
      case FieldKind::Str:
        if (v && !v->is_string()) return fmt::format("{}: expected a string, got {}", at, detail::describe(*v));
        out[f.name] = v ? *v : Json("");
        break;
      case FieldKind::Bool:
        if (v && !v->is_boolean()) return fmt::format("{}: expected a boolean, got {}", at, detail::describe(*v));
        out[f.name] = v ? *v : Json(false);
        break;
      case FieldKind::StrOrStrList:
        if (v && v->is_string()) {
          out[f.name] = Json::array({*v});
          break;
        }
        [[fallthrough]];
      case FieldKind::StrList: {
        Json list = Json::array();
        if (v) {
          if (!v->is_array()) return fmt::format("{}: expected an array of strings, got {}", at, detail::describe(*v));
          for (const auto& e : *v) {
            if (!e.is_string()) return fmt::format("{}: expected an array of strings, got an element {}", at, detail::describe(e));
            list.push_back(e);
          }
        }
        out[f.name] = std::move(list);
        break;
      }
      case FieldKind::Obj: {
        Json sub;
        if (auto r = normalize_object(v ? *v : Json::object(), f.sub, sub, at)) return r;
        out[f.name] = std::move(sub);
        break;
      }
    }
  }
  return std::nullopt;
}

const std::vector<Field>* element_fields(std::string_view path) {
  if (path == "storage.s3") return &s3_fields();
  if (path == "api.auth.auth0.tenants") return &tenant_fields();
  if (path == "webrtc.ice_servers") return &ice_fields();
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------
// Validators of the JSON-valued keys (values are already normalised)

Reason validate_s3(const Json& v) {
  static const std::regex name_re("^[A-Za-z0-9_-]+$");
  std::set<std::string> names = {"disk", "mem"};
  std::set<std::string> mounts;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto& s = v[i];
    const auto name = s.value("name", std::string());
    const std::string which = name.empty() ? fmt::format("S3 storage #{}", i) : fmt::format("S3 storage {}", q(name));
    if (name.empty()) return fmt::format("{}: name is missing", which);
    if (!std::regex_match(name, name_re)) return fmt::format("{}: name must match [A-Za-z0-9_-]+", which);
    if (!names.insert(name).second) return fmt::format("{}: the name is already in use or reserved", which);
    const auto mount = s.value("mountpoint", std::string());
    if (mount.empty()) return fmt::format("{}: mountpoint is missing", which);
    if (mount.front() != '/') return fmt::format("{}: mountpoint {} must be an absolute path", which, q(mount));
    if (mount == "/" || mount == "/memfs" || mount.rfind("/api", 0) == 0 || mount == "/ui" ||
        mount.rfind("/ui/", 0) == 0) {
      return fmt::format("{}: mountpoint {} is reserved (/, /memfs, /ui and /api...)", which, q(mount));
    }
    if (!mounts.insert(mount).second) return fmt::format("{}: mountpoint {} is used twice", which, q(mount));
    const auto& auth = s["auth"];
    if (auth.value("enable", false) && auth.value("username", std::string()).empty() &&
        auth.value("password", std::string()).empty()) {
      return fmt::format("{}: auth is enabled, but no username and password are set", which);
    }
    if (s.value("secret_access_key", std::string()) == k_redacted || auth.value("password", std::string()) == k_redacted) {
      return fmt::format("{}: secrets must not be the redaction marker \"{}\"", which, k_redacted);
    }
  }
  return std::nullopt;
}

Reason validate_tenants(const Json& v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i].value("domain", std::string()).empty()) return fmt::format("the domain for tenant {} is missing", i);
    if (v[i].value("audience", std::string()).empty()) return fmt::format("the audience for tenant {} is missing", i);
  }
  return std::nullopt;
}

Reason validate_ice_servers(const Json& v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto& urls = v[i]["urls"];
    if (urls.empty()) return fmt::format("ICE server {}: urls must not be empty", i);
    for (const auto& u : urls) {
      const auto s = u.get<std::string>();
      const bool turn = s.rfind("turn:", 0) == 0 || s.rfind("turns:", 0) == 0;
      if (!turn && s.rfind("stun:", 0) != 0 && s.rfind("stuns:", 0) != 0) {
        return fmt::format("ICE server {}: URL {} must start with stun:, stuns:, turn: or turns:", i, q(s));
      }
      if (turn && (v[i]["username"].get<std::string>().empty() || v[i]["credential"].get<std::string>().empty())) {
        return fmt::format("ICE server {}: TURN URL {} needs username and credential", i, q(s));
      }
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// Environment forms of the JSON-valued keys

struct Url {
  std::string scheme, user, password, host, path;
  std::vector<std::pair<std::string, std::string>> query;
  std::string get(std::string_view k) const {
    for (const auto& [qk, qv] : query) {
      if (qk == k) return qv;
    }
    return {};
  }
  bool has(std::string_view k) const {
    return std::any_of(query.begin(), query.end(), [&](const auto& q) { return q.first == k; });
  }
};

// Messages never quote the URL: it may carry credentials.
Reason parse_url(std::string_view s, Url& u) {
  const auto sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::string("not a URL");
  u.scheme = util::to_lower(s.substr(0, sep));
  auto rest = s.substr(sep + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash);
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (!util::url_decode(userinfo.substr(0, colon), u.user)) return std::string("bad escape in the user");
    if (colon != std::string_view::npos && !util::url_decode(userinfo.substr(colon + 1), u.password)) {
      return std::string("bad escape in the password");
    }
  }
  u.host = std::string(authority);
  if (!util::url_decode(path, u.path)) return std::string("bad escape in the path");
  for (const auto& part : util::split(query, '&', true)) {
    const auto eq = part.find('=');
    std::string k, v;
    if (!util::url_decode(part.substr(0, eq), k, true) ||
        (eq != std::string::npos && !util::url_decode(part.substr(eq + 1), v, true))) {
      return std::string("bad escape in the query");
    }
    u.query.emplace_back(std::move(k), std::move(v));
  }
  return std::nullopt;
}

// http(s)://KEY:SECRET@[region.]endpoint/bucket?name=N&mount=/M[&username=U&password=P], '|'-separated.
Reason s3_from_env(const std::string& text, Json& out) {
  out = Json::array();
  for (const auto& raw : util::split(text, '|', true)) {
    const auto item = std::string(util::trim(raw));
    if (item.empty()) continue;
    Url u;
    // The URL carries the secret key: name the item by position only.
    if (auto r = parse_url(item, u)) return fmt::format("invalid S3 storage URL #{}: {}", out.size(), *r);
    Json s = Json::object();
    s["name"] = u.get("name");
    s["mountpoint"] = u.get("mount");
    s["access_key_id"] = u.user;
    s["secret_access_key"] = u.password;
    // As upstream: the first label of the host is the region, the rest the endpoint.
    const auto dot = u.host.find('.');
    s["region"] = u.host.substr(0, dot);
    s["endpoint"] = dot == std::string::npos ? std::string() : u.host.substr(dot + 1);
    s["bucket"] = u.path.empty() ? std::string() : u.path.substr(u.path.front() == '/' ? 1 : 0);
    s["use_ssl"] = u.scheme == "https";
    const bool auth = u.has("username") || u.has("password");
    s["auth"] = {{"enable", auth}, {"username", u.get("username")}, {"password", u.get("password")}};
    out.push_back(std::move(s));
  }
  return std::nullopt;
}

// Comma-separated base64(JSON object) or auth0://CLIENTID@DOMAIN?aud=AUD&user=U&user=...
Reason tenants_from_env(const std::string& text, Json& out) {
  out = Json::array();
  std::size_t i = 0;
  for (const auto& raw : util::split(text, ',', true)) {
    const auto item = std::string(util::trim(raw));
    if (item.empty()) continue;
    Json t = Json::object();
    if (item.rfind("auth0://", 0) == 0) {
      Url u;
      if (auto r = parse_url(item, u)) return fmt::format("invalid url encoding of tenant {}: {}", i, *r);
      t["domain"] = u.host;
      t["clientid"] = u.user;
      t["audience"] = u.get("aud");
      Json users = Json::array();
      for (const auto& [k, v] : u.query) {
        if (k == "user") users.push_back(v);
      }
      t["users"] = std::move(users);
    } else {
      const auto decoded = util::base64_decode(item);
      if (!decoded) return fmt::format("invalid base64 encoding of tenant {}", i);
      t = Json::parse(*decoded, nullptr, false);
      if (t.is_discarded()) return fmt::format("invalid JSON in tenant {}", i);
    }
    out.push_back(std::move(t));
    ++i;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// The table

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
// Upstream's naming rule: CORE_ + the path upper-cased, '.' -> '_'.
std::string env_name(std::string_view path) {
  std::string out = "CORE_" + upper(path);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

struct Builder {
  std::vector<Key> keys;

  Key& add(std::string path, Type type, std::vector<std::string> env, Json def, std::string doc) {
    Key k;
    k.json_path = path;
    k.var_name = std::move(path);
    k.env = std::move(env);
    k.type = type;
    k.default_value = [def = std::move(def)] { return def; };
    k.doc = std::move(doc);
    keys.push_back(std::move(k));
    return keys.back();
  }
  Key& add_dyn(std::string path, Type type, std::vector<std::string> env, std::function<Json()> def,
               std::string doc) {
    Key& k = add(std::move(path), type, std::move(env), nullptr, std::move(doc));
    k.default_value = std::move(def);
    return k;
  }
};

std::vector<Key> build() {
  Builder b;
  b.keys.reserve(128);
  using T = Type;
  const auto arr = [](std::initializer_list<const char*> items) {
    Json a = Json::array();
    for (const auto* i : items) a.push_back(i);
    return a;
  };

  // General
  b.add("version", T::Int, {}, 3, "Configuration file layout version; 1 and 2 are migrated to 3 on load")
      .validate = int_range(3, 3);
  b.add_dyn("created_at", T::Time, {}, [] { return Json(util::rfc3339_nano(util::Clock::now())); },
            "Configuration file creation time (RFC 3339)");
  b.add_dyn("id", T::String, {"CORE_ID"}, [] { return Json(util::uuid_v4()); },
            "ID of this instance; also the Prometheus label `core`")
      .validate = [](const Json& v) -> Reason {
    if (v.get<std::string>().empty()) return std::string("must not be empty");
    return std::nullopt;
  };
  b.add_dyn("name", T::String, {"CORE_NAME"}, [] { return Json(util::random_instance_name()); },
            "Human-readable name of this instance");
  b.add("address", T::Address, {"CORE_ADDRESS"}, ":8080", "HTTP listen address (host:port or :port)");
  // Dragon Core: never phones home; the key is accepted for compatibility and has no effect.
  b.add("update_check", T::Bool, {"CORE_UPDATE_CHECK"}, false,
        "Accepted for compatibility, no effect: Dragon Core never checks for updates or sends data");

  // Log
  b.add("log.level", T::String, {"CORE_LOG_LEVEL"}, "info", "Log level: silent, error, warn, info, debug").validate =
      one_of({"silent", "error", "warn", "info", "debug"});
  b.add("log.topics", T::StringList, {"CORE_LOG_TOPICS"}, Json::array(),
        "Show only these log components on the console (empty: all)");
  b.add("log.max_lines", T::Int, {"CORE_LOG_MAX_LINES", "CORE_LOG_MAXLINES"}, 1000,
        "Number of recent log lines kept in memory for /api/v3/log")
      .validate = int_range(0, INT64_MAX);

  // DB
  b.add("db.dir", T::Dir, {"CORE_DB_DIR"}, "./config",
        "Directory for operational data (db.json, sessions, certificates); created when missing");

  // Host
  b.add("host.name", T::StringList, {"CORE_HOST_NAME"}, Json::array(),
        "Public host names or IPs of this instance (TLS certificates, placeholders)");
  // Dragon Core: no public IP detection by default (upstream asks api.ipify.org).
  b.add("host.auto", T::Bool, {"CORE_HOST_AUTO"}, false,
        "Detect the public IP addresses when host.name is empty (asks api.ipify.org)");

  // API
  b.add("api.read_only", T::Bool, {"CORE_API_READ_ONLY"}, false, "Allow only read-only access to the API");
  for (const char* proto : {"http", "https"}) {
    for (const char* list : {"allow", "block"}) {
      const std::string path = fmt::format("api.access.{}.{}", proto, list);
      b.add(path, T::StringList, {env_name(path)}, Json::array(),
            fmt::format("IP ranges in CIDR notation to {} for {} API requests (empty: no restriction)", list,
                        upper(proto)))
          .validate = each(cidr_item);
    }
  }
  // Dragon Core: authentication is on by default; the server generates and stores a password at first start.
  b.add("api.auth.enable", T::Bool, {"CORE_API_AUTH_ENABLE"}, true,
        "Require authentication for the API (needs username and password)");
  b.add("api.auth.disable_localhost", T::Bool, {"CORE_API_AUTH_DISABLE_LOCALHOST"}, false,
        "Do not require authentication for clients from localhost");
  b.add("api.auth.username", T::String, {"CORE_API_AUTH_USERNAME", "RS_USERNAME"}, "admin",
        "Username for the API");
  {
    Key& k = b.add("api.auth.password", T::String, {"CORE_API_AUTH_PASSWORD", "RS_PASSWORD"}, "",
                   "Password for the API; generated and stored at first start when empty");
    k.secret = true;
    k.validate = not_redacted;
  }
  {
    Key& k = b.add_dyn("api.auth.jwt.secret", T::String, {"CORE_API_AUTH_JWT_SECRET"},
                       [] { return Json(util::random_alnum(32)); },
                       "Secret for signing JWTs; empty: a random one per start");
    k.secret = true;
    k.validate = not_redacted;
  }
  b.add("api.auth.auth0.enable", T::Bool, {"CORE_API_AUTH_AUTH0_ENABLE"}, false, "Enable Auth0 logins");
  b.add("api.auth.auth0.tenants", T::JsonValue, {"CORE_API_AUTH_AUTH0_TENANTS"}, Json::array(),
        "Auth0 tenants [{domain, audience, clientid, users[]}]; env: JSON, or comma-separated "
        "base64(JSON) or auth0://CLIENTID@DOMAIN?aud=AUDIENCE&user=U")
      .validate = validate_tenants;

  // TLS
  b.add("tls.address", T::Address, {"CORE_TLS_ADDRESS"}, ":8181", "HTTPS listen address");
  b.add("tls.enable", T::Bool, {"CORE_TLS_ENABLE"}, false, "Enable HTTPS (needs cert_file and key_file unless tls.auto)");
  b.add("tls.auto", T::Bool, {"CORE_TLS_AUTO"}, false, "Get certificates from Let's Encrypt for host.name");
  b.add("tls.email", T::String, {"CORE_TLS_EMAIL"}, "cert@datarhei.com", "Email address for the Let's Encrypt registration")
      .validate = [](const Json& v) { return check_email(v.get<std::string>()); };
  b.add("tls.cert_file", T::File, {"CORE_TLS_CERT_FILE", "CORE_TLS_CERTFILE"}, "",
        "Certificate file (PEM), with the chain");
  b.add("tls.key_file", T::File, {"CORE_TLS_KEY_FILE", "CORE_TLS_KEYFILE"}, "", "Private key file (PEM)");

  // Storage
  b.add("storage.mimetypes_file", T::File, {"CORE_STORAGE_MIMETYPES_FILE", "CORE_MIMETYPES_FILE"}, "./mime.types",
        "File with MIME types (\"type .ext .ext\" lines); when the default file is missing a built-in table is used");
  b.add("storage.disk.dir", T::Dir, {"CORE_STORAGE_DISK_DIR"}, "./data",
        "Directory of the disk filesystem, served at /; created when missing");
  b.add("storage.disk.max_size_mbytes", T::Int,
        {"CORE_STORAGE_DISK_MAX_SIZE_MBYTES", "CORE_STORAGE_DISK_MAXSIZEMBYTES"}, 0,
        "Maximum size of storage.disk.dir in megabytes, 0 for unlimited")
      .validate = int_range(0, INT64_MAX);
  b.add("storage.disk.cache.enable", T::Bool, {"CORE_STORAGE_DISK_CACHE_ENABLE"}, true,
        "Cache files served from / (and S3 mounts) in memory");
  b.add("storage.disk.cache.max_size_mbytes", T::Uint,
        {"CORE_STORAGE_DISK_CACHE_MAX_SIZE_MBYTES", "CORE_STORAGE_DISK_CACHE_MAXSIZEMBYTES"}, 0,
        "Maximum cache size in megabytes, 0 for unlimited");
  b.add("storage.disk.cache.ttl_seconds", T::Int,
        {"CORE_STORAGE_DISK_CACHE_TTL_SECONDS", "CORE_STORAGE_DISK_CACHE_TTLSECONDS"}, 300,
        "Seconds to keep a file in the cache")
      .validate = int_range(0, INT64_MAX);
  b.add("storage.disk.cache.max_file_size_mbytes", T::Uint,
        {"CORE_STORAGE_DISK_CACHE_MAX_FILE_SIZE_MBYTES", "CORE_STORAGE_DISK_CACHE_MAXFILESIZEMBYTES"}, 1,
        "Maximum size of a file to cache, in megabytes");
  {
    Key& k = b.add("storage.disk.cache.types.allow", T::StringList,
                   {"CORE_STORAGE_DISK_CACHE_TYPES_ALLOW", "CORE_STORAGE_DISK_CACHE_TYPES"}, Json::array(),
                   "File extensions to cache, empty for all");
    k.var_name = "storage.disk.cache.type.allow";
    k.list_separator = ' ';
  }
  {
    Key& k = b.add("storage.disk.cache.types.block", T::StringList, {"CORE_STORAGE_DISK_CACHE_TYPES_BLOCK"},
                   arr({".m3u8", ".mpd"}), "File extensions never to cache, empty for none");
    k.var_name = "storage.disk.cache.type.block";
    k.list_separator = ' ';
  }
  b.add("storage.memory.auth.enable", T::Bool, {"CORE_STORAGE_MEMORY_AUTH_ENABLE"}, true,
        "Require HTTP Basic auth for PUT, POST and DELETE on /memfs; forced on when both username and "
        "password come from the environment");
  b.add("storage.memory.auth.username", T::String, {"CORE_STORAGE_MEMORY_AUTH_USERNAME"}, "admin",
        "Username for /memfs writes");
  {
    Key& k = b.add_dyn("storage.memory.auth.password", T::String, {"CORE_STORAGE_MEMORY_AUTH_PASSWORD"},
                       [] { return Json(util::random_alnum(18)); }, "Password for /memfs writes");
    k.secret = true;
    k.validate = not_redacted;
  }
  b.add("storage.memory.max_size_mbytes", T::Int,
        {"CORE_STORAGE_MEMORY_MAX_SIZE_MBYTES", "CORE_STORAGE_MEMORY_MAXSIZEMBYTES"}, 0,
        "Maximum size of /memfs in megabytes, 0 for unlimited")
      .validate = int_range(0, INT64_MAX);
  b.add("storage.memory.purge", T::Bool, {"CORE_STORAGE_MEMORY_PURGE"}, false,
        "Remove the oldest files when /memfs is full instead of refusing writes");
  {
    Key& k = b.add("storage.s3", T::JsonValue, {"CORE_STORAGE_S3"}, Json::array(),
                   "S3 filesystems [{name, mountpoint, auth{enable,username,password}, endpoint, access_key_id, "
                   "secret_access_key, bucket, region, use_ssl}]; env: JSON, or '|'-separated "
                   "http(s)://KEY:SECRET@REGION.ENDPOINT/BUCKET?name=N&mount=/M[&username=U&password=P]");
    k.list_separator = '|';
    k.secret_fields = {"secret_access_key", "auth.password"};
    k.validate = validate_s3;
  }
  b.add("storage.cors.origins", T::StringList, {"CORE_STORAGE_CORS_ORIGINS"}, arr({"*"}),
        "Allowed CORS origins for /memfs and /")
      .validate = each(cors_item);

  // RTMP
  b.add("rtmp.enable", T::Bool, {"CORE_RTMP_ENABLE"}, false, "Enable the RTMP server");
  b.add("rtmp.enable_tls", T::Bool, {"CORE_RTMP_ENABLE_TLS"}, false,
        "Also run an RTMPS server (needs rtmp.enable and tls.enable)");
  b.add("rtmp.address", T::Address, {"CORE_RTMP_ADDRESS"}, ":1935", "RTMP listen address");
  b.add("rtmp.address_tls", T::Address, {"CORE_RTMP_ADDRESS_TLS"}, ":1936", "RTMPS listen address");
  b.add("rtmp.app", T::AbsPath, {"CORE_RTMP_APP"}, "/", "RTMP app path prefix for publishing and playing");
  b.add("rtmp.token", T::String, {"CORE_RTMP_TOKEN"}, "", "Token required for RTMP publishing and playing (empty: none)");

  // SRT
  b.add("srt.enable", T::Bool, {"CORE_SRT_ENABLE"}, false, "Enable the SRT server");
  b.add("srt.address", T::Address, {"CORE_SRT_ADDRESS"}, ":6000", "SRT listen address (UDP)");
  b.add("srt.passphrase", T::String, {"CORE_SRT_PASSPHRASE"}, "", "SRT encryption passphrase (empty: no encryption)")
      .validate = [](const Json& v) -> Reason {
    const auto n = v.get<std::string>().size();
    if (n != 0 && (n < 10 || n > 79)) return fmt::format("must be 10 to 79 characters long (SRT), got {}", n);
    return std::nullopt;
  };
  b.add("srt.token", T::String, {"CORE_SRT_TOKEN"}, "", "Token required for SRT publishing and playing (empty: none)");
  b.add("srt.log.enable", T::Bool, {"CORE_SRT_LOG_ENABLE"}, false, "Keep SRT protocol logs for /api/v3/srt");
  b.add("srt.log.topics", T::StringList, {"CORE_SRT_LOG_TOPICS"}, Json::array(), "SRT log topics to keep");

  // WebRTC (Dragon Core)
  b.add("webrtc.enable", T::Bool, {"CORE_WEBRTC_ENABLE"}, true, "Enable WebRTC playback (WHEP)");
  b.add("webrtc.address", T::Address, {"CORE_WEBRTC_ADDRESS"}, ":8555",
        "UDP listen address for WebRTC media; one port for all viewers");
  b.add("webrtc.udp.enable", T::Bool, {"CORE_WEBRTC_UDP_ENABLE"}, true,
        "Offer UDP ICE candidates (false: TCP candidates only)");
  b.add("webrtc.tcp.enable", T::Bool, {"CORE_WEBRTC_TCP_ENABLE"}, false,
        "Also accept WebRTC media over TCP (ICE-TCP, RFC 6544 passive candidates)");
  b.add("webrtc.tcp.address", T::Address, {"CORE_WEBRTC_TCP_ADDRESS"}, ":8555",
        "TCP listen address for ICE-TCP viewers (the UDP port number may be reused)");
  b.add("webrtc.public_ips", T::StringList, {"CORE_WEBRTC_PUBLIC_IPS"}, Json::array(),
        "IP addresses announced in ICE candidates (empty: the local addresses)")
      .validate = each(ip_item);
  b.add("webrtc.public_hosts", T::StringList, {"CORE_WEBRTC_PUBLIC_HOSTS"}, Json::array(),
        "Host names whose addresses are announced in ICE candidates");
  b.add("webrtc.ice_servers", T::JsonValue, {"CORE_WEBRTC_ICE_SERVERS"}, Json::array(),
        "STUN/TURN servers for viewers [{urls[], username, credential}]; URLs start with stun:, stuns:, turn: or "
        "turns:; env: JSON")
      .validate = validate_ice_servers;
  b.add("webrtc.token", T::String, {"CORE_WEBRTC_TOKEN"}, "",
        "Viewer token accepted by WHEP instead of an API JWT (empty: JWT only)");
  b.add("webrtc.max_viewers", T::Uint, {"CORE_WEBRTC_MAX_VIEWERS"}, 0, "Maximum WebRTC viewers per process, 0 for unlimited");
  b.add("webrtc.ice_timeout_seconds", T::Uint, {"CORE_WEBRTC_ICE_TIMEOUT_SECONDS"}, 10,
        "Seconds a viewer has to complete ICE (1..300)")
      .validate = int_range(1, 300);
  b.add("webrtc.rtp_port_min", T::Uint, {"CORE_WEBRTC_RTP_PORT_MIN"}, 20000,
        "First local UDP port for FFmpeg's RTP legs (even; RTP/RTCP pairs)")
      .validate = int_range(1024, 65535);
  b.add("webrtc.rtp_port_max", T::Uint, {"CORE_WEBRTC_RTP_PORT_MAX"}, 20999, "Last local UDP port for FFmpeg's RTP legs")
      .validate = int_range(1024, 65535);
  b.add("webrtc.gop_cache", T::Bool, {"CORE_WEBRTC_GOP_CACHE"}, true,
        "Start new viewers from the cached last keyframe and what followed");
  b.add("webrtc.renditions.max", T::Uint, {"CORE_WEBRTC_RENDITIONS_MAX"}, 4,
        "Maximum transcoded renditions per process (for viewers that need another codec)");
  b.add("webrtc.renditions.codecs", T::StringList, {"CORE_WEBRTC_RENDITIONS_CODECS"}, arr({"vp8", "h264"}),
        "Video codecs offered to viewers, in preference order: vp8, vp9, h264")
      .validate = each(codec_item);
  b.add("webrtc.renditions.idle_seconds", T::Uint, {"CORE_WEBRTC_RENDITIONS_IDLE_SECONDS"}, 30,
        "Seconds a rendition without viewers keeps running");

  // FFmpeg
  b.add("ffmpeg.binary", T::Exec, {"CORE_FFMPEG_BINARY"}, "ffmpeg", "FFmpeg program (name in PATH or path)");
  b.add("ffmpeg.max_processes", T::Int, {"CORE_FFMPEG_MAXPROCESSES"}, 0,
        "Maximum simultaneously running FFmpeg processes, 0 for unlimited")
      .validate = int_range(0, INT64_MAX);
  for (const char* dir : {"input", "output"}) {
    for (const char* list : {"allow", "block"}) {
      const std::string path = fmt::format("ffmpeg.access.{}.{}", dir, list);
      Key& k = b.add(path, T::StringList, {env_name(path)}, Json::array(),
                     fmt::format("Regular expressions (ECMAScript); {} addresses matching one are {}", dir,
                                 std::string(list) == "allow" ? "allowed (empty: all)" : "refused"));
      k.list_separator = ' ';
      k.validate = each(check_regex);
    }
  }
  b.add("ffmpeg.log.max_lines", T::Int, {"CORE_FFMPEG_LOG_MAX_LINES", "CORE_FFMPEG_LOG_MAXLINES"}, 50,
        "Number of recent FFmpeg log lines kept per process")
      .validate = int_range(0, INT64_MAX);
  b.add("ffmpeg.log.max_history", T::Int, {"CORE_FFMPEG_LOG_MAX_HISTORY", "CORE_FFMPEG_LOG_MAXHISTORY"}, 3,
        "Number of past process logs kept per process")
      .validate = int_range(0, INT64_MAX);

  // Playout
  b.add("playout.enable", T::Bool, {"CORE_PLAYOUT_ENABLE"}, false, "Enable the playout API of processes");
  b.add("playout.min_port", T::Int, {"CORE_PLAYOUT_MIN_PORT", "CORE_PLAYOUT_MINPORT"}, 0, "First playout port")
      .validate = port_or_zero();
  b.add("playout.max_port", T::Int, {"CORE_PLAYOUT_MAX_PORT", "CORE_PLAYOUT_MAXPORT"}, 0, "Last playout port")
      .validate = port_or_zero();

  // Debug
  b.add("debug.profiling", T::Bool, {"CORE_DEBUG_PROFILING"}, false, "Enable the profiling endpoint /profiling");
  b.add("debug.force_gc", T::Int, {"CORE_DEBUG_FORCE_GC", "CORE_DEBUG_FORCEGC"}, 0,
        "Accepted for compatibility, no effect (Go garbage collector setting)");
  b.add("debug.memory_limit_mbytes", T::Int, {"CORE_DEBUG_MEMORY_LIMIT_MBYTES"}, 0,
        "Accepted for compatibility, no effect (Go soft memory limit)");

  // Metrics
  b.add("metrics.enable", T::Bool, {"CORE_METRICS_ENABLE"}, false, "Collect metrics history for POST /api/v3/metrics");
  b.add("metrics.enable_prometheus", T::Bool, {"CORE_METRICS_ENABLE_PROMETHEUS"}, false,
        "Serve Prometheus metrics at /metrics");
  b.add("metrics.range_sec", T::Int, {"CORE_METRICS_RANGE_SECONDS"}, 300, "Seconds of metrics history to keep")
      .var_name = "metrics.range_seconds";
  b.add("metrics.interval_sec", T::Int, {"CORE_METRICS_INTERVAL_SECONDS"}, 2,
        "Seconds between metric samples (at most metrics.range_sec)")
      .var_name = "metrics.interval_seconds";

  // Sessions
  b.add("sessions.enable", T::Bool, {"CORE_SESSIONS_ENABLE"}, true, "Track viewer sessions (HLS, RTMP, SRT, WebRTC)");
  b.add("sessions.ip_ignorelist", T::StringList, {"CORE_SESSIONS_IP_IGNORELIST"}, arr({"127.0.0.1/32", "::1/128"}),
        "IP ranges in CIDR notation whose sessions are not counted")
      .validate = each(cidr_item);
  b.add("sessions.session_timeout_sec", T::Int, {"CORE_SESSIONS_SESSION_TIMEOUT_SEC"}, 30,
        "Seconds of inactivity that end a session");
  b.add("sessions.persist", T::Bool, {"CORE_SESSIONS_PERSIST"}, false,
        "Persist the session history to sessions.json in db.dir");
  b.add("sessions.persist_interval_sec", T::Int, {"CORE_SESSIONS_PERSIST_INTERVAL_SEC"}, 300,
        "Seconds between writes of the session history, 0 for only at shutdown");
  b.add("sessions.max_bitrate_mbit", T::Uint, {"CORE_SESSIONS_MAXBITRATE_MBIT"}, 0,
        "Maximum total outgoing bitrate in Mbit/s before new sessions are refused, 0 for unlimited");
  b.add("sessions.max_sessions", T::Uint, {"CORE_SESSIONS_MAX_SESSIONS", "CORE_SESSIONS_MAXSESSIONS"}, 0,
        "Maximum simultaneous sessions, 0 for unlimited");

  // Service
  b.add("service.enable", T::Bool, {"CORE_SERVICE_ENABLE"}, false,
        "Accepted for compatibility, no effect (datarhei's monitoring service)");
  {
    Key& k = b.add("service.token", T::String, {"CORE_SERVICE_TOKEN"}, "", "Token for datarhei's monitoring service");
    k.secret = true;
    k.validate = not_redacted;
  }
  b.add("service.url", T::String, {"CORE_SERVICE_URL"}, "https://service.datarhei.com",
        "URL of datarhei's monitoring service")
      .validate = [](const Json& v) { return check_url(v.get<std::string>()); };

  // Router
  b.add("router.blocked_prefixes", T::StringList, {"CORE_ROUTER_BLOCKED_PREFIXES"}, arr({"/api"}),
        "Path prefixes that router.routes may not redirect");
  b.add("router.routes", T::StringMap, {"CORE_ROUTER_ROUTES"}, Json::object(),
        "Path mappings {from: to}; env: space-separated from:to");
  b.add("router.ui_path", T::String, {"CORE_ROUTER_UI_PATH"}, "",
        "Directory served at /ui instead of the embedded UI (must exist; empty: embedded)")
      .validate = [](const Json& v) -> Reason {
    const auto& p = v.get<std::string>();
    if (p.empty() || is_directory(p)) return std::nullopt;
    return fmt::format("directory {} does not exist", q(p));
  };

  // Fold the type checks into every key's validator, so Key::validate is complete on its own.
  for (auto& k : b.keys) {
    const Type type = k.type;
    auto custom = k.validate;
    const bool mime = k.json_path == "storage.mimetypes_file";
    k.validate = [type, custom, mime](const Json& v) -> Reason {
      // The default MIME table file may be missing: the server then uses a built-in table.
      if (mime && v.is_string() && v.get<std::string>() == "./mime.types") return std::nullopt;
      if (auto r = check_type(type, v)) return r;
      return custom ? custom(v) : std::nullopt;
    };
  }
  return std::move(b.keys);
}

}  // namespace

const std::vector<Key>& keys() {
  static const std::vector<Key> table = build();
  return table;
}

const Key* find_key(std::string_view json_path) {
  static const auto index = [] {
    std::unordered_map<std::string, std::size_t> m;
    const auto& t = keys();
    for (std::size_t i = 0; i < t.size(); ++i) m.emplace(t[i].json_path, i);
    return m;
  }();
  const auto it = index.find(std::string(json_path));
  return it == index.end() ? nullptr : &keys()[it->second];
}

namespace detail {

std::optional<std::string> normalize_json_value(const Key& k, const Json& in, Json& out) {
  const auto* fields = element_fields(k.json_path);
  if (!fields) {
    out = in;
    return std::nullopt;
  }
  if (!in.is_array()) return fmt::format("expected an array of objects, got {}", describe(in));
  out = Json::array();
  for (std::size_t i = 0; i < in.size(); ++i) {
    Json elem;
    if (auto r = normalize_object(in[i], *fields, elem, fmt::format("[{}]", i))) return r;
    out.push_back(std::move(elem));
  }
  return std::nullopt;
}

std::optional<std::optional<std::string>> parse_env_special(const Key& k, const std::string& text, Json& out) {
  const auto t = util::trim(text);
  const bool json_text = !t.empty() && (t.front() == '[' || t.front() == '{');
  if (k.json_path == "storage.s3" && !json_text) return s3_from_env(text, out);
  if (k.json_path == "api.auth.auth0.tenants" && !json_text) return tenants_from_env(text, out);
  return std::nullopt;
}

std::optional<std::string> dynamic_default_doc(std::string_view json_path) {
  if (json_path == "created_at") return "time of creation";
  if (json_path == "id") return "random UUID";
  if (json_path == "name") return "random \"adjective-noun-NNNN\"";
  if (json_path == "api.auth.jwt.secret") return "random 32 letters and digits";
  if (json_path == "storage.memory.auth.password") return "random 18 letters and digits";
  return std::nullopt;
}

}  // namespace detail

}  // namespace dragon::config
