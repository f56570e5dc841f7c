#include "webrtc/ingest_track.hpp"

#include <algorithm>

#include "media/h264.hpp"
#include "media/rtp.hpp"
#include "webrtc/rtcp.hpp"

namespace dragon::webrtc {

IngestTrack::IngestTrack(TrackKind kind, PacketPool& pool)
    : kind_(kind), pool_(pool), gop_cache_enabled_(kind == TrackKind::Video) {
  if (gop_cache_enabled_) cache_.reserve(1024);
}

void IngestTrack::subscribe(TrackSubscriber* s) {
  if (std::find(subscribers_.begin(), subscribers_.end(), s) == subscribers_.end()) subscribers_.push_back(s);
}

void IngestTrack::unsubscribe(TrackSubscriber* s) {
  auto it = std::find(subscribers_.begin(), subscribers_.end(), s);
  if (it == subscribers_.end()) return;
  if (delivering_) {
    *it = nullptr;  // compacted after the delivery loop
  } else {
    subscribers_.erase(it);
  }
}

const Packet* IngestTrack::history(std::uint16_t sequence) const {
  const auto& ref = history_[sequence & (k_history - 1)];
  if (!ref || ref->sequence != sequence || ref->epoch != epoch_) return nullptr;
  return ref.get();
}

void IngestTrack::take_sps(std::span<const std::uint8_t> nal) {
  sps_.assign(nal.begin(), nal.end());
  if (auto sps = media::h264::parse_sps(nal)) {
    profile_level_id_ = sps->profile_level_id();
    width_ = sps->width;
    height_ = sps->height;
  }
}

void IngestTrack::set_parameter_sets(std::span<const std::uint8_t> sps, std::span<const std::uint8_t> pps) {
  if (sps.empty() || pps.empty() || (sps[0] & 0x1f) != 7 || (pps[0] & 0x1f) != 8) return;
  take_sps(sps);
  pps_.assign(pps.begin(), pps.end());
}

void IngestTrack::on_new_epoch(std::uint32_t ssrc) {
  have_source_ = true;
  ssrc_ = ssrc;
  ++epoch_;
  ++stats_.epochs;
  have_timestamp_ = false;
  b_frames_reported_ = false;
  cache_.clear();
  cache_valid_ = false;
  ++cache_generation_;
  sr_ = {};
}

bool IngestTrack::on_rtp(std::span<const std::uint8_t> datagram, std::chrono::steady_clock::time_point now) {
  const auto header = media::parse_rtp(datagram);
  if (!header || datagram.size() > Packet::k_capacity || header->payload_size == 0) {
    ++stats_.invalid;
    return false;
  }
  if (!have_source_ || header->ssrc != ssrc_) on_new_epoch(header->ssrc);

  PacketRef p = pool_.acquire();
  std::copy(datagram.begin(), datagram.end(), p->data);
  p->size = datagram.size();
  p->sequence = header->sequence;
  p->timestamp = header->timestamp;
  p->header_size = header->header_size;
  p->epoch = epoch_;
  last_sequence_ = header->sequence;
  last_packet_time_ = now;
  ++stats_.packets;
  stats_.bytes += datagram.size();

  if (kind_ == TrackKind::Video) {
    const std::span<const std::uint8_t> payload(p->data + header->header_size, header->payload_size);
    const auto info = media::h264::inspect_rtp_payload(payload);
    if (info.has_sps || info.has_pps) {
      p->param_sets = true;
      media::h264::for_each_nal(payload, [this](std::span<const std::uint8_t> nal) {
        if (nal.empty()) return;
        const auto type = nal[0] & 0x1f;
        if (type == 7 && !std::equal(nal.begin(), nal.end(), sps_.begin(), sps_.end())) {
          take_sps(nal);
        } else if (type == 8 && !std::equal(nal.begin(), nal.end(), pps_.begin(), pps_.end())) {
          pps_.assign(nal.begin(), nal.end());
        }
      });
    }
    if (info.has_b_slice) {
      ++stats_.b_frames;
      if (!b_frames_reported_) {
        b_frames_reported_ = true;
        if (on_b_frames) on_b_frames();
      }
    }
    const bool new_access_unit = !have_timestamp_ || header->timestamp != au_timestamp_;
    if (new_access_unit) {
      have_timestamp_ = true;
      au_timestamp_ = header->timestamp;
      au_has_keyframe_ = false;
      if (!cache_valid_) cache_.clear();  // the previous unit had no keyframe: nothing to start from
      au_cache_start_ = cache_.size();
    }
    if (gop_cache_enabled_) {
      cache_.push_back(p);
      if (info.has_idr && !au_has_keyframe_) {
        // The cache restarts at this access unit (its SPS/PPS packets, if any, came first).
        cache_.erase(cache_.begin(), cache_.begin() + static_cast<std::ptrdiff_t>(au_cache_start_));
        au_cache_start_ = 0;
        cache_valid_ = true;
        ++cache_generation_;
        cache_.front()->keyframe_start = true;
      }
      if (cache_.size() > k_max_cache_packets) {
        cache_.clear();
        cache_valid_ = false;
        ++cache_generation_;
      }
    }
    if (info.has_idr && !au_has_keyframe_) {
      au_has_keyframe_ = true;
      ++stats_.keyframes;
    }
  }

  history_[p->sequence & (k_history - 1)] = p;
  // A subscriber may subscribe or unsubscribe others while being called: index loop, nulls compacted.
  delivering_ = true;
  for (std::size_t i = 0; i < subscribers_.size(); ++i) {
    if (auto* s = subscribers_[i]) s->on_track_packet(kind_, p);
  }
  delivering_ = false;
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), nullptr), subscribers_.end());
  return true;
}

void IngestTrack::on_rtcp(std::span<const std::uint8_t> datagram, std::chrono::steady_clock::time_point now) {
  struct Reader : rtcp::Visitor {
    IngestTrack& track;
    std::chrono::steady_clock::time_point at;
    Reader(IngestTrack& t, std::chrono::steady_clock::time_point n) : track(t), at(n) {}
    void on_sender_report(const rtcp::SenderReport& sr) override {
      if (!track.have_source_ || sr.ssrc != track.ssrc_) return;
      track.sr_.valid = true;
      track.sr_.ntp = sr.ntp;
      track.sr_.rtp_timestamp = sr.rtp_timestamp;
      track.sr_.received = at;
    }
  } reader(*this, now);
  rtcp::parse_compound(datagram, reader);
}

}  // namespace dragon::webrtc
