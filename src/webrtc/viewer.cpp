#include "webrtc/viewer.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "media/h264.hpp"
#include "media/rtp.hpp"
#include "webrtc/rtcp.hpp"

namespace dragon::webrtc {

namespace {

using Clock = std::chrono::steady_clock;

// A GOP-cache burst: at most 12 KB and 8 frames per 2 ms step (~48 Mbit/s), so a keyframe arrives
// within milliseconds but a long GOP does not flood a real path.
constexpr std::size_t k_burst_bytes_per_pace = 12000;
constexpr int k_burst_frames_per_pace = 8;
constexpr auto k_keyframe_request_interval = std::chrono::seconds(1);
constexpr auto k_sender_report_interval = std::chrono::seconds(1);

std::uint32_t random_u32() {
  std::uint32_t v = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

std::uint32_t ticks(Clock::duration d, std::uint32_t clock_rate) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(std::max<std::int64_t>(us, 0)) * clock_rate / 1000000);
}

// Scratch for rewriting and protecting one packet; the loop is single-threaded.
thread_local std::uint8_t g_scratch[Packet::k_capacity + SrtpSession::k_max_trailer];
thread_local std::uint8_t g_rtcp_scratch[1500 + SrtpSession::k_max_trailer];

}  // namespace

struct Viewer::OutTrack {
  enum class Mode { Idle, WaitKeyframe, CatchUp, Live };
  TrackKind kind;
  OutboundTrackConfig cfg;
  IngestTrack* source = nullptr;
  Mode mode = Mode::Idle;

  // Live mapping: out = source + offset (mod 2^16 / 2^32), valid for `epoch`.
  std::uint32_t epoch = 0;
  std::uint16_t seq_offset = 0;
  std::uint32_t ts_offset = 0;
  std::uint16_t nack_floor = 0;  // out sequence numbers below it were not sent with this mapping

  std::uint16_t next_seq = static_cast<std::uint16_t>(random_u32());
  std::uint32_t last_ts = 0;
  bool sent_any = false;
  Clock::time_point last_send{};

  // GOP-cache burst.
  std::uint64_t cache_gen = 0;
  std::size_t cursor = 0;
  bool burst_have_src_ts = false;
  std::uint32_t burst_src_ts = 0;
  std::uint32_t burst_out_ts = 0;
  std::uint32_t burst_base_ts = 0;
  Clock::time_point burst_start{};
  std::uint64_t wait_gen = 0;

  std::uint32_t packets = 0;
  std::uint32_t octets = 0;
  Clock::time_point last_keyframe_request{};

  std::uint32_t clock_rate() const { return kind == TrackKind::Video ? 90000 : 48000; }
  // Continues our timeline after a pause: the next timestamp as if time had run on.
  std::uint32_t continued_ts(Clock::time_point now) const {
    return sent_any ? last_ts + std::max<std::uint32_t>(1, ticks(now - last_send, clock_rate())) : random_u32();
  }
};

Viewer::Viewer(ViewerConfig config, const DtlsCertificate& cert, ViewerHost& host, IngestTrack* video,
               IngestTrack* audio, Clock::time_point now)
    : config_(std::move(config)), host_(host), created_(now), last_consent_(now) {
  dtls_ = std::make_unique<DtlsTransport>(cert, DtlsTransport::Role::Server, *this, config_.fingerprint_algorithm,
                                          config_.fingerprint);
  if (config_.video && video) {
    video_ = std::make_unique<OutTrack>();
    video_->kind = TrackKind::Video;
    video_->cfg = *config_.video;
    video_->source = video;
  }
  if (config_.audio && audio) {
    audio_ = std::make_unique<OutTrack>();
    audio_->kind = TrackKind::Audio;
    audio_->cfg = *config_.audio;
    audio_->source = audio;
  }
}

Viewer::~Viewer() {
  if (video_) video_->source->unsubscribe(this);
  if (audio_) audio_->source->unsubscribe(this);
}

bool Viewer::catching_up() const { return video_ && video_->mode == OutTrack::Mode::CatchUp; }

std::optional<Clock::duration> Viewer::time_to_connected() const {
  if (!connected_at_) return std::nullopt;
  return *connected_at_ - created_;
}

