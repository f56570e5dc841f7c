#include "rtmp/path.hpp"

#include <vector>

#include "util/strings.hpp"

namespace dragon::rtmp {

namespace {

// Query values as form encoding ('+' is a space); a malformed escape leaves the text as it came.
std::string percent_decode(std::string_view s) {
  std::string out;
  if (!util::url_decode(s, out, true)) return std::string(s);
  return out;
}

// Splits "a/b?x=1" into "a/b" and appends "x=1" to `query`.
std::string_view split_query(std::string_view s, std::string& query) {
  const auto q = s.find('?');
  if (q == std::string_view::npos) return s;
  if (!query.empty()) query.push_back('&');
  query.append(s.substr(q + 1));
  return s.substr(0, q);
}

bool query_value(std::string_view query, std::string_view key, std::string& out) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) != key) continue;
    out = eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
    return true;
  }
  return false;
}

}  // namespace

StreamTarget resolve_target(std::string_view app, std::string_view name, bool token_in_path) {
  StreamTarget t;
  std::string query;
  app = split_query(app, query);
  name = split_query(name, query);

  std::vector<std::string_view> elements;
  for (std::string_view part : {app, name}) {
    while (!part.empty()) {
      const auto slash = part.find('/');
      const std::string_view e = part.substr(0, slash);
      if (!e.empty()) elements.push_back(e);
      if (slash == std::string_view::npos) break;
      part.remove_prefix(slash + 1);
    }
  }
  for (auto e : elements)
    for (unsigned char c : e)
      if (c < 0x20 || c == 0x7F) {
        t.error = "stream name contains control characters";
        return t;
      }
  if (query_value(query, "token", t.token)) {
    t.has_token = true;
  } else if (token_in_path && elements.size() >= 2) {
    t.token = std::string(elements.back());
    t.has_token = true;
    elements.pop_back();
  }
  for (auto e : elements) {
    if (e == "." || e == "..") {
      t.path.clear();
      t.error = "stream name contains a relative path element";
      return t;
    }
    t.path.push_back('/');
    t.path.append(e);
  }
  // An empty publish/play name is fine when the app names the stream: FFmpeg sends
  // "rtmp://host/abc.stream?token=x" (what {rtmp,name=abc.stream} makes) as app "abc.stream?token=x"
  // and an empty name; upstream's channel is then "/abc.stream", and so is ours.
  if (elements.empty()) {
    t.path.clear();
    t.error = "empty stream name";
    return t;
  }
  if (t.path.size() > k_max_path) {
    t.path.clear();
    t.error = "stream name longer than " + std::to_string(k_max_path) + " bytes";
  }
  return t;
}

std::string app_from_tc_url(std::string_view tc_url) {
  const auto scheme = tc_url.find("://");
  if (scheme == std::string_view::npos) return {};
  tc_url.remove_prefix(scheme + 3);
  const auto slash = tc_url.find('/');
  if (slash == std::string_view::npos) return {};
  return std::string(tc_url.substr(slash + 1));
}

bool app_matches(std::string_view path, std::string_view app) {
  while (app.size() > 1 && app.back() == '/') app.remove_suffix(1);
  if (app.empty() || app == "/") return true;
  if (path.substr(0, app.size()) != app) return false;
  return path.size() == app.size() || path[app.size()] == '/';
}

std::string session_reference(std::string_view path, std::string_view app) {
  while (app.size() > 1 && app.back() == '/') app.remove_suffix(1);
  if (app != "/" && app_matches(path, app)) path.remove_prefix(app.size());
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash) && dot > 0 &&
      path[dot - 1] != '/')
    path = path.substr(0, dot);
  return std::string(path);
}

bool token_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace dragon::rtmp
