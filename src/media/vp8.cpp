#include "media/vp8.hpp"

#include "media/picture_id.hpp"

namespace dragon::media::vp8 {
namespace {

constexpr std::uint8_t kX = 0x80, kN = 0x20, kS = 0x10, kPidMask = 0x07;
constexpr std::uint8_t kI = 0x80, kL = 0x40, kT = 0x20, kK = 0x10;

// RFC 6386 9.1: the 3-byte frame tag (little-endian bits: key frame flag inverted in bit 0, version
// in bits 1-3, show_frame in bit 4, first partition size above), then for key frames the start code
// and two 16-bit little-endian dimensions (14 bits of size, 2 bits of scaling).
constexpr std::size_t kFrameTagSize = 3;
constexpr std::size_t kKeyFrameHeaderSize = 10;
constexpr std::uint8_t kStartCode[3] = {0x9d, 0x01, 0x2a};

}  // namespace

std::string_view to_string(Error e) {
  switch (e) {
    case Error::None: return "ok";
    case Error::Empty: return "empty VP8 payload";
    case Error::TruncatedDescriptor: return "VP8 payload descriptor truncated";
    case Error::NoPayload: return "VP8 payload descriptor without VP8 data";
  }
  return "unknown VP8 error";
}

Descriptor parse_descriptor(std::span<const std::uint8_t> payload) {
  Descriptor d;
  if (payload.empty()) return d;  // error Empty
  d.error = Error::TruncatedDescriptor;
  const std::size_t n = payload.size();
  const std::uint8_t b0 = payload[0];
  d.extended = (b0 & kX) != 0;
  d.non_reference = (b0 & kN) != 0;
  d.start_of_partition = (b0 & kS) != 0;
  d.partition_id = b0 & kPidMask;
  std::size_t at = 1;
  if (d.extended) {
    if (at >= n) return d;
    const std::uint8_t x = payload[at++];
    d.has_picture_id = (x & kI) != 0;
    d.has_tl0picidx = (x & kL) != 0;
    d.has_tid = (x & kT) != 0;
    d.has_keyidx = (x & kK) != 0;
    if (d.has_picture_id) {
      PictureIdField f;
      if (!read_picture_id(payload, at, f)) return d;
      d.picture_id = f.value;
      d.picture_id_offset = f.offset;
      d.picture_id_15bit = f.fifteen_bit;
    }
    if (d.has_tl0picidx) {
      if (at >= n) return d;
      d.tl0picidx_offset = static_cast<std::uint8_t>(at);
      d.tl0picidx = payload[at++];
    }
    if (d.has_tid || d.has_keyidx) {
      if (at >= n) return d;
      const std::uint8_t tk = payload[at++];
      if (d.has_tid) {
        d.tid = static_cast<std::uint8_t>(tk >> 6);
        d.layer_sync = (tk & 0x20) != 0;
      }
      if (d.has_keyidx) d.keyidx = tk & 0x1f;
    }
  }
  d.size = static_cast<std::uint8_t>(at);
  d.error = at < n ? Error::None : Error::NoPayload;
  return d;
}

PayloadInfo inspect_rtp_payload(std::span<const std::uint8_t> payload) {
  PayloadInfo info;
  info.descriptor = parse_descriptor(payload);
  if (!info.descriptor.valid()) return info;
  info.frame_start = info.descriptor.frame_start();
  if (!info.frame_start) return info;
  const auto vp8 = payload.subspan(info.descriptor.size);
  if (vp8.size() < kFrameTagSize) return info;
  info.show_frame = (vp8[0] & 0x10) != 0;
  const bool inter = (vp8[0] & 0x01) != 0;  // the P bit
  if (inter || vp8.size() < kKeyFrameHeaderSize) return info;
  if (vp8[3] != kStartCode[0] || vp8[4] != kStartCode[1] || vp8[5] != kStartCode[2]) return info;
  info.keyframe = true;
  info.width = static_cast<unsigned>((vp8[6] | vp8[7] << 8) & 0x3fff);
  info.height = static_cast<unsigned>((vp8[8] | vp8[9] << 8) & 0x3fff);
  return info;
}

}  // namespace dragon::media::vp8
