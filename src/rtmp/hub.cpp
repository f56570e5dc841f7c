#include "rtmp/hub.hpp"

#include <algorithm>
#include <utility>

#include "rtmp/flv.hpp"

namespace dragon::rtmp {

namespace {

std::string audio_codec_name(const flv::AudioInfo& a) {
  if (a.enhanced) return flv::fourcc_name(a.fourcc);
  switch (a.sound_format) {
    case 0: case 3: return "pcm";
    case 1: return "adpcm";
    case 2: case 14: return "mp3";
    case 4: case 5: case 6: return "nellymoser";
    case 7: return "alaw";
    case 8: return "mulaw";
    case 10: return "aac";
    case 11: return "speex";
    default: return "format" + std::to_string(a.sound_format);
  }
}

}  // namespace

PacketRef make_packet(std::uint8_t type, std::uint32_t timestamp, Payload payload) {
  auto p = std::make_shared<Packet>();
  p->type = type;
  p->timestamp = timestamp;
  if (type == k_video) {
    const auto v = flv::classify_video(*payload);
    p->keyframe = v.keyframe;
    p->sequence_header = v.sequence_header;
  } else if (type == k_audio) {
    p->sequence_header = flv::classify_audio(*payload).sequence_header;
  }
  p->payload = std::move(payload);
  return p;
}

// ---- channel -------------------------------------------------------------------------------------------

Channel::Channel(std::string path, std::string publisher, ChannelOptions options)
    : path_(std::move(path)), options_(options) {
  stats_.path = path_;
  stats_.publisher = std::move(publisher);
}

void Channel::offer(Sub& sub, const PacketRef& p, bool burst) {
  if (!sub.s) return;
  const bool video = p->type == k_video;
  const bool essential = p->sequence_header || p->type == k_data_amf0;
  if (video && sub.need_keyframe && !p->keyframe && !essential) {  // waiting for a keyframe
    if (sub.dropping) {
      ++stats_.drops;
      if (on_drop) on_drop();
    }
    return;
  }
  if (!essential && !burst && sub.s->queued_bytes() + p->size() > options_.player_queue_bytes) {
    if (video) {
      sub.need_keyframe = true;
      sub.dropping = true;
    }
    ++stats_.drops;
    if (on_drop) on_drop();
    return;
  }
  if (video && p->keyframe) sub.need_keyframe = sub.dropping = false;
  std::uint32_t ts = 0;
  if (!essential) {
    if (!sub.has_base) {
      sub.has_base = true;
      sub.base = p->timestamp;
    }
    const auto d = static_cast<std::int32_t>(p->timestamp - sub.base);
    ts = d > 0 ? static_cast<std::uint32_t>(d) : 0;
  } else if (sub.has_base) {
    const auto d = static_cast<std::int32_t>(p->timestamp - sub.base);
    ts = d > 0 ? static_cast<std::uint32_t>(d) : 0;
  }
  sub.s->deliver(p, ts);
}

PacketRef Channel::chunked(const PacketRef& p) {
  if (p->type != k_audio && p->type != k_video) return p;
  auto& last = p->type == k_audio ? last_audio_timestamp_ : last_video_timestamp_;
  const std::optional<std::uint32_t> previous = std::exchange(last, p->timestamp);
  if (!previous) return p;
  const std::uint32_t delta = p->timestamp - *previous;
  if (static_cast<std::int32_t>(delta) < 0 || delta >= 0xFFFFFF) return p;  // backwards, or an extended field
  auto c = std::make_shared<Packet>(*p);
  ChunkWriter::write_delta(p->type == k_audio ? k_csid_audio : k_csid_video, p->type, delta, *p->payload,
                           options_.chunk_size, c->wire);
  c->wire_delta = delta;
  c->wire_chunk_size = options_.chunk_size;
  return c;
}

void Channel::compact() {
  subs_.erase(std::remove_if(subs_.begin(), subs_.end(), [](const Sub& s) { return s.s == nullptr; }), subs_.end());
}

void Channel::publish(const PacketRef& published) {
  if (ended_) return;
  const PacketRef p = chunked(published);
  ++stats_.packets;
  stats_.rx_bytes += p->size();
  if (p->type == k_video) {
    if (!has_video_ || stats_.video_codec.empty()) {
      const auto v = flv::classify_video(*p->payload);
      if (v.fourcc) stats_.video_codec = flv::fourcc_name(v.fourcc);
    }
    has_video_ = true;
    if (p->sequence_header) {
      video_header_ = p;
    } else if (p->keyframe) {
      gop_.clear();
      gop_bytes_ = 0;
      gop_valid_ = true;
    }
  } else if (p->type == k_audio) {
    if (stats_.audio_codec.empty()) stats_.audio_codec = audio_codec_name(flv::classify_audio(*p->payload));
    if (p->sequence_header) audio_header_ = p;
  }
  if (gop_valid_ && !p->sequence_header && p->type != k_data_amf0) {
    gop_.push_back(p);
    gop_bytes_ += p->size();
    if (gop_bytes_ > options_.cache_max_bytes) {
      gop_.clear();
      gop_bytes_ = 0;
      gop_valid_ = false;
    }
  }
  stats_.cache_bytes = gop_bytes_;
  delivering_ = true;
  for (auto& sub : subs_) offer(sub, p);
  delivering_ = false;
  compact();
}

void Channel::set_metadata(const PacketRef& p) {
  if (ended_) return;
  metadata_ = p;
  delivering_ = true;
  for (auto& sub : subs_) offer(sub, p);
  delivering_ = false;
  compact();
}

void Channel::add_player(Subscriber* s) {
  if (ended_) {
    s->publisher_gone();
    return;
  }
  subs_.push_back(Sub{s});
  // Index, not reference: offer() never adds subscribers, but keep it robust.
  const std::size_t i = subs_.size() - 1;
  delivering_ = true;
  if (metadata_) offer(subs_[i], metadata_);
  if (video_header_) offer(subs_[i], video_header_);
  if (audio_header_) offer(subs_[i], audio_header_);
  if (gop_valid_)
    for (const auto& p : gop_) offer(subs_[i], p, true);
  delivering_ = false;
  compact();
}

void Channel::remove_player(Subscriber* s) {
  for (auto& sub : subs_)
    if (sub.s == s) sub.s = nullptr;
  if (!delivering_) compact();
}

std::size_t Channel::players() const {
  return static_cast<std::size_t>(std::count_if(subs_.begin(), subs_.end(), [](const Sub& s) { return s.s; }));
}

void Channel::end() {
  if (ended_) return;
  ended_ = true;
  auto subs = std::move(subs_);
  subs_.clear();
  for (auto& sub : subs)
    if (sub.s) sub.s->publisher_gone();
  gop_.clear();
  gop_bytes_ = 0;
  metadata_.reset();
  video_header_.reset();
  audio_header_.reset();
}

ChannelStats Channel::stats() const {
  ChannelStats s = stats_;
  s.players = players();
  return s;
}

// ---- hub -----------------------------------------------------------------------------------------------

std::shared_ptr<Channel> Hub::publish(const std::string& path, const std::string& publisher) {
  if (channels_.count(path)) return nullptr;
  auto c = std::make_shared<Channel>(path, publisher, options_);
  c->on_drop = [this] {
    if (on_drop) on_drop();
  };
  channels_.emplace(path, c);
  return c;
}

void Hub::unpublish(const std::shared_ptr<Channel>& channel) {
  if (!channel) return;
  auto it = channels_.find(channel->path());
  if (it != channels_.end() && it->second == channel) channels_.erase(it);
  channel->on_drop = nullptr;
  channel->end();
}

std::shared_ptr<Channel> Hub::find(const std::string& path) const {
  auto it = channels_.find(path);
  return it == channels_.end() ? nullptr : it->second;
}

std::vector<std::string> Hub::paths() const {
  std::vector<std::string> out;
  out.reserve(channels_.size());
  for (const auto& [path, c] : channels_) out.push_back(path);
  return out;
}

std::vector<ChannelStats> Hub::stats() const {
  std::vector<ChannelStats> out;
  for (const auto& [path, c] : channels_) out.push_back(c->stats());
  return out;
}

void Hub::clear() {
  auto channels = std::move(channels_);
  channels_.clear();
  for (auto& [path, c] : channels) {
    c->on_drop = nullptr;
    c->end();
  }
}

}  // namespace dragon::rtmp
