#include "webrtc/server.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <future>
#include <thread>
#include <unordered_map>

#include <utility>  // Boost 1.74's asio headers need std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "log/log.hpp"
#include "util/base64.hpp"
#include "util/random.hpp"
#include "webrtc/dtls.hpp"
#include "webrtc/ingest_track.hpp"
#include "webrtc/negotiation.hpp"
#include "webrtc/packet_pool.hpp"
#include "webrtc/sdp.hpp"
#include "webrtc/stun.hpp"
#include "webrtc/tcp_port.hpp"
#include "webrtc/udp_port.hpp"
#include "webrtc/viewer.hpp"

namespace dragon::webrtc {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto k_housekeeping_interval = std::chrono::milliseconds(200);
constexpr auto k_pace_interval = std::chrono::milliseconds(2);
constexpr std::size_t k_max_tombstones = 4096;
constexpr std::size_t k_max_addresses_per_viewer = 8;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

std::uint32_t random_ssrc() {
  const auto b = util::random_bytes(4);
  std::uint32_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v ? v : 1;
}

std::uint64_t random_u64() {
  const auto b = util::random_bytes(8);
  std::uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v >> 2;  // SDP session ids fit in 63 bits
}

std::string random_hex(std::size_t bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto b = util::random_bytes(bytes);
  std::string out;
  for (unsigned char c : b) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void add_stats(ViewerStats& into, const ViewerStats& from) {
  into.packets_sent += from.packets_sent;
  into.bytes_sent += from.bytes_sent;
  into.nacks += from.nacks;
  into.retransmits += from.retransmits;
  into.plis += from.plis;
  into.firs += from.firs;
  into.send_drops += from.send_drops;
}

}  // namespace

struct Stream {
  std::string id;
  IngestTrack video;
  IngestTrack audio;
  std::unique_ptr<UdpPort> video_rtp, video_rtcp, audio_rtp, audio_rtcp;
  LegPorts ports;
  std::vector<std::string> viewers;  // resource ids
  std::chrono::steady_clock::time_point last_sdp_read{};
  Stream(std::string i, PacketPool& pool)
      : id(std::move(i)), video(TrackKind::Video, pool), audio(TrackKind::Audio, pool) {}
};

struct ViewerEntry {
  std::string process_id;
  std::string etag;
  std::unique_ptr<Viewer> viewer;
  std::vector<Endpoint> addresses;
  Clock::time_point posted;
  bool counted_connected = false;
  bool closing = false;
};

class Server::Impl final : public ViewerHost {
 public:
  explicit Impl(ServerOptions o) : options_(std::move(o)), udp_(io_, [this](auto d, const auto& f) { on_datagram(d, f); }) {}

  // Runs f on the loop and returns its result (directly when already there).
  template <class F>
  auto call(F&& f) -> decltype(f()) {
    if (std::this_thread::get_id() == loop_thread_id_ || !running_) return f();
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto future = task.get_future();
    asio::post(io_, [&task] { task(); });
    return future.get();
  }

  void start() {
    cert_ = DtlsCertificate::generate();
    // FFmpeg writes its legs' SDP here (-sdp_file); private to this server run.
    char dir[] = "/tmp/dragon-webrtc-XXXXXX";
    if (!::mkdtemp(dir)) throw std::runtime_error("webrtc: cannot create a runtime directory in /tmp");
    runtime_dir_ = dir;
    if (options_.udp_enable) {
      std::string error;
      if (!udp_.bind(options_.udp_address, error)) {
        throw std::runtime_error("webrtc.address: cannot listen on UDP " + options_.udp_address + ": " + error);
      }
      udp_.start();
      add_candidates("udp", options_.udp_address, udp_.local_port());
    }
    if (options_.tcp_enable) {
      TcpPortOptions t;
      t.max_connections = options_.tcp_max_connections;
      t.max_outstanding_bytes = options_.tcp_max_outstanding_bytes;
      // A connection must carry a valid check as soon as ICE would time out, and stays only while
      // the viewer talks (consent checks every ~5 s, RTCP more often).
      t.first_frame_timeout = options_.ice_timeout;
      t.idle_timeout = options_.ice_timeout;
      tcp_ = std::make_unique<TcpPort>(io_, [this](auto d, const auto& f) { return on_datagram(d, f); }, t);
      std::string error;
      if (!tcp_->bind(options_.tcp_address, error)) {
        tcp_.reset();
        throw std::runtime_error("webrtc.tcp.address: cannot listen on TCP " + options_.tcp_address + ": " + error);
      }
      tcp_->start();
      add_candidates("tcp", options_.tcp_address, tcp_->local_port());
    }
    schedule_housekeeping();
    running_ = true;
    thread_ = std::thread([this] {
      loop_thread_id_ = std::this_thread::get_id();
      io_.run();
    });
    log::info("WebRTC", "Listening", {{"address", options_.udp_enable ? options_.udp_address : "(UDP disabled)"},
                                      {"tcp_address", options_.tcp_enable ? options_.tcp_address : "(TCP disabled)"},
                                      {"candidates", candidate_list()}});
  }

