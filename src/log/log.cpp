#include "log/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "util/strings.hpp"
#include "util/time.hpp"

namespace dragon::log {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// UTF-8 decoding as Go does it: an invalid or overlong sequence, or a surrogate, yields one bad byte.

constexpr std::uint32_t k_bad = 0xFFFFFFFF;

// Decodes the rune at s[i]; returns the rune (k_bad for an invalid byte) and sets `len`.
std::uint32_t decode_rune(std::string_view s, std::size_t i, std::size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  len = 1;
  if (b0 < 0x80) return b0;
  auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    if (i + k >= s.size()) return false;
    const auto b = static_cast<unsigned char>(s[i + k]);
    return b >= lo && b <= hi;
  };
  auto bits = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return k_bad;
    len = 2;
    return (static_cast<std::uint32_t>(b0 & 0x1F) << 6) | bits(1);
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;  // no surrogates
    if (!cont(1, lo, hi) || !cont(2)) return k_bad;
    len = 3;
    return (static_cast<std::uint32_t>(b0 & 0x0F) << 12) | (bits(1) << 6) | bits(2);
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2) || !cont(3)) return k_bad;
    len = 4;
    return (static_cast<std::uint32_t>(b0 & 0x07) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
  }
  return k_bad;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    if (decode_rune(s, i, len) == k_bad) return false;
  }
  return true;
}

// Approximates Go's unicode.IsPrint for non-ASCII runes: Go escapes spaces other than U+0020,
// format/control characters and private-use runes. (Unassigned code points, which Go also
// escapes, would need the full Unicode tables; we print them literally.)
bool is_print_non_ascii(std::uint32_t r) {
  if (r <= 0xA0 || r == 0xAD) return false;  // C1 controls, NBSP, soft hyphen
  if ((r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x1680 || r == 0x180E) return false;
  if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) || (r >= 0x205F && r <= 0x206F)) return false;
  if (r == 0x3000 || r == 0xFEFF || (r >= 0xE000 && r <= 0xF8FF) || (r >= 0xFFF9 && r <= 0xFFFB)) return false;
  if (r == 0xFFFE || r == 0xFFFF || r == 0xE0001 || (r >= 0xE0020 && r <= 0xE007F) || r >= 0xF0000) return false;
  return true;
}

void append_utf8(std::string& out, std::string_view s, std::size_t i, std::size_t len) { out.append(s.substr(i, len)); }

// Go's strconv.Quote, which upstream's console formatter uses for every string value.
std::string go_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    const std::uint32_t r = decode_rune(s, i, len);
    if (r == k_bad) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
      continue;
    }
    if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
      continue;
    }
    if (r >= 0x20 && r < 0x7F) {
      out.push_back(static_cast<char>(r));
      continue;
    }
    if (r >= 0x80 && is_print_non_ascii(r)) {
      append_utf8(out, s, i, len);
      continue;
    }
    switch (r) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (r < 0x20 || r == 0x7F) {
          out += fmt::format("\\x{:02x}", r);
        } else if (r < 0x10000) {
          out += fmt::format("\\u{:04x}", r);
        } else {
          out += fmt::format("\\U{:08x}", r);
        }
    }
  }
  out.push_back('"');
  return out;
}

// Go's encoding/json string encoding (HTML-safe, invalid UTF-8 replaced), so nested values in
// console lines read exactly as upstream prints them.
void go_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    const std::uint32_t r = decode_rune(s, i, len);
    if (r == k_bad) {
      out += "\\ufffd";
    } else if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (r == '\n') {
      out += "\\n";
    } else if (r == '\r') {
      out += "\\r";
    } else if (r == '\t') {
      out += "\\t";
    } else if (r < 0x20 || r == '<' || r == '>' || r == '&') {
      out += "\\u00";
      out.push_back(hex[r >> 4]);
      out.push_back(hex[r & 0xF]);
    } else if (r == 0x2028 || r == 0x2029) {
      out += r == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      append_utf8(out, s, i, len);
    }
  }
  out.push_back('"');
}

