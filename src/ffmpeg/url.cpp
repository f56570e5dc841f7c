#include "ffmpeg/url.hpp"

#include <fmt/format.h>

namespace dragon::ffmpeg::url {
namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int unhex(unsigned char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}
// [a-z0-9.+-:] case-insensitively; "+-:" is the range 0x2B..0x3A (includes ',', '-', '.', '/').
bool in_scheme_class(unsigned char c) { return is_alpha(c) || (c >= 0x2B && c <= 0x3A); }

// Length of the scheme group (greedy: the last ":/" reachable through class characters), 0 if none.
std::size_t scheme_length(std::string_view s) {
  if (s.empty() || !is_alpha(static_cast<unsigned char>(s[0]))) return 0;
  std::size_t best = 0;
  for (std::size_t k = 1; k < s.size(); ++k) {
    if (s[k] == ':' && k + 1 < s.size() && s[k + 1] == '/') best = k;
    if (!in_scheme_class(static_cast<unsigned char>(s[k]))) break;
  }
  return best;
}

enum class Mode { Host, Zone, UserPassword };

bool should_escape_host(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return false;
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';':
    case '=': case ':': case '[': case ']': case '<': case '>': case '"': case '-': case '_': case '.':
    case '~':
      return false;
    default:
      return true;
  }
}

std::optional<std::string> unescape_check(std::string_view s, Mode mode) {
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size() || !is_hex(static_cast<unsigned char>(s[i + 1])) ||
          !is_hex(static_cast<unsigned char>(s[i + 2]))) {
        return "invalid URL escape " + go_quote(s.substr(i, 3));
      }
      auto esc = s.substr(i, 3);
      if (mode == Mode::Host && unhex(static_cast<unsigned char>(s[i + 1])) < 8 && esc != "%25")
        return "invalid URL escape " + go_quote(esc);
      if (mode == Mode::Zone) {
        auto v = static_cast<unsigned char>(unhex(static_cast<unsigned char>(s[i + 1])) << 4 |
                                            unhex(static_cast<unsigned char>(s[i + 2])));
        if (esc != "%25" && v != ' ' && should_escape_host(v)) return "invalid URL escape " + go_quote(esc);
      }
      i += 3;
      continue;
    }
    if ((mode == Mode::Host || mode == Mode::Zone) && c < 0x80 && should_escape_host(c))
      return "invalid character " + go_quote(s.substr(i, 1)) + " in host name";
    ++i;
  }
  return std::nullopt;
}

bool valid_optional_port(std::string_view p) {
  if (p.empty()) return true;
  if (p[0] != ':') return false;
  for (std::size_t i = 1; i < p.size(); ++i)
    if (!is_digit(static_cast<unsigned char>(p[i]))) return false;
  return true;
}

std::optional<std::string> parse_host(std::string_view host) {
  if (!host.empty() && host[0] == '[') {
    auto i = host.rfind(']');
    if (i == std::string_view::npos) return std::string("missing ']' in host");
    auto colon_port = host.substr(i + 1);
    if (!valid_optional_port(colon_port)) return "invalid port " + go_quote(colon_port) + " after host";
    auto zone = host.substr(0, i).find("%25");
    if (zone != std::string_view::npos) {
      if (auto e = unescape_check(host.substr(0, zone), Mode::Host)) return e;
      if (auto e = unescape_check(host.substr(zone, i - zone), Mode::Zone)) return e;
      return unescape_check(host.substr(i), Mode::Host);
    }
  } else if (auto i = host.rfind(':'); i != std::string_view::npos) {
    auto colon_port = host.substr(i);
    if (!valid_optional_port(colon_port)) return "invalid port " + go_quote(colon_port) + " after host";
  }
  return unescape_check(host, Mode::Host);
}

bool valid_userinfo(std::string_view s) {
  for (unsigned char c : s) {
    if (is_alpha(c) || is_digit(c)) continue;
    switch (c) {
      case '-': case '.': case '_': case ':': case '~': case '!': case '$': case '&': case '\'': case '(':
      case ')': case '*': case '+': case ',': case ';': case '=': case '%': case '@':
        continue;
      default:
        return false;  // includes every non-ASCII rune, as Go's validUserinfo
    }
  }
  return true;
}

