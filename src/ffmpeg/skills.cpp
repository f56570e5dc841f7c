#include "ffmpeg/skills.hpp"

#include <sys/stat.h>

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "util/run_command.hpp"

// The matchers below are hand-written equivalents of upstream's Go regular expressions (quoted
// above each one): linear time on any input, and no std::regex (recursive, slow).

namespace dragon::ffmpeg {
namespace {

// Go's \s: [\t\n\f\r ].
bool ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool alnum(char c) { return digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool word(char c) { return alnum(c) || c == '_'; }
bool lower(char c) { return c >= 'a' && c <= 'z'; }

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// bufio.ScanLines: split on '\n', drop one trailing '\r', no empty last line after a final '\n'.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::size_t skip(std::string_view s, std::size_t i, bool (*pred)(char)) {
  while (i < s.size() && pred(s[i])) ++i;
  return i;
}

// Go's strings.Split(strings.TrimSpace(s), " ").
std::vector<std::string> split_names(std::string_view s) {
  s = trim_ws(s);
  std::vector<std::string> out;
  while (true) {
    auto sp = s.find(' ');
    out.emplace_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

// `[0-9]+\.\s*[0-9]+\.\s*[0-9]+` at i; returns the end or npos.
std::size_t match_lib_version(std::string_view s, std::size_t i) {
  for (int part = 0; part < 3; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return std::string_view::npos;
      i = skip(s, i + 1, ws);
    }
    auto e = skip(s, i, digit);
    if (e == i) return std::string_view::npos;
    i = e;
  }
  return i;
}

// `^\s([D ])([E ]) ([0-9A-Za-z_,]+)\s+(.*?)$` (-formats and -devices).
bool match_flag_line(std::string_view l, bool& demux, bool& mux, std::string& id, std::string& name) {
  if (l.size() < 5 || !ws(l[0]) || (l[1] != 'D' && l[1] != ' ') || (l[2] != 'E' && l[2] != ' ') || l[3] != ' ')
    return false;
  std::size_t i = 4;
  while (i < l.size() && (word(l[i]) || l[i] == ',')) ++i;
  if (i == 4) return false;
  auto ids = l.substr(4, i - 4);
  auto j = skip(l, i, ws);
  if (j == i) return false;
  demux = l[1] == 'D';
  mux = l[2] == 'E';
  id = std::string(ids.substr(0, ids.find(',')));
  name = std::string(l.substr(j));
  return true;
}

}  // namespace

SkillsVersion parse_skills_version(std::string_view text) {
  SkillsVersion v;
  bool first = true, have_compiler = false, have_config = false;
  for_each_line(text, [&](std::string_view line) {
    if (first) {
      first = false;
      // `^ffmpeg version ([0-9]+\.[0-9]+(\.[0-9]+)?)`; we also take release tags' "n5.1.2".
      constexpr std::string_view kPrefix = "ffmpeg version ";
      if (line.starts_with(kPrefix)) {
        std::size_t s = kPrefix.size();
        if (s < line.size() && line[s] == 'n') ++s;
        auto a = skip(line, s, digit);
        if (a > s && a < line.size() && line[a] == '.') {
          auto b = skip(line, a + 1, digit);
          if (b > a + 1) {
            auto c = b;
            if (b < line.size() && line[b] == '.') {
              auto d = skip(line, b + 1, digit);
              if (d > b + 1) c = d;
            }
            v.version = std::string(line.substr(s, c - s));
            if (c == b) v.version += ".0";
          }
        }
      }
    }
    auto t = line.substr(skip(line, 0, ws));
    // `(?m)^\s*built with (.*)$`, `(?m)^\s*configuration: (.*)$`: first match each.
    if (!have_compiler && t.starts_with("built with ")) {
      v.compiler = std::string(t.substr(11));
      have_compiler = true;
      return;
    }
    if (!have_config && t.starts_with("configuration: ")) {
      v.configuration = std::string(t.substr(15));
      have_config = true;
      return;
    }
    // `(?m)^\s*(lib(?:[a-z]+))\s+(V) /\s+(V)` with V = `[0-9]+\.\s*[0-9]+\.\s*[0-9]+`.
    if (!t.starts_with("lib")) return;
    auto ne = skip(t, 3, lower);
    if (ne == 3) return;
    auto vs = skip(t, ne, ws);
    if (vs == ne) return;
    auto ve = match_lib_version(t, vs);
    if (ve == std::string_view::npos || t.substr(ve, 2) != " /") return;
    auto ls = skip(t, ve + 2, ws);
    if (ls == ve + 2) return;
    auto le = match_lib_version(t, ls);
    if (le == std::string_view::npos) return;
    v.libraries.push_back({std::string(t.substr(0, ne)), std::string(t.substr(vs, ve - vs)),
                           std::string(t.substr(ls, le - ls))});
  });
  return v;
}

std::vector<SkillsEntry> parse_skills_filters(std::string_view text) {
  std::vector<SkillsEntry> out;
  // `^\s[TSC.]{3} ([0-9A-Za-z_]+)\s+(?:.*?)\s+(.*)?$`
  for_each_line(text, [&](std::string_view l) {
    auto flag = [](char c) { return c == 'T' || c == 'S' || c == 'C' || c == '.'; };
    if (l.size() < 6 || !ws(l[0]) || !flag(l[1]) || !flag(l[2]) || !flag(l[3]) || l[4] != ' ') return;
    auto ie = skip(l, 5, word);
    if (ie == 5) return;
    auto a = skip(l, ie, ws);  // greedy \s+
    if (a == ie) return;
    // Lazy middle: up to the next whitespace run, whose end starts the name.
    std::size_t m = a;
    while (m < l.size() && !ws(l[m])) ++m;
    std::string_view name;
    if (m < l.size()) {
      name = l.substr(skip(l, m, ws));
    } else if (a - ie >= 2) {
      name = l.substr(a);  // backtracking: the first \s+ yields its last char to the second
    } else {
      return;
    }
    out.push_back({std::string(l.substr(5, ie - 5)), std::string(name)});
  });
  return out;
}

SkillsCodecs parse_skills_codecs(std::string_view text) {
  SkillsCodecs out;
  // `^\s([D.])([E.])([VAS]).{3} ([0-9A-Za-z_]+)\s+(.*?)(?:\(decoders:([^\)]+)\))?\s?(?:\(encoders:([^\)]+)\))?$`
  for_each_line(text, [&](std::string_view l) {
    if (l.size() < 9 || !ws(l[0]) || (l[1] != 'D' && l[1] != '.') || (l[2] != 'E' && l[2] != '.') ||
        (l[3] != 'V' && l[3] != 'A' && l[3] != 'S') || l[7] != ' ')
      return;
    auto ie = skip(l, 8, word);
    if (ie == 8) return;
    auto rs = skip(l, ie, ws);
    if (rs == ie) return;
    std::string_view r = l.substr(rs);
    const std::size_t n = r.size();
    constexpr std::string_view kDec = "(decoders:", kEnc = "(encoders:";

    // "(encoders:Y)" from q to the end, Y non-empty without ')'.
    const std::size_t prev_close = n >= 2 ? r.rfind(')', n - 2) : std::string_view::npos;
    auto enc_to_end = [&](std::size_t q) {
      return q < n && r.substr(q).starts_with(kEnc) && r.back() == ')' && q + kEnc.size() < n - 1 &&
             (prev_close == std::string_view::npos || prev_close < q + kEnc.size());
    };
    // Next ')' at or after each position, for the decoders group.
    std::vector<std::size_t> next_close(n + 1, std::string_view::npos);
    for (std::size_t i = n; i-- > 0;) next_close[i] = r[i] == ')' ? i : next_close[i + 1];

    // The lazy name ends at the first position where the optional groups can take the rest.
    std::string_view name = r, dec, enc;
    bool has_dec = false, has_enc = false;
    for (std::size_t p = 0; p <= n; ++p) {
      if (p == n) {
        name = r;
        break;
      }
      if (r.substr(p).starts_with(kDec)) {
        auto e = next_close[p + kDec.size()];
        if (e != std::string_view::npos && e > p + kDec.size()) {
          auto after = e + 1;
          std::size_t enc_at = std::string_view::npos;
          bool ok = after == n;
          if (!ok && enc_to_end(after)) ok = true, enc_at = after;
          if (!ok && after < n && ws(r[after])) {
            if (after + 1 == n) ok = true;
            else if (enc_to_end(after + 1)) ok = true, enc_at = after + 1;
          }
          if (ok) {
            name = r.substr(0, p);
            has_dec = true;
            dec = r.substr(p + kDec.size(), e - p - kDec.size());
            if (enc_at != std::string_view::npos) {
              has_enc = true;
              enc = r.substr(enc_at + kEnc.size(), n - 1 - enc_at - kEnc.size());
            }
            break;
          }
        }
      }
      if (ws(r[p]) && (p + 1 == n || enc_to_end(p + 1))) {
        name = r.substr(0, p);
        if (p + 1 < n) has_enc = true, enc = r.substr(p + 1 + kEnc.size(), n - 2 - p - kEnc.size());
        break;
      }
      if (enc_to_end(p)) {
        name = r.substr(0, p);
        has_enc = true;
        enc = r.substr(p + kEnc.size(), n - 1 - p - kEnc.size());
        break;
      }
    }

    SkillsCodec c;
    c.id = std::string(l.substr(8, ie - 8));
    c.name = std::string(trim_ws(name));
    if (l[1] == 'D') c.decoders = has_dec ? split_names(dec) : std::vector<std::string>{c.id};
    if (l[2] == 'E') c.encoders = has_enc ? split_names(enc) : std::vector<std::string>{c.id};
    auto& list = l[3] == 'V' ? out.video : l[3] == 'A' ? out.audio : out.subtitle;
    list.push_back(std::move(c));
  });
  return out;
}

SkillsFormats parse_skills_formats(std::string_view text) {
  SkillsFormats out;
  for_each_line(text, [&](std::string_view l) {
    bool d = false, e = false;
    std::string id, name;
    if (!match_flag_line(l, d, e, id, name)) return;
    if (d) out.demuxers.push_back({id, name});
    if (e) out.muxers.push_back({id, name});
  });
  return out;
}

SkillsDevices parse_skills_devices(std::string_view text,
                                   const std::function<std::vector<SkillsHWDevice>(std::string_view)>& lookup) {
  SkillsDevices out;
  for_each_line(text, [&](std::string_view l) {
    bool d = false, e = false;
    SkillsDevice dev;
    if (!match_flag_line(l, d, e, dev.id, dev.name)) return;
    if (lookup) dev.devices = lookup(dev.id);
    if (d) out.demuxers.push_back(dev);
    if (e) out.muxers.push_back(std::move(dev));
  });
  return out;
}

std::vector<SkillsEntry> parse_skills_hwaccels(std::string_view text) {
  std::vector<SkillsEntry> out;
  bool started = false;
  for_each_line(text, [&](std::string_view l) {
    if (l == "Hardware acceleration methods:") {
      started = true;
      return;
    }
    // `^[A-Za-z0-9]+$`
    if (!started || l.empty() || skip(l, 0, alnum) != l.size()) return;
    out.push_back({std::string(l), std::string(l)});
  });
  return out;
}

SkillsProtocols parse_skills_protocols(std::string_view text) {
  SkillsProtocols out;
  std::vector<SkillsEntry>* list = nullptr;
  for_each_line(text, [&](std::string_view l) {
    if (l == "Input:") list = &out.input;
    else if (l == "Output:") list = &out.output;
    else if (list) {
      auto id = trim_ws(l);
      if (!id.empty()) list->push_back({std::string(id), std::string(id)});  // upstream keeps ""
    }
  });
  return out;
}

std::vector<SkillsHWDevice> parse_alsa_devices(std::string_view cards, std::string_view devices) {
  // `^\s*([0-9]+) \[([^\]]+)\]: (.*)$`
  std::vector<std::pair<std::string, std::string>> card_list;
  for_each_line(cards, [&](std::string_view l) {
    auto s = skip(l, 0, ws);
    auto e = skip(l, s, digit);
    if (e == s || l.substr(e, 2) != " [") return;
    auto close = l.find(']', e + 2);
    if (close == std::string_view::npos || close == e + 2 || l.substr(close, 3) != "]: ") return;
    card_list.emplace_back(std::string(l.substr(s, e - s)), std::string(l.substr(close + 3)));
  });
  std::vector<SkillsHWDevice> out;
  // `^\s*[0-9]+: \[\s?([0-9]+)-\s?([0-9]+)\]: (.*)$`, capture devices only.
  for_each_line(devices, [&](std::string_view l) {
    auto s = skip(l, 0, ws);
    auto e = skip(l, s, digit);
    if (e == s || l.substr(e, 3) != ": [") return;
    std::size_t i = e + 3;
    if (i < l.size() && ws(l[i])) ++i;
    auto ce = skip(l, i, digit);
    if (ce == i || ce >= l.size() || l[ce] != '-') return;
    auto card = l.substr(i, ce - i);
    i = ce + 1;
    if (i < l.size() && ws(l[i])) ++i;
    auto de = skip(l, i, digit);
    if (de == i || l.substr(de, 3) != "]: ") return;
    if (l.substr(de + 3) != "digital audio capture") return;
    for (const auto& [id, name] : card_list) {
      if (id != card) continue;
      out.push_back({fmt::format("hw:{},{}", card, l.substr(i, de - i)), name, "", "audio"});
      break;
    }
  });
  return out;
}

std::vector<SkillsHWDevice> parse_v4l2_devices(std::string_view text) {
  std::vector<SkillsHWDevice> out;
  std::string name, extra;
  for_each_line(text, [&](std::string_view l) {
    // `/dev/video[0-9]+` anywhere.
    for (auto p = l.find("/dev/video"); p != std::string_view::npos; p = l.find("/dev/video", p + 1)) {
      auto e = skip(l, p + 10, digit);
      if (e == p + 10) continue;
      if (!name.empty()) out.push_back({std::string(l.substr(p, e - p)), name, extra, "video"});
      return;
    }
    // `^(.*)\((.*?)\):$`: the greedy head takes the last '('.
    if (!l.ends_with("):")) return;
    auto open = l.rfind('(', l.size() - 2);
    if (open == std::string_view::npos) return;
    name = std::string(trim_ws(l.substr(0, open)));
    extra = std::string(l.substr(open + 1, l.size() - 2 - open - 1));
  });
  return out;
}

std::string parse_fbset(std::string_view text) {
  struct Fmt {
    int bpp, r, g, b;
    const char* name;
  };
  static constexpr Fmt kFormats[] = {{32, 0, 8, 16, "rgba"},     {32, 16, 8, 0, "bgra"},  {32, 8, 16, 24, "argb"},
                                     {32, 3, 2, 8, "abgr"},      {24, 0, 8, 16, "rgb24"}, {24, 16, 8, 0, "bgr24"},
                                     {16, 11, 5, 0, "rgb565le"}, {16, 0, 5, 11, "rgb565be"}};
  auto num = [](std::string_view s) {
    int v = 0;
    for (char c : s) v = v > 100000000 ? v : v * 10 + (c - '0');
    return v;
  };
  std::string geometry;
  int bpp = 0, off[4] = {0, 0, 0, 0};
  for_each_line(text, [&](std::string_view l) {
    // `geometry ([0-9]+) ([0-9]+) ([0-9]+) ([0-9]+) ([0-9]+)`
    for (auto p = l.find("geometry "); p != std::string_view::npos; p = l.find("geometry ", p + 1)) {
      std::string_view v[5];
      std::size_t i = p + 9;
      bool ok = true;
      for (int k = 0; k < 5 && ok; ++k) {
        if (k > 0) ok = i < l.size() && l[i++] == ' ';
        auto e = skip(l, i, digit);
        ok = ok && e > i;
        v[k] = l.substr(i, e - i);
        i = e;
      }
      if (!ok) continue;
      geometry = fmt::format("{}x{}", v[0], v[1]);
      if (v[0] != v[2] || v[1] != v[3]) geometry += fmt::format(" ({}x{})", v[2], v[3]);
      bpp = num(v[4]);
      break;
    }
    // `rgba ([0-9]+/[0-9]+),(...),(...),(...)`: offsets count only for non-zero widths.
    for (auto p = l.find("rgba "); p != std::string_view::npos; p = l.find("rgba ", p + 1)) {
      std::size_t i = p + 5;
      int o[4];
      bool ok = true;
      for (int k = 0; k < 4 && ok; ++k) {
        if (k > 0) ok = i < l.size() && l[i++] == ',';
        auto be = skip(l, i, digit);
        ok = ok && be > i && be < l.size() && l[be] == '/';
        if (!ok) break;
        auto oe = skip(l, be + 1, digit);
        ok = oe > be + 1;
        o[k] = num(l.substr(i, be - i)) == 0 ? 0 : num(l.substr(be + 1, oe - be - 1));
        i = oe;
      }
      if (!ok) continue;
      std::copy(o, o + 4, off);
      break;
    }
  });
  if (geometry.empty() || bpp == 0) return "";
  for (const auto& f : kFormats)
    if (f.bpp == bpp && f.r == off[0] && f.g == off[1] && f.b == off[2]) return geometry + " " + f.name;
  return "";
}

nlohmann::ordered_json skills_to_json(const Skills& s) {
  using oj = nlohmann::ordered_json;
  auto entries = [](const std::vector<SkillsEntry>& list) {
    oj a = oj::array();
    for (const auto& e : list) a.push_back(oj{{"id", e.id}, {"name", e.name}});
    return a;
  };
  auto codecs = [](const std::vector<SkillsCodec>& list) {
    oj a = oj::array();
    for (const auto& c : list) {
      oj o;
      o["id"] = c.id;
      o["name"] = c.name;
      o["encoders"] = c.encoders ? oj(*c.encoders) : oj(nullptr);
      o["decoders"] = c.decoders ? oj(*c.decoders) : oj(nullptr);
      a.push_back(std::move(o));
    }
    return a;
  };
  auto devices = [](const std::vector<SkillsDevice>& list) {
    oj a = oj::array();
    for (const auto& d : list) {
      oj hw = oj::array();
      for (const auto& h : d.devices)
        hw.push_back(oj{{"id", h.id}, {"name", h.name}, {"extra", h.extra}, {"media", h.media}});
      a.push_back(oj{{"id", d.id}, {"name", d.name}, {"devices", std::move(hw)}});
    }
    return a;
  };
  oj libs = oj::array();
  for (const auto& l : s.ffmpeg.libraries)
    libs.push_back(oj{{"name", l.name}, {"compiled", l.compiled}, {"linked", l.linked}});

  oj j;
  j["ffmpeg"] = oj{{"version", s.ffmpeg.version},
                   {"compiler", s.ffmpeg.compiler},
                   {"configuration", s.ffmpeg.configuration},
                   {"libraries", std::move(libs)}};
  j["filter"] = entries(s.filters);
  j["hwaccels"] = entries(s.hwaccels);
  j["codecs"] = oj{{"audio", codecs(s.codecs.audio)},
                   {"video", codecs(s.codecs.video)},
                   {"subtitle", codecs(s.codecs.subtitle)}};
  j["devices"] = oj{{"demuxers", devices(s.devices.demuxers)}, {"muxers", devices(s.devices.muxers)}};
  j["formats"] = oj{{"demuxers", entries(s.formats.demuxers)}, {"muxers", entries(s.formats.muxers)}};
  j["protocols"] = oj{{"input", entries(s.protocols.input)}, {"output", entries(s.protocols.output)}};
  return j;
}

namespace {

std::string read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string data;
  char buf[4096];
  // /proc files report size 0: read in chunks, capped (a few KiB in practice).
  while (data.size() < (1u << 20) && in.read(buf, sizeof buf).gcount() > 0) data.append(buf, in.gcount());
  return data;
}

std::vector<SkillsHWDevice> lookup_devices(std::string_view id, const SkillsOptions& o) {
  util::RunOptions run;
  run.timeout = o.timeout;
  run.max_output = 1 << 20;
  if (id == "alsa") {
    return parse_alsa_devices(read_small_file(o.asound_dir + "/cards"), read_small_file(o.asound_dir + "/devices"));
  }
  if (id == "video4linux2") {
    auto ctl = util::find_executable("v4l2-ctl");
    if (ctl.empty()) return {};
    return parse_v4l2_devices(util::run_command({ctl, "--list-devices"}, run).out);
  }
  if (id == "fbdev") {
    std::vector<SkillsHWDevice> out;
    auto fbset = util::find_executable("fbset");
    for (int i = 0; i < 32; ++i) {
      auto path = fmt::format("{}/fb{}", o.dev_dir, i);
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) break;
      std::string extra;
      if (!fbset.empty()) extra = parse_fbset(util::run_command({fbset, "-s", "-fb", path}, run).out);
      out.push_back({path, path, extra, "video"});
    }
    return out;
  }
  return {};
}

}  // namespace

