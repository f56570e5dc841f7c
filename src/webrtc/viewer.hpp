#pragma once
// One WHEP viewer: its ICE-lite state (credentials, the address it talks from, consent), its DTLS
// transport and SRTP session, and one outbound track per negotiated m-line that rewrites the shared
// ingest packets (SSRC, payload type, sequence and timestamp offsets) into a scratch buffer,
// protects and sends them. A new viewer starts from the GOP cache (paced, timestamps compressed to
// wall-clock so it ends at the live edge) or waits for the next keyframe. Runs on the WebRTC loop.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "webrtc/dtls.hpp"
#include "webrtc/endpoint.hpp"
#include "webrtc/ingest_track.hpp"
#include "webrtc/srtp.hpp"
#include "webrtc/stun.hpp"

namespace dragon::webrtc {

class Viewer;

// What a viewer needs from the server around it (the engine implements it).
class ViewerHost {
 public:
  virtual ~ViewerHost() = default;
  // False when the datagram was dropped (the socket's send buffer is full).
  virtual bool viewer_send(const Endpoint& to, std::span<const std::uint8_t> datagram) = 0;
  // A valid connectivity check arrived from `from`: datagrams from there belong to this viewer.
  virtual void viewer_address(Viewer& viewer, const Endpoint& from) = 0;
  // A GOP-cache burst started: call pace() every few milliseconds while catching_up().
  virtual void viewer_needs_pacing() = 0;
  // The viewer is finished (DTLS failed or closed, RTCP BYE); the host removes it later.
  virtual void viewer_closed(Viewer& viewer, std::string_view reason) = 0;
};

struct OutboundTrackConfig {
  int payload_type = 0;
  std::uint32_t ssrc = 0;
  bool nack = false;
  bool pli = false;
};

struct ViewerConfig {
  std::string resource_id;
  std::string process_id;
  std::string local_ufrag, local_pwd;
  std::string remote_ufrag, remote_pwd;
  std::string fingerprint_algorithm, fingerprint;
  std::optional<OutboundTrackConfig> video, audio;
  std::string cname;  // as in the answer's a=ssrc lines
  bool gop_cache = true;
};

struct ViewerStats {
  std::uint64_t packets_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t send_drops = 0;
  std::uint64_t nacks = 0;        // sequence numbers asked for
  std::uint64_t retransmits = 0;  // of which we still had
  std::uint64_t plis = 0;
  std::uint64_t firs = 0;
  std::uint64_t keyframes_sent = 0;
  bool gop_cache_hit = false;
  std::uint8_t fraction_lost = 0;  // last receiver report (x/256)
  std::uint32_t jitter = 0;        // video, in RTP units
  std::uint64_t remb_bps = 0;
  std::uint64_t twcc_feedbacks = 0;
};

class Viewer final : public TrackSubscriber, public DtlsTransport::Listener {
 public:
  enum class State { New, Checking, Connected, Playing, Closed };

  Viewer(ViewerConfig config, const DtlsCertificate& cert, ViewerHost& host, IngestTrack* video, IngestTrack* audio,
         std::chrono::steady_clock::time_point now);
  ~Viewer() override;
  Viewer(const Viewer&) = delete;
  Viewer& operator=(const Viewer&) = delete;

  // A Binding request whose USERNAME starts with our ufrag.
  void on_stun(const StunMessage& message, std::span<const std::uint8_t> packet, const Endpoint& from,
               std::chrono::steady_clock::time_point now);
  // Any other datagram from one of our addresses (DTLS or SRTCP); modified in place.
  void on_datagram(std::span<std::uint8_t> datagram, const Endpoint& from, std::chrono::steady_clock::time_point now);
  // Pacing of a GOP-cache burst; the host calls it every few milliseconds while catching_up().
  void pace(std::chrono::steady_clock::time_point now);
  // Timers (DTLS retransmission, sender reports); the host calls it a few times per second.
  void housekeeping(std::chrono::steady_clock::time_point now);
  // RTCP BYE and DTLS close_notify, then silence.
  void close(std::string_view reason);
  // PATCH with new credentials (ICE restart): the transport and DTLS stay.
  void restart_ice(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag, std::string remote_pwd);

  void on_track_packet(TrackKind kind, const PacketRef& packet) override;

  // DtlsTransport::Listener
  void on_dtls_send(std::span<const std::uint8_t> datagram) override;
  void on_dtls_connected(const SrtpKeys& keys) override;
  void on_dtls_failed(std::string_view why) override;
  void on_dtls_closed() override;

  const ViewerConfig& config() const { return config_; }
  State state() const { return state_; }
  bool catching_up() const;
  bool ice_connected() const { return selected_.valid(); }
  std::chrono::steady_clock::time_point created() const { return created_; }
  std::chrono::steady_clock::time_point last_consent() const { return last_consent_; }
  // Setup latency: POST to DTLS connected, and to the first keyframe sent (nullopt until then).
  std::optional<std::chrono::steady_clock::duration> time_to_connected() const;
  std::optional<std::chrono::steady_clock::duration> time_to_first_keyframe() const;
  const ViewerStats& stats() const { return stats_; }
  const Endpoint& address() const { return selected_; }
  std::string_view srtp_profile() const;

 private:
  struct OutTrack;
  void start_media(std::chrono::steady_clock::time_point now);
  void start_catch_up(OutTrack& t, std::chrono::steady_clock::time_point now);
  void send_live(OutTrack& t, const Packet& p, std::chrono::steady_clock::time_point now);
  bool send_rtp(OutTrack& t, const std::uint8_t* data, std::size_t size, std::uint16_t seq, std::uint32_t ts,
                std::chrono::steady_clock::time_point now, bool retransmission);
  void send_rtcp(std::uint8_t* buf, std::size_t len);
  void send_sender_reports(std::chrono::steady_clock::time_point now);
  void handle_rtcp(std::span<std::uint8_t> packet, std::chrono::steady_clock::time_point now);
  void retransmit(std::uint32_t media_ssrc, std::uint16_t out_seq);
  void keyframe_request(std::uint32_t media_ssrc, std::chrono::steady_clock::time_point now);

  ViewerConfig config_;
  ViewerHost& host_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_;
  std::unique_ptr<OutTrack> video_;
  std::unique_ptr<OutTrack> audio_;
  Endpoint selected_;
  State state_ = State::New;
  std::chrono::steady_clock::time_point created_;
  std::chrono::steady_clock::time_point last_consent_;
  std::optional<std::chrono::steady_clock::time_point> connected_at_;
  std::optional<std::chrono::steady_clock::time_point> first_keyframe_at_;
  std::chrono::steady_clock::time_point next_sender_report_{};
  ViewerStats stats_;
  bool bye_received_ = false;
};

}  // namespace dragon::webrtc