std::optional<Clock::duration> Viewer::time_to_first_keyframe() const {
  if (!first_keyframe_at_) return std::nullopt;
  return *first_keyframe_at_ - created_;
}

std::string_view Viewer::srtp_profile() const { return srtp_ ? srtp_profile_name(srtp_->profile()) : ""; }

void Viewer::on_stun(const StunMessage& message, std::span<const std::uint8_t> packet, const Endpoint& from,
                     Clock::time_point now) {
  if (state_ == State::Closed || message.type != k_stun_binding_request) return;
  // USERNAME is "<our ufrag>:<their ufrag>" (the host matched ours already).
  const auto colon = message.username.find(':');
  if (colon == std::string_view::npos || message.username.substr(colon + 1) != config_.remote_ufrag) return;
  if (!verify_integrity(packet, message, config_.local_pwd)) return;  // not from our peer: no answer
  std::uint8_t out[256];
  const auto n = write_binding_success(out, message.transaction_id, from.sa(), config_.local_pwd);
  if (n > 0) host_.viewer_send(from, {out, n});
  last_consent_ = now;
  // ICE-lite: the controlling peer picks the pair; until it nominates one, the latest valid check
  // is where DTLS answers go.
  if (message.use_candidate || !selected_.valid()) {
    if (!(selected_ == from)) {
      selected_ = from;
      host_.viewer_address(*this, from);
    }
  } else {
    host_.viewer_address(*this, from);  // datagrams from this checked address are ours too
  }
  if (state_ == State::New) {
    state_ = State::Checking;
    dtls_->start();
  }
}

void Viewer::on_datagram(std::span<std::uint8_t> datagram, const Endpoint& from, Clock::time_point now) {
  if (state_ == State::Closed || datagram.empty()) return;
  const std::uint8_t first = datagram[0];
  if (first >= 20 && first <= 63) {
    if (!selected_.valid()) selected_ = from;
    dtls_->on_datagram(datagram);
    return;
  }
  if (first >= 128 && first <= 191 && srtp_ && media::is_rtcp_packet(datagram)) handle_rtcp(datagram, now);
}

void Viewer::on_dtls_send(std::span<const std::uint8_t> datagram) {
  if (selected_.valid()) host_.viewer_send(selected_, datagram);
}

void Viewer::on_dtls_connected(const SrtpKeys& keys) {
  try {
    srtp_ = std::make_unique<SrtpSession>(keys);
  } catch (const std::exception& e) {
    on_dtls_failed(e.what());
    return;
  }
  const auto now = Clock::now();
  connected_at_ = now;
  state_ = State::Connected;
  start_media(now);
}

void Viewer::on_dtls_failed(std::string_view why) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  host_.viewer_closed(*this, why);
}

void Viewer::on_dtls_closed() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  host_.viewer_closed(*this, "DTLS close_notify from the viewer");
}

void Viewer::start_media(Clock::time_point now) {
  state_ = State::Playing;
  next_sender_report_ = now + std::chrono::milliseconds(200);
  if (audio_) {
    audio_->mode = OutTrack::Mode::Live;
    audio_->epoch = 0;  // mapped at its first packet
    audio_->source->subscribe(this);
  }
  if (video_) {
    video_->source->subscribe(this);
    if (config_.gop_cache && video_->source->cache_valid()) {
      stats_.gop_cache_hit = true;
      start_catch_up(*video_, now);
    } else {
      video_->mode = OutTrack::Mode::WaitKeyframe;
      video_->wait_gen = video_->source->cache_generation();
    }
  }
}

void Viewer::start_catch_up(OutTrack& t, Clock::time_point now) {
  t.mode = OutTrack::Mode::CatchUp;
  t.cache_gen = t.source->cache_generation();
  t.cursor = 0;
  t.burst_have_src_ts = false;
  t.burst_start = now;
  t.burst_base_ts = t.continued_ts(now);
  host_.viewer_needs_pacing();
  pace(now);
}

