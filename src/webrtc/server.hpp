#pragma once
// The WebRTC egress server: one loop thread that owns the viewers' UDP port (and, when enabled, the
// passive ICE-TCP port beside it), every process's RTP
// ingest sockets (the legs injected into FFmpeg), the ingest tracks with their GOP caches, and all
// viewers. Public methods are thread-safe: they post to the loop and wait for the answer.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dragon::webrtc {

struct ServerOptions {
  bool udp_enable = true;
  std::string udp_address = ":8555";       // host:port; empty host = all interfaces
  // Passive ICE-TCP (RFC 6544, RFC 4571 framing) for viewers whose UDP is blocked: host candidates
  // "tcp ... tcptype passive" in answers, on this TCP port (the same number as UDP is fine).
  bool tcp_enable = false;
  std::string tcp_address = ":8555";
  std::size_t tcp_max_connections = 1024;             // open at once; more are closed at once
  std::size_t tcp_max_outstanding_bytes = 256 * 1024;  // per connection; a slow viewer loses packets beyond
  std::vector<std::string> public_ips;      // announced as host candidates (NAT, Docker)
  std::vector<std::string> public_hosts;    // announced by name
  std::uint16_t rtp_port_min = 20000;       // internal legs from FFmpeg (loopback)
  std::uint16_t rtp_port_max = 20999;
  std::size_t max_viewers = 0;              // per process; 0 = unlimited
  std::chrono::seconds ice_timeout{10};     // ICE+DTLS must complete within; consent expiry
  bool gop_cache = true;
  std::chrono::milliseconds media_wait{4000};  // how long a POST waits for a just-started process's media
  // Viewer sessions (app wires them to the session registry's "webrtc" collector); called on the loop.
  std::function<bool(const std::string& resource_id, const std::string& process_id)> session_open;  // false: refuse
  std::function<void(const std::string& resource_id, std::uint64_t bytes_sent_total)> session_bytes;
  std::function<void(const std::string& resource_id)> session_close;
};

// The loopback ports FFmpeg sends its legs to (RTCP on port + 1), and where FFmpeg writes the legs'
// SDP (-sdp_file): a copied H.264 leg may carry SPS/PPS only there (sprop-parameter-sets).
struct LegPorts {
  std::uint16_t video = 0;
  std::uint16_t audio = 0;
  std::string sdp_file;
};

struct WhepResult {
  int status = 0;          // 201, or the error status
  std::string body;        // the answer SDP, or the error message
  std::string resource_id;
  std::string etag;
};

// Counters and gauges for metrics (read on any thread).
struct ServerCounters {
  std::uint64_t viewers_active = 0;
  std::uint64_t sessions_connected = 0;  // viewers that got their first keyframe
  // Why sessions ended.
  std::uint64_t ended_deleted = 0, ended_bye = 0, ended_process_stopped = 0, ended_consent_expired = 0,
                ended_ice_timeout = 0, ended_dtls_failed = 0;
  std::uint64_t packets_out = 0, bytes_out = 0;
  std::uint64_t nacks = 0, retransmits = 0, plis = 0, firs = 0;
  std::uint64_t gop_cache_hits = 0, gop_cache_misses = 0;
  std::uint64_t send_drops = 0;
  std::uint64_t ingest_packets = 0, ingest_invalid = 0;
  std::uint64_t datagrams_in = 0, datagrams_unknown = 0;
  // ICE-TCP connections: open now; accepted; refused (limit); closed for a bad frame (invalid length,
  // not STUN first, unknown ufrag, viewer gone) or a timeout (no valid check in time, idle).
  std::uint64_t tcp_active = 0, tcp_accepted = 0, tcp_refused = 0, tcp_bad_frame = 0, tcp_timeout = 0;
  std::vector<double> setup_seconds;  // setup durations since the last read (POST → first keyframe sent)
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the viewers' UDP port and starts the loop. Throws std::runtime_error naming the address.
  void start();
  void stop();

  // A process with webrtc enabled starts (or restarts): its legs' ports, bound and listening.
  // Idempotent per process id: a restart keeps the ports and the connected viewers.
  std::optional<LegPorts> open_stream(const std::string& process_id);
  // The process stopped or was deleted: viewers get RTCP BYE and are removed; ports are released.
  void close_stream(const std::string& process_id);
  bool stream_open(const std::string& process_id) const;

  // WHEP POST: offer in, answer (201) or error out. May wait up to media_wait for media to arrive.
  WhepResult offer(const std::string& process_id, const std::string& sdp);
  // WHEP PATCH: trickle candidates (204) or ICE restart (200 + sdpfrag). Status in .status.
  WhepResult patch(const std::string& process_id, const std::string& resource_id, const std::string& if_match,
                   const std::string& sdpfrag);
  // WHEP DELETE: true if the viewer existed (the route answers 204 either way).
  bool remove(const std::string& process_id, const std::string& resource_id);

  // For the process state: ports, tracks, viewers.
  nlohmann::json stream_json(const std::string& process_id) const;
  ServerCounters counters();

  // Called on the loop when a stream's video shows B-frames (the process should transcode).
  std::function<void(const std::string& process_id)> on_b_frames;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dragon::webrtc
