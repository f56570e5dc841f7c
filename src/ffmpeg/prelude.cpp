#include "ffmpeg/prelude.hpp"

#include <cctype>
#include <charconv>

namespace dragon::ffmpeg {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

template <typename T>
T to_num(std::string_view s) {
  T v{};
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::size_t digits(std::string_view s, std::size_t i) {
  std::size_t k = i;
  while (k < s.size() && is_digit(s[k])) ++k;
  return k - i;
}

// `^(Input|Output) #([0-9]+), (.*?), (from|to) '([^']+)`
bool match_format(std::string_view l, bool& is_input, std::string& format, std::string& address) {
  std::string_view rest;
  if (l.starts_with("Input #")) {
    is_input = true;
    rest = l.substr(7);
  } else if (l.starts_with("Output #")) {
    is_input = false;
    rest = l.substr(8);
  } else {
    return false;
  }
  auto n = digits(rest, 0);
  if (n == 0 || rest.substr(n, 2) != ", ") return false;
  rest = rest.substr(n + 2);
  // Lazy (.*?): the first ", from '" / ", to '" followed by at least one non-quote.
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != ',' || rest[i + 1 < rest.size() ? i + 1 : i] != ' ') continue;
    auto tail = rest.substr(i + 2);
    std::size_t kw = tail.starts_with("from '") ? 6 : tail.starts_with("to '") ? 4 : 0;
    if (kw == 0 || kw >= tail.size() || tail[kw] == '\'') continue;
    format = std::string(rest.substr(0, i));
    auto addr = tail.substr(kw);
    address = std::string(addr.substr(0, addr.find('\'')));
    return true;
  }
  return false;
}

// `Duration: ([0-9]+):([0-9]+):([0-9]+)\.([0-9]+)` anywhere.
bool match_duration(std::string_view l, double& out) {
  for (auto p = l.find("Duration: "); p != std::string_view::npos; p = l.find("Duration: ", p + 1)) {
    std::size_t i = p + 10;
    double parts[4];
    bool ok = true;
    for (int k = 0; k < 4 && ok; ++k) {
      auto n = digits(l, i);
      if (n == 0) ok = false;
      else {
        parts[k] = to_num<double>(l.substr(i, n));
        i += n;
        if (k < 3) {
          char want = k < 2 ? ':' : '.';
          if (i < l.size() && l[i] == want) ++i;
          else ok = false;
        }
      }
    }
    if (ok) {
      out = parts[0] * 3600 + parts[1] * 60 + parts[2] + parts[3] / 100;
      return true;
    }
  }
  return false;
}

// `Stream #([0-9]+):([0-9]+)(?:\[[0-9a-fx]+\])?(?:\(([a-z]+)\))?: (Video|Audio|Subtitle): (.*)`
bool match_stream(std::string_view l, StreamInfo& io, std::string_view& detail) {
  for (auto p = l.find("Stream #"); p != std::string_view::npos; p = l.find("Stream #", p + 1)) {
    std::size_t i = p + 8;
    auto n1 = digits(l, i);
    if (!n1 || i + n1 >= l.size() || l[i + n1] != ':') continue;
    auto idx = l.substr(i, n1);
    i += n1 + 1;
    auto n2 = digits(l, i);
    if (!n2) continue;
    auto st = l.substr(i, n2);
    i += n2;
    if (i < l.size() && l[i] == '[') {
      std::size_t k = i + 1;
      while (k < l.size() && (is_digit(l[k]) || (l[k] >= 'a' && l[k] <= 'f') || l[k] == 'x')) ++k;
      if (k > i + 1 && k < l.size() && l[k] == ']') i = k + 1;
    }
    std::string_view lang;
    if (i < l.size() && l[i] == '(') {
      std::size_t k = i + 1;
      while (k < l.size() && l[k] >= 'a' && l[k] <= 'z') ++k;
      if (k > i + 1 && k < l.size() && l[k] == ')') {
        lang = l.substr(i + 1, k - i - 1);
        i = k + 1;
      }
    }
    auto rest = l.substr(i);
    std::string_view type;
    for (std::string_view t : {"Video", "Audio", "Subtitle"}) {
      if (rest.size() > t.size() + 3 && rest.substr(0, 2) == ": " && rest.substr(2, t.size()) == t &&
          rest.substr(2 + t.size(), 2) == ": ") {
        type = t;
        break;
      }
    }
    if (type.empty()) continue;
    io.index = to_num<std::uint64_t>(idx);
    io.stream = to_num<std::uint64_t>(st);
    io.language = lang.size() == 3 ? std::string(lang) : "und";
    io.type = type == "Video" ? "video" : type == "Audio" ? "audio" : "subtitle";
    detail = rest.substr(type.size() + 4);
    detail = detail.substr(0, detail.find('\n'));
    return true;
  }
  return false;
}