// Go's float encoding: shortest round-trip digits, fixed notation within [1e-6, 1e21).
void go_json_float(std::string& out, double f) {
  if (!std::isfinite(f)) {
    out += "null";  // Go refuses to marshal these; null keeps the line parseable
    return;
  }
  char buf[64];
  const double a = std::fabs(f);
  const bool sci = a != 0 && (a < 1e-6 || a >= 1e21);
  const auto res = std::to_chars(buf, buf + sizeof buf, f, sci ? std::chars_format::scientific : std::chars_format::fixed);
  std::string s(buf, res.ptr);
  // Go writes e-7 rather than e-07.
  const std::size_t n = s.size();
  if (sci && n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
  out += s;
}

void go_json(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::null: out += "null"; break;
    case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case json::value_t::number_integer: out += std::to_string(v.get<std::int64_t>()); break;
    case json::value_t::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); break;
    case json::value_t::number_float: go_json_float(out, v.get<double>()); break;
    case json::value_t::string: go_json_string(out, v.get_ref<const std::string&>()); break;
    case json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out.push_back(',');
        first = false;
        go_json(out, item);
      }
      out.push_back(']');
      break;
    }
    case json::value_t::object: {  // nlohmann keeps keys sorted, as Go sorts map keys
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out.push_back(',');
        first = false;
        go_json_string(out, key);
        out.push_back(':');
        go_json(out, item);
      }
      out.push_back('}');
      break;
    }
    case json::value_t::binary:
    case json::value_t::discarded: out += "null"; break;
  }
}

// A field value as upstream's console formatter prints it: strings quoted, everything else as JSON.
std::string console_value(const json& v) {
  if (v.is_string()) return go_quote(v.get_ref<const std::string&>());
  std::string out;
  go_json(out, v);
  return out;
}

// Upstream keeps fields in a map: the last value of a repeated key wins, keys come out sorted.
std::map<std::string_view, const json*> sorted_fields(const Fields& fields) {
  std::map<std::string_view, const json*> m;
  for (const auto& [k, v] : fields) m[k] = &v;
  return m;
}

// Go's time.Time JSON form (RFC3339Nano): fraction trimmed of trailing zeros, omitted when zero.
std::string rfc3339_go_nano(std::chrono::system_clock::time_point t) {
  std::string s = util::rfc3339_nano(t);  // "...:22.123456789Z"
  const auto dot = s.find('.');
  if (dot == std::string::npos) return s;
  std::size_t end = s.size() - 1;  // at 'Z'
  std::size_t last = end;
  while (last > dot + 1 && s[last - 1] == '0') --last;
  if (last == dot + 1) return s.erase(dot, end - dot);
  return s.erase(last, end - last);
}

// Copies a string, replacing invalid UTF-8 with U+FFFD, so nlohmann's dump() cannot throw later.
std::string sanitize_utf8(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    if (decode_rune(s, i, len) == k_bad) {
      out += "\xEF\xBF\xBD";
    } else {
      append_utf8(out, s, i, len);
    }
  }
  return out;
}

json sanitize_json(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return sanitize_utf8(v.get_ref<const std::string&>());
    case json::value_t::array: {
      json out = json::array();
      for (const auto& item : v) out.push_back(sanitize_json(item));
      return out;
    }
    case json::value_t::object: {
      json out = json::object();
      for (const auto& [key, item] : v.items()) out[sanitize_utf8(key)] = sanitize_json(item);
      return out;
    }
    default: return v;
  }
}

// Human-readable values stay bare when that cannot be misread.
std::string human_value(const json& v) {
  if (!v.is_string()) return console_value(v);
  const auto& s = v.get_ref<const std::string&>();
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7F && c != '"' && c != '=' && c != '\\';
  });
  return plain && valid_utf8(s) ? s : go_quote(s);
}

// Free text for terminals: quoted only when it holds control characters, so a message can never
// fake a second log line.
std::string human_text(std::string_view s) {
  const bool plain = std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
  return plain ? std::string(s) : go_quote(s);
}

// ---------------------------------------------------------------------------------------------
// Global state. Leaked on purpose: threads may still log while static destructors run at exit.

struct State {
  std::mutex mu;
  std::atomic<int> level{static_cast<int>(Level::Info)};  // read without the lock by enabled()
  std::vector<std::string> topics;                        // lower case
  std::size_t max_lines = 1000;
  Output output = Output::Human;  // resolved: never Auto
  std::deque<Entry> ring;
};

Output resolve(Output o) {
  if (o != Output::Auto) return o;
  return ::isatty(STDERR_FILENO) == 1 ? Output::Human : Output::Json;
}