std::optional<Skills> detect_skills(const std::string& binary, std::string& error, const SkillsOptions& options) {
  util::RunOptions run;
  run.timeout = options.timeout;
  auto stdout_of = [&](const char* flag) {
    return util::run_command({binary, "-hide_banner", flag}, run).out;
  };

  auto v = util::run_command({binary, "-hide_banner", "-version"}, run);
  if (!v.ok()) {
    error = !v.started   ? fmt::format("can't parse ffmpeg version info: {}", v.error)
            : v.timed_out ? "can't parse ffmpeg version info: ffmpeg -version timed out"
                          : fmt::format("can't parse ffmpeg version info: ffmpeg -version exited with {}",
                                        v.signal ? fmt::format("signal {}", v.signal) : std::to_string(v.exit_code));
    return std::nullopt;
  }
  Skills s;
  s.ffmpeg = parse_skills_version(v.out + v.err);  // upstream reads the combined output
  if (s.ffmpeg.version.empty()) {
    error = "can't parse ffmpeg version info";
    return std::nullopt;
  }
  s.filters = parse_skills_filters(stdout_of("-filters"));
  s.hwaccels = parse_skills_hwaccels(stdout_of("-hwaccels"));
  s.codecs = parse_skills_codecs(stdout_of("-codecs"));
  s.formats = parse_skills_formats(stdout_of("-formats"));
  std::map<std::string, std::vector<SkillsHWDevice>, std::less<>> cache;
  std::function<std::vector<SkillsHWDevice>(std::string_view)> lookup;
  if (options.hardware_devices) {
    lookup = [&](std::string_view id) {
      auto it = cache.find(id);
      if (it == cache.end()) it = cache.emplace(std::string(id), lookup_devices(id, options)).first;
      return it->second;
    };
  }
  s.devices = parse_skills_devices(stdout_of("-devices"), lookup);
  s.protocols = parse_skills_protocols(stdout_of("-protocols"));
  return s;
}

}  // namespace dragon::ffmpeg
