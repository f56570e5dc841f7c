#include "srt/streamid.hpp"

#include <array>

namespace dragon::srt {

namespace {

constexpr std::string_view kLegacyPrefix = "#!:";

// For error messages: at most 32 bytes, printable ASCII only.
std::string quote(std::string_view v) {
  std::string out = "'";
  for (std::size_t i = 0; i < v.size() && i < 32; ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (v.size() > 32) out += "...";
  out += "'";
  return out;
}

bool parse_mode(std::string_view v, Mode& out) {
  if (v == "publish") {
    out = Mode::Publish;
    return true;
  }
  if (v == "request") {
    out = Mode::Request;
    return true;
  }
  return false;
}

struct Key {
  std::string_view name;   // "mode" or "token"
  std::size_t start = 0;   // index of the ',' that starts the key
  std::size_t value = 0;   // index of the value's first byte
};

// The next ",mode:" or ",token:" at or after `from` that has at least one byte after its colon.
bool next_key(std::string_view s, std::size_t from, Key& key) {
  static constexpr std::array<std::string_view, 2> names{",mode:", ",token:"};
  for (std::size_t p = s.find(',', from); p != std::string_view::npos; p = s.find(',', p + 1)) {
    for (auto n : names) {
      if (s.compare(p, n.size(), n) == 0 && p + n.size() < s.size()) {
        key.name = n.substr(1, n.size() - 2);
        key.start = p;
        key.value = p + n.size();
        return true;
      }
    }
  }
  return false;
}

StreamIdResult parse_short(std::string_view s) {
  StreamIdResult r;
  std::string_view mode = "request";
  Key key;
  if (!next_key(s, 0, key)) {
    r.id.resource = std::string(s);
  } else {
    r.id.resource = std::string(s.substr(0, key.start));
    for (;;) {
      Key next;
      bool more = next_key(s, key.value, next);
      std::string_view value = s.substr(key.value, more ? next.start - key.value : std::string_view::npos);
      if (key.name == "mode") {
        mode = value;
      } else {
        r.id.token = std::string(value);
      }
      if (!more) break;
      key = next;
    }
  }
  if (r.id.resource.empty()) {
    r.error = "empty resource";
    return r;
  }
  if (!parse_mode(mode, r.id.mode)) {
    r.error = "invalid mode " + quote(mode) + " (publish or request)";
    return r;
  }
  return r;
}

StreamIdResult parse_legacy(std::string_view s) {
  StreamIdResult r;
  r.id.legacy = true;
  s.remove_prefix(kLegacyPrefix.size());
  if (!s.empty() && s.front() == ':') s.remove_prefix(1);  // SRT's access-control form "#!::"
  std::string_view mode = "request";
  bool has_resource = false;
  while (true) {
    std::size_t comma = s.find(',');
    std::string_view kv = s.substr(0, comma);
    std::size_t eq = kv.find('=');
    if (eq != std::string_view::npos) {
      std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (k == "r") {
        r.id.resource = std::string(v);
        has_resource = true;
      } else if (k == "m") {
        mode = v;
      } else if (k == "token") {
        r.id.token = std::string(v);
      } else if (k == "u") {
        r.id.user = std::string(v);
      } else if (k == "t") {
        if (v != "stream") {
          r.error = "unsupported type t=" + quote(v) + " (only stream)";
          return r;
        }
      }
      // "s" (session id), "h" (host) and unknown keys are accepted and ignored.
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  if (!has_resource || r.id.resource.empty()) {
    r.error = "empty resource (r=)";
    return r;
  }
  if (!parse_mode(mode, r.id.mode)) {
    r.error = "invalid mode m=" + quote(mode) + " (publish or request)";
    return r;
  }
  return r;
}

}  // namespace

std::string_view mode_name(Mode m) { return m == Mode::Publish ? "publish" : "request"; }

StreamIdResult parse_stream_id(std::string_view s) {
  StreamIdResult r;
  if (s.empty()) {
    r.error = "empty streamid";
    return r;
  }
  if (s.size() > kMaxStreamIdLength) {
    r.error = "streamid longer than " + std::to_string(kMaxStreamIdLength) + " bytes";
    return r;
  }
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      r.error = "streamid contains control characters";
      return r;
    }
  }
  if (s.substr(0, kLegacyPrefix.size()) == kLegacyPrefix) return parse_legacy(s);
  return parse_short(s);
}

std::string format_stream_id(const StreamId& id) {
  std::string out = id.resource;
  if (id.mode == Mode::Publish) out += ",mode:publish";
  if (!id.token.empty()) out += ",token:" + id.token;
  return out;
}

}  // namespace dragon::srt
