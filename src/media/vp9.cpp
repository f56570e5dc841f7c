#include "media/vp9.hpp"

#include "media/picture_id.hpp"

namespace dragon::media::vp9 {
namespace {

constexpr std::uint8_t kI = 0x80, kP = 0x40, kL = 0x20, kF = 0x10, kB = 0x08, kE = 0x04, kV = 0x02, kZ = 0x01;

// Reads bits MSB first; reads past the end return 0 and set failed.
class Bits {
 public:
  explicit Bits(std::span<const std::uint8_t> data) : data_(data) {}
  std::uint32_t read(unsigned count) {
    std::uint32_t v = 0;
    for (unsigned i = 0; i < count; ++i) {
      if (pos_ >= data_.size() * 8) {
        failed_ = true;
        return 0;
      }
      v = v << 1 | ((data_[pos_ / 8] >> (7 - pos_ % 8)) & 1u);
      ++pos_;
    }
    return v;
  }
  bool failed() const { return failed_; }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

// Parses the scalability structure at payload[at...]; returns the offset after it, or 0 on truncation.
std::size_t parse_ss(std::span<const std::uint8_t> payload, std::size_t at, Descriptor& d) {
  const std::size_t n = payload.size();
  if (at >= n) return 0;
  const std::uint8_t head = payload[at++];
  d.ss_spatial_layers = static_cast<std::uint8_t>((head >> 5) + 1);
  d.ss_has_resolutions = (head & 0x10) != 0;
  d.ss_has_picture_groups = (head & 0x08) != 0;
  if (d.ss_has_resolutions) {
    for (std::size_t i = 0; i < d.ss_spatial_layers; ++i) {
      if (n - at < 4) return 0;
      d.ss_width[i] = static_cast<std::uint16_t>(payload[at] << 8 | payload[at + 1]);
      d.ss_height[i] = static_cast<std::uint16_t>(payload[at + 2] << 8 | payload[at + 3]);
      at += 4;
    }
  }
  if (d.ss_has_picture_groups) {
    if (at >= n) return 0;
    d.ss_picture_groups = payload[at++];
    for (std::size_t g = 0; g < d.ss_picture_groups; ++g) {
      if (at >= n) return 0;
      const std::size_t refs = (payload[at++] >> 2) & 0x03;  // TID(3) U(1) R(2) reserved(2)
      if (n - at < refs) return 0;
      at += refs;  // P_DIFF of each reference
    }
  }
  return at;
}

// The first fields of the VP9 uncompressed header (VP9 bitstream spec 6.2, 7.2) of a frame's first
// packet: false if the header says this is not a key frame; width/height set when readable.
bool key_frame_header(std::span<const std::uint8_t> frame, PayloadInfo& info) {
  Bits r(frame);
  if (r.read(2) != 2) return false;  // frame_marker
  const std::uint32_t profile_low = r.read(1);
  const std::uint32_t profile = r.read(1) << 1 | profile_low;
  if (profile == 3 && r.read(1) != 0) return false;  // reserved_zero
  if (r.read(1) != 0) return false;                  // show_existing_frame
  if (r.read(1) != 0) return false;                  // frame_type: 0 is KEY_FRAME
  if (r.failed()) return false;
  r.read(2);  // show_frame, error_resilient_mode
  const std::uint32_t sync = r.read(24);
  if (r.failed()) return true;  // the rest is in the next packet; the descriptor and frame_type agree
  if (sync != 0x498342) return false;
  if (profile >= 2) r.read(1);  // ten_or_twelve_bit
  const std::uint32_t color_space = r.read(3);
  if (color_space != 7) {  // not CS_RGB
    r.read(1);             // color_range
    if (profile == 1 || profile == 3) r.read(3);  // subsampling_x, subsampling_y, reserved_zero
  } else if (profile == 1 || profile == 3) {
    r.read(1);  // reserved_zero
  }
  const std::uint32_t width = r.read(16) + 1;
  const std::uint32_t height = r.read(16) + 1;
  if (!r.failed()) {
    info.width = width;
    info.height = height;
  }
  return true;
}

}  // namespace

std::string_view to_string(Error e) {
  switch (e) {
    case Error::None: return "ok";
    case Error::Empty: return "empty VP9 payload";
    case Error::TruncatedDescriptor: return "VP9 payload descriptor truncated";
    case Error::TooManyReferences: return "VP9 payload descriptor has more than 3 references";
    case Error::FlexibleWithoutPictureId: return "VP9 payload descriptor in flexible mode without picture ID";
    case Error::TruncatedScalabilityStructure: return "VP9 scalability structure truncated";
    case Error::NoPayload: return "VP9 payload descriptor without VP9 data";
  }
  return "unknown VP9 error";
}

Descriptor parse_descriptor(std::span<const std::uint8_t> payload) {
  Descriptor d;
  if (payload.empty()) return d;  // error Empty
  const std::size_t n = payload.size();
  const std::uint8_t b0 = payload[0];
  d.has_picture_id = (b0 & kI) != 0;
  d.inter_picture = (b0 & kP) != 0;
  d.has_layer_indices = (b0 & kL) != 0;
  d.flexible = (b0 & kF) != 0;
  d.begin_of_frame = (b0 & kB) != 0;
  d.end_of_frame = (b0 & kE) != 0;
  d.has_ss = (b0 & kV) != 0;
  d.not_upper_reference = (b0 & kZ) != 0;
  if (d.flexible && !d.has_picture_id) {
    d.error = Error::FlexibleWithoutPictureId;
    return d;
  }
  d.error = Error::TruncatedDescriptor;
  std::size_t at = 1;
  if (d.has_picture_id) {
    PictureIdField f;
    if (!read_picture_id(payload, at, f)) return d;
    d.picture_id = f.value;
    d.picture_id_offset = f.offset;
    d.picture_id_15bit = f.fifteen_bit;
  }
  if (d.has_layer_indices) {
    if (at >= n) return d;
    const std::uint8_t l = payload[at++];
    d.tid = static_cast<std::uint8_t>(l >> 5);
    d.switching_up = (l & 0x10) != 0;
    d.sid = static_cast<std::uint8_t>((l >> 1) & 0x07);
    d.inter_layer_dependency = (l & 0x01) != 0;
    if (!d.flexible) {
      if (at >= n) return d;
      d.has_tl0picidx = true;
      d.tl0picidx_offset = static_cast<std::uint8_t>(at);
      d.tl0picidx = payload[at++];
    }
  }
  if (d.flexible && d.inter_picture) {
    bool more = true;
    while (more) {
      if (at >= n) return d;
      if (d.num_references == kMaxReferences) {
        d.error = Error::TooManyReferences;
        return d;
      }
      const std::uint8_t r = payload[at++];
      d.p_diff[d.num_references++] = static_cast<std::uint8_t>(r >> 1);
      more = (r & 0x01) != 0;
    }
  }
  if (d.has_ss) {
    d.ss_offset = static_cast<std::uint16_t>(at);
    const std::size_t end = parse_ss(payload, at, d);
    if (end == 0) {
      d.error = Error::TruncatedScalabilityStructure;
      return d;
    }
    d.ss_size = static_cast<std::uint16_t>(end - at);
    at = end;
  }
  d.size = static_cast<std::uint16_t>(at);
  d.error = at < n ? Error::None : Error::NoPayload;
  return d;
}

PayloadInfo inspect_rtp_payload(std::span<const std::uint8_t> payload) {
  PayloadInfo info;
  info.descriptor = parse_descriptor(payload);
  const Descriptor& d = info.descriptor;
  if (!d.valid()) return info;
  info.frame_start = d.begin_of_frame;
  info.picture_start = d.picture_start();
  if (!info.picture_start || d.inter_picture) return info;
  info.keyframe = key_frame_header(payload.subspan(d.size), info);
  if (!info.keyframe) info.width = info.height = 0;
  return info;
}

}  // namespace dragon::media::vp9
