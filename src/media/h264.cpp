#include "media/h264.hpp"

#include <algorithm>

namespace dragon::media::h264 {
namespace {

constexpr std::uint8_t kForbiddenBit = 0x80;
constexpr std::uint8_t kNriMask = 0x60;

bool is_slice(std::uint8_t type) { return type == kNalSlice || type == kNalSliceDataA || type == kNalIdr; }

// Reads first_mb_in_slice and slice_type from the bytes after a slice's NAL header.
std::optional<SliceStart> read_slice_start(std::span<const std::uint8_t> escaped_body) {
  BitReader r(escaped_body, BitReader::Input::Escaped);
  SliceStart s;
  s.first_mb = r.ue();
  const std::uint32_t type = r.ue();
  if (r.failed() || type > 9) return std::nullopt;
  s.slice_type = static_cast<int>(type);
  return s;
}

// Adds what one NAL unit (its type and the escaped bytes after its header) says to info.
void note_nal(RtpPayloadInfo& info, std::uint8_t type, std::span<const std::uint8_t> body, bool header_readable) {
  switch (type) {
    case kNalIdr: info.has_idr = true; break;
    case kNalSps: info.has_sps = true; break;
    case kNalPps: info.has_pps = true; break;
    default: break;
  }
  if (!is_slice(type)) return;
  info.has_slice = true;
  if (!header_readable) return;
  if (const auto start = read_slice_start(body)) {
    if (start->first_mb == 0) info.first_slice_of_picture = true;
    if (is_b_slice(start->slice_type)) info.has_b_slice = true;
  }
}

// H.264 7.3.2.1.1.1; the lists' values do not matter here, only their length in bits.
bool skip_scaling_list(BitReader& r, int size) {
  int last = 8;
  int next = 8;
  for (int j = 0; j < size; ++j) {
    if (next != 0) {
      const std::int32_t delta = r.se();
      if (r.failed() || delta < -128 || delta > 127) return false;
      next = (last + delta + 256) % 256;
    }
    if (next != 0) last = next;
  }
  return !r.failed();
}

bool has_chroma_info(std::uint8_t profile_idc) {
  switch (profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128: case 138:
    case 139: case 134: case 135:
      return true;
    default:
      return false;
  }
}

}  // namespace

BitReader::BitReader(std::span<const std::uint8_t> data, Input input) : data_(data), escaped_(input == Input::Escaped) {}

bool BitReader::next_byte() {
  if (pos_ >= data_.size()) return false;
  if (escaped_ && zeros_ >= 2 && data_[pos_] == 0x03) {
    ++pos_;
    zeros_ = 0;
    if (pos_ >= data_.size()) return false;
  }
  current_ = data_[pos_++];
  zeros_ = current_ == 0 ? zeros_ + 1 : 0;
  bits_in_current_ = 8;
  return true;
}

std::uint32_t BitReader::bits(unsigned count) {
  if (failed_ || count > 32) {
    failed_ = true;
    return 0;
  }
  std::uint64_t value = 0;
  while (count > 0) {
    if (bits_in_current_ == 0 && !next_byte()) {
      failed_ = true;
      return 0;
    }
    const unsigned take = std::min(count, bits_in_current_);
    const unsigned shift = bits_in_current_ - take;
    value = value << take | ((current_ >> shift) & ((1u << take) - 1));
    bits_in_current_ -= take;
    count -= take;
  }
  return static_cast<std::uint32_t>(value);
}

std::uint32_t BitReader::ue() {
  unsigned leading_zeros = 0;
  while (!failed_ && !flag()) {
    if (++leading_zeros > 31) {
      failed_ = true;
      return 0;
    }
  }
  if (failed_) return 0;
  const std::uint32_t suffix = bits(leading_zeros);
  if (failed_) return 0;
  return static_cast<std::uint32_t>((std::uint64_t{1} << leading_zeros) - 1 + suffix);
}

std::int32_t BitReader::se() {
  const std::int64_t k = ue();
  return static_cast<std::int32_t>(k % 2 == 1 ? (k + 1) / 2 : -(k / 2));
}

void BitReader::skip(std::size_t count) {
  while (count > 0 && !failed_) {
    const auto n = static_cast<unsigned>(std::min<std::size_t>(count, 32));
    bits(n);
    count -= n;
  }
}

std::size_t BitReader::bits_left() const { return (data_.size() - pos_) * 8 + bits_in_current_; }

std::size_t remove_emulation_prevention(std::span<const std::uint8_t> escaped, std::span<std::uint8_t> out) {
  std::size_t written = 0;
  unsigned zeros = 0;
  for (const std::uint8_t b : escaped) {
    if (zeros >= 2 && b == 0x03) {
      zeros = 0;
      continue;
    }
    if (written == out.size()) return 0;
    out[written++] = b;
    zeros = b == 0 ? zeros + 1 : 0;
  }
  return written;
}

RtpPayloadInfo inspect_rtp_payload(std::span<const std::uint8_t> payload) {
  RtpPayloadInfo info;
  if (payload.empty() || (payload[0] & kForbiddenBit) != 0) return {};
  const std::uint8_t type = nal_type(payload[0]);
  if (type >= 1 && type <= 23) {
    info.nal_type = type;
    note_nal(info, type, payload.subspan(1), true);
  } else if (type == kNalStapA) {
    bool first = true;
    const bool ok = for_each_nal(payload, [&](std::span<const std::uint8_t> nal) {
      const std::uint8_t inner = nal_type(nal[0]);
      if (first) info.nal_type = inner;
      first = false;
      note_nal(info, inner, nal.subspan(1), true);
    });
    if (!ok) return {};
  } else if (type == kNalFuA) {
    if (payload.size() < 2) return {};
    const std::uint8_t fu_header = payload[1];
    info.fragment_start = (fu_header & 0x80) != 0;
    info.fragment_end = (fu_header & 0x40) != 0;
    const std::uint8_t inner = nal_type(fu_header);
    // RFC 6184 5.8: start and end in one FU is forbidden, and only a single NAL can be fragmented.
    if ((info.fragment_start && info.fragment_end) || inner == 0 || inner > 23) return {};
    info.nal_type = inner;
    note_nal(info, inner, payload.subspan(2), info.fragment_start);
  } else {
    info.nal_type = type;  // STAP-B, MTAP, FU-B or reserved: not used in packetization-mode 1
  }
  info.valid = true;
  return info;
}

std::string SpsInfo::profile_level_id() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(6, '0');
  const std::uint8_t bytes[3] = {profile_idc, constraint_flags, level_idc};
  for (int i = 0; i < 3; ++i) {
    id[static_cast<std::size_t>(2 * i)] = kHex[bytes[i] >> 4];
    id[static_cast<std::size_t>(2 * i + 1)] = kHex[bytes[i] & 0x0f];
  }
  return id;
}

