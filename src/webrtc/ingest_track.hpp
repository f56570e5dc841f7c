#pragma once
// One track of a process's WebRTC leg as FFmpeg sends it to loopback: validates each RTP packet,
// follows the source (a new FFmpeg run brings a new SSRC, sequence and timestamp base: a new epoch),
// finds access units and keyframes, remembers SPS/PPS, keeps the GOP cache (from the last IDR's
// access unit) and the retransmission history, reads FFmpeg's sender reports for lip sync, and
// hands every packet to its subscribers. Runs on the WebRTC loop only.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "webrtc/packet_pool.hpp"

namespace dragon::webrtc {

enum class TrackKind { Video, Audio };

class TrackSubscriber {
 public:
  virtual ~TrackSubscriber() = default;
  virtual void on_track_packet(TrackKind kind, const PacketRef& packet) = 0;
};

struct TrackStats {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t invalid = 0;      // not RTP, or wrong payload
  std::uint64_t keyframes = 0;
  std::uint64_t epochs = 0;       // sources seen (FFmpeg runs)
  std::uint64_t b_frames = 0;     // B slices seen (WebRTC receivers cannot take them)
};

class IngestTrack {
 public:
  static constexpr std::size_t k_history = 1024;        // NACK window (power of two)
  static constexpr std::size_t k_max_cache_packets = 8192;  // a GOP larger than this is not cached

  // Video keeps a GOP cache (viewers decide whether to start from it or wait for the next IDR).
  IngestTrack(TrackKind kind, PacketPool& pool);

  // One datagram from FFmpeg's RTP socket. Returns false when it was not a usable RTP packet.
  bool on_rtp(std::span<const std::uint8_t> datagram, std::chrono::steady_clock::time_point now);
  // One datagram from FFmpeg's RTCP socket (sender reports).
  void on_rtcp(std::span<const std::uint8_t> datagram, std::chrono::steady_clock::time_point now);

  void subscribe(TrackSubscriber* s);
  void unsubscribe(TrackSubscriber* s);

  TrackKind kind() const { return kind_; }
  bool has_media() const { return stats_.packets > 0; }
  // H.264: known once an SPS was seen ("42e01f"); empty otherwise.
  const std::string& profile_level_id() const { return profile_level_id_; }
  unsigned width() const { return width_; }
  unsigned height() const { return height_; }
  std::uint32_t epoch() const { return epoch_; }
  std::uint32_t clock_rate() const { return kind_ == TrackKind::Video ? 90000 : 48000; }

  // The GOP cache: packets from the start of the last keyframe's access unit up to now. Its
  // generation changes whenever it restarts at a new keyframe.
  const std::vector<PacketRef>& cache() const { return cache_; }
  std::uint64_t cache_generation() const { return cache_generation_; }
  bool cache_valid() const { return cache_valid_; }
  // SPS and PPS as NAL units (for a cache that starts without them).
  std::span<const std::uint8_t> sps() const { return sps_; }
  std::span<const std::uint8_t> pps() const { return pps_; }

  // SPS/PPS known from elsewhere (FFmpeg's SDP) when the stream does not carry them in-band.
  void set_parameter_sets(std::span<const std::uint8_t> sps, std::span<const std::uint8_t> pps);

  // A packet of the current epoch by sequence number (for NACKs), or null.
  const Packet* history(std::uint16_t sequence) const;

  // Last sender report of the current epoch: NTP time and RTP timestamp, when it arrived.
  struct SenderReport {
    bool valid = false;
    std::uint64_t ntp = 0;
    std::uint32_t rtp_timestamp = 0;
    std::chrono::steady_clock::time_point received{};
  };
  const SenderReport& sender_report() const { return sr_; }
  std::chrono::steady_clock::time_point last_packet_time() const { return last_packet_time_; }
  const TrackStats& stats() const { return stats_; }

  // Called when B slices are first seen in an epoch (the process must transcode instead of copy).
  std::function<void()> on_b_frames;

 private:
  void on_new_epoch(std::uint32_t ssrc);
  void take_sps(std::span<const std::uint8_t> nal);
  void add_to_cache(const PacketRef& p);

  TrackKind kind_;
  PacketPool& pool_;
  bool gop_cache_enabled_;
  std::vector<TrackSubscriber*> subscribers_;
  bool delivering_ = false;
  std::array<PacketRef, k_history> history_;

  bool have_source_ = false;
  std::uint32_t ssrc_ = 0;
  std::uint32_t epoch_ = 0;
  std::uint16_t last_sequence_ = 0;
  bool have_timestamp_ = false;
  std::uint32_t au_timestamp_ = 0;      // timestamp of the access unit being received
  std::size_t au_cache_start_ = 0;      // its first packet's index in cache_
  bool au_has_keyframe_ = false;
  bool b_frames_reported_ = false;

  std::vector<PacketRef> cache_;
  std::uint64_t cache_generation_ = 0;
  bool cache_valid_ = false;

  std::vector<std::uint8_t> sps_;
  std::vector<std::uint8_t> pps_;
  std::string profile_level_id_;
  unsigned width_ = 0, height_ = 0;

  SenderReport sr_;
  std::chrono::steady_clock::time_point last_packet_time_{};
  TrackStats stats_;
};

}  // namespace dragon::webrtc
