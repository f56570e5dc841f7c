#pragma once
// The stream hub: channels by path, one publisher each, any number of players, a GOP cache per channel.
// Single-threaded (the server runs it on its strand); no sockets here, so it is tested directly.
//
// Fan-out: a publisher's message becomes one immutable Packet (shared_ptr); every player's queue holds
// references to it, never copies. Each player has a byte budget: when the bytes it has queued but not yet
// sent would exceed it, that player (only) drops video until the next keyframe, and audio while it is
// over budget; drops are counted. Sequence headers and metadata are never dropped, nor is the burst of
// the GOP cache a player gets when it joins (bounded by the cache's own limit): the budget applies to what
// follows it.
//
// GOP cache: the last metadata (onMetaData), the audio and video sequence headers, and every packet since
// the last video keyframe (bounded in bytes; past the bound the cache is invalid until the next keyframe).
// A new player gets metadata, headers and the cache at once, so it starts on a keyframe without waiting.
// Timestamps are rebased per player to start at 0 (upstream does the same).
//
// Wire form: the channel chunks each audio/video message once, with a fmt 1 header carrying the
// timestamp delta to its previous message of the same kind. Rebasing shifts all of a player's timestamps
// alike, so a player that got that previous message can take these bytes as they are; only a player's
// first message per chunk stream, and the first after a drop, need headers of its own.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rtmp/chunk.hpp"

namespace dragon::rtmp {

// Chunk streams players receive audio and video on.
constexpr std::uint32_t k_csid_audio = 6, k_csid_video = 7;

struct Packet {
  std::uint8_t type = 0;          // k_audio, k_video or k_data_amf0
  std::uint32_t timestamp = 0;    // the publisher's
  Payload payload;                // immutable once in a Packet
  bool keyframe = false;          // video keyframe with coded data
  bool sequence_header = false;   // audio/video decoder configuration
  // The wire form shared by players (see above; ChunkWriter::write_delta on k_csid_audio/k_csid_video at
  // wire_chunk_size); empty for data messages, a kind's first message and deltas a plain header cannot carry.
  std::vector<std::uint8_t> wire;
  std::uint32_t wire_delta = 0;
  std::uint32_t wire_chunk_size = 0;
  std::size_t size() const { return payload ? payload->size() : 0; }
};
using PacketRef = std::shared_ptr<const Packet>;

// Builds a Packet from a publisher's audio/video/data message, classifying it (FLV / E-RTMP).
PacketRef make_packet(std::uint8_t type, std::uint32_t timestamp, Payload payload);

// What a player connection implements. Called on the hub's thread.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Payload bytes queued and not yet written.
  virtual std::size_t queued_bytes() const = 0;
  // Queue `p` with the rebased `timestamp`; must not block and must not call back into the hub.
  virtual void deliver(const PacketRef& p, std::uint32_t timestamp) = 0;
  // The publisher left: send StreamEOF + UnpublishNotify and close once sent. Must not call back.
  virtual void publisher_gone() = 0;
};

struct ChannelStats {
  std::string path;
  std::string publisher;  // remote address
  std::size_t players = 0;
  std::uint64_t rx_bytes = 0;     // media payload bytes from the publisher
  std::uint64_t tx_bytes = 0;     // bytes written to this channel's players (reported by them)
  std::uint64_t packets = 0;
  std::uint64_t drops = 0;        // packets dropped for slow players
  std::uint64_t cache_bytes = 0;  // GOP cache
  std::string video_codec, audio_codec;  // FourCC / "aac" / "mp3" ...; "" while unknown
};

struct ChannelOptions {
  std::size_t cache_max_bytes = 6u << 20;   // GOP cache bound
  std::size_t player_queue_bytes = 8u << 20;  // per player budget of queued bytes
  std::uint32_t chunk_size = 4096;            // players' chunk size: the wire form is made at it
};

class Channel {
 public:
  Channel(std::string path, std::string publisher, ChannelOptions options);
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  const std::string& path() const { return path_; }
  bool ended() const { return ended_; }

  // The publisher's media and data (k_data_amf0 payloads are onMetaData etc. as players expect them,
  // i.e. without "@setDataFrame"). Fans out and updates the cache.
  void publish(const PacketRef& p);
  // Stores `p` as the channel's metadata (sent to new players first) and fans it out.
  void set_metadata(const PacketRef& p);

  // Adds a player: metadata, sequence headers and the GOP cache are delivered at once.
  void add_player(Subscriber* s);
  void remove_player(Subscriber* s);
  std::size_t players() const;

  // The publisher left: every player gets publisher_gone() and is removed.
  void end();

  void add_tx_bytes(std::uint64_t n) { stats_.tx_bytes += n; }
  ChannelStats stats() const;
  // Called once per dropped packet (metrics).
  std::function<void()> on_drop;

  // For tests.
  const std::vector<PacketRef>& gop() const { return gop_; }
  bool gop_valid() const { return gop_valid_; }

 private:
  struct Sub {
    Subscriber* s = nullptr;
    bool need_keyframe = true;  // video waits for a keyframe (at start and after a drop)
    bool dropping = false;      // need_keyframe because of a drop: skipped video counts as dropped
    bool has_base = false;
    std::uint32_t base = 0;
  };
  // `burst`: the joining burst from the cache, admitted whole (the cache is bounded in bytes itself).
  void offer(Sub& sub, const PacketRef& p, bool burst = false);
  void compact();
  // `p` with its wire form.
  PacketRef chunked(const PacketRef& p);

  std::string path_;
  ChannelOptions options_;
  std::vector<Sub> subs_;
  bool delivering_ = false;
  bool ended_ = false;
  bool has_video_ = false;
  std::optional<std::uint32_t> last_audio_timestamp_, last_video_timestamp_;  // for wire deltas

  PacketRef metadata_, video_header_, audio_header_;
  std::vector<PacketRef> gop_;
  std::size_t gop_bytes_ = 0;
  bool gop_valid_ = false;
  ChannelStats stats_;
};

class Hub {
 public:
  explicit Hub(ChannelOptions options = {}) : options_(options) {}

  // A new channel for a publisher, or null when the path is already published (CONFLICT).
  std::shared_ptr<Channel> publish(const std::string& path, const std::string& publisher);
  // Ends the channel (players are told) and forgets it. Only the channel object given is removed.
  void unpublish(const std::shared_ptr<Channel>& channel);
  std::shared_ptr<Channel> find(const std::string& path) const;
  std::vector<std::string> paths() const;  // sorted
  std::vector<ChannelStats> stats() const;
  std::size_t size() const { return channels_.size(); }
  // Ends every channel (server stop).
  void clear();

  std::function<void()> on_drop;

 private:
  ChannelOptions options_;
  std::map<std::string, std::shared_ptr<Channel>> channels_;
};

}  // namespace dragon::rtmp