void Viewer::pace(Clock::time_point now) {
  if (!video_ || video_->mode != OutTrack::Mode::CatchUp || state_ != State::Playing) return;
  OutTrack& t = *video_;
  IngestTrack& src = *t.source;
  if (src.cache_generation() != t.cache_gen) {
    if (!src.cache_valid()) {  // the source restarted or the GOP grew too large: wait for a keyframe
      t.mode = OutTrack::Mode::WaitKeyframe;
      t.wait_gen = src.cache_generation();
      return;
    }
    t.cache_gen = src.cache_generation();  // a newer keyframe: continue the burst from it
    t.cursor = 0;
  }
  const auto& cache = src.cache();
  std::size_t sent_bytes = 0;
  int frames = 0;
  while (t.cursor < cache.size() && sent_bytes < k_burst_bytes_per_pace) {
    const Packet& p = *cache[t.cursor];
    if (!t.burst_have_src_ts || p.timestamp != t.burst_src_ts) {
      if (frames == k_burst_frames_per_pace) break;
      ++frames;
      t.burst_have_src_ts = true;
      t.burst_src_ts = p.timestamp;
      // Timestamps follow the wall clock of the burst, so the viewer ends at the live edge.
      const std::uint32_t wall = t.burst_base_ts + ticks(now - t.burst_start, t.clock_rate());
      t.burst_out_ts = t.sent_any && static_cast<std::int32_t>(wall - t.last_ts) <= 0 ? t.last_ts + 1 : wall;
      if (t.cursor == 0) {
        ++stats_.keyframes_sent;
        if (!first_keyframe_at_) first_keyframe_at_ = now;
        // A cache that starts at the IDR itself: SPS and PPS go first, as one STAP-A.
        if (!p.param_sets && !src.sps().empty() && !src.pps().empty() && p.header_size >= 12) {
          std::uint8_t stap[Packet::k_capacity];
          std::memcpy(stap, p.data, 12);
          stap[0] &= 0xE0;  // no padding, extension or CSRCs in the injected packet
          const auto n = media::h264::write_stap_a({stap + 12, sizeof stap - 12}, src.sps(), src.pps());
          if (n > 0) {
            stap[1] &= 0x7F;  // not the end of the frame
            send_rtp(t, stap, 12 + n, t.next_seq, t.burst_out_ts, now, false);
          }
        }
      }
    }
    send_rtp(t, p.data, p.size, t.next_seq, t.burst_out_ts, now, false);
    ++t.cursor;
    sent_bytes += p.size;
  }
  if (t.cursor == cache.size() && !cache.empty()) {
    const Packet& last = *cache.back();
    t.epoch = last.epoch;
    t.seq_offset = static_cast<std::uint16_t>(t.next_seq - static_cast<std::uint16_t>(last.sequence + 1));
    t.ts_offset = t.last_ts - last.timestamp;
    t.nack_floor = t.next_seq;
    t.mode = OutTrack::Mode::Live;
  }
}

void Viewer::on_track_packet(TrackKind kind, const PacketRef& packet) {
  if (state_ != State::Playing) return;
  const auto now = Clock::now();
  if (kind == TrackKind::Audio) {
    if (audio_) send_live(*audio_, *packet, now);
    return;
  }
  if (!video_) return;
  OutTrack& t = *video_;
  switch (t.mode) {
    case OutTrack::Mode::CatchUp:
      return;  // the packet is in the cache; pace() sends it in turn
    case OutTrack::Mode::WaitKeyframe:
      if (t.source->cache_valid() && t.source->cache_generation() != t.wait_gen) start_catch_up(t, now);
      return;
    case OutTrack::Mode::Live:
      if (packet->epoch != t.epoch) {
        // FFmpeg restarted: new SSRC, sequence and timestamps. Resume at its first keyframe.
        const auto& cache = t.source->cache();
        if (t.source->cache_valid() && !cache.empty() && cache.front()->epoch == packet->epoch) {
          start_catch_up(t, now);
        } else {
          t.mode = OutTrack::Mode::WaitKeyframe;
          t.wait_gen = t.source->cache_generation();
        }
        return;
      }
      send_live(t, *packet, now);
      return;
    case OutTrack::Mode::Idle:
      return;
  }
}

void Viewer::send_live(OutTrack& t, const Packet& p, Clock::time_point now) {
  if (p.epoch != t.epoch) {  // first packet, or a new source: continue our own timeline
    t.epoch = p.epoch;
    t.seq_offset = static_cast<std::uint16_t>(t.next_seq - p.sequence);
    t.ts_offset = t.continued_ts(now) - p.timestamp;
    t.nack_floor = t.next_seq;
  }
  send_rtp(t, p.data, p.size, static_cast<std::uint16_t>(p.sequence + t.seq_offset), p.timestamp + t.ts_offset, now,
           false);
}

