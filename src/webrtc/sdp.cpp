#include "webrtc/sdp.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <limits>

namespace dragon::webrtc {
namespace {

constexpr int k_max_payload_type = 127;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on runs of spaces or tabs.
std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename Int>
std::optional<Int> to_int(std::string_view s, Int min, Int max) {
  Int value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < min || value > max) return std::nullopt;
  return value;
}

std::string printable(std::string_view s) {
  constexpr std::size_t k_max = 40;
  std::string out(s.substr(0, k_max));
  if (s.size() > k_max) out += "...";
  return out;
}

// Splits text into lines, tolerating CRLF or LF and a missing final newline; names the line
// of anything that is not a well-formed SDP line.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  // False at the end. On a malformed line, sets error and returns false.
  bool next(std::string_view& line, std::string& error) {
    while (pos_ < text_.size()) {
      const std::size_t nl = text_.find('\n', pos_);
      std::string_view raw = text_.substr(pos_, nl == std::string_view::npos ? std::string_view::npos : nl - pos_);
      pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
      ++number_;
      if (number_ > k_sdp_max_lines) {
        error = fmt::format("more than {} lines", k_sdp_max_lines);
        return false;
      }
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      if (raw.size() > k_sdp_max_line_length) {
        error = fmt::format("line {}: longer than {} characters", number_, k_sdp_max_line_length);
        return false;
      }
      for (const char c : raw) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7F) {
          error = fmt::format("line {}: control character 0x{:02x}", number_, u);
          return false;
        }
      }
      if (trim(raw).empty()) continue;  // blank lines carry nothing; tolerated
      if (raw.size() < 2 || raw[1] != '=' || raw[0] < 'a' || raw[0] > 'z') {
        error = fmt::format("line {}: not a <letter>=<value> line: \"{}\"", number_, printable(raw));
        return false;
      }
      line = raw;
      return true;
    }
    return false;
  }
  std::size_t number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
};

// "name:value" or a flag "name".
struct Attribute {
  std::string_view name;
  std::string_view value;
};
Attribute split_attribute(std::string_view a) {
  const auto colon = a.find(':');
  if (colon == std::string_view::npos) return {a, {}};
  return {a.substr(0, colon), a.substr(colon + 1)};
}

bool is_direction(std::string_view a) {
  return a == "sendrecv" || a == "sendonly" || a == "recvonly" || a == "inactive";
}

bool is_rtp_protocol(std::string_view protocol) { return protocol.find("RTP/") != std::string_view::npos; }

struct Rtpmap {
  std::string name;
  int clock_rate = 0;
  int channels = 0;
};

// RFC 3551 static payload types, for offers that list them without a=rtpmap.
std::optional<Rtpmap> static_payload_type(int pt) {
  switch (pt) {
    case 0: return Rtpmap{"PCMU", 8000, 1};
    case 3: return Rtpmap{"GSM", 8000, 1};
    case 4: return Rtpmap{"G723", 8000, 1};
    case 8: return Rtpmap{"PCMA", 8000, 1};
    case 9: return Rtpmap{"G722", 8000, 1};
    case 13: return Rtpmap{"CN", 8000, 1};
    case 18: return Rtpmap{"G729", 8000, 1};
    case 26: return Rtpmap{"JPEG", 90000, 0};
    case 31: return Rtpmap{"H261", 90000, 0};
    case 34: return Rtpmap{"H263", 90000, 0};
    default: return std::nullopt;
  }
}

// What one m= section collects before its codecs are assembled.
struct MediaBuilder {
  SdpMedia media;
  bool has_direction = false;
  bool has_ice_options = false;
  std::array<std::optional<Rtpmap>, k_max_payload_type + 1> rtpmaps;
  std::array<std::string, k_max_payload_type + 1> fmtps;
  std::array<std::vector<std::string>, k_max_payload_type + 1> feedback;
  std::vector<std::string> wildcard_feedback;

