#include "ffmpeg/placeholders.hpp"

#include "ffmpeg/url.hpp"
#include "util/strings.hpp"

namespace dragon::ffmpeg {
namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Byte length of the rune at s[i] as Go's regexp sees it (invalid UTF-8 = one byte).
std::size_t rune_len(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + len > s.size()) return 1;
  for (std::size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 1;
  return len;
}

struct Match {
  std::size_t end = 0;  // one past the closing '}'
  std::string_view name, escape, params;
  bool has_params = false;
};

// `{([a-z]+(?::[0-9A-Za-z]+)?)(?:\^(.))?(?:,(.*?))?}` anchored at s[i] == '{'. The grammar leaves
// no choice to backtrack into, so a single forward walk decides it.
bool match_at(std::string_view s, std::size_t i, Match& m) {
  std::size_t k = i + 1;
  while (k < s.size() && is_lower(s[k])) ++k;
  if (k == i + 1) return false;
  if (k + 1 < s.size() && s[k] == ':' && is_alnum(s[k + 1])) {
    ++k;
    while (k < s.size() && is_alnum(s[k])) ++k;
  }
  m.name = s.substr(i + 1, k - i - 1);
  m.escape = {};
  m.params = {};
  m.has_params = false;
  if (k < s.size() && s[k] == '^') {
    if (k + 1 >= s.size() || s[k + 1] == '\n') return false;
    auto len = rune_len(s, k + 1);
    m.escape = s.substr(k + 1, len);
    k += 1 + len;
  }
  if (k >= s.size()) return false;
  if (s[k] == ',') {
    for (std::size_t e = k + 1; e < s.size(); ++e) {
      if (s[e] == '\n') return false;
      if (s[e] == '}') {
        m.params = s.substr(k + 1, e - k - 1);
        m.has_params = true;
        m.end = e + 1;
        return true;
      }
    }
    return false;
  }
  if (s[k] != '}') return false;
  m.end = k + 1;
  return true;
}

// gobwas glob with ':' as separator, for the two shapes upstream uses: "name" and "prefix:*".
bool glob_match(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') {
    auto prefix = pattern.substr(0, pattern.size() - 1);
    return name.starts_with(prefix) && name.substr(prefix.size()).find(':') == std::string_view::npos;
  }
  return pattern == name;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  std::size_t pos = 0;
  bool any = false;
  for (auto f = s.find(from); f != std::string::npos; f = s.find(from, pos)) {
    if (!any) out.reserve(s.size() + to.size());
    any = true;
    out.append(s, pos, f - pos);
    out.append(to);
    pos = f + from.size();
  }
  if (!any) return;
  out.append(s, pos);
  s = std::move(out);
}

// Go's url.QueryUnescape: '+' is a space, '%' needs two hex digits.
bool query_unescape(std::string_view in, std::string& out) { return util::url_decode(in, out, true); }

// Go's url.UserPassword(...).String() escaping (encodeUserPassword).
std::string escape_userinfo(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string o;
  o.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool keep = is_alnum(ch) || c == '-' || c == '_' || c == '.' || c == '~' || c == '$' || c == '&' ||
                c == '+' || c == ',' || c == ';' || c == '=';
    if (keep) {
      o += ch;
    } else {
      o += '%';
      o += hex[c >> 4];
      o += hex[c & 15];
    }
  }
  return o;
}

}  // namespace

void Replacer::register_template(std::string name, std::string value, TemplateDefaults defaults) {
  register_template_func(
      std::move(name), [v = std::move(value)](Section) { return v; }, std::move(defaults));
}

void Replacer::register_template_func(std::string name, TemplateFn fn, TemplateDefaults defaults) {
  templates_[std::move(name)] = Template{std::move(fn), std::move(defaults)};
}

bool Replacer::has_template(std::string_view name) const { return templates_.find(name) != templates_.end(); }

std::string Replacer::replace(std::string_view str, std::string_view pattern, std::string_view value,
                              const Vars* vars, Section section) const {
  std::string out;
  std::size_t copied = 0;
  std::size_t i = str.find('{');
  bool any = false;
  static const TemplateDefaults kNoDefaults;
  while (i != std::string_view::npos) {
    Match m;
    if (!match_at(str, i, m)) {
      i = str.find('{', i + 1);
      continue;
    }
    if (!glob_match(pattern, m.name)) {
      i = str.find('{', m.end);  // non-overlapping: skip the whole match
      continue;
    }
    if (!any) out.reserve(str.size() + 64);
    any = true;
    std::string v(value);
    const TemplateDefaults* defaults = &kNoDefaults;
    if (v.empty()) {
      if (auto t = templates_.find(m.name); t != templates_.end()) {
        v = t->second.fn(section);
        defaults = &t->second.defaults;
      }
    }
    v = compile_template(v, m.params, vars, *defaults);
    if (!m.escape.empty()) {
      if (m.escape != "\\") replace_all(v, "\\", "\\\\\\");
      std::string esc = "\\\\";
      esc.append(m.escape);
      replace_all(v, m.escape, esc);
    }
    out.append(str.substr(copied, i - copied));
    out.append(v);
    copied = m.end;
    i = str.find('{', m.end);
  }
  if (!any) return std::string(str);
  out.append(str.substr(copied));
  return out;
}