// Go's url.Parse("//" + authority), checking only what can fail there.
std::optional<std::string> parse_authority(std::string_view authority, Parsed* out) {
  std::string raw = "//" + std::string(authority);
  auto wrap = [&](const std::string& e) { return "parse " + go_quote(raw) + ": " + e; };
  for (unsigned char c : raw)
    if (c < 0x20 || c == 0x7f) return wrap("net/url: invalid control character in URL");
  auto at = authority.rfind('@');
  std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (auto e = parse_host(host)) return wrap(*e);
  if (at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    if (!valid_userinfo(userinfo)) return wrap("net/url: invalid userinfo");
    auto colon = userinfo.find(':');
    if (auto e = unescape_check(userinfo.substr(0, colon), Mode::UserPassword)) return wrap(*e);
    if (colon != std::string_view::npos)
      if (auto e = unescape_check(userinfo.substr(colon + 1), Mode::UserPassword)) return wrap(*e);
    if (out) out->user = std::string(userinfo);
  }
  if (out) out->host = std::string(host);
  return std::nullopt;
}

}  // namespace

bool has_scheme(std::string_view address) { return scheme_length(address) > 0; }

std::optional<std::string> parse(std::string_view address, Parsed* out) {
  Parsed tmp;
  Parsed& p = out ? *out : tmp;
  p = Parsed{};
  if (auto h = address.find('#'); h != std::string_view::npos) {
    p.fragment = std::string(address.substr(h + 1));
    address = address.substr(0, h);
  }
  std::string rest(address);
  if (auto n = scheme_length(address)) {
    p.scheme = std::string(address.substr(0, n));
    rest.erase(0, n + 1);  // the first occurrence of "scheme:" is the prefix itself
  }
  if (auto q = rest.find('?'); q != std::string::npos) {
    p.query = rest.substr(q + 1);
    rest.resize(q);
  }
  std::string_view r = rest;
  if (r.starts_with("///")) {
    p.path = std::string(r.substr(2));
    return std::nullopt;
  }
  if (r.starts_with("//")) {
    auto a = r.substr(2);
    auto slash = a.find('/');
    auto host = a.substr(0, slash);
    p.path = "/" + std::string(slash == std::string_view::npos ? std::string_view{} : a.substr(slash + 1));
    return parse_authority(host, out);
  }
  if (r.starts_with("/")) {
    p.path = rest;
    return std::nullopt;
  }
  auto colon = r.find(':');
  p.scheme = std::string(r.substr(0, colon));
  if (colon != std::string_view::npos) p.opaque = std::string(r.substr(colon + 1));
  return std::nullopt;
}

std::string go_quote(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 2);
  o += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Keep valid UTF-8 sequences (printable in practice); escape stray bytes like Go.
      std::size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
      bool ok = len > 0 && i + len <= s.size();
      for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
      if (ok) {
        o.append(s.substr(i, len));
        i += len;
      } else {
        o += fmt::format("\\x{:02x}", c);
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\a': o += "\\a"; break;
      case '\b': o += "\\b"; break;
      case '\f': o += "\\f"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      case '\v': o += "\\v"; break;
      default:
        if (c < 0x20 || c == 0x7f) o += fmt::format("\\x{:02x}", c);
        else o += static_cast<char>(c);
    }
    ++i;
  }
  o += '"';
  return o;
}

bool split_host_port(std::string_view hp, std::string& host, std::string& port) {
  host.clear();
  port.clear();
  std::string_view h, p;
  if (!hp.empty() && hp[0] == '[') {
    auto end = hp.find(']');
    if (end == std::string_view::npos || end + 1 >= hp.size() || hp[end + 1] != ':') return false;
    h = hp.substr(1, end - 1);
    p = hp.substr(end + 2);
    if (p.find(':') != std::string_view::npos) return false;
  } else {
    auto i = hp.rfind(':');
    if (i == std::string_view::npos) return false;
    h = hp.substr(0, i);
    if (h.find(':') != std::string_view::npos) return false;
    p = hp.substr(i + 1);
  }
  host = std::string(h);
  port = std::string(p);
  return true;
}

}  // namespace dragon::ffmpeg::url