bool Viewer::send_rtp(OutTrack& t, const std::uint8_t* data, std::size_t size, std::uint16_t seq, std::uint32_t ts,
                      Clock::time_point now, bool retransmission) {
  if (!srtp_ || !selected_.valid() || size > Packet::k_capacity) return false;
  std::memcpy(g_scratch, data, size);
  media::set_rtp_ssrc(g_scratch, t.cfg.ssrc);
  media::set_rtp_payload_type(g_scratch, static_cast<std::uint8_t>(t.cfg.payload_type));
  media::set_rtp_sequence(g_scratch, seq);
  media::set_rtp_timestamp(g_scratch, ts);
  if (!retransmission) {
    t.next_seq = static_cast<std::uint16_t>(seq + 1);
    t.last_ts = ts;
    t.sent_any = true;
    t.last_send = now;
    ++t.packets;
    t.octets += static_cast<std::uint32_t>(size > 12 ? size - 12 : 0);
  }
  std::size_t len = size;
  if (!srtp_->protect_rtp(g_scratch, len)) {
    ++stats_.send_drops;
    return false;
  }
  if (!host_.viewer_send(selected_, {g_scratch, len})) {
    ++stats_.send_drops;
    return false;
  }
  ++stats_.packets_sent;
  stats_.bytes_sent += len;
  return true;
}

void Viewer::send_rtcp(std::uint8_t* buf, std::size_t len) {
  if (!srtp_ || !selected_.valid()) return;
  if (!srtp_->protect_rtcp(buf, len)) return;
  host_.viewer_send(selected_, {buf, len});
}

void Viewer::send_sender_reports(Clock::time_point now) {
  for (OutTrack* t : {video_.get(), audio_.get()}) {
    if (!t || t->mode != OutTrack::Mode::Live || !t->sent_any) continue;
    const auto& sr = t->source->sender_report();
    if (!sr.valid) continue;
    // The source's NTP↔RTP relation moved to now, in our timeline: lip sync survives the rewrite.
    const std::uint32_t src_now = sr.rtp_timestamp + ticks(now - sr.received, t->clock_rate());
    const std::uint64_t ntp = sr.ntp + ((static_cast<std::uint64_t>(
                                             std::chrono::duration_cast<std::chrono::microseconds>(now - sr.received).count())
                                         << 32) /
                                        1000000);
    rtcp::SenderReport report;
    report.ssrc = t->cfg.ssrc;
    report.ntp = ntp;
    report.rtp_timestamp = src_now + t->ts_offset;
    report.packet_count = t->packets;
    report.octet_count = t->octets;
    // A compound packet: SR then SDES with the CNAME of the answer (RFC 3550 §6.1).
    std::size_t n = rtcp::write_sender_report({g_rtcp_scratch, 1500}, report);
    if (n > 0) n += rtcp::write_sdes_cname({g_rtcp_scratch + n, 1500 - n}, t->cfg.ssrc, config_.cname);
    if (n > 0) send_rtcp(g_rtcp_scratch, n);
  }
}

void Viewer::housekeeping(Clock::time_point now) {
  if (state_ == State::Closed) return;
  if (auto due = dtls_->next_timeout(); due && *due <= now) dtls_->on_timer();
  if (state_ == State::Playing && now >= next_sender_report_) {
    next_sender_report_ = now + k_sender_report_interval;
    send_sender_reports(now);
  }
}