State& state() {
  static State* s = [] {
    auto* st = new State;
    st->output = resolve(Output::Auto);
    return st;
  }();
  return *s;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a failing stderr
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void configure(const Options& options) {
  auto& st = state();
  std::lock_guard lock(st.mu);
  st.level.store(static_cast<int>(options.level), std::memory_order_relaxed);
  st.topics.clear();
  for (const auto& t : options.topics) st.topics.push_back(util::to_lower(t));
  st.max_lines = options.max_lines;
  st.output = resolve(options.output);
  while (st.ring.size() > st.max_lines) st.ring.pop_front();  // keep the newest
}

bool enabled(Level level) {
  const int configured = state().level.load(std::memory_order_relaxed);
  return level != Level::Silent && configured != static_cast<int>(Level::Silent) &&
         static_cast<int>(level) <= configured;
}

void write(Level level, std::string_view component, std::string_view message, Fields fields) {
  if (!enabled(level)) return;
  Entry e{std::chrono::system_clock::now(), level, std::string(component), std::string(message), std::move(fields)};

  auto& st = state();
  std::lock_guard lock(st.mu);
  // Re-check under the lock: configure() may have raised the threshold meanwhile.
  if (static_cast<int>(level) > st.level.load(std::memory_order_relaxed)) return;

  bool show = true;
  if (!st.topics.empty()) {
    const auto c = util::to_lower(e.component);
    show = std::find(st.topics.begin(), st.topics.end(), c) != st.topics.end();
  }
  if (show) {
    std::string line = st.output == Output::Json ? format_json_line(e) : format_human(e);
    line.push_back('\n');
    write_all(STDERR_FILENO, line);  // under the lock so concurrent lines never interleave
  }

  if (st.max_lines == 0) return;
  if (st.ring.size() >= st.max_lines) st.ring.pop_front();
  st.ring.push_back(std::move(e));
}

std::vector<Entry> recent() {
  auto& st = state();
  std::lock_guard lock(st.mu);
  return {st.ring.begin(), st.ring.end()};
}

std::string format_console(const Entry& e) {
  std::string out = fmt::format("ts={} level={} component={}", util::rfc3339(e.ts), level_name(e.level),
                                go_quote(e.component));
  if (!e.message.empty()) {  // upstream omits msg when empty (see the first line of get_log.json)
    out += " msg=";
    out += go_quote(e.message);
  }
  for (const auto& [key, value] : sorted_fields(e.fields)) {
    out.push_back(' ');
    out += key;
    out.push_back('=');
    out += console_value(*value);
  }
  return out;
}

json format_raw(const Entry& e) {
  json out = json::object();
  for (const auto& [key, value] : sorted_fields(e.fields)) out[sanitize_utf8(key)] = sanitize_json(*value);
  // As upstream: these overwrite fields of the same name; no level.
  out["ts"] = rfc3339_go_nano(e.ts);
  out["component"] = sanitize_utf8(e.component);
  if (!e.message.empty()) out["message"] = sanitize_utf8(e.message);
  return out;
}

std::string format_json_line(const Entry& e) {
  nlohmann::ordered_json out;
  out["ts"] = rfc3339_go_nano(e.ts);
  out["level"] = level_name(e.level);
  out["component"] = e.component;
  out["msg"] = e.message;
  for (const auto& [key, value] : e.fields) {
    if (key == "ts" || key == "level" || key == "component" || key == "msg") continue;  // core keys win
    out[key] = value;  // a repeated field key: last wins
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string format_human(const Entry& e) {
  std::string ts = util::rfc3339(e.ts);  // "2026-11-25T09:07:22Z" → "2026-11-25 09:07:22"
  if (ts.size() > 10 && ts[10] == 'T') ts[10] = ' ';
  if (!ts.empty() && ts.back() == 'Z') ts.pop_back();
  std::string out = fmt::format("{} {:<5} [{}]", ts, level_name(e.level), human_text(e.component));
  if (!e.message.empty()) {
    out.push_back(' ');
    out += human_text(e.message);
  }
  for (const auto& [key, value] : e.fields) {
    out.push_back(' ');
    out += key;
    out.push_back('=');
    out += human_value(value);
  }
  return out;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Silent: return "SILENT";
    case Level::Error: return "ERROR";
    case Level::Warn: return "WARN";
    case Level::Info: return "INFO";
    case Level::Debug: return "DEBUG";
  }
  return "UNKNOWN";
}

bool parse_level(std::string_view s, Level& out) {
  static constexpr std::pair<std::string_view, Level> k_levels[] = {
      {"silent", Level::Silent}, {"error", Level::Error}, {"warn", Level::Warn},
      {"info", Level::Info},     {"debug", Level::Debug},
  };
  for (const auto& [name, level] : k_levels) {
    if (util::iequals(s, name)) {
      out = level;
      return true;
    }
  }
  return false;
}

}  // namespace dragon::log