std::optional<SpsInfo> parse_sps(std::span<const std::uint8_t> nal) {
  if (nal.size() < 4 || (nal[0] & kForbiddenBit) != 0 || nal_type(nal[0]) != kNalSps) return std::nullopt;
  BitReader r(nal.subspan(1), BitReader::Input::Escaped);
  SpsInfo sps;
  sps.profile_idc = static_cast<std::uint8_t>(r.bits(8));
  sps.constraint_flags = static_cast<std::uint8_t>(r.bits(8));
  sps.level_idc = static_cast<std::uint8_t>(r.bits(8));
  if (r.ue() > 31) return std::nullopt;  // seq_parameter_set_id
  bool separate_colour_plane = false;
  if (has_chroma_info(sps.profile_idc)) {
    const std::uint32_t chroma = r.ue();
    if (chroma > 3) return std::nullopt;
    sps.chroma_format_idc = static_cast<std::uint8_t>(chroma);
    if (chroma == 3) separate_colour_plane = r.flag();
    if (r.ue() > 6 || r.ue() > 6) return std::nullopt;  // bit_depth_luma/chroma_minus8
    r.skip(1);                                         // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {                                    // seq_scaling_matrix_present_flag
      const int lists = chroma == 3 ? 12 : 8;
      for (int i = 0; i < lists; ++i) {
        if (r.flag() && !skip_scaling_list(r, i < 6 ? 16 : 64)) return std::nullopt;
      }
    }
  }
  if (r.ue() > 12) return std::nullopt;  // log2_max_frame_num_minus4
  const std::uint32_t poc_type = r.ue();
  if (poc_type > 2) return std::nullopt;
  if (poc_type == 0) {
    if (r.ue() > 12) return std::nullopt;  // log2_max_pic_order_cnt_lsb_minus4
  } else if (poc_type == 1) {
    r.skip(1);  // delta_pic_order_always_zero_flag
    r.se();     // offset_for_non_ref_pic
    r.se();     // offset_for_top_to_bottom_field
    const std::uint32_t cycle = r.ue();
    if (cycle > 255) return std::nullopt;
    for (std::uint32_t i = 0; i < cycle && !r.failed(); ++i) r.se();
  }
  r.ue();     // max_num_ref_frames
  r.skip(1);  // gaps_in_frame_num_value_allowed_flag
  const std::uint32_t width_mbs = r.ue() + 1u;
  const std::uint32_t height_map_units = r.ue() + 1u;
  sps.frame_mbs_only = r.flag();
  if (!sps.frame_mbs_only) r.skip(1);  // mb_adaptive_frame_field_flag
  r.skip(1);                           // direct_8x8_inference_flag
  std::uint64_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (r.flag()) {
    crop_left = r.ue();
    crop_right = r.ue();
    crop_top = r.ue();
    crop_bottom = r.ue();
  }
  if (r.failed()) return std::nullopt;
  // ue() + 1 wraps to 0 for the largest code; 4096 macroblocks (65536 pixels) bound every real picture.
  if (width_mbs == 0 || height_map_units == 0 || width_mbs > 4096 || height_map_units > 4096) return std::nullopt;

  const unsigned frame_height_factor = sps.frame_mbs_only ? 1 : 2;
  const unsigned chroma_array_type = separate_colour_plane ? 0 : sps.chroma_format_idc;
  unsigned crop_unit_x = 1;
  unsigned crop_unit_y = frame_height_factor;
  if (chroma_array_type != 0) {
    crop_unit_x = chroma_array_type == 3 ? 1 : 2;       // SubWidthC
    crop_unit_y *= chroma_array_type == 1 ? 2 : 1;      // SubHeightC
  }
  const std::uint64_t full_width = std::uint64_t{width_mbs} * 16;
  const std::uint64_t full_height = std::uint64_t{height_map_units} * 16 * frame_height_factor;
  const std::uint64_t crop_x = crop_unit_x * (crop_left + crop_right);
  const std::uint64_t crop_y = crop_unit_y * (crop_top + crop_bottom);
  if (crop_x >= full_width || crop_y >= full_height) return std::nullopt;
  sps.width = static_cast<unsigned>(full_width - crop_x);
  sps.height = static_cast<unsigned>(full_height - crop_y);
  return sps;
}

