#include "rtmp/flv.hpp"

namespace dragon::rtmp::flv {

namespace {
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
}  // namespace

VideoInfo classify_video(std::span<const std::uint8_t> payload) {
  VideoInfo v;
  if (payload.empty()) return v;
  const std::uint8_t b0 = payload[0];
  if (b0 & 0x80) {
    v.enhanced = true;
    v.frame = static_cast<VideoFrame>((b0 >> 4) & 0x07);
    v.packet_type = b0 & 0x0F;
    if (payload.size() < 5) return v;
    v.valid = true;
    const auto pt = static_cast<ExVideoPacket>(v.packet_type);
    if (pt == ExVideoPacket::ModEx || pt == ExVideoPacket::Multitrack) {
      // ModEx wraps the real packet type behind modifier data; Multitrack carries a track layout byte
      // before the FourCC. Neither is interpreted: passed through, never a cache start.
      return v;
    }
    v.fourcc = be32(payload.data() + 1);
    if (v.frame == VideoFrame::Command) return v;  // command frames carry no picture
    v.sequence_header = pt == ExVideoPacket::SequenceStart || pt == ExVideoPacket::Mpeg2TsSequenceStart;
    v.sequence_end = pt == ExVideoPacket::SequenceEnd;
    v.has_frame_data = pt == ExVideoPacket::CodedFrames || pt == ExVideoPacket::CodedFramesX;
    v.keyframe = v.has_frame_data && v.frame == VideoFrame::Key;
    return v;
  }
  v.frame = static_cast<VideoFrame>(b0 >> 4);
  v.codec_id = b0 & 0x0F;
  v.valid = v.frame != VideoFrame::Unknown && v.codec_id != 0;
  if (!v.valid) return v;
  if (v.frame == VideoFrame::Command) return v;  // video info/command frame (FrameType 5)
  if (v.codec_id == 7 || v.codec_id == 12) {
    v.fourcc = v.codec_id == 7 ? fourcc("avc1") : fourcc("hvc1");
    if (payload.size() < 2) {
      v.valid = false;
      return v;
    }
    v.packet_type = payload[1];
    v.sequence_header = v.packet_type == 0;
    v.sequence_end = v.packet_type == 2;
    v.has_frame_data = v.packet_type == 1;
  } else {
    v.has_frame_data = payload.size() > 1;
  }
  v.keyframe = v.has_frame_data && v.frame == VideoFrame::Key;
  return v;
}

AudioInfo classify_audio(std::span<const std::uint8_t> payload) {
  AudioInfo a;
  if (payload.empty()) return a;
  a.sound_format = payload[0] >> 4;
  if (a.sound_format == 9) {
    a.enhanced = true;
    a.packet_type = payload[0] & 0x0F;
    if (payload.size() < 5) return a;
    a.valid = true;
    if (a.packet_type == 5 || a.packet_type == 7) return a;  // Multitrack / ModEx: passed through
    a.fourcc = be32(payload.data() + 1);
    a.sequence_header = a.packet_type == 0;
    return a;
  }
  a.valid = true;
  if (a.sound_format == 10) {
    if (payload.size() < 2) {
      a.valid = false;
      return a;
    }
    a.packet_type = payload[1];
    a.sequence_header = a.packet_type == 0;
  }
  return a;
}

std::string fourcc_name(std::uint32_t f) {
  if (!f) return {};
  std::string s(4, ' ');
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((f >> (24 - 8 * i)) & 0xFF);
    s[static_cast<std::size_t>(i)] = (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  return s;
}

}  // namespace dragon::rtmp::flv