  void stop() {
    if (!running_) return;
    call([this] {
      std::vector<std::string> ids;
      for (auto& [id, s] : streams_) ids.push_back(id);
      for (auto& id : ids) close_stream(id);
      housekeeping_.cancel();
      pacing_.cancel();
      if (tcp_) tcp_->close();
      return 0;
    });
    io_.stop();
    if (thread_.joinable()) thread_.join();
    running_ = false;
    std::error_code ec;
    if (!runtime_dir_.empty()) std::filesystem::remove_all(runtime_dir_, ec);
  }

  ~Impl() override { stop(); }

  nlohmann::json candidate_list() const {
    auto out = nlohmann::json::array();
    for (const auto& c : candidates_) {
      out.push_back(c.address + ":" + std::to_string(c.port) + (c.transport == "tcp" ? "/tcp" : ""));
    }
    return out;
  }

  // ---- host candidates -------------------------------------------------------------------------
  // Host candidates for one of our sockets: the public IPs/hosts if configured, else the bound
  // address, else every IPv4 interface. TCP ones (RFC 6544 §4.2) are passive, with a lower type
  // preference than UDP (a browser that can use both prefers UDP) and local preference
  // 2^13 * direction-pref (4, passive) + other-pref.
  void add_candidates(const std::string& transport, const std::string& bind_address, std::uint16_t port) {
    std::vector<std::string> addresses;
    for (const auto& ip : options_.public_ips) addresses.push_back(ip);
    for (const auto& host : options_.public_hosts) addresses.push_back(host);
    if (addresses.empty()) {
      const auto local = parse_endpoint(bind_address);
      const bool any = local && local->addr.ss_family == AF_INET &&
                       reinterpret_cast<const sockaddr_in&>(local->addr).sin_addr.s_addr == htonl(INADDR_ANY);
      if (local && !any) {
        std::string host = bind_address.substr(0, bind_address.rfind(':'));
        if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
        addresses.push_back(host);
      } else {
        // Every IPv4 interface address; loopback last (only a browser on this machine can use it).
        std::vector<std::string> loopback;
        ifaddrs* list = nullptr;
        if (getifaddrs(&list) == 0) {
          for (auto* ifa = list; ifa; ifa = ifa->ifa_next) {
            if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET || !(ifa->ifa_flags & IFF_UP)) continue;
            char buf[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ifa->ifa_addr)->sin_addr, buf, sizeof buf);
            ((ifa->ifa_flags & IFF_LOOPBACK) ? loopback : addresses).push_back(buf);
          }
          freeifaddrs(list);
        }
        addresses.insert(addresses.end(), loopback.begin(), loopback.end());
      }
    }
    const bool tcp = transport == "tcp";
    std::uint32_t local_pref = tcp ? (4u << 13) | 8191u : 65535u;
    const std::uint32_t lowest = tcp ? 4u << 13 : 0u;
    const std::uint32_t type_pref = tcp ? 99u : 126u;  // RFC 8445 §5.1.2.1, host type
    for (const auto& a : addresses) {
      AnswerCandidate c;
      c.foundation = std::to_string(candidates_.size() + 1);
      c.component = 1;
      c.transport = transport;
      c.priority = (type_pref << 24) | (local_pref << 8) | 255u;
      c.address = a;
      c.port = port;
      if (tcp) c.tcptype = "passive";
      candidates_.push_back(c);
      if (local_pref > lowest) --local_pref;
    }
  }

  // ---- streams ---------------------------------------------------------------------------------
  std::optional<LegPorts> open_stream(const std::string& id) {
    if (auto it = streams_.find(id); it != streams_.end()) return it->second->ports;
    auto s = std::make_unique<Stream>(id, pool_);
    Stream* raw = s.get();
    auto make = [this, raw](bool video, bool rtcp) {
      return std::make_unique<UdpPort>(io_, [this, raw, video, rtcp](std::span<std::uint8_t> d, const Endpoint&) {
        const auto now = Clock::now();
        IngestTrack& t = video ? raw->video : raw->audio;
        if (rtcp) {
          t.on_rtcp(d, now);
        } else if (!t.on_rtp(d, now)) {
          ++counters_.ingest_invalid;
        } else {
          ++counters_.ingest_packets;
          // A copied leg may carry SPS/PPS only in FFmpeg's SDP (MP4/FLV sources keep them out of band).
          if (video && t.profile_level_id().empty() && now - raw->last_sdp_read > std::chrono::milliseconds(250)) {
            raw->last_sdp_read = now;
            load_parameter_sets(*raw);
          }
        }
      });
    };
    const unsigned span = options_.rtp_port_max >= options_.rtp_port_min
                              ? options_.rtp_port_max - options_.rtp_port_min + 1u
                              : 0u;
    const unsigned slots = span / 4;
    for (unsigned attempt = 0; attempt < slots; ++attempt) {
      const unsigned slot = (next_slot_ + attempt) % slots;
      const std::uint16_t base = static_cast<std::uint16_t>(((options_.rtp_port_min + 1u) & ~1u) + slot * 4u);
      if (base + 3u > options_.rtp_port_max) continue;
      auto vr = make(true, false), vc = make(true, true), ar = make(false, false), ac = make(false, true);
      std::string error;
      auto bind_at = [&error](UdpPort& p, std::uint16_t port) {
        return p.bind("127.0.0.1:" + std::to_string(port), error);
      };
      if (!bind_at(*vr, base) || !bind_at(*vc, base + 1) || !bind_at(*ar, base + 2) || !bind_at(*ac, base + 3)) continue;
      next_slot_ = slot + 1;
      s->video_rtp = std::move(vr);
      s->video_rtcp = std::move(vc);
      s->audio_rtp = std::move(ar);
      s->audio_rtcp = std::move(ac);
      s->ports = {base, static_cast<std::uint16_t>(base + 2), runtime_dir_ + "/" + std::to_string(base) + ".sdp"};
      std::remove(s->ports.sdp_file.c_str());
      for (auto* p : {s->video_rtp.get(), s->video_rtcp.get(), s->audio_rtp.get(), s->audio_rtcp.get()}) p->start();
      s->video.on_b_frames = [this, id] {
        log::warn("WebRTC", "B-frames in the copied video: the process will transcode", {{"id", id}});
        if (on_b_frames) on_b_frames(id);
      };
      const LegPorts ports = s->ports;
      streams_.emplace(id, std::move(s));
      return ports;
    }
    log::error("WebRTC", "No free RTP port pair for the process's WebRTC legs",
               {{"id", id}, {"range", std::to_string(options_.rtp_port_min) + "-" + std::to_string(options_.rtp_port_max)}});
    return std::nullopt;
  }

  void close_stream(const std::string& id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    const auto viewers = it->second->viewers;
    std::remove(it->second->ports.sdp_file.c_str());
    for (const auto& rid : viewers) {
      if (remove_viewer(rid, "the process stopped", false)) ++counters_.ended_process_stopped;
    }
    streams_.erase(it);
  }

  // "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LA...,aMuD...; profile-level-id=42C00D"
  static void load_parameter_sets(Stream& s) {
    std::ifstream in(s.ports.sdp_file);
    if (!in) return;
    std::stringstream text;
    text << in.rdbuf();
    const std::string sdp = text.str().substr(0, 64 * 1024);
    const auto at = sdp.find("sprop-parameter-sets=");
    if (at == std::string::npos) return;
    const auto start = at + 21;
    const auto end = sdp.find_first_of("; \r\n", start);
    const std::string value = sdp.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const auto comma = value.find(',');
    if (comma == std::string::npos) return;
    const auto sps = util::base64_decode(value.substr(0, comma));
    const auto pps = util::base64_decode(value.substr(comma + 1, value.find(',', comma + 1) - comma - 1));
    if (!sps || !pps) return;
    s.video.set_parameter_sets({reinterpret_cast<const std::uint8_t*>(sps->data()), sps->size()},
                               {reinterpret_cast<const std::uint8_t*>(pps->data()), pps->size()});
  }

  // ---- WHEP ------------------------------------------------------------------------------------
  std::string unique_ufrag() const {
    std::string ufrag;
    do {
      ufrag = util::random_alnum(8);
    } while (by_ufrag_.count(ufrag));
    return ufrag;
  }

  struct Readiness {
    bool stream = false;
    bool ready = false;
  };
  Readiness readiness(const std::string& id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return {};
    const Stream& s = *it->second;
    const bool video_known = !s.video.profile_level_id().empty();
    return {true, video_known || (s.audio.has_media() && !s.video.has_media())};
  }

  WhepResult create_viewer(const std::string& id, const SdpOffer& offer, Clock::time_point posted) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return {404, "process " + id + " is not running or has WebRTC disabled", "", ""};
    Stream& s = *it->second;
    if (options_.max_viewers > 0 && s.viewers.size() >= options_.max_viewers) {
      return {503, "process " + id + " has reached its WebRTC viewer limit (webrtc.max_viewers = " +
                       std::to_string(options_.max_viewers) + ")",
              "", ""};
    }
    if (candidates_.empty()) {
      return {503, "WebRTC media transport is not enabled on this server (webrtc.udp.enable, webrtc.tcp.enable)",
              "", ""};
    }
    std::optional<SendTrack> video, audio;
    if (!s.video.profile_level_id().empty()) video = SendTrack{"H264", 90000, 0, s.video.profile_level_id()};
    if (s.audio.has_media()) audio = SendTrack{"opus", 48000, 2, ""};
    if (!video && !audio) {
      return {503, "process " + id + " has not sent any media to its WebRTC legs yet; retry in a moment", "", ""};
    }
    auto negotiation = negotiate(offer, video, audio);
    if (!negotiation) return {negotiation.error_status, negotiation.error, "", ""};
    // We write no header extensions (yet): answer none, and no transport-cc feedback without them.
    for (auto& m : negotiation.accepted) {
      m.playout_delay_ext_id = 0;
      m.twcc_ext_id = 0;
      m.rtcp_fb.erase(std::remove(m.rtcp_fb.begin(), m.rtcp_fb.end(), "transport-cc"), m.rtcp_fb.end());
    }

    ViewerConfig cfg;
    cfg.resource_id = random_hex(16);
    if (options_.session_open && !options_.session_open(cfg.resource_id, id)) {
      return {503,
              "process " + id + ": the server's session limit is reached (sessions.max_sessions or "
              "sessions.max_bitrate_mbit)",
              "", ""};
    }
    cfg.process_id = id;
    cfg.local_ufrag = unique_ufrag();
    cfg.local_pwd = util::random_alnum(24);
    cfg.remote_ufrag = negotiation.ice_ufrag;
    cfg.remote_pwd = negotiation.ice_pwd;
    cfg.fingerprint_algorithm = negotiation.fingerprint_algorithm;
    cfg.fingerprint = negotiation.fingerprint;
    cfg.gop_cache = options_.gop_cache;
    AnswerParams ap;
    ap.session_id = random_u64();
    ap.ice_ufrag = cfg.local_ufrag;
    ap.ice_pwd = cfg.local_pwd;
    ap.fingerprint_sha256 = cert_->fingerprint_sha256();
    ap.candidates = candidates_;
    ap.cname = util::random_alnum(16);
    cfg.cname = ap.cname;
    ap.stream_id = "dragon-" + id;
    for (const auto& m : negotiation.accepted) {
      OutboundTrackConfig t;
      t.payload_type = m.codec.payload_type;
      t.ssrc = random_ssrc();
      for (const auto& fb : m.rtcp_fb) {
        if (fb == "nack") t.nack = true;
        if (fb == "nack pli" || fb == "ccm fir") t.pli = true;
      }
      if (m.kind == "video") {
        cfg.video = t;
        ap.video_ssrc = t.ssrc;
      } else {
        cfg.audio = t;
        ap.audio_ssrc = t.ssrc;
      }
    }
    const std::string answer = build_answer(offer, negotiation, ap);
    auto entry = std::make_unique<ViewerEntry>();
    entry->process_id = id;
    entry->etag = "\"" + random_hex(8) + "\"";
    entry->posted = posted;
    entry->viewer = std::make_unique<Viewer>(cfg, *cert_, *this, &s.video, &s.audio, posted);
    by_ufrag_.emplace(cfg.local_ufrag, entry->viewer.get());
    s.viewers.push_back(cfg.resource_id);
    WhepResult r{201, answer, cfg.resource_id, entry->etag};
    viewers_.emplace(cfg.resource_id, std::move(entry));
    counters_.viewers_active = viewers_.size();
    log::info("WebRTC", "Viewer joined", {{"id", id}, {"resource", cfg.resource_id.substr(0, 8)},
                                          {"video", cfg.video.has_value()}, {"audio", cfg.audio.has_value()}});
    return r;
  }

  WhepResult patch(const std::string& id, const std::string& rid, const std::string& if_match, const SdpFrag& frag) {
    auto it = viewers_.find(rid);
    if (it == viewers_.end() || it->second->process_id != id || it->second->closing) {
      if (auto t = tombstones_.find(rid); t != tombstones_.end() && t->second.first == id && t->second.second) {
        return {504, "ICE did not complete within " + std::to_string(options_.ice_timeout.count()) +
                         " s (webrtc.ice_timeout_seconds); the session was closed",
                "", ""};
      }
      return {404, "no WHEP session " + rid + " for process " + id, "", ""};
    }
    ViewerEntry& e = *it->second;
    if (!if_match.empty() && if_match != "*" && if_match != e.etag) {
      return {412, "If-Match " + if_match + " does not match the session's ETag " + e.etag, "", e.etag};
    }
    const auto& vc = e.viewer->config();
    const bool restart = !frag.ice_ufrag.empty() && frag.ice_ufrag != vc.remote_ufrag;
    if (!restart) return {204, "", rid, e.etag};
    if (!valid_ice_ufrag(frag.ice_ufrag) || !valid_ice_pwd(frag.ice_pwd)) {
      return {400, "ICE restart fragment needs a valid a=ice-ufrag and a=ice-pwd", "", ""};
    }
    const std::string ufrag = unique_ufrag();
    const std::string pwd = util::random_alnum(24);
    by_ufrag_.erase(vc.local_ufrag);
    e.viewer->restart_ice(ufrag, pwd, frag.ice_ufrag, frag.ice_pwd);
    by_ufrag_.emplace(ufrag, e.viewer.get());
    e.etag = "\"" + random_hex(8) + "\"";
    SdpFragAnswerParams p;
    p.ice_ufrag = ufrag;
    p.ice_pwd = pwd;
    p.candidates = candidates_;
    if (!frag.media.empty()) {
      p.mid = frag.media.front().mid;
      if (!frag.media.front().kind.empty()) p.kind = frag.media.front().kind;
    }
    p.bundle = frag.bundle;
    return {200, build_sdpfrag(p), rid, e.etag};
  }

  bool remove_viewer(const std::string& rid, std::string_view reason, bool ice_timeout) {
    auto it = viewers_.find(rid);
    if (it == viewers_.end()) return false;
    auto entry = std::move(it->second);
    viewers_.erase(it);
    Viewer& v = *entry->viewer;
    v.close(reason);
    add_tombstone(rid, entry->process_id, ice_timeout);
    by_ufrag_.erase(v.config().local_ufrag);
    for (const auto& a : entry->addresses) {
      if (auto f = by_address_.find(a); f != by_address_.end() && f->second == &v) by_address_.erase(f);
      if (a.tcp && tcp_) tcp_->release(a);  // closed once the BYE and close_notify above are out
    }
    if (auto s = streams_.find(entry->process_id); s != streams_.end()) {
      auto& list = s->second->viewers;
      list.erase(std::remove(list.begin(), list.end(), rid), list.end());
    }
    const auto& st = v.stats();
    if (options_.session_bytes) options_.session_bytes(rid, st.bytes_sent);
    if (options_.session_close) options_.session_close(rid);
    add_stats(retired_, st);
    counters_.viewers_active = viewers_.size();
    log::info("WebRTC", "Viewer left", {{"id", entry->process_id}, {"resource", rid.substr(0, 8)},
                                        {"reason", std::string(reason)},
                                        {"packets", st.packets_sent}});
    return true;
  }

  void add_tombstone(const std::string& rid, const std::string& process_id, bool ice_timeout) {
    tombstones_[rid] = {process_id, ice_timeout};
    tombstone_order_.push_back(rid);
    while (tombstone_order_.size() > k_max_tombstones) {
      tombstones_.erase(tombstone_order_.front());
      tombstone_order_.pop_front();
    }
  }

  // ---- ViewerHost ------------------------------------------------------------------------------
  bool viewer_send(const Endpoint& to, std::span<const std::uint8_t> datagram) override {
    if (to.tcp) return tcp_ && tcp_->send(to, datagram);
    return udp_.send_to(to, datagram);
  }

  void viewer_address(Viewer& v, const Endpoint& from) override {
    auto it = viewers_.find(v.config().resource_id);
    if (it == viewers_.end()) return;
    auto& list = it->second->addresses;
    if (std::find(list.begin(), list.end(), from) == list.end()) {
      if (list.size() >= k_max_addresses_per_viewer) return;
      list.push_back(from);
    }
    by_address_[from] = &v;
  }

  void viewer_closed(Viewer& v, std::string_view reason) override {
    auto it = viewers_.find(v.config().resource_id);
    if (it == viewers_.end() || it->second->closing) return;
    it->second->closing = true;
    if (reason.find("BYE") != std::string_view::npos || reason.find("close_notify") != std::string_view::npos) {
      ++counters_.ended_bye;
    } else {
      ++counters_.ended_dtls_failed;  // a DTLS failure, or close_notify from the viewer
    }
    // Not from inside the viewer's own call stack.
    asio::post(io_, [this, rid = v.config().resource_id, why = std::string(reason)] { remove_viewer(rid, why, false); });
  }

  // ---- datagrams -------------------------------------------------------------------------------
  // A UDP datagram, or a frame from an ICE-TCP connection (from.tcp): the same demultiplexing.
  // True if `from` belongs to a viewer afterwards (the TCP port closes connections that do not).
  bool on_datagram(std::span<std::uint8_t> d, const Endpoint& from) {
    ++counters_.datagrams_in;
    const auto now = Clock::now();
    if (is_stun(d)) {
      const auto msg = parse_stun(d);
      if (!msg || msg->type != k_stun_binding_request) return by_address_.count(from) > 0;
      const auto colon = msg->username.find(':');
      if (colon == std::string_view::npos) return by_address_.count(from) > 0;
      auto it = by_ufrag_.find(msg->username.substr(0, colon));
      if (it == by_ufrag_.end()) {
        ++counters_.datagrams_unknown;
        return by_address_.count(from) > 0;
      }
      it->second->on_stun(*msg, d, from, now);
      return by_address_.count(from) > 0;  // the viewer took the check (viewer_address)
    }
    auto it = by_address_.find(from);
    if (it == by_address_.end()) {
      ++counters_.datagrams_unknown;
      return false;
    }
    it->second->on_datagram(d, from, now);
    return true;
  }

  // ---- timers ----------------------------------------------------------------------------------
  void schedule_housekeeping() {
    housekeeping_.expires_after(k_housekeeping_interval);
    housekeeping_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      housekeeping();
      schedule_housekeeping();
    });
  }

  void housekeeping() {
    const auto now = Clock::now();
    std::vector<std::pair<std::string, int>> expired;  // 1 = ICE timeout, 2 = consent
    for (auto& [rid, e] : viewers_) {
      Viewer& v = *e->viewer;
      if (e->closing) continue;
      v.housekeeping(now);
      if (options_.session_bytes) options_.session_bytes(rid, v.stats().bytes_sent);  // keeps the session alive
      if (!e->counted_connected) {
        if (auto ttk = v.time_to_first_keyframe()) {
          e->counted_connected = true;
          ++counters_.sessions_connected;
          if (v.stats().gop_cache_hit) {
            ++counters_.gop_cache_hits;
          } else {
            ++counters_.gop_cache_misses;
          }
          if (setup_samples_.size() < 4096) setup_samples_.push_back(seconds(*ttk));
        }
      }
      if (!v.time_to_connected() && now - v.created() > options_.ice_timeout) {
        expired.emplace_back(rid, 1);
      } else if (v.time_to_connected() && now - v.last_consent() > options_.ice_timeout) {
        expired.emplace_back(rid, 2);
      }
    }
    for (const auto& [rid, why] : expired) {
      if (why == 1) {
        ++counters_.ended_ice_timeout;
        remove_viewer(rid, "ICE/DTLS did not complete in time", true);
      } else {
        ++counters_.ended_consent_expired;
        remove_viewer(rid, "ICE consent expired (no checks from the viewer)", false);
      }
    }
  }

  // The pacing timer runs only while some viewer is in a GOP-cache burst.
  void viewer_needs_pacing() override {
    if (pacing_active_) return;
    pacing_active_ = true;
    schedule_pacing();
  }

  void schedule_pacing() {
    pacing_.expires_after(k_pace_interval);
    pacing_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) {
        pacing_active_ = false;
        return;
      }
      const auto now = Clock::now();
      bool any = false;
      for (auto& [rid, e] : viewers_) {
        if (!e->closing && e->viewer->catching_up()) {
          e->viewer->pace(now);
          any = any || e->viewer->catching_up();
        }
      }
      if (any) {
        schedule_pacing();
      } else {
        pacing_active_ = false;
      }
    });
  }

  ServerCounters read_counters() {
    ServerCounters c = counters_;
    ViewerStats sum = retired_;  // viewers gone, plus those still here
    for (auto& [rid, e] : viewers_) add_stats(sum, e->viewer->stats());
    c.packets_out = sum.packets_sent;
    c.bytes_out = sum.bytes_sent;
    c.nacks = sum.nacks;
    c.retransmits = sum.retransmits;
    c.plis = sum.plis;
    c.firs = sum.firs;
    c.send_drops = sum.send_drops;
    c.setup_seconds.swap(setup_samples_);
    if (tcp_) {
      const auto& t = tcp_->stats();
      c.tcp_active = t.active;
      c.tcp_accepted = t.accepted;
      c.tcp_refused = t.refused_limit;
      c.tcp_bad_frame = t.closed_bad_frame;
      c.tcp_timeout = t.closed_timeout;
    }
    return c;
  }

  nlohmann::json stream_json(const std::string& id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return nullptr;
    const Stream& s = *it->second;
    auto track = [](const IngestTrack& t) {
      nlohmann::json j = {{"packets", t.stats().packets},
                          {"bytes", t.stats().bytes},
                          {"invalid", t.stats().invalid},
                          {"sources", t.stats().epochs}};
      if (t.kind() == TrackKind::Video) {
        j["codec"] = "H264";
        j["profile_level_id"] = t.profile_level_id();
        j["width"] = t.width();
        j["height"] = t.height();
        j["keyframes"] = t.stats().keyframes;
        j["b_frames"] = t.stats().b_frames;
        j["gop_cache_packets"] = t.cache_valid() ? t.cache().size() : 0;
      } else {
        j["codec"] = "opus";
      }
      return j;
    };
    auto viewers = nlohmann::json::array();
    for (const auto& rid : s.viewers) {
      auto v = viewers_.find(rid);
      if (v == viewers_.end()) continue;
      const Viewer& vw = *v->second->viewer;
      const auto& st = vw.stats();
      nlohmann::json j = {{"resource", rid.substr(0, 8)},
                          {"connected", vw.time_to_connected().has_value()},
                          {"address", vw.address().valid() ? vw.address().to_string() : ""},
                          {"transport", vw.address().valid() ? (vw.address().tcp ? "tcp" : "udp") : ""},
                          {"srtp", std::string(vw.srtp_profile())},
                          {"packets", st.packets_sent},
                          {"bytes", st.bytes_sent},
                          {"nacks", st.nacks},
                          {"retransmits", st.retransmits},
                          {"plis", st.plis},
                          {"fraction_lost", st.fraction_lost},
                          {"gop_cache_hit", st.gop_cache_hit}};
      if (auto t = vw.time_to_first_keyframe()) j["setup_ms"] = static_cast<std::int64_t>(seconds(*t) * 1000);
      viewers.push_back(std::move(j));
    }
    return {{"ports", {{"video", s.ports.video}, {"audio", s.ports.audio}}},
            {"video", track(s.video)},
            {"audio", track(s.audio)},
            {"viewers", s.viewers.size()},
            {"viewer_list", std::move(viewers)}};
  }

  ServerOptions options_;
  asio::io_context io_;
  UdpPort udp_;
  std::unique_ptr<TcpPort> tcp_;  // when options_.tcp_enable
  asio::steady_timer housekeeping_{io_};
  asio::steady_timer pacing_{io_};
  std::thread thread_;
  std::thread::id loop_thread_id_;
  std::atomic<bool> running_{false};
  std::shared_ptr<DtlsCertificate> cert_;
  std::string runtime_dir_;
  std::vector<AnswerCandidate> candidates_;
  PacketPool pool_;  // before streams_ and viewers_: packets go back to it when those are destroyed
  std::unordered_map<std::string, std::unique_ptr<Stream>> streams_;
  std::unordered_map<std::string, std::unique_ptr<ViewerEntry>> viewers_;
  std::unordered_map<std::string, Viewer*, StringHash, std::equal_to<>> by_ufrag_;
  std::unordered_map<Endpoint, Viewer*, EndpointHash> by_address_;
  std::unordered_map<std::string, std::pair<std::string, bool>> tombstones_;  // rid → (process, ICE timeout)
  std::deque<std::string> tombstone_order_;
  unsigned next_slot_ = 0;
  bool pacing_active_ = false;
  ServerCounters counters_;
  ViewerStats retired_;
  std::vector<double> setup_samples_;
  std::function<void(const std::string&)> on_b_frames;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() = default;

