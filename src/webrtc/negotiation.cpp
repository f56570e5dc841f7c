#include "webrtc/negotiation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "webrtc/h264_profile.hpp"

namespace dragon::webrtc {
namespace {

// The feedback we act on as a sender.
constexpr std::array<std::string_view, 5> k_supported_feedback = {"nack", "nack pli", "ccm fir", "goog-remb",
                                                                  "transport-cc"};

bool can_receive(const SdpMedia& m) { return m.direction == "recvonly" || m.direction == "sendrecv"; }

// DTLS-SRTP profiles (RFC 5764); "RTP/SAVPF" alone is what pre-2014 browsers wrote for the same.
bool secure_rtp(std::string_view protocol) {
  return protocol == "UDP/TLS/RTP/SAVPF" || protocol == "UDP/TLS/RTP/SAVP" || protocol == "TCP/TLS/RTP/SAVPF" ||
         protocol == "TCP/DTLS/RTP/SAVPF" || protocol == "RTP/SAVPF";
}

// Payload types that repair or accompany media rather than carry it.
bool auxiliary_codec(std::string_view name) {
  return iequals(name, "rtx") || iequals(name, "red") || iequals(name, "ulpfec") || iequals(name, "flexfec-03") ||
         iequals(name, "flexfec") || iequals(name, "CN") || iequals(name, "telephone-event");
}

bool is_h264(std::string_view name) { return iequals(name, "H264"); }

std::string describe_track(const SendTrack& t) {
  if (is_h264(t.codec)) return fmt::format("H264 profile-level-id {} packetization-mode 1", t.h264_profile_level_id);
  if (t.channels > 0) return fmt::format("{}/{}/{}", t.codec, t.clock_rate, t.channels);
  return t.codec;
}

std::string describe_offered(const SdpCodec& c) {
  if (is_h264(c.name)) {
    const auto id = fmtp_parameter(c.fmtp, "profile-level-id");
    const auto mode = fmtp_parameter(c.fmtp, "packetization-mode");
    return fmt::format("H264 profile-level-id {} packetization-mode {}", id ? *id : k_h264_default_profile_level_id,
                       mode ? *mode : "0");
  }
  return c.name;
}

struct Choice {
  std::size_t codec_index = 0;
  int packetization_mode = -1;  // H.264 only
};

std::optional<Choice> choose_codec(const SdpMedia& m, const SendTrack& track) {
  if (is_h264(track.codec)) {
    // Packetization-mode 1 (what FFmpeg's RTP muxer writes) before 0, and within a mode the offer's
    // own profile before a Baseline payload type that merely accepts our Constrained Baseline,
    // so the answer's fmtp names the profile the browser listed on that payload type.
    const auto ours = parse_h264_profile_level_id(track.h264_profile_level_id);
    if (!ours) return std::nullopt;
    for (const int mode : {1, 0}) {
      for (const bool exact : {true, false}) {
        for (std::size_t i = 0; i < m.codecs.size(); ++i) {
          if (!h264_can_send(track.h264_profile_level_id, mode, m.codecs[i])) continue;
          const auto theirs = h264_offered_profile_level_id(m.codecs[i]);
          if (!exact || (theirs && theirs->profile == ours->profile)) return Choice{i, mode};
        }
      }
    }
    return std::nullopt;
  }
  for (std::size_t i = 0; i < m.codecs.size(); ++i) {
    const auto& c = m.codecs[i];
    if (!iequals(c.name, track.codec) || c.clock_rate != track.clock_rate) continue;
    if (track.channels > 0 && std::max(c.channels, 1) != track.channels) continue;
    return Choice{i, -1};
  }
  return std::nullopt;
}

int extmap_id(const SdpMedia& m, std::string_view uri) {
  for (const auto& e : m.extmaps) {
    if (e.uri == uri) return e.id;
  }
  return 0;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

void add_unique(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

std::string describe_mline(const SdpMedia& m, std::size_t index) {
  if (m.mid.empty()) return fmt::format("m-line {} ({}, line {})", index, m.kind, m.line);
  return fmt::format("m-line {} ({}, mid {}, line {})", index, m.kind, m.mid, m.line);
}

std::size_t digest_size(std::string_view algorithm) {
  if (algorithm == "sha-1") return 20;
  if (algorithm == "sha-224") return 28;
  if (algorithm == "sha-256") return 32;
  if (algorithm == "sha-384") return 48;
  if (algorithm == "sha-512") return 64;
  return 0;
}

bool valid_fingerprint(std::string_view value, std::size_t bytes) {
  if (value.size() != bytes * 3 - 1) return false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (i % 3 == 2) {
      if (c != ':') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// Checks what the bundled transport needs; returns the reason it is unusable, or empty.
std::string check_transport(const SdpMedia& m, std::size_t index) {
  const auto where = describe_mline(m, index);
  if (m.ice_ufrag.empty() || m.ice_pwd.empty()) return fmt::format("{}: no a=ice-ufrag/a=ice-pwd", where);
  if (!valid_ice_ufrag(m.ice_ufrag)) {
    return fmt::format("{}: a=ice-ufrag must be 4-256 characters of [A-Za-z0-9+/], not {} characters", where,
                       m.ice_ufrag.size());
  }
  if (!valid_ice_pwd(m.ice_pwd)) {
    return fmt::format("{}: a=ice-pwd must be 22-256 characters of [A-Za-z0-9+/], not {} characters", where,
                       m.ice_pwd.size());
  }
  if (m.fingerprint.empty()) return fmt::format("{}: no a=fingerprint (DTLS is required)", where);
  const std::size_t bytes = digest_size(m.fingerprint_algorithm);
  if (bytes == 0) return fmt::format("{}: unsupported fingerprint hash \"{}\"", where, m.fingerprint_algorithm);
  if (!valid_fingerprint(m.fingerprint, bytes)) {
    return fmt::format("{}: a=fingerprint:{} is not {} hex bytes separated by ':'", where, m.fingerprint_algorithm,
                       bytes);
  }
  // Absent means active (RFC 4145); either way we take the passive role.
  if (!m.setup.empty() && m.setup != "actpass" && m.setup != "active") {
    return fmt::format("{}: a=setup:{} (the offer must be actpass or active; this server is DTLS passive)", where,
                       m.setup);
  }
  return {};
}

}  // namespace

Negotiation negotiate(const SdpOffer& offer, const std::optional<SendTrack>& video,
                      const std::optional<SendTrack>& audio) {
  Negotiation n;
  auto fail = [&n](int status, std::string message) {
    n.accepted.clear();
    n.error_status = status;
    n.error = std::move(message);
    return n;
  };
  if (offer.media.empty()) return fail(400, "offer has no m= line");
  if (offer.media.size() > 1 && offer.bundle.empty()) {
    return fail(400, fmt::format("offer has {} m= lines but no a=group:BUNDLE; this server sends all media over "
                                 "one bundled transport",
                                 offer.media.size()));
  }

  // Per kind: whether the offer wants it and what it offered when nothing fit.
  bool video_wanted = false, audio_wanted = false;
  std::vector<std::string> video_offered, audio_offered;
  bool video_served = false, audio_served = false;

  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    const bool is_video = m.kind == "video";
    if (!is_video && m.kind != "audio") continue;
    const auto& track = is_video ? video : audio;
    if (!track || !can_receive(m) || (m.port == 0 && !m.bundle_only) || !secure_rtp(m.protocol)) continue;
    if (!offer.bundle.empty() &&
        (m.mid.empty() || std::find(offer.bundle.begin(), offer.bundle.end(), m.mid) == offer.bundle.end())) {
      continue;  // outside the bundle there is no transport for it
    }
    if (is_video ? video_served : audio_served) continue;
    (is_video ? video_wanted : audio_wanted) = true;
    const auto choice = choose_codec(m, *track);
    if (!choice) {
      for (const auto& c : m.codecs) {
        if (!auxiliary_codec(c.name)) add_unique(is_video ? video_offered : audio_offered, describe_offered(c));
      }
      continue;
    }
    (is_video ? video_served : audio_served) = true;

    NegotiatedMedia nm;
    nm.offer_index = i;
    nm.kind = m.kind;
    nm.mid = m.mid;
    nm.codec = m.codecs[choice->codec_index];
    nm.fmtp = is_h264(track->codec)
                  ? fmt::format("level-asymmetry-allowed=1;packetization-mode={};profile-level-id={}",
                                choice->packetization_mode, track->h264_profile_level_id)
                  : nm.codec.fmtp;
    nm.playout_delay_ext_id = extmap_id(m, k_playout_delay_uri);
    nm.twcc_ext_id = extmap_id(m, k_twcc_uri);
    for (const auto& fb : nm.codec.rtcp_fb) {
      if (std::find(k_supported_feedback.begin(), k_supported_feedback.end(), fb) == k_supported_feedback.end()) continue;
      if (fb == "transport-cc" && nm.twcc_ext_id == 0) continue;
      add_unique(nm.rtcp_fb, fb);
    }
    nm.rtcp_rsize = m.rtcp_rsize;
    n.accepted.push_back(std::move(nm));
  }

  const bool video_mismatch = video_wanted && !video_served;
  const bool audio_mismatch = audio_wanted && !audio_served;
  if (video_mismatch || n.accepted.empty()) {
    std::vector<std::string> we_send;
    if (video) we_send.push_back(describe_track(*video));
    if (audio) we_send.push_back(describe_track(*audio));
    const std::string ours = we_send.empty() ? "this process has no track to send" : "we send " + join(we_send, " and ");
    std::vector<std::string> parts;
    if (video_mismatch) parts.push_back("video offered " + (video_offered.empty() ? "no codec" : join(video_offered, ", ")));
    if (audio_mismatch) parts.push_back("audio offered " + (audio_offered.empty() ? "no codec" : join(audio_offered, ", ")));
    if (!parts.empty()) return fail(406, fmt::format("offer has no codec we can send: {}; {}", join(parts, "; "), ours));
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < offer.media.size(); ++i) {
      const auto& m = offer.media[i];
      lines.push_back(fmt::format("{} {} {}", m.kind, m.direction, m.protocol));
    }
    return fail(406, fmt::format("offer has no m-line that can receive what we send: it has {}; {}",
                                 join(lines, ", "), ours));
  }

  for (const auto& a : n.accepted) {
    const auto& m = offer.media[a.offer_index];
    if (!m.rtcp_mux) {
      return fail(400, fmt::format("{}: no a=rtcp-mux (required with BUNDLE and by this server)",
                                   describe_mline(m, a.offer_index)));
    }
  }

  // The transport: the first accepted m-line in the offer's BUNDLE order (the one whose ufrag the
  // browser's STUN checks carry), or the only m-line.
  std::size_t transport = n.accepted.front().offer_index;
  for (const auto& mid : offer.bundle) {
    const auto it = std::find_if(n.accepted.begin(), n.accepted.end(), [&](const auto& a) { return a.mid == mid; });
    if (it != n.accepted.end()) {
      transport = it->offer_index;
      break;
    }
  }
  const auto& t = offer.media[transport];
  if (auto e = check_transport(t, transport); !e.empty()) return fail(400, std::move(e));
  n.ice_ufrag = t.ice_ufrag;
  n.ice_pwd = t.ice_pwd;
  n.fingerprint_algorithm = t.fingerprint_algorithm;
  n.fingerprint = t.fingerprint;
  n.setup = t.setup;
  return n;
}

std::string build_answer(const SdpOffer& offer, const Negotiation& negotiation, const AnswerParams& params) {
  std::string out;
  out.reserve(2048);
  out += fmt::format("v=0\r\no=- {} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", params.session_id);
  out += "a=ice-lite\r\n";
  std::vector<std::string> mids;
  for (const auto& mid : offer.bundle) {
    const bool accepted = std::any_of(negotiation.accepted.begin(), negotiation.accepted.end(),
                                      [&](const auto& a) { return a.mid == mid; });
    if (accepted) mids.push_back(mid);
  }
  if (!mids.empty()) out += "a=group:BUNDLE " + join(mids, " ") + "\r\n";
  out += fmt::format("a=msid-semantic: WMS {}\r\n", params.stream_id);

  // The default candidate for m= and c=: our first candidate if it is an address literal.
  std::string connection = "IN IP4 0.0.0.0";
  int port = 9;
  if (!params.candidates.empty()) {
    const auto& c = params.candidates.front();
    const bool v6 = c.address.find(':') != std::string::npos;
    connection = fmt::format("IN {} {}", v6 ? "IP6" : "IP4", c.address);
    port = c.port;
  }

  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    const auto it = std::find_if(negotiation.accepted.begin(), negotiation.accepted.end(),
                                 [&](const auto& a) { return a.offer_index == i; });
    if (it == negotiation.accepted.end()) {
      // One of the offer's formats with its rtpmap: aiortc needs a codec it knows even on a rejected
      // m-line ("Failed to set remote audio description send parameters" otherwise).
      const SdpCodec* first = m.codecs.empty() ? nullptr : &m.codecs.front();
      out += fmt::format("m={} 0 {} {}\r\nc=IN IP4 0.0.0.0\r\n", m.kind, m.protocol,
                         first ? std::to_string(first->payload_type) : join(m.formats, " "));
      if (first && first->channels > 0) {
        out += fmt::format("a=rtpmap:{} {}/{}/{}\r\n", first->payload_type, first->name, first->clock_rate, first->channels);
      } else if (first) {
        out += fmt::format("a=rtpmap:{} {}/{}\r\n", first->payload_type, first->name, first->clock_rate);
      }
      if (!m.mid.empty()) out += fmt::format("a=mid:{}\r\n", m.mid);
      // Transport attributes on rejected sections too: aiortc refuses an answer whose m-lines lack them.
      out += fmt::format("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", params.ice_ufrag, params.ice_pwd);
      out += fmt::format("a=fingerprint:sha-256 {}\r\n", params.fingerprint_sha256);
      out += "a=setup:passive\r\n";
      out += "a=inactive\r\na=rtcp-mux\r\n";
      continue;
    }
    const auto& a = *it;
    const int pt = a.codec.payload_type;
    const bool video = a.kind == "video";
    const std::uint32_t ssrc = video ? params.video_ssrc : params.audio_ssrc;
    const std::string track_id = fmt::format("{}-{}", params.stream_id, a.kind);

    out += fmt::format("m={} {} {} {}\r\nc={}\r\n", m.kind, port, m.protocol, pt, connection);
    out += fmt::format("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", params.ice_ufrag, params.ice_pwd);
    out += fmt::format("a=fingerprint:sha-256 {}\r\n", params.fingerprint_sha256);
    out += "a=setup:passive\r\n";
    if (!a.mid.empty()) out += fmt::format("a=mid:{}\r\n", a.mid);
    if (a.playout_delay_ext_id != 0) out += fmt::format("a=extmap:{} {}\r\n", a.playout_delay_ext_id, k_playout_delay_uri);
    if (a.twcc_ext_id != 0) out += fmt::format("a=extmap:{} {}\r\n", a.twcc_ext_id, k_twcc_uri);
    out += can_receive(m) ? "a=sendonly\r\n" : "a=inactive\r\n";
    out += fmt::format("a=msid:{} {}\r\n", params.stream_id, track_id);
    out += "a=rtcp-mux\r\n";
    if (a.rtcp_rsize) out += "a=rtcp-rsize\r\n";
    if (a.codec.channels > 0) {
      out += fmt::format("a=rtpmap:{} {}/{}/{}\r\n", pt, a.codec.name, a.codec.clock_rate, a.codec.channels);
    } else {
      out += fmt::format("a=rtpmap:{} {}/{}\r\n", pt, a.codec.name, a.codec.clock_rate);
    }
    for (const auto& fb : a.rtcp_fb) out += fmt::format("a=rtcp-fb:{} {}\r\n", pt, fb);
    if (!a.fmtp.empty()) out += fmt::format("a=fmtp:{} {}\r\n", pt, a.fmtp);
    out += fmt::format("a=ssrc:{} cname:{}\r\n", ssrc, params.cname);
    out += fmt::format("a=ssrc:{} msid:{} {}\r\n", ssrc, params.stream_id, track_id);
    for (const auto& c : params.candidates) out += fmt::format("a=candidate:{}\r\n", format_candidate(c));
    out += "a=end-of-candidates\r\n";
  }
  return out;
}

}  // namespace dragon::webrtc
