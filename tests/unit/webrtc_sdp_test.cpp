#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "webrtc/negotiation.hpp"
#include "webrtc/sdp.hpp"

using namespace dragon::webrtc;
namespace fs = std::filesystem;

namespace {

fs::path sdp_dir() { return fs::path(DRAGON_SOURCE_DIR) / "tests" / "data" / "sdp"; }

std::string read_sdp(const std::string& name) {
  std::ifstream in(sdp_dir() / name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> all_sdp_files() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(sdp_dir())) {
    if (e.path().extension() == ".sdp") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

SdpOffer parse_ok(const std::string& text) {
  auto r = parse_sdp_offer(text);
  EXPECT_TRUE(r) << r.error;
  return r ? *r.offer : SdpOffer{};
}

SendTrack h264_track() { return {"H264", 90000, 0, "42e01f"}; }
SendTrack opus_track() { return {"opus", 48000, 2, ""}; }

Negotiation negotiate_default(const SdpOffer& offer) { return negotiate(offer, h264_track(), opus_track()); }

AnswerParams answer_params() {
  AnswerParams p;
  p.session_id = 4242;
  p.ice_ufrag = "srvU";
  p.ice_pwd = "0123456789abcdefghijkl";
  p.fingerprint_sha256 =
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
  p.candidates = {{"1", 1, "udp", 2130706431, "192.0.2.10", 8555, ""},
                  {"2", 1, "tcp", 1671430143, "192.0.2.10", 8555, "passive"}};
  p.video_ssrc = 1111;
  p.audio_ssrc = 2222;
  p.cname = "dragon";
  p.stream_id = "proc1";
  return p;
}

const NegotiatedMedia* accepted_kind(const Negotiation& n, std::string_view kind) {
  for (const auto& a : n.accepted) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// Drops every line that starts with `prefix` (either line ending).
std::string drop_lines(const std::string& s, std::string_view prefix) {
  std::string out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto nl = s.find('\n', pos);
    const auto end = nl == std::string::npos ? s.size() : nl + 1;
    const std::string_view line(s.data() + pos, end - pos);
    if (line.substr(0, prefix.size()) != prefix) out.append(line);
    pos = end;
  }
  return out;
}

// The checks whep-interop.md demands of every answer, plus a re-parse with our own parser.
void check_answer(const SdpOffer& offer, const Negotiation& n, const std::string& answer) {
  SCOPED_TRACE(answer);
  EXPECT_EQ(answer.find("\n"), answer.find("\r\n") + 1) << "CRLF line endings";
  EXPECT_FALSE(contains(answer, "actpass"));
  EXPECT_TRUE(contains(answer, "\r\na=ice-lite\r\n"));
  const auto session = answer.substr(0, answer.find("\r\nm="));
  EXPECT_TRUE(contains(session, "a=ice-lite")) << "ice-lite must be at session level (aiortc)";
  EXPECT_FALSE(contains(answer, "profile-level-id=4d")) << "aiortc rejects Main";

  const auto reparsed = parse_sdp_offer(answer);
  ASSERT_TRUE(reparsed) << reparsed.error;
  const auto& a = *reparsed.offer;
  ASSERT_EQ(a.media.size(), offer.media.size()) << "every offered m-line is answered";
  std::vector<std::string> accepted_mids;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& om = offer.media[i];
    const auto& am = a.media[i];
    EXPECT_EQ(am.kind, om.kind);
    EXPECT_EQ(am.mid, om.mid);
    const auto it = std::find_if(n.accepted.begin(), n.accepted.end(), [&](const auto& x) { return x.offer_index == i; });
    if (it == n.accepted.end()) {
      EXPECT_EQ(am.port, 0);
      EXPECT_EQ(am.direction, "inactive");
      // The first offered format with its rtpmap (aiortc needs a codec even on a rejected m-line).
      ASSERT_FALSE(am.formats.empty());
      EXPECT_EQ(am.formats.front(), om.formats.front());
      if (!om.codecs.empty()) {
        ASSERT_EQ(am.codecs.size(), 1u);
        EXPECT_EQ(am.codecs[0].name, om.codecs[0].name);
      }
      EXPECT_FALSE(am.ice_ufrag.empty());
      EXPECT_TRUE(am.rtcp_mux);
      continue;
    }
    accepted_mids.push_back(am.mid);
    EXPECT_NE(am.port, 0);
    EXPECT_EQ(am.direction, "sendonly");
    EXPECT_EQ(am.setup, "passive");
    EXPECT_TRUE(am.rtcp_mux);
    EXPECT_EQ(am.rtcp_rsize, om.rtcp_rsize);
    EXPECT_EQ(am.fingerprint_algorithm, "sha-256");
    EXPECT_EQ(am.ice_ufrag, "srvU");
    EXPECT_EQ(am.ice_pwd, "0123456789abcdefghijkl");
    EXPECT_EQ(am.candidates.size(), 2u);
    EXPECT_TRUE(am.end_of_candidates);
    ASSERT_EQ(am.codecs.size(), 1u) << "only the chosen payload type";
    EXPECT_EQ(am.codecs[0].payload_type, it->codec.payload_type);
    EXPECT_TRUE(iequals(am.codecs[0].name, it->codec.name));
    if (iequals(it->codec.name, "H264")) {
      EXPECT_EQ(fmtp_parameter(am.codecs[0].fmtp, "profile-level-id"), std::optional<std::string_view>("42e01f"));
      EXPECT_EQ(fmtp_parameter(am.codecs[0].fmtp, "packetization-mode"), std::optional<std::string_view>("1"));
      EXPECT_EQ(fmtp_parameter(am.codecs[0].fmtp, "level-asymmetry-allowed"), std::optional<std::string_view>("1"));
    }
    // Only negotiated header extensions, with the offer's ids.
    for (const auto& ext : am.extmaps) {
      EXPECT_TRUE(ext.uri == k_playout_delay_uri || ext.uri == k_twcc_uri) << ext.uri;
      const auto offered = std::find_if(om.extmaps.begin(), om.extmaps.end(), [&](const auto& e) { return e.uri == ext.uri; });
      ASSERT_NE(offered, om.extmaps.end());
      EXPECT_EQ(offered->id, ext.id);
    }
    const auto ssrc = it->kind == "video" ? "a=ssrc:1111 cname:dragon" : "a=ssrc:2222 cname:dragon";
    EXPECT_TRUE(contains(answer, ssrc));
  }
  if (!offer.bundle.empty()) {
    EXPECT_EQ(a.bundle, accepted_mids);
  }
}

}  // namespace

TEST(WebrtcSdp, EveryTestOfferParses) {
  const auto names = all_sdp_files();
  ASSERT_GE(names.size(), 9u);
  for (const auto& name : names) {
    const auto r = parse_sdp_offer(read_sdp(name));
    EXPECT_TRUE(r) << name << ": " << r.error;
    if (r) {
      EXPECT_FALSE(r.offer->media.empty()) << name;
    }
  }
}

TEST(WebrtcSdp, ChromiumOfferDetails) {
  const auto o = parse_ok(read_sdp("chromium-156-linux-recvonly.sdp"));
  ASSERT_EQ(o.media.size(), 2u);
  EXPECT_EQ(o.bundle, (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(o.extmap_allow_mixed);
  const auto& v = o.media[0];
  EXPECT_EQ(v.kind, "video");
  EXPECT_EQ(v.port, 9);
  EXPECT_EQ(v.protocol, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(v.mid, "0");
  EXPECT_EQ(v.direction, "recvonly");
  EXPECT_EQ(v.ice_ufrag, "FH0r");
  EXPECT_EQ(v.ice_pwd, "QgQ+km08TG+wDGQT74Nwy7j2");
  EXPECT_EQ(v.fingerprint_algorithm, "sha-256");
  EXPECT_EQ(v.setup, "actpass");
  EXPECT_TRUE(v.rtcp_mux);
  EXPECT_TRUE(v.rtcp_rsize);
  EXPECT_EQ(v.candidates.size(), 2u);
  EXPECT_EQ(v.formats.size(), 34u);
  ASSERT_EQ(v.codecs.size(), v.formats.size());  // every format has an rtpmap, kept in m= order
  for (std::size_t i = 0; i < v.codecs.size(); ++i) EXPECT_EQ(std::to_string(v.codecs[i].payload_type), v.formats[i]);
  EXPECT_EQ(v.codecs[0].name, "VP8");
  EXPECT_EQ(v.codecs[0].rtcp_fb, (std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}));
  const auto pt39 = std::find_if(v.codecs.begin(), v.codecs.end(), [](const auto& c) { return c.payload_type == 39; });
  ASSERT_NE(pt39, v.codecs.end());
  EXPECT_EQ(pt39->name, "H264");
  EXPECT_EQ(pt39->fmtp, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f");
  ASSERT_GE(v.extmaps.size(), 5u);
  EXPECT_EQ(v.extmaps[4].id, 5);
  EXPECT_EQ(v.extmaps[4].uri, k_playout_delay_uri);
  const auto& a = o.media[1];
  EXPECT_EQ(a.kind, "audio");
  EXPECT_EQ(a.codecs[0].name, "opus");
  EXPECT_EQ(a.codecs[0].clock_rate, 48000);
  EXPECT_EQ(a.codecs[0].channels, 2);
}

TEST(WebrtcSdp, FirefoxSessionDefaultsAndQuirks) {
  const auto o = parse_ok(read_sdp("firefox-esr-153-linux-no-h264-recvonly.sdp"));
  ASSERT_EQ(o.media.size(), 2u);
  for (const auto& m : o.media) {
    EXPECT_EQ(m.direction, "recvonly") << "m-line direction wins over session a=sendrecv";
    EXPECT_EQ(m.fingerprint_algorithm, "sha-256") << "session-level fingerprint applies";
    EXPECT_EQ(m.ice_ufrag, "697eed33");
    EXPECT_TRUE(m.end_of_candidates);
    EXPECT_EQ(m.ice_options, (std::vector<std::string>{"trickle"}));
  }
  const auto& v = o.media[0];
  const auto pd = std::find_if(v.extmaps.begin(), v.extmaps.end(), [](const auto& e) { return e.id == 6; });
  ASSERT_NE(pd, v.extmaps.end());
  EXPECT_EQ(pd->direction, "recvonly");
  EXPECT_EQ(pd->uri, k_playout_delay_uri);
  // fmtp before rtpmap (Firefox's order) still lands on the codec.
  EXPECT_EQ(v.codecs[0].name, "VP8");
  EXPECT_EQ(v.codecs[0].fmtp, "max-fs=12288;max-fr=60");
  // Component-2 and TCP candidates are kept as written.
  EXPECT_EQ(v.candidates.size(), 8u);
}

TEST(WebrtcSdp, LfOnlyWithoutFinalNewline) {
  const auto text = read_sdp("opera-52-desktop-recvonly.sdp");
  ASSERT_NE(text.back(), '\n');
  const auto o = parse_ok(text);
  ASSERT_EQ(o.media.size(), 2u);
  EXPECT_EQ(o.media[1].codecs.back().name, "ulpfec") << "the last line counts although unterminated";
  // The same text in CRLF parses identically.
  const auto crlf = parse_ok(replace_all(text, "\n", "\r\n"));
  ASSERT_EQ(crlf.media.size(), 2u);
  EXPECT_EQ(crlf.media[1].codecs.size(), o.media[1].codecs.size());
  EXPECT_EQ(crlf.media[1].ice_pwd, o.media[1].ice_pwd);
}

TEST(WebrtcSdp, LegacyOfferStaticPayloadTypesAndSessionCredentials) {
  const auto o = parse_ok(read_sdp("firefox-nightly-2012-desktop-legacy-no-bundle-sendrecv.sdp"));
  ASSERT_EQ(o.media.size(), 3u);
  EXPECT_TRUE(o.bundle.empty());
  EXPECT_EQ(o.media[0].ice_ufrag, "e5785931");
  EXPECT_TRUE(o.media[0].mid.empty());
  EXPECT_EQ(o.media[0].codecs.size(), 4u);
  EXPECT_EQ(o.media[2].protocol, "DTLS/SCTP");
  EXPECT_TRUE(o.media[2].codecs.empty()) << "no codecs for a non-RTP m-line";
}

// Negotiation with the process's usual tracks: H.264 42e01f (packetization-mode 1) + Opus.
struct Expected {
  const char* file;
  int video_pt;  // -1: video rejected
  int audio_pt;  // -1: audio rejected
};

TEST(WebrtcSdp, NegotiatesEveryBrowserThatCanPlayUs) {
  const Expected cases[] = {
      {"chromium-156-linux-recvonly.sdp", 108, 111},            // 42e01f mode 1 (exact profile before 42001f)
      {"chrome-2022-desktop-millicast-viewer-recvonly.sdp", 108, 111},
      {"chrome-63-android-recvonly.sdp", 127, 111},             // only 42001f: Baseline takes our CB
      {"opera-52-desktop-recvonly.sdp", 100, 111},              // 420032: Baseline 5.0
      {"safari-2020-macos-or-ios-sendrecv.sdp", 98, 111},       // 640c1f first, not ours; then 42e01f
      {"firefox-60-desktop-recvonly.sdp", 126, 109},            // 126 mode 1, not 97 mode 0
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const auto offer = parse_ok(read_sdp(c.file));
    const auto n = negotiate_default(offer);
    ASSERT_EQ(n.error_status, 0) << n.error;
    const auto* v = accepted_kind(n, "video");
    const auto* a = accepted_kind(n, "audio");
    ASSERT_TRUE(v);
    ASSERT_TRUE(a);
    EXPECT_EQ(v->codec.payload_type, c.video_pt);
    EXPECT_EQ(a->codec.payload_type, c.audio_pt);
    EXPECT_EQ(n.fingerprint_algorithm, "sha-256");
    EXPECT_FALSE(n.ice_ufrag.empty());
    EXPECT_EQ(n.setup, "actpass");
    check_answer(offer, n, build_answer(offer, n, answer_params()));
  }
}

TEST(WebrtcSdp, NegotiatedDetailsForChromium) {
  const auto offer = parse_ok(read_sdp("chromium-156-linux-recvonly.sdp"));
  const auto n = negotiate_default(offer);
  ASSERT_EQ(n.error_status, 0) << n.error;
  const auto* v = accepted_kind(n, "video");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->mid, "0");
  EXPECT_EQ(v->offer_index, 0u);
  EXPECT_EQ(v->playout_delay_ext_id, 5);
  EXPECT_EQ(v->twcc_ext_id, 4);
  EXPECT_TRUE(v->rtcp_rsize);
  EXPECT_EQ(v->rtcp_fb, (std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}));
  EXPECT_EQ(v->fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  const auto* a = accepted_kind(n, "audio");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->playout_delay_ext_id, 0);
  EXPECT_EQ(a->fmtp, "minptime=10;useinbandfec=1");
  EXPECT_EQ(n.ice_ufrag, "FH0r");
  EXPECT_EQ(n.ice_pwd, "QgQ+km08TG+wDGQT74Nwy7j2");

  const auto answer = build_answer(offer, n, answer_params());
  EXPECT_TRUE(contains(answer, "a=group:BUNDLE 0 1\r\n"));
  EXPECT_TRUE(contains(answer, "m=video 8555 UDP/TLS/RTP/SAVPF 108\r\nc=IN IP4 192.0.2.10\r\n"));
  EXPECT_TRUE(contains(answer, "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n"));
  EXPECT_FALSE(contains(answer, "abs-send-time"));
  EXPECT_TRUE(contains(answer, "a=candidate:2 1 tcp 1671430143 192.0.2.10 8555 typ host tcptype passive\r\n"));
  EXPECT_TRUE(contains(answer, "a=msid:proc1 proc1-video\r\n"));
  EXPECT_TRUE(contains(answer, "a=ssrc:1111 msid:proc1 proc1-video\r\n"));
  EXPECT_TRUE(contains(answer, "a=fingerprint:sha-256 AB:CD:"));
}

TEST(WebrtcSdp, MillicastThirdVideoIsRejected) {
  const auto offer = parse_ok(read_sdp("chrome-2022-desktop-millicast-viewer-recvonly.sdp"));
  ASSERT_EQ(offer.media.size(), 3u);
  const auto n = negotiate_default(offer);
  ASSERT_EQ(n.error_status, 0) << n.error;
  EXPECT_EQ(n.accepted.size(), 2u);
  const auto answer = build_answer(offer, n, answer_params());
  EXPECT_TRUE(contains(answer, "a=group:BUNDLE 0 1\r\n"));
  EXPECT_TRUE(contains(answer, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 "));
}

TEST(WebrtcSdp, SafariDataChannelRejectedInOrder) {
  const auto offer = parse_ok(read_sdp("safari-2020-macos-or-ios-sendrecv.sdp"));
  const auto n = negotiate_default(offer);
  ASSERT_EQ(n.error_status, 0) << n.error;
  const auto answer = build_answer(offer, n, answer_params());
  EXPECT_TRUE(contains(answer, "a=group:BUNDLE audio video\r\n"));
  EXPECT_TRUE(contains(answer, "m=application 0 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\na=mid:data\r\na=ice-ufrag:"));
  EXPECT_LT(answer.find("a=mid:audio"), answer.find("a=mid:video"));
}

TEST(WebrtcSdp, NoH264Is406WithWhatWasOffered) {
  {
    const auto n = negotiate_default(parse_ok(read_sdp("firefox-esr-153-linux-no-h264-recvonly.sdp")));
    EXPECT_EQ(n.error_status, 406);
    EXPECT_TRUE(n.accepted.empty());
    EXPECT_EQ(n.error,
              "offer has no codec we can send: video offered VP8, VP9, AV1; we send H264 profile-level-id 42e01f "
              "packetization-mode 1 and opus/48000/2");
  }
  {
    const auto n = negotiate_default(parse_ok(read_sdp("chrome-2018-desktop-video-only-no-h264-sendrecv.sdp")));
    EXPECT_EQ(n.error_status, 406);
    EXPECT_EQ(n.error,
              "offer has no codec we can send: video offered VP8, VP9; we send H264 profile-level-id 42e01f "
              "packetization-mode 1 and opus/48000/2");
  }
}

TEST(WebrtcSdp, Vp8TrackServesFirefoxEsr) {
  const auto offer = parse_ok(read_sdp("firefox-esr-153-linux-no-h264-recvonly.sdp"));
  const auto n = negotiate(offer, SendTrack{"VP8", 90000, 0, ""}, opus_track());
  ASSERT_EQ(n.error_status, 0) << n.error;
  EXPECT_EQ(accepted_kind(n, "video")->codec.payload_type, 120);
  EXPECT_EQ(accepted_kind(n, "audio")->codec.payload_type, 109);
  EXPECT_EQ(accepted_kind(n, "video")->playout_delay_ext_id, 6);
  check_answer(offer, n, build_answer(offer, n, answer_params()));
}

TEST(WebrtcSdp, H264ProfileMismatchNamesTheOfferedProfiles) {
  // Only High (Safari's 640c1f alone): our Constrained Baseline does not fit it.
  auto text = read_sdp("safari-2020-macos-or-ios-sendrecv.sdp");
  text = replace_all(text, "profile-level-id=42e01f", "profile-level-id=640c1f");
  const auto n = negotiate(parse_ok(text), h264_track(), std::nullopt);
  EXPECT_EQ(n.error_status, 406);
  EXPECT_TRUE(contains(n.error, "H264 profile-level-id 640c1f packetization-mode 1")) << n.error;
  EXPECT_TRUE(contains(n.error, "VP8")) << n.error;
  EXPECT_FALSE(contains(n.error, "rtx")) << n.error;
  EXPECT_TRUE(contains(n.error, "we send H264 profile-level-id 42e01f packetization-mode 1")) << n.error;
}

TEST(WebrtcSdp, LegacyNoBundleOfferIsA400) {
  const auto n = negotiate_default(parse_ok(read_sdp("firefox-nightly-2012-desktop-legacy-no-bundle-sendrecv.sdp")));
  EXPECT_EQ(n.error_status, 400);
  EXPECT_TRUE(contains(n.error, "BUNDLE")) << n.error;
  EXPECT_TRUE(n.accepted.empty());
}

TEST(WebrtcSdp, TracksMissingFromTheProcess) {
  const auto offer = parse_ok(read_sdp("chromium-156-linux-recvonly.sdp"));
  {  // no audio track: the audio m-line is rejected, not an error
    const auto n = negotiate(offer, h264_track(), std::nullopt);
    ASSERT_EQ(n.error_status, 0) << n.error;
    ASSERT_EQ(n.accepted.size(), 1u);
    EXPECT_EQ(n.accepted[0].kind, "video");
    const auto answer = build_answer(offer, n, answer_params());
    EXPECT_TRUE(contains(answer, "a=group:BUNDLE 0\r\n"));
    EXPECT_TRUE(contains(answer, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"));
    check_answer(offer, n, answer);
  }
  {  // audio-only process
    const auto n = negotiate(offer, std::nullopt, opus_track());
    ASSERT_EQ(n.error_status, 0) << n.error;
    ASSERT_EQ(n.accepted.size(), 1u);
    EXPECT_EQ(n.accepted[0].kind, "audio");
    // The transport is the first *accepted* bundled m-line.
    EXPECT_EQ(n.ice_ufrag, "FH0r");
    check_answer(offer, n, build_answer(offer, n, answer_params()));
  }
  {  // nothing to send at all
    const auto n = negotiate(offer, std::nullopt, std::nullopt);
    EXPECT_EQ(n.error_status, 406);
    EXPECT_TRUE(contains(n.error, "this process has no track to send")) << n.error;
  }
}

TEST(WebrtcSdp, SendonlyOfferCannotReceive) {
  auto text = replace_all(read_sdp("chromium-156-linux-recvonly.sdp"), "a=recvonly", "a=sendonly");
  const auto n = negotiate_default(parse_ok(text));
  EXPECT_EQ(n.error_status, 406);
  EXPECT_TRUE(contains(n.error, "no m-line that can receive")) << n.error;
  EXPECT_TRUE(contains(n.error, "video sendonly UDP/TLS/RTP/SAVPF")) << n.error;
}

TEST(WebrtcSdp, MalformedTransportIsA400) {
  const auto base = read_sdp("chromium-156-linux-recvonly.sdp");
  struct Case {
    std::string text;
    const char* expect;
  };
  const Case cases[] = {
      {drop_lines(base, "a=ice-ufrag"), "no a=ice-ufrag/a=ice-pwd"},
      {drop_lines(base, "a=ice-pwd"), "no a=ice-ufrag/a=ice-pwd"},
      {drop_lines(base, "a=fingerprint"), "no a=fingerprint"},
      {drop_lines(base, "a=rtcp-mux"), "no a=rtcp-mux"},
      {drop_lines(base, "a=group:BUNDLE"), "no a=group:BUNDLE"},
      {replace_all(base, "a=setup:actpass", "a=setup:passive"), "a=setup:passive"},
      {replace_all(base, "a=setup:actpass", "a=setup:holdconn"), "a=setup:holdconn"},
      {replace_all(base, "a=ice-ufrag:FH0r", "a=ice-ufrag:FH0"), "a=ice-ufrag must be 4-256"},
      {replace_all(base, "a=ice-ufrag:FH0r", "a=ice-ufrag:FH0r;bad"), "a=ice-ufrag must be 4-256"},
      {replace_all(base, "a=ice-pwd:QgQ+km08TG+wDGQT74Nwy7j2", "a=ice-pwd:short"), "a=ice-pwd must be 22-256"},
      {replace_all(base, "a=fingerprint:sha-256", "a=fingerprint:md5"), "unsupported fingerprint hash \"md5\""},
      {replace_all(base, "a=fingerprint:sha-256 96:75", "a=fingerprint:sha-256 96:7"), "is not 32 hex bytes"},
      {replace_all(base, "a=fingerprint:sha-256 96:75", "a=fingerprint:sha-1 96:75"), "is not 20 hex bytes"},
  };
  for (const auto& c : cases) {
    const auto r = parse_sdp_offer(c.text);
    ASSERT_TRUE(r) << r.error;
    const auto n = negotiate_default(*r.offer);
    EXPECT_EQ(n.error_status, 400) << c.expect;
    EXPECT_TRUE(contains(n.error, c.expect)) << n.error;
    EXPECT_TRUE(n.accepted.empty());
  }
  // Absent a=setup means active (RFC 4145): accepted.
  const auto n = negotiate_default(parse_ok(drop_lines(base, "a=setup")));
  EXPECT_EQ(n.error_status, 0) << n.error;
  const auto active = negotiate_default(parse_ok(replace_all(base, "a=setup:actpass", "a=setup:active")));
  EXPECT_EQ(active.error_status, 0) << active.error;
  EXPECT_TRUE(contains(build_answer(parse_ok(base), active, answer_params()), "a=setup:passive"));
}

TEST(WebrtcSdp, PerMlineCredentialsUseTheFirstBundled) {
  // aiortc sends different ice-ufrag/pwd per m-line although it bundles.
  auto text = read_sdp("chromium-156-linux-recvonly.sdp");
  const auto audio_at = text.find("m=audio");
  text = text.substr(0, audio_at) + replace_all(text.substr(audio_at), "a=ice-ufrag:FH0r", "a=ice-ufrag:zzzz");
  const auto n = negotiate_default(parse_ok(text));
  ASSERT_EQ(n.error_status, 0) << n.error;
  EXPECT_EQ(n.ice_ufrag, "FH0r");
}

TEST(WebrtcSdp, NoTwccWithoutItsExtension) {
  const auto offer = parse_ok(read_sdp("firefox-60-desktop-recvonly.sdp"));
  const auto n = negotiate_default(offer);
  ASSERT_EQ(n.error_status, 0) << n.error;
  const auto* v = accepted_kind(n, "video");
  EXPECT_EQ(v->twcc_ext_id, 0);
  EXPECT_EQ(v->playout_delay_ext_id, 0);
  EXPECT_EQ(v->rtcp_fb, (std::vector<std::string>{"nack", "nack pli", "ccm fir", "goog-remb"}));
  const auto answer = build_answer(offer, n, answer_params());
  EXPECT_FALSE(contains(answer, "a=extmap"));
  EXPECT_TRUE(contains(answer, "a=mid:sdparta_0"));
  EXPECT_TRUE(contains(answer, "a=rtpmap:109 opus/48000/2\r\n"));
}

TEST(WebrtcSdp, ParseErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string expect;
  };
  const std::string head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  const Case cases[] = {
      {"", "SDP is empty"},
      {"\r\n\r\n", "SDP has no lines"},
      {"o=- 1 2 IN IP4 0.0.0.0\r\n", "line 1: an SDP starts with v=0"},
      {"v=1\r\n", "line 1: an SDP starts with v=0"},
      {head + "a=group:BUNDLE 0\r\na=x\r\nm=video 9 UDP/TLS/RTP/SAVPF\r\n", "line 7: m= line with 3 fields"},
      {head + "m=video nine UDP/TLS/RTP/SAVPF 96\r\n", "line 5: m= port \"nine\" is not 0-65535"},
      {head + "m=video 70000 UDP/TLS/RTP/SAVPF 96\r\n", "line 5: m= port"},
      {head + "m=video 9 UDP/TLS/RTP/SAVPF 96 128\r\n", "line 5: payload type \"128\" is not 0-127"},
      {head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96\r\n", "line 6: a=rtpmap:\"96\""},
      {head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8\r\n", "line 6: a=rtpmap:96 has no"},
      {head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/fast\r\n", "line 6: a=rtpmap:96 clock rate"},
      {head + "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 opus/48000/0\r\n", "line 6: a=rtpmap:96 channels"},
      {head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=extmap:0 urn:x\r\n", "line 6: a=extmap id \"0\""},
      {head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=extmap:3\r\n", "line 6: a=extmap without a URI"},
      {head + "a=fingerprint:sha-256\r\n", "line 5: a=fingerprint is not <hash> <value>"},
      {head + "a=ice-ufrag:\r\n", "line 5: empty a=ice-ufrag"},
      {head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:\r\n", "line 6: empty a=mid"},
      {head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n",
       "line 8: a=mid:0 repeats the mid of the m= line at line 5"},
      {head + std::string("a=x\0y\r\n", 7), "line 5: control character 0x00"},
      {head + "a=x\ry\r\n", "line 5: control character 0x0d"},
      {head + "hello\r\n", "line 5: not a <letter>=<value> line"},
      {head + "A=b\r\n", "line 5: not a <letter>=<value> line"},
      {head + "a=" + std::string(5000, 'x') + "\r\n", "line 5: longer than 4096 characters"},
  };
  for (const auto& c : cases) {
    const auto r = parse_sdp_offer(c.text);
    EXPECT_FALSE(r) << c.expect;
    EXPECT_TRUE(r.error.rfind(c.expect, 0) == 0) << "got: " << r.error << "\nwanted: " << c.expect;
  }
}

TEST(WebrtcSdp, SizeAndCountLimits) {
  const std::string head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  {
    const auto r = parse_sdp_offer(head + std::string(k_sdp_max_size, 'x'));
    EXPECT_FALSE(r);
    EXPECT_TRUE(contains(r.error, "more than the 65536 allowed")) << r.error;
  }
  {
    std::string many = head;
    for (int i = 0; i < 5000; ++i) many += "a=x\n";
    const auto r = parse_sdp_offer(many);
    EXPECT_FALSE(r);
    EXPECT_EQ(r.error, "more than 4096 lines");
  }
  {
    std::string many = head;
    for (int i = 0; i < 40; ++i) many += "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
    const auto r = parse_sdp_offer(many);
    EXPECT_FALSE(r);
    EXPECT_EQ(r.error, "line 37: more than 32 m= lines");
  }
  {
    std::string formats;
    for (int i = 0; i < 130; ++i) formats += " 96";
    const auto r = parse_sdp_offer(head + "m=video 9 UDP/TLS/RTP/SAVPF" + formats + "\r\n");
    EXPECT_FALSE(r);
    EXPECT_TRUE(contains(r.error, "more than 128")) << r.error;
  }
  {  // extra candidates are dropped, not an error
    std::string many = head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
    for (int i = 0; i < 100; ++i) many += "a=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n";
    const auto r = parse_sdp_offer(many);
    ASSERT_TRUE(r) << r.error;
    EXPECT_EQ(r.offer->media[0].candidates.size(), k_sdp_max_candidates);
  }
}

TEST(WebrtcSdp, OddButValidInputs) {
  const std::string text =
      "v=0\n\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\na=group:BUNDLE v\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96 96 97 0\n"  // duplicate PT, dynamic PT without rtpmap, static PT
      "a=mid:v\na=rtpmap:96 VP8/90000\na=rtcp-fb:* nack\na=rtcp-fb:96 nack pli\na=rtcp-fb:300 x\n"
      "a=fmtp:96 x=1\na=fmtp:abc y\na=rtpmap:120 H264/90000\na=unknown-attribute:whatever\n"
      "a=fingerprint:sha-1 AA\na=fingerprint:sha-256 BB\na=fingerprint:sha-512 CC\n";
  const auto o = parse_ok(text);
  ASSERT_EQ(o.media.size(), 1u);
  const auto& m = o.media[0];
  ASSERT_EQ(m.codecs.size(), 2u);
  EXPECT_EQ(m.codecs[0].payload_type, 96);
  EXPECT_EQ(m.codecs[0].rtcp_fb, (std::vector<std::string>{"nack pli", "nack"}));
  EXPECT_EQ(m.codecs[0].fmtp, "x=1");
  EXPECT_EQ(m.codecs[1].name, "PCMU");
  EXPECT_EQ(m.codecs[1].clock_rate, 8000);
  EXPECT_EQ(m.fingerprint_algorithm, "sha-256") << "sha-256 preferred among several";
  EXPECT_EQ(m.fingerprint, "BB");
}

TEST(WebrtcSdp, FmtpParameter) {
  EXPECT_EQ(fmtp_parameter("a=1;b=2", "b"), std::optional<std::string_view>("2"));
  EXPECT_EQ(fmtp_parameter("a=1; B = 2 ", "b"), std::optional<std::string_view>("2"));
  EXPECT_EQ(fmtp_parameter("0-15", "a"), std::nullopt);
  EXPECT_EQ(fmtp_parameter("", "a"), std::nullopt);
  EXPECT_EQ(fmtp_parameter(";;=;a=", "a"), std::optional<std::string_view>(""));
}

// Every prefix of every test offer (the shapes a truncated POST body takes) either parses or
// fails with a message; whatever parses also negotiates and, if accepted, answers.
TEST(WebrtcSdp, TruncatedOffersNeverCrash) {
  for (const auto& name : all_sdp_files()) {
    const auto text = read_sdp(name);
    for (std::size_t len = 0; len < text.size(); len += 41) {
      const auto r = parse_sdp_offer(std::string_view(text).substr(0, len));
      if (!r) {
        EXPECT_FALSE(r.error.empty());
        continue;
      }
      const auto n = negotiate_default(*r.offer);
      if (n.error_status == 0) {
        EXPECT_FALSE(n.accepted.empty());
        const auto answer = build_answer(*r.offer, n, answer_params());
        EXPECT_TRUE(parse_sdp_offer(answer)) << name << " at " << len;
      } else {
        EXPECT_TRUE(n.error_status == 400 || n.error_status == 406);
        EXPECT_FALSE(n.error.empty());
      }
    }
  }
}

// RFC 9725 §4.3.1's trickle PATCH body.
TEST(WebrtcSdp, SdpfragFromRfc9725) {
  const std::string body =
      "a=ice-options:trickle ice2\r\n"
      "m=audio 9 RTP/AVP 0\r\n"
      "a=mid:0\r\n"
      "a=ice-ufrag:EsAw\r\n"
      "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
      "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\n"
      "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2\r\n"
      "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0 ufrag EsAw network-id 1\r\n"
      "a=candidate:2154773085 1 tcp 1518214911 198.51.100.2 9 typ host tcptype active generation 0 ufrag EsAw network-id 2\r\n"
      "a=end-of-candidates\r\n";
  const auto r = parse_sdpfrag(body);
  ASSERT_TRUE(r) << r.error;
  const auto& f = *r.frag;
  EXPECT_EQ(f.ice_options, (std::vector<std::string>{"trickle", "ice2"}));
  EXPECT_EQ(f.ice_ufrag, "EsAw");
  EXPECT_EQ(f.ice_pwd, "P2uYro0UCOQ4zxjKXaWCBui1");
  ASSERT_EQ(f.media.size(), 1u);
  EXPECT_EQ(f.media[0].mid, "0");
  EXPECT_EQ(f.media[0].kind, "audio");
  EXPECT_EQ(f.media[0].candidates.size(), 4u);
  EXPECT_TRUE(f.media[0].end_of_candidates);
  EXPECT_TRUE(f.end_of_candidates);
}

TEST(WebrtcSdp, SdpfragBareMidGroupingsAndSessionCredentials) {
  const std::string body =
      "a=ice-ufrag:abcd\na=ice-pwd:0123456789012345678901\n"
      "a=mid:0\na=candidate:1 1 udp 1 10.0.0.1 5000 typ host\n"
      "a=mid:1\na=candidate:2 1 udp 1 10.0.0.1 5002 typ host\na=candidate:3 1 udp 1 10.0.0.1 5004 typ host";
  const auto r = parse_sdpfrag(body);
  ASSERT_TRUE(r) << r.error;
  ASSERT_EQ(r.frag->media.size(), 2u);
  EXPECT_EQ(r.frag->media[0].mid, "0");
  EXPECT_EQ(r.frag->media[0].candidates.size(), 1u);
  EXPECT_EQ(r.frag->media[1].mid, "1");
  EXPECT_EQ(r.frag->media[1].candidates.size(), 2u);
  EXPECT_EQ(r.frag->ice_ufrag, "abcd");
  EXPECT_FALSE(r.frag->end_of_candidates);
  // Only end-of-candidates; and an empty body.
  const auto eoc = parse_sdpfrag("a=end-of-candidates\r\n");
  ASSERT_TRUE(eoc);
  EXPECT_TRUE(eoc.frag->end_of_candidates);
  const auto empty = parse_sdpfrag("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty.frag->media.empty());
  // Candidates with no section land in one without a mid.
  const auto loose = parse_sdpfrag("a=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\n");
  ASSERT_TRUE(loose);
  ASSERT_EQ(loose.frag->media.size(), 1u);
  EXPECT_TRUE(loose.frag->media[0].mid.empty());
}

TEST(WebrtcSdp, SdpfragRoundTripForIceRestart) {
  SdpFragAnswerParams p;
  p.ice_ufrag = "newU";
  p.ice_pwd = "newpassword0123456789ab";
  p.ice_options = {"trickle", "ice2"};
  p.bundle = {"0", "1"};
  p.mid = "0";
  p.kind = "video";
  p.payload_type = 108;
  p.candidates = answer_params().candidates;
  const auto text = build_sdpfrag(p);
  EXPECT_EQ(text.rfind("a=ice-lite\r\n", 0), 0u);
  EXPECT_TRUE(contains(text, "m=video 9 UDP/TLS/RTP/SAVPF 108\r\n"));
  const auto r = parse_sdpfrag(text);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r.frag->ice_ufrag, "newU");
  EXPECT_EQ(r.frag->ice_pwd, "newpassword0123456789ab");
  EXPECT_EQ(r.frag->ice_options, p.ice_options);
  EXPECT_EQ(r.frag->bundle, p.bundle);
  ASSERT_EQ(r.frag->media.size(), 1u);
  EXPECT_EQ(r.frag->media[0].mid, "0");
  EXPECT_EQ(r.frag->media[0].ice_ufrag, "newU");
  ASSERT_EQ(r.frag->media[0].candidates.size(), 2u);
  EXPECT_EQ(r.frag->media[0].candidates[0], format_candidate(p.candidates[0]));
  EXPECT_TRUE(r.frag->end_of_candidates);
}

TEST(WebrtcSdp, SdpfragHostileInputs) {
  EXPECT_FALSE(parse_sdpfrag("a=ice-ufrag:\r\n"));
  EXPECT_FALSE(parse_sdpfrag("a=mid:\r\n"));
  EXPECT_FALSE(parse_sdpfrag("a=candidate:\r\n"));
  EXPECT_FALSE(parse_sdpfrag("m=audio 9\r\n"));
  EXPECT_FALSE(parse_sdpfrag("a=candidate:1 1 udp 1 \x01 9 typ host\r\n"));
  EXPECT_FALSE(parse_sdpfrag("garbage\r\n"));
  EXPECT_FALSE(parse_sdpfrag(std::string(k_sdp_max_size + 1, 'a')));
  std::string many = "a=mid:0\r\n";
  for (int i = 0; i < 70; ++i) many += "a=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n";
  const auto r = parse_sdpfrag(many);
  EXPECT_FALSE(r);
  EXPECT_TRUE(contains(r.error, "more than 64 candidates")) << r.error;
  std::string mids;
  for (int i = 0; i < 40; ++i) mids += "a=mid:" + std::to_string(i) + "\r\n";
  EXPECT_FALSE(parse_sdpfrag(mids));
}