void Server::start() {
  impl_->on_b_frames = [this](const std::string& id) {
    if (on_b_frames) on_b_frames(id);
  };
  impl_->start();
}

void Server::stop() { impl_->stop(); }

std::optional<LegPorts> Server::open_stream(const std::string& id) {
  return impl_->call([&] { return impl_->open_stream(id); });
}

void Server::close_stream(const std::string& id) {
  impl_->call([&] {
    impl_->close_stream(id);
    return 0;
  });
}

bool Server::stream_open(const std::string& id) const {
  return impl_->call([&] { return impl_->streams_.count(id) > 0; });
}

WhepResult Server::offer(const std::string& id, const std::string& sdp) {
  const auto posted = Clock::now();
  auto parsed = parse_sdp_offer(sdp);
  if (!parsed) return {400, "malformed SDP offer: " + parsed.error, "", ""};
  // A process that just started may not have sent its first keyframe yet: wait a little for it.
  const auto deadline = posted + impl_->options_.media_wait;
  for (;;) {
    const auto r = impl_->call([&] { return impl_->readiness(id); });
    if (!r.stream) return {404, "process " + id + " is not running or has WebRTC disabled", "", ""};
    if (r.ready || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return impl_->call([&] { return impl_->create_viewer(id, *parsed.offer, posted); });
}

WhepResult Server::patch(const std::string& id, const std::string& rid, const std::string& if_match,
                         const std::string& sdpfrag) {
  auto parsed = parse_sdpfrag(sdpfrag);
  if (!parsed) return {400, "malformed trickle-ice-sdpfrag: " + parsed.error, "", ""};
  return impl_->call([&] { return impl_->patch(id, rid, if_match, *parsed.frag); });
}

bool Server::remove(const std::string& id, const std::string& rid) {
  return impl_->call([&] {
    auto it = impl_->viewers_.find(rid);
    if (it == impl_->viewers_.end() || it->second->process_id != id) return false;
    ++impl_->counters_.ended_deleted;
    return impl_->remove_viewer(rid, "DELETE from the viewer", false);
  });
}

nlohmann::json Server::stream_json(const std::string& id) const {
  return impl_->call([&] { return impl_->stream_json(id); });
}

ServerCounters Server::counters() {
  return impl_->call([&] { return impl_->read_counters(); });
}

}  // namespace dragon::webrtc
