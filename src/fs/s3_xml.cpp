#include "fs/s3_xml.hpp"

#include <array>
#include <limits>

namespace dragon::fs::s3xml {
namespace {

constexpr std::size_t k_max_depth = 64;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// "s3:Key" -> "Key"
std::string_view local_name(std::string_view qname) {
  const auto colon = qname.rfind(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool decode_into(std::string_view text, std::string& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto amp = text.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, amp - i));
    const auto semi = text.find(';', amp);
    // Longest reference we accept: "&#x0010FFFF;" style with a few leading zeros.
    if (semi == std::string_view::npos || semi - amp > 16) return false;
    const auto ref = text.substr(amp + 1, semi - amp - 1);
    if (ref == "amp") {
      out.push_back('&');
    } else if (ref == "lt") {
      out.push_back('<');
    } else if (ref == "gt") {
      out.push_back('>');
    } else if (ref == "quot") {
      out.push_back('"');
    } else if (ref == "apos") {
      out.push_back('\'');
    } else if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const auto digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return false;
      std::uint32_t cp = 0;
      for (char c : digits) {
        std::uint32_t d;
        if (c >= '0' && c <= '9') {
          d = static_cast<std::uint32_t>(c - '0');
        } else if (hex && c >= 'a' && c <= 'f') {
          d = static_cast<std::uint32_t>(c - 'a' + 10);
        } else if (hex && c >= 'A' && c <= 'F') {
          d = static_cast<std::uint32_t>(c - 'A' + 10);
        } else {
          return false;
        }
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10FFFF) return false;
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      append_utf8(out, cp);
    } else {
      return false;
    }
    i = semi + 1;
  }
  return true;
}