std::optional<SliceStart> parse_slice_start(std::span<const std::uint8_t> nal) {
  if (nal.empty() || (nal[0] & kForbiddenBit) != 0 || !is_slice(nal_type(nal[0]))) return std::nullopt;
  return read_slice_start(nal.subspan(1));
}

std::optional<int> slice_type(std::span<const std::uint8_t> nal) {
  const auto start = parse_slice_start(nal);
  if (!start) return std::nullopt;
  return start->slice_type;
}

namespace detail {

bool stap_a_well_formed(std::span<const std::uint8_t> payload) {
  if (payload.size() < 1 || nal_type(payload[0]) != kNalStapA) return false;
  std::size_t at = 1;
  std::size_t count = 0;
  while (at < payload.size()) {
    if (payload.size() - at < 2) return false;
    const std::size_t size = static_cast<std::size_t>(payload[at] << 8 | payload[at + 1]);
    if (size == 0 || payload.size() - at - 2 < size) return false;
    at += 2 + size;
    ++count;
  }
  return count > 0;
}

}  // namespace detail

std::size_t write_stap_a(std::span<std::uint8_t> out, std::span<const std::uint8_t> sps,
                         std::span<const std::uint8_t> pps) {
  if (sps.empty() || pps.empty() || sps.size() > 0xffff || pps.size() > 0xffff) return 0;
  const std::size_t total = 1 + 2 + sps.size() + 2 + pps.size();
  if (out.size() < total) return 0;
  // RFC 6184 5.7: F is the OR of the aggregated F bits, NRI their maximum.
  const auto f = static_cast<std::uint8_t>((sps[0] | pps[0]) & kForbiddenBit);
  const auto nri = std::max<std::uint8_t>(sps[0] & kNriMask, pps[0] & kNriMask);
  std::size_t at = 0;
  out[at++] = static_cast<std::uint8_t>(f | nri | kNalStapA);
  for (const auto nal : {sps, pps}) {
    out[at++] = static_cast<std::uint8_t>(nal.size() >> 8);
    out[at++] = static_cast<std::uint8_t>(nal.size());
    std::copy(nal.begin(), nal.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
    at += nal.size();
  }
  return at;
}

}  // namespace dragon::media::h264