std::string compile_template(std::string_view tmpl, std::string_view params, const Vars* vars,
                             const TemplateDefaults& defaults) {
  if (params.empty() && defaults.empty()) return std::string(tmpl);
  // Later keys win (a Go map); few entries, so a vector searched from the back.
  std::vector<std::pair<std::string, std::string>> p(defaults.begin(), defaults.end());
  while (!params.empty()) {
    auto comma = params.find(',');
    std::string_view item = params.substr(0, comma);
    params = comma == std::string_view::npos ? std::string_view{} : params.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string key, val;
    if (!query_unescape(item.substr(0, eq), key)) continue;
    if (!query_unescape(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1), val)) continue;
    if (vars) {
      for (const auto& [name, v] : vars->items) {
        std::string from = "$";
        from.append(name);
        replace_all(val, from, v);
      }
    }
    p.emplace_back(std::move(key), std::move(val));
  }
  // `{([a-z:]+)}` holes.
  std::string out;
  out.reserve(tmpl.size());
  std::size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '{') {
      std::size_t k = i + 1;
      while (k < tmpl.size() && (is_lower(tmpl[k]) || tmpl[k] == ':')) ++k;
      if (k > i + 1 && k < tmpl.size() && tmpl[k] == '}') {
        auto key = tmpl.substr(i + 1, k - i - 1);
        const std::string* found = nullptr;
        for (auto it = p.rbegin(); it != p.rend(); ++it)
          if (it->first == key) {
            found = &it->second;
            break;
          }
        if (found) out.append(*found);
        else out.append(tmpl.substr(i, k + 1 - i));
        i = k + 1;
        continue;
      }
    }
    out += tmpl[i++];
  }
  return out;
}

std::string memfs_base_url(std::string_view api_address, bool auth_enable, std::string_view username,
                           std::string_view password) {
  return mount_base_url(api_address, "/memfs", auth_enable, username, password);
}

std::string mount_base_url(std::string_view api_address, std::string_view mount, bool auth_enable,
                           std::string_view username, std::string_view password) {
  std::string host, port;
  url::split_host_port(api_address, host, port);
  std::string out = "http://";
  if (auth_enable) out += escape_userinfo(username) + ":" + escape_userinfo(password) + "@";
  if (host.empty()) out += "localhost:" + port;
  else out.append(api_address);
  out += mount;
  return out;
}

Replacer make_replacer(const PlaceholderSettings& s) {
  Replacer r;
  r.register_template("diskfs", s.diskfs);
  r.register_template("fs:disk", s.diskfs);
  r.register_template("memfs", s.memfs);
  r.register_template("fs:mem", s.memfs);
  for (const auto& [name, base] : s.filesystems) r.register_template("fs:" + name, base);

  std::string rtmp;
  {
    std::string host, port;
    url::split_host_port(s.rtmp_address, host, port);
    if (host.empty()) host = "localhost";
    rtmp = "rtmp://" + host + ":" + port;
    if (s.rtmp_app != "/") rtmp += s.rtmp_app;
    rtmp += "/{name}";
    if (!s.rtmp_token.empty()) rtmp += "?token=" + s.rtmp_token;
  }
  r.register_template("rtmp", std::move(rtmp));

  std::string srt_base, srt_tail;
  {
    std::string host, port;
    url::split_host_port(s.srt_address, host, port);
    if (host.empty()) host = "localhost";
    srt_base = "srt://" + host + ":" + port + "?mode=caller&transtype=live&latency={latency}&streamid={name}";
    if (!s.srt_token.empty()) srt_tail += ",token:" + s.srt_token;
    if (!s.srt_passphrase.empty()) srt_tail += "&passphrase=" + s.srt_passphrase;
  }
  r.register_template_func(
      "srt",
      [srt_base, srt_tail](Section section) {
        return srt_base + (section == Section::Output ? ",mode:publish" : ",mode:request") + srt_tail;
      },
      {{"latency", "20000"}});  // 20 ms; FFmpeg wants microseconds
  return r;
}

void resolve_placeholders(ProcessConfig& c, const Replacer& r) {
  // Copies: the replacer may rewrite fields these views would alias.
  const std::string pid = c.id;
  const std::string ref = c.reference;
  Vars vars;
  vars.items = {{"processid", pid}, {"reference", ref}};

  for (auto& option : c.options) {
    option = r.replace(option, "diskfs", "", &vars, Section::Global);
    option = r.replace(option, "fs:*", "", &vars, Section::Global);
  }

  auto resolve_side = [&](std::vector<ConfigIO>& ios, Section section) {
    const std::string_view idname = section == Section::Input ? "inputid" : "outputid";
    for (auto& io : ios) {
      io.id = r.replace(io.id, "processid", pid, nullptr, section);
      io.id = r.replace(io.id, "reference", ref, nullptr, section);
      const std::string ioid = io.id;
      vars.items.emplace_back(idname, ioid);

      auto common = [&](std::string s) {
        s = r.replace(s, idname, ioid, nullptr, section);
        s = r.replace(s, "processid", pid, nullptr, section);
        s = r.replace(s, "reference", ref, nullptr, section);
        s = r.replace(s, "diskfs", "", &vars, section);
        s = r.replace(s, "memfs", "", &vars, section);
        s = r.replace(s, "fs:*", "", &vars, section);
        return s;
      };
      io.address = common(std::move(io.address));
      io.address = r.replace(io.address, "rtmp", "", &vars, section);
      io.address = r.replace(io.address, "srt", "", &vars, section);
      for (auto& option : io.options) option = common(std::move(option));
      for (auto& rule : io.cleanup) {
        rule.pattern = r.replace(rule.pattern, idname, ioid, nullptr, section);
        rule.pattern = r.replace(rule.pattern, "processid", pid, nullptr, section);
        rule.pattern = r.replace(rule.pattern, "reference", ref, nullptr, section);
      }
      vars.items.pop_back();
    }
  };
  resolve_side(c.input, Section::Input);
  resolve_side(c.output, Section::Output);
}

}  // namespace dragon::ffmpeg