  void assemble() {
    if (!is_rtp_protocol(media.protocol)) return;
    std::array<bool, k_max_payload_type + 1> seen{};
    for (const auto& format : media.formats) {
      const auto pt = to_int<int>(format, 0, k_max_payload_type);
      if (!pt || seen[*pt]) continue;
      seen[*pt] = true;
      auto map = rtpmaps[*pt] ? rtpmaps[*pt] : static_payload_type(*pt);
      if (!map) continue;  // a dynamic type without a=rtpmap cannot be negotiated
      SdpCodec codec;
      codec.payload_type = *pt;
      codec.name = std::move(map->name);
      codec.clock_rate = map->clock_rate;
      codec.channels = map->channels;
      codec.fmtp = fmtps[*pt];
      codec.rtcp_fb = feedback[*pt];
      for (const auto& fb : wildcard_feedback) codec.rtcp_fb.push_back(fb);
      media.codecs.push_back(std::move(codec));
    }
  }
};

std::string parse_media_line(std::string_view value, std::size_t line, SdpMedia& media) {
  const auto f = fields(value);
  if (f.size() < 4) return fmt::format("line {}: m= line with {} fields", line, f.size());
  media.line = line;
  media.kind = std::string(f[0]);
  auto port_text = f[1];
  if (const auto slash = port_text.find('/'); slash != std::string_view::npos) port_text = port_text.substr(0, slash);
  const auto port = to_int<int>(port_text, 0, 65535);
  if (!port) return fmt::format("line {}: m= port \"{}\" is not 0-65535", line, printable(f[1]));
  media.port = *port;
  media.protocol = std::string(f[2]);
  if (f.size() - 3 > k_sdp_max_formats) {
    return fmt::format("line {}: m= line lists {} formats, more than {}", line, f.size() - 3, k_sdp_max_formats);
  }
  const bool rtp = is_rtp_protocol(media.protocol);
  for (std::size_t i = 3; i < f.size(); ++i) {
    if (rtp && !to_int<int>(f[i], 0, k_max_payload_type)) {
      return fmt::format("line {}: payload type \"{}\" is not 0-127", line, printable(f[i]));
    }
    media.formats.emplace_back(f[i]);
  }
  return {};
}

std::string parse_rtpmap(std::string_view value, std::size_t line, MediaBuilder& b) {
  const auto space = value.find(' ');
  const auto pt = to_int<int>(value.substr(0, space), 0, k_max_payload_type);
  if (!pt || space == std::string_view::npos) {
    return fmt::format("line {}: a=rtpmap:\"{}\" is not <payload type> <name>/<clock rate>", line, printable(value));
  }
  const auto encoding = trim(value.substr(space + 1));
  const auto slash = encoding.find('/');
  if (slash == 0 || slash == std::string_view::npos) {
    return fmt::format("line {}: a=rtpmap:{} has no <name>/<clock rate>", line, *pt);
  }
  Rtpmap map;
  map.name = std::string(encoding.substr(0, slash));
  auto rest = encoding.substr(slash + 1);
  std::string_view channels;
  if (const auto slash2 = rest.find('/'); slash2 != std::string_view::npos) {
    channels = rest.substr(slash2 + 1);
    rest = rest.substr(0, slash2);
  }
  const auto clock = to_int<int>(rest, 1, 10'000'000);
  if (!clock) return fmt::format("line {}: a=rtpmap:{} clock rate \"{}\" is not a number", line, *pt, printable(rest));
  map.clock_rate = *clock;
  if (!channels.empty()) {
    const auto ch = to_int<int>(channels, 1, 255);
    if (!ch) return fmt::format("line {}: a=rtpmap:{} channels \"{}\" is not 1-255", line, *pt, printable(channels));
    map.channels = *ch;
  }
  b.rtpmaps[*pt] = std::move(map);
  return {};
}

std::string parse_extmap(std::string_view value, std::size_t line, MediaBuilder& b) {
  const auto f = fields(value);
  if (f.size() < 2) return fmt::format("line {}: a=extmap without a URI", line);
  auto id_text = f[0];
  SdpExtmap extmap;
  if (const auto slash = id_text.find('/'); slash != std::string_view::npos) {
    extmap.direction = std::string(id_text.substr(slash + 1));
    id_text = id_text.substr(0, slash);
  }
  const auto id = to_int<int>(id_text, 1, 255);
  if (!id) return fmt::format("line {}: a=extmap id \"{}\" is not 1-255", line, printable(f[0]));
  extmap.id = *id;
  extmap.uri = std::string(f[1]);
  b.media.extmaps.push_back(std::move(extmap));
  return {};
}