void Viewer::handle_rtcp(std::span<std::uint8_t> packet, Clock::time_point now) {
  std::size_t len = packet.size();
  if (len > sizeof g_rtcp_scratch - SrtpSession::k_max_trailer) return;
  if (!srtp_->unprotect_rtcp(packet.data(), len)) return;
  // Authenticated SRTCP proves the viewer is alive as well as a consent check does (some stacks,
  // e.g. Pion, send no consent checks while media flows).
  last_consent_ = now;
  struct Reader : rtcp::Visitor {
    Viewer& v;
    Clock::time_point at;
    Reader(Viewer& viewer, Clock::time_point n) : v(viewer), at(n) {}
    void on_nack(std::uint32_t media_ssrc, std::uint16_t pid, std::uint16_t blp) override {
      v.retransmit(media_ssrc, pid);
      for (int i = 0; i < 16; ++i) {
        if (blp & (1u << i)) v.retransmit(media_ssrc, static_cast<std::uint16_t>(pid + i + 1));
      }
    }
    void on_pli(std::uint32_t media_ssrc) override {
      ++v.stats_.plis;
      v.keyframe_request(media_ssrc, at);
    }
    void on_fir(std::uint32_t media_ssrc, std::uint8_t) override {
      ++v.stats_.firs;
      v.keyframe_request(media_ssrc, at);
    }
    void on_report_block(std::uint32_t, const rtcp::ReportBlock& rb) override {
      if (v.video_ && rb.ssrc == v.video_->cfg.ssrc) {
        v.stats_.fraction_lost = rb.fraction_lost;
        v.stats_.jitter = rb.jitter;
      }
    }
    void on_remb(std::uint64_t bps) override { v.stats_.remb_bps = bps; }
    void on_transport_cc(std::uint32_t, std::uint16_t, std::uint16_t) override { ++v.stats_.twcc_feedbacks; }
    void on_bye(std::uint32_t) override { v.bye_received_ = true; }
  } reader(*this, now);
  rtcp::parse_compound({packet.data(), len}, reader);
  if (bye_received_ && state_ != State::Closed) {
    state_ = State::Closed;
    host_.viewer_closed(*this, "RTCP BYE from the viewer");
  }
}

void Viewer::retransmit(std::uint32_t media_ssrc, std::uint16_t out_seq) {
  ++stats_.nacks;
  OutTrack* t = video_ && video_->cfg.ssrc == media_ssrc   ? video_.get()
                : audio_ && audio_->cfg.ssrc == media_ssrc ? audio_.get()
                                                           : nullptr;
  if (!t || !t->cfg.nack || t->mode != OutTrack::Mode::Live) return;
  // Only packets sent with the current mapping can be found again.
  if (static_cast<std::int16_t>(out_seq - t->nack_floor) < 0 || static_cast<std::int16_t>(out_seq - t->next_seq) >= 0) {
    return;
  }
  const Packet* p = t->source->history(static_cast<std::uint16_t>(out_seq - t->seq_offset));
  if (!p || p->epoch != t->epoch) return;
  if (send_rtp(*t, p->data, p->size, out_seq, p->timestamp + t->ts_offset, Clock::now(), true)) ++stats_.retransmits;
}

void Viewer::keyframe_request(std::uint32_t media_ssrc, Clock::time_point now) {
  if (!video_ || video_->cfg.ssrc != media_ssrc || video_->mode != OutTrack::Mode::Live) return;
  if (now - video_->last_keyframe_request < k_keyframe_request_interval) return;
  video_->last_keyframe_request = now;
  // FFmpeg cannot be asked for a keyframe; the GOP cache has the last one.
  if (video_->source->cache_valid()) start_catch_up(*video_, now);
}

void Viewer::close(std::string_view) {
  if (srtp_ && selected_.valid()) {
    std::uint32_t ssrcs[2];
    std::size_t count = 0;
    for (OutTrack* t : {video_.get(), audio_.get()}) {
      if (t && t->sent_any) ssrcs[count++] = t->cfg.ssrc;
    }
    if (count > 0) {
      const auto n = rtcp::write_bye({g_rtcp_scratch, 1500}, {ssrcs, count});
      if (n > 0) send_rtcp(g_rtcp_scratch, n);
    }
  }
  if (dtls_) dtls_->close();
  if (video_) video_->source->unsubscribe(this);
  if (audio_) audio_->source->unsubscribe(this);
  state_ = State::Closed;
}

void Viewer::restart_ice(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag,
                         std::string remote_pwd) {
  config_.local_ufrag = std::move(local_ufrag);
  config_.local_pwd = std::move(local_pwd);
  config_.remote_ufrag = std::move(remote_ufrag);
  config_.remote_pwd = std::move(remote_pwd);
}

}  // namespace dragon::webrtc