void parse_detail(std::string_view d, StreamInfo& io) {
  std::size_t k = 0;
  while (k < d.size() && !is_space(d[k]) && d[k] != ',') ++k;
  io.codec = std::string(d.substr(0, k));

  // `, ([0-9]+) kb/s`
  for (auto p = d.find(", "); p != std::string_view::npos; p = d.find(", ", p + 1)) {
    auto n = digits(d, p + 2);
    if (n && d.substr(p + 2 + n).starts_with(" kb/s")) {
      io.bitrate_kbps = to_num<double>(d.substr(p + 2, n));
      break;
    }
  }
  if (io.type == "video") {
    // `, ([0-9A-Za-z]+)(\([^\)]+\))?, ([0-9]+)x([0-9]+)`
    for (auto p = d.find(", "); p != std::string_view::npos; p = d.find(", ", p + 1)) {
      std::size_t i = p + 2, s = i;
      while (i < d.size() && (std::isalnum(static_cast<unsigned char>(d[i])))) ++i;
      if (i == s) continue;
      auto pix = d.substr(s, i - s);
      if (i < d.size() && d[i] == '(') {
        auto close = d.find(')', i + 1);
        if (close == std::string_view::npos || close == i + 1) continue;
        i = close + 1;
      }
      if (d.substr(i, 2) != ", ") continue;
      i += 2;
      auto w = digits(d, i);
      if (!w || i + w >= d.size() || d[i + w] != 'x') continue;
      auto h = digits(d, i + w + 1);
      if (!h) continue;
      io.pix_fmt = std::string(pix);
      io.width = to_num<std::uint64_t>(d.substr(i, w));
      io.height = to_num<std::uint64_t>(d.substr(i + w + 1, h));
      break;
    }
    // `, ([0-9]+(\.[0-9]+)?) fps`
    for (auto p = d.find(", "); p != std::string_view::npos; p = d.find(", ", p + 1)) {
      std::size_t i = p + 2;
      auto n = digits(d, i);
      if (!n) continue;
      std::size_t e = i + n;
      if (e < d.size() && d[e] == '.' && digits(d, e + 1)) e += 1 + digits(d, e + 1);
      if (d.substr(e).starts_with(" fps")) {
        io.fps = to_num<double>(d.substr(i, e - i));
        break;
      }
    }
  } else if (io.type == "audio") {
    // `, ([0-9]+) Hz, ([^,]+)`
    for (auto p = d.find(", "); p != std::string_view::npos; p = d.find(", ", p + 1)) {
      auto n = digits(d, p + 2);
      if (!n || !d.substr(p + 2 + n).starts_with(" Hz, ")) continue;
      auto ls = p + 2 + n + 5;
      auto le = d.find(',', ls);
      if (le == ls || ls >= d.size()) continue;
      io.sampling_hz = to_num<std::uint64_t>(d.substr(p + 2, n));
      io.layout = std::string(d.substr(ls, le == std::string_view::npos ? std::string_view::npos : le - ls));
      break;
    }
  }
}

}  // namespace

std::string_view strip_level_prefix(std::string_view line) {
  static constexpr std::string_view kLevels[] = {"quiet",   "panic", "fatal", "error", "warning",
                                                 "info",    "verbose", "debug", "trace"};
  if (line.size() < 3 || line[0] != '[') return line;
  auto close = line.find("] ");
  if (close == std::string_view::npos || close > 8) return line;
  auto name = line.substr(1, close - 1);
  for (auto l : kLevels)
    if (name == l) return line.substr(close + 2);
  return line;
}

PreludeInfo parse_prelude(const std::vector<std::string>& lines) {
  PreludeInfo out;
  bool is_input = false, have_io = false;
  std::string format, address;
  double duration = 0;
  bool mapping = false;
  for (const auto& raw : lines) {
    std::string_view line = strip_level_prefix(raw);
    if (line.starts_with("Stream mapping:")) {
      mapping = true;
      continue;
    }
    if (mapping) {
      // `^[\s]+Stream #[0-9]+:[0-9]+`
      std::size_t i = 0;
      while (i < line.size() && is_space(line[i])) ++i;
      bool is_map = false;
      if (i > 0 && line.substr(i).starts_with("Stream #")) {
        auto rest = line.substr(i + 8);
        auto n = digits(rest, 0);
        is_map = n && n < rest.size() && rest[n] == ':' && digits(rest, n + 1);
      }
      if (is_map) ++out.mapped_outputs;
      else mapping = false;
      continue;
    }
    bool in = false;
    std::string f, a;
    if (match_format(line, in, f, a)) {
      is_input = in;
      have_io = true;
      format = std::move(f);
      address = std::move(a);
      duration = 0;
      continue;
    }
    if (double dur = 0; match_duration(line, dur)) {
      duration = dur;
      continue;
    }
    StreamInfo io;
    std::string_view detail;
    if (match_stream(line, io, detail)) {
      io.address = address;
      io.format = format;
      io.duration_seconds = duration;
      parse_detail(detail, io);
      if (!have_io) continue;
      (is_input ? out.inputs : out.outputs).push_back(std::move(io));
    }
  }
  return out;
}

}  // namespace dragon::ffmpeg
