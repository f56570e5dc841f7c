#pragma once
// VP8 RTP payloads (RFC 7741): the payload descriptor, and the few bits of the VP8 payload header the
// WebRTC path needs (key frame, picture size). Parsing reads the packet in place, never allocates and
// never reads outside the input; offsets let the per-viewer rewriter (media/picture_id.hpp) patch the
// picture ID and TL0PICIDX without parsing again.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace dragon::media::vp8 {

enum class Error : std::uint8_t {
  None,
  Empty,              // no bytes at all
  TruncatedDescriptor,  // a flag announces a field that the packet does not hold
  NoPayload,          // the descriptor is the whole packet: no VP8 data follows
};
std::string_view to_string(Error e);

// RFC 7741 section 4.2:
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |X|R|N|S|R| PID |  required
//  X:   |I|L|T|K| RSV   |
//  I:   |M| PictureID   |  (second PictureID byte if M)
//  L:   |   TL0PICIDX   |
//  T/K: |TID|Y| KEYIDX  |
// Reserved bits are ignored, as the RFC asks of receivers.
struct Descriptor {
  Error error = Error::Empty;
  bool non_reference = false;   // N
  bool start_of_partition = false;  // S
  std::uint8_t partition_id = 0;    // PID, 0..7
  bool extended = false;        // X
  bool has_picture_id = false;  // I
  bool picture_id_15bit = false;  // M
  std::uint16_t picture_id = 0;   // 7 or 15 bits
  bool has_tl0picidx = false;   // L
  std::uint8_t tl0picidx = 0;
  bool has_tid = false;         // T
  std::uint8_t tid = 0;         // 0..3
  bool layer_sync = false;      // Y (meaningful with T)
  bool has_keyidx = false;      // K
  std::uint8_t keyidx = 0;      // 0..31
  // Byte offsets in the payload (0 when the field is absent: offset 0 is always the first byte).
  std::uint8_t picture_id_offset = 0;
  std::uint8_t tl0picidx_offset = 0;
  std::uint8_t size = 0;        // descriptor length, 1..6: the VP8 payload starts here

  bool valid() const { return error == Error::None; }
  // The first packet of a frame: the start of partition 0 (RFC 7741 4.2, S=1 and PID=0).
  bool frame_start() const { return start_of_partition && partition_id == 0; }
  std::uint8_t picture_id_size() const { return has_picture_id ? (picture_id_15bit ? 2 : 1) : 0; }
};

Descriptor parse_descriptor(std::span<const std::uint8_t> payload);

// What one RTP payload carries for the ingest and the GOP cache.
struct PayloadInfo {
  Descriptor descriptor;  // descriptor.error says whether the payload is usable
  bool frame_start = false;  // first packet of a frame (S=1, PID=0)
  // The frame start of a key frame: the VP8 payload header's P bit is 0 (RFC 7741 4.3) and the key
  // frame's start code 9d 01 2a follows (RFC 6386 9.1). The whole 10-byte key frame header must be in
  // this packet; a packet that splits it is not reported as a key frame (FFmpeg and libwebrtc never do).
  bool keyframe = false;
  bool show_frame = false;  // frame_start only
  // Key frames only: the picture size (14 bits each; the scaling bits are dropped).
  unsigned width = 0;
  unsigned height = 0;

  bool valid() const { return descriptor.valid(); }
};

PayloadInfo inspect_rtp_payload(std::span<const std::uint8_t> payload);

// The question the GOP cache asks: does this packet start a key frame?
inline bool is_keyframe(std::span<const std::uint8_t> payload) { return inspect_rtp_payload(payload).keyframe; }

}  // namespace dragon::media::vp8
