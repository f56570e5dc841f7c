#pragma once
// What an RTMP audio/video message carries (FLV tag bodies, spec: FLV 10.1 annex E, and Enhanced RTMP
// v1/v2 from veovera), as much as the relay needs: keyframes and sequence headers for the GOP cache.
// Payloads are passed on unchanged.
//
// Video, legacy: byte 0 = FrameType (4 bits) | CodecID (4 bits); AVC (7) and the common HEVC extension
// (12) carry an AVCPacketType byte (0 sequence header, 1 NALUs, 2 end of sequence).
// Video, enhanced (E-RTMP): bit 0x80 of byte 0 is IsExHeader, bits 4..6 FrameType, low 4 bits PacketType
// (0 SequenceStart, 1 CodedFrames, 2 SequenceEnd, 3 CodedFramesX, 4 Metadata, 5 MPEG2TSSequenceStart,
// 6 Multitrack, 7 ModEx), then a FourCC (hvc1, av01, vp09, avc1, ...).
// Audio, legacy: SoundFormat in the high nibble; AAC (10) carries AACPacketType (0 sequence header).
// Audio, enhanced (E-RTMP v2): SoundFormat 9 = ExHeader, AudioPacketType in the low nibble
// (0 SequenceStart, 1 CodedFrames, 2 SequenceEnd, 4 MultichannelConfig, 5 Multitrack), then a FourCC.
#include <cstdint>
#include <span>
#include <string>

namespace dragon::rtmp::flv {

constexpr std::uint32_t fourcc(const char (&s)[5]) {
  return (std::uint32_t(static_cast<unsigned char>(s[0])) << 24) |
         (std::uint32_t(static_cast<unsigned char>(s[1])) << 16) |
         (std::uint32_t(static_cast<unsigned char>(s[2])) << 8) | std::uint32_t(static_cast<unsigned char>(s[3]));
}

enum class VideoFrame : std::uint8_t {
  Unknown = 0,
  Key = 1,
  Inter = 2,
  DisposableInter = 3,
  GeneratedKey = 4,
  Command = 5,
};

enum class ExVideoPacket : std::uint8_t {
  SequenceStart = 0,
  CodedFrames = 1,
  SequenceEnd = 2,
  CodedFramesX = 3,
  Metadata = 4,
  Mpeg2TsSequenceStart = 5,
  Multitrack = 6,
  ModEx = 7,
};

struct VideoInfo {
  bool valid = false;            // at least a header byte of a known layout
  bool enhanced = false;         // E-RTMP ExHeader
  VideoFrame frame = VideoFrame::Unknown;
  std::uint8_t codec_id = 0;     // legacy CodecID (7 AVC, 12 HEVC); 0 when enhanced
  std::uint32_t fourcc = 0;      // enhanced: the codec FourCC; legacy AVC/HEVC: avc1/hvc1 for convenience
  std::uint8_t packet_type = 0;  // legacy AVCPacketType or enhanced PacketType
  bool sequence_header = false;  // decoder configuration (AVC/HEVC sequence header, SequenceStart)
  bool sequence_end = false;
  bool keyframe = false;         // a coded keyframe (not a sequence header, not a command frame)
  bool has_frame_data = false;   // carries coded frames
};

struct AudioInfo {
  bool valid = false;
  bool enhanced = false;
  std::uint8_t sound_format = 0;  // legacy SoundFormat (10 AAC, 2 MP3, ...); 9 = ExHeader
  std::uint32_t fourcc = 0;       // enhanced: Opus, fLaC, mp4a, ac-3, ...
  std::uint8_t packet_type = 0;
  bool sequence_header = false;   // AAC sequence header, enhanced SequenceStart
};

VideoInfo classify_video(std::span<const std::uint8_t> payload);
AudioInfo classify_audio(std::span<const std::uint8_t> payload);

// "avc1" from a FourCC, for logs and stats ("" for 0).
std::string fourcc_name(std::uint32_t fourcc);

}  // namespace dragon::rtmp::flv