// Walks the document; on_start(depth, local name) before the element's content, on_end(depth,
// local name, decoded direct text) after it (depth 1 = root). Returns false for malformed markup,
// a callback returning false, nesting over k_max_depth, text outside the root, or no root at all.
template <typename OnStart, typename OnEnd>
bool walk(std::string_view xml, OnStart&& on_start, OnEnd&& on_end) {
  struct Frame {
    std::string_view qname;
    std::string text;
  };
  std::vector<Frame> stack;
  bool seen_root = false;
  std::size_t pos = 0;
  const std::size_t n = xml.size();
  auto starts = [&](std::string_view s) { return xml.substr(pos, s.size()) == s; };
  while (pos < n) {
    if (xml[pos] != '<') {
      auto lt = xml.find('<', pos);
      if (lt == std::string_view::npos) lt = n;
      const auto chunk = xml.substr(pos, lt - pos);
      pos = lt;
      if (stack.empty()) {
        if (!trim(chunk).empty()) return false;
        continue;
      }
      if (!decode_into(chunk, stack.back().text)) return false;
      continue;
    }
    if (starts("<?")) {
      const auto end = xml.find("?>", pos + 2);
      if (end == std::string_view::npos) return false;
      pos = end + 2;
    } else if (starts("<!--")) {
      const auto end = xml.find("-->", pos + 4);
      if (end == std::string_view::npos) return false;
      pos = end + 3;
    } else if (starts("<![CDATA[")) {
      const auto end = xml.find("]]>", pos + 9);
      if (end == std::string_view::npos || stack.empty()) return false;
      stack.back().text.append(xml.substr(pos + 9, end - pos - 9));
      pos = end + 3;
    } else if (starts("<!")) {
      // <!DOCTYPE ...>: an internal subset could define entities; we support none, so refuse it.
      const auto end = xml.find('>', pos);
      if (end == std::string_view::npos) return false;
      if (xml.substr(pos, end - pos).find('[') != std::string_view::npos) return false;
      if (seen_root) return false;
      pos = end + 1;
    } else if (starts("</")) {
      const auto end = xml.find('>', pos);
      if (end == std::string_view::npos || stack.empty()) return false;
      const auto name = trim(xml.substr(pos + 2, end - pos - 2));
      if (name != stack.back().qname) return false;
      const std::size_t depth = stack.size();
      const std::string text = std::move(stack.back().text);
      stack.pop_back();
      if (!on_end(depth, local_name(name), text)) return false;
      pos = end + 1;
    } else {
      // Start tag: name, then attributes (quoted values may hold '>' or '/'), then '>' or '/>'.
      std::size_t i = pos + 1;
      while (i < n && !is_space(xml[i]) && xml[i] != '>' && xml[i] != '/') ++i;
      const auto name = xml.substr(pos + 1, i - pos - 1);
      if (name.empty() || name.find_first_of("<&\"'=") != std::string_view::npos) return false;
      bool self_closing = false;
      bool closed = false;
      while (i < n) {
        const char c = xml[i];
        if (c == '"' || c == '\'') {
          const auto q = xml.find(c, i + 1);
          if (q == std::string_view::npos) return false;
          i = q + 1;
        } else if (c == '>') {
          closed = true;
          ++i;
          break;
        } else if (c == '/' && i + 1 < n && xml[i + 1] == '>') {
          self_closing = closed = true;
          i += 2;
          break;
        } else if (c == '<') {
          return false;
        } else {
          ++i;
        }
      }
      if (!closed) return false;
      if (stack.empty() && seen_root) return false;  // a second root
      seen_root = true;
      if (stack.size() + 1 > k_max_depth) return false;
      const std::size_t depth = stack.size() + 1;
      if (!on_start(depth, local_name(name))) return false;
      if (self_closing) {
        if (!on_end(depth, local_name(name), std::string())) return false;
      } else {
        stack.push_back({name, {}});
      }
      pos = i;
    }
  }
  return seen_root && stack.empty();
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  s = trim(s);
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::optional<std::string> decode_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  if (!decode_into(text, out)) return std::nullopt;
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s) {
  s = trim(s);
  auto num = [&](std::size_t at, std::size_t len, int& out) {
    if (at + len > s.size()) return false;
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!num(0, 4, y) || s.size() < 19 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d) ||
      (s[10] != 'T' && s[10] != 't') || !num(11, 2, h) || s[13] != ':' || !num(14, 2, mi) || s[16] != ':' ||
      !num(17, 2, sec)) {
    return std::nullopt;
  }
  static constexpr std::array<int, 12> k_days = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  // Years a nanosecond system_clock holds with room to spare (it spans 1677..2262).
  if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > k_days[static_cast<std::size_t>(mo - 1)] || (mo == 2 && d == 29 && !leap) ||
      h > 23 || mi > 59 || sec > 60) {
    return std::nullopt;
  }
  std::size_t i = 19;
  std::int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    std::int64_t scale = 100000000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      nanos += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start || i - start > 9) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!num(i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !num(i + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                            h * 3600 + mi * 60 + sec - offset;
  using namespace std::chrono;
  return system_clock::time_point(duration_cast<system_clock::duration>(seconds(secs) + nanoseconds(nanos)));
}

std::optional<ListPage> parse_list_objects(std::string_view xml) {
  ListPage page;
  Object current;
  bool have_key = false;
  bool root_ok = false;
  const bool ok = walk(
      xml,
      [&](std::size_t depth, std::string_view name) {
        if (depth == 1) {
          root_ok = name == "ListBucketResult";
          return root_ok;
        }
        if (depth == 2 && name == "Contents") {
          current = Object{};
          have_key = false;
        }
        return true;
      },
      [&](std::size_t depth, std::string_view name, const std::string& text) {
        if (depth == 3) {
          // Only the children of <Contents> are read at depth 3 (Owner/ID is at depth 4).
          if (name == "Key") {
            current.key = text;
            have_key = true;
          } else if (name == "Size") {
            return parse_u64(text, current.size);
          } else if (name == "LastModified") {
            if (const auto t = parse_iso8601(text)) current.last_modified = *t;
          }
        } else if (depth == 2) {
          if (name == "Contents") {
            if (!have_key) return false;
            page.objects.push_back(std::move(current));
          } else if (name == "IsTruncated") {
            page.is_truncated = trim(text) == "true";
          } else if (name == "NextContinuationToken") {
            page.next_continuation_token = text;
          }
        }
        return true;
      });
  if (!ok || !root_ok) return std::nullopt;
  return page;
}

std::optional<ErrorBody> parse_error(std::string_view xml) {
  ErrorBody e;
  bool root_ok = false;
  const bool ok = walk(
      xml,
      [&](std::size_t depth, std::string_view name) {
        if (depth == 1) {
          root_ok = name == "Error";
          return root_ok;
        }
        return true;
      },
      [&](std::size_t depth, std::string_view name, const std::string& text) {
        if (depth == 2 && name == "Code") e.code = std::string(trim(text));
        if (depth == 2 && name == "Message") e.message = std::string(trim(text));
        return true;
      });
  if (!ok || !root_ok) return std::nullopt;
  return e;
}

}  // namespace dragon::fs::s3xml