std::string parse_fingerprint(std::string_view value, std::size_t line, std::string& algorithm, std::string& fp) {
  const auto f = fields(value);
  if (f.size() != 2) return fmt::format("line {}: a=fingerprint is not <hash> <value>", line);
  // Keep the first, but prefer sha-256 when several are offered.
  if (!algorithm.empty() && (algorithm == "sha-256" || lower(f[0]) != "sha-256")) return {};
  algorithm = lower(f[0]);
  fp = std::string(f[1]);
  return {};
}

void add_tokens(std::string_view value, std::vector<std::string>& out) {
  for (const auto token : fields(value)) out.emplace_back(token);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> fmtp_parameter(std::string_view fmtp, std::string_view name) {
  while (!fmtp.empty()) {
    const auto semi = fmtp.find(';');
    const auto item = trim(fmtp.substr(0, semi));
    fmtp = semi == std::string_view::npos ? std::string_view{} : fmtp.substr(semi + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (iequals(trim(item.substr(0, eq)), name)) return trim(item.substr(eq + 1));
  }
  return std::nullopt;
}

namespace {
bool ice_chars(std::string_view s) {
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

bool valid_ice_ufrag(std::string_view ufrag) { return ufrag.size() >= 4 && ufrag.size() <= 256 && ice_chars(ufrag); }
bool valid_ice_pwd(std::string_view pwd) { return pwd.size() >= 22 && pwd.size() <= 256 && ice_chars(pwd); }

SdpParseResult parse_sdp_offer(std::string_view text) {
  SdpParseResult result;
  if (text.empty()) {
    result.error = "SDP is empty";
    return result;
  }
  if (text.size() > k_sdp_max_size) {
    result.error = fmt::format("SDP is {} bytes, more than the {} allowed", text.size(), k_sdp_max_size);
    return result;
  }

  SdpOffer offer;
  // Session-level values that become the m-lines' defaults.
  std::string ice_ufrag, ice_pwd, fingerprint_algorithm, fingerprint, setup, direction;
  std::vector<MediaBuilder> builders;
  builders.reserve(4);
  bool saw_version = false;

  LineReader reader(text);
  std::string_view line;
  std::string error;
  while (reader.next(line, error)) {
    const std::size_t n = reader.number();
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (!saw_version) {
      if (type != 'v' || trim(value) != "0") {
        result.error = fmt::format("line {}: an SDP starts with v=0, not \"{}\"", n, printable(line));
        return result;
      }
      saw_version = true;
      continue;
    }
    if (type == 'm') {
      if (builders.size() >= k_sdp_max_media) {
        result.error = fmt::format("line {}: more than {} m= lines", n, k_sdp_max_media);
        return result;
      }
      builders.emplace_back();
      if (auto e = parse_media_line(value, n, builders.back().media); !e.empty()) {
        result.error = std::move(e);
        return result;
      }
      continue;
    }
    if (type != 'a') continue;  // o=, s=, t=, c=, b= ... carry nothing the answer needs

    const auto [name, attr_value] = split_attribute(value);
    MediaBuilder* b = builders.empty() ? nullptr : &builders.back();
    std::string e;
    if (name == "ice-ufrag" || name == "ice-pwd") {
      if (trim(attr_value).empty()) {
        e = fmt::format("line {}: empty a={}", n, name);
      } else {
        auto& target = b ? (name == "ice-ufrag" ? b->media.ice_ufrag : b->media.ice_pwd)
                         : (name == "ice-ufrag" ? ice_ufrag : ice_pwd);
        target = std::string(trim(attr_value));
      }
    } else if (name == "fingerprint") {
      e = b ? parse_fingerprint(attr_value, n, b->media.fingerprint_algorithm, b->media.fingerprint)
            : parse_fingerprint(attr_value, n, fingerprint_algorithm, fingerprint);
    } else if (name == "setup") {
      (b ? b->media.setup : setup) = lower(trim(attr_value));
    } else if (is_direction(name) && attr_value.empty()) {
      if (b) {
        b->media.direction = std::string(name);
        b->has_direction = true;
      } else {
        direction = std::string(name);
      }
    } else if (name == "ice-options") {
      if (b) {
        add_tokens(attr_value, b->media.ice_options);
        b->has_ice_options = true;
      } else {
        add_tokens(attr_value, offer.ice_options);
      }
    } else if (name == "ice-lite") {
      offer.ice_lite = true;
    } else if (name == "extmap-allow-mixed") {
      offer.extmap_allow_mixed = true;
    } else if (name == "group") {
      const auto f = fields(attr_value);
      if (!b && !f.empty() && f[0] == "BUNDLE" && offer.bundle.empty()) {
        for (std::size_t i = 1; i < f.size(); ++i) offer.bundle.emplace_back(f[i]);
      }
    } else if (!b) {
      // Other session-level attributes (msid-semantic, ...) are not needed.
    } else if (name == "mid") {
      const auto mid = trim(attr_value);
      if (mid.empty()) {
        e = fmt::format("line {}: empty a=mid", n);
      } else {
        for (const auto& other : builders) {
          if (&other != b && other.media.mid == mid) {
            e = fmt::format("line {}: a=mid:{} repeats the mid of the m= line at line {}", n, printable(mid),
                            other.media.line);
          }
        }
        b->media.mid = std::string(mid);
      }
    } else if (name == "rtcp-mux") {
      b->media.rtcp_mux = true;
    } else if (name == "rtcp-rsize") {
      b->media.rtcp_rsize = true;
    } else if (name == "rtpmap") {
      e = parse_rtpmap(attr_value, n, *b);
    } else if (name == "fmtp") {
      const auto space = attr_value.find(' ');
      // Non-RTP sections use fmtp for other formats (a=fmtp:5000 ...): only payload types count.
      if (const auto pt = to_int<int>(attr_value.substr(0, space), 0, k_max_payload_type)) {
        b->fmtps[*pt] = space == std::string_view::npos ? std::string{} : std::string(trim(attr_value.substr(space + 1)));
      }
    } else if (name == "rtcp-fb") {
      const auto space = attr_value.find(' ');
      if (space != std::string_view::npos) {
        const auto pt_text = attr_value.substr(0, space);
        std::string fb(trim(attr_value.substr(space + 1)));
        if (pt_text == "*") {
          b->wildcard_feedback.push_back(std::move(fb));
        } else if (const auto pt = to_int<int>(pt_text, 0, k_max_payload_type)) {
          b->feedback[*pt].push_back(std::move(fb));
        }
      }
    } else if (name == "extmap") {
      e = parse_extmap(attr_value, n, *b);
    } else if (name == "candidate") {
      // Offer candidates are informational for an ICE-lite server; extra ones are dropped.
      if (b->media.candidates.size() < k_sdp_max_candidates) b->media.candidates.emplace_back(trim(attr_value));
    } else if (name == "end-of-candidates") {
      b->media.end_of_candidates = true;
    } else if (name == "bundle-only") {
      b->media.bundle_only = true;
    }
    if (!e.empty()) {
      result.error = std::move(e);
      return result;
    }
  }
  if (!error.empty()) {
    result.error = std::move(error);
    return result;
  }
  if (!saw_version) {
    result.error = "SDP has no lines";
    return result;
  }

  for (auto& b : builders) {
    auto& m = b.media;
    if (m.ice_ufrag.empty()) m.ice_ufrag = ice_ufrag;
    if (m.ice_pwd.empty()) m.ice_pwd = ice_pwd;
    if (m.fingerprint.empty()) {
      m.fingerprint_algorithm = fingerprint_algorithm;
      m.fingerprint = fingerprint;
    }
    if (m.setup.empty()) m.setup = setup;
    if (!b.has_direction && !direction.empty()) m.direction = direction;
    if (!b.has_ice_options) m.ice_options = offer.ice_options;
    b.assemble();
    offer.media.push_back(std::move(m));
  }
  result.offer = std::move(offer);
  return result;
}

SdpFragParseResult parse_sdpfrag(std::string_view text) {
  SdpFragParseResult result;
  if (text.size() > k_sdp_max_size) {
    result.error = fmt::format("sdpfrag is {} bytes, more than the {} allowed", text.size(), k_sdp_max_size);
    return result;
  }
  SdpFrag frag;
  LineReader reader(text);
  std::string_view line;
  std::string error;
  // A section starts at an m= line, or at an a=mid: that is not the first mid of the current one.
  bool section_has_mid = false;
  auto new_section = [&](std::size_t n) -> bool {
    if (frag.media.size() >= k_sdp_max_media) {
      error = fmt::format("line {}: more than {} media sections", n, k_sdp_max_media);
      return false;
    }
    frag.media.emplace_back();
    section_has_mid = false;
    return true;
  };
  while (reader.next(line, error)) {
    const std::size_t n = reader.number();
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (type == 'm') {
      const auto f = fields(value);
      if (f.size() < 4) {
        result.error = fmt::format("line {}: m= line with {} fields", n, f.size());
        return result;
      }
      if (!new_section(n)) break;
      frag.media.back().kind = std::string(f[0]);
      continue;
    }
    if (type != 'a') continue;
    const auto [name, attr_value] = split_attribute(value);
    const auto v = trim(attr_value);
    SdpFragMedia* section = frag.media.empty() ? nullptr : &frag.media.back();
    if (name == "ice-ufrag" || name == "ice-pwd") {
      if (v.empty()) {
        result.error = fmt::format("line {}: empty a={}", n, name);
        return result;
      }
      const bool ufrag = name == "ice-ufrag";
      auto& target = section ? (ufrag ? section->ice_ufrag : section->ice_pwd) : (ufrag ? frag.ice_ufrag : frag.ice_pwd);
      target = std::string(v);
    } else if (name == "ice-options") {
      add_tokens(v, frag.ice_options);
    } else if (name == "group") {
      const auto f = fields(v);
      if (!f.empty() && f[0] == "BUNDLE" && frag.bundle.empty()) {
        for (std::size_t i = 1; i < f.size(); ++i) frag.bundle.emplace_back(f[i]);
      }
    } else if (name == "mid") {
      if (v.empty()) {
        result.error = fmt::format("line {}: empty a=mid", n);
        return result;
      }
      if (section == nullptr || section_has_mid) {
        if (!new_section(n)) break;
        section = &frag.media.back();
      }
      section->mid = std::string(v);
      section_has_mid = true;
    } else if (name == "candidate") {
      if (v.empty()) {
        result.error = fmt::format("line {}: empty a=candidate", n);
        return result;
      }
      if (section == nullptr) {  // candidates before any section: one without a mid
        if (!new_section(n)) break;
        section = &frag.media.back();
      }
      if (section->candidates.size() >= k_sdp_max_candidates) {
        result.error = fmt::format("line {}: more than {} candidates in one section", n, k_sdp_max_candidates);
        return result;
      }
      section->candidates.emplace_back(v);
    } else if (name == "end-of-candidates") {
      if (section) section->end_of_candidates = true;
      frag.end_of_candidates = true;
    }
  }
  if (!error.empty()) {
    result.error = std::move(error);
    return result;
  }
  for (const auto& section : frag.media) {
    if (frag.ice_ufrag.empty() && !section.ice_ufrag.empty()) frag.ice_ufrag = section.ice_ufrag;
    if (frag.ice_pwd.empty() && !section.ice_pwd.empty()) frag.ice_pwd = section.ice_pwd;
  }
  result.frag = std::move(frag);
  return result;
}

std::string format_candidate(const AnswerCandidate& c) {
  std::string out = fmt::format("{} {} {} {} {} {} typ host", c.foundation, c.component, c.transport, c.priority,
                                c.address, c.port);
  if (!c.tcptype.empty()) out += fmt::format(" tcptype {}", c.tcptype);
  return out;
}

std::string build_sdpfrag(const SdpFragAnswerParams& p) {
  std::string out = "a=ice-lite\r\n";
  if (!p.ice_options.empty()) {
    out += "a=ice-options:";
    for (std::size_t i = 0; i < p.ice_options.size(); ++i) out += (i ? " " : "") + p.ice_options[i];
    out += "\r\n";
  }
  if (!p.bundle.empty()) {
    out += "a=group:BUNDLE";
    for (const auto& mid : p.bundle) out += " " + mid;
    out += "\r\n";
  }
  out += fmt::format("m={} 9 UDP/TLS/RTP/SAVPF {}\r\n", p.kind, p.payload_type);
  if (!p.mid.empty()) out += fmt::format("a=mid:{}\r\n", p.mid);
  out += fmt::format("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", p.ice_ufrag, p.ice_pwd);
  for (const auto& c : p.candidates) out += fmt::format("a=candidate:{}\r\n", format_candidate(c));
  out += "a=end-of-candidates\r\n";
  return out;
}

}  // namespace dragon::webrtc
