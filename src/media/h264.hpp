#pragma once
// H.264 helpers for RTP (RFC 6184) and the few bitstream fields the WebRTC path needs: what a packet
// carries (keyframe, parameter sets, B-slices), the SPS's profile/level and size, and building a
// STAP-A of SPS + PPS for the GOP cache. Parsing reads the packet in place and never allocates;
// every read is bounded by the input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

namespace dragon::media::h264 {

// nal_unit_type values (H.264 table 7-1) and the RTP payload structures of RFC 6184.
inline constexpr std::uint8_t kNalSlice = 1;
inline constexpr std::uint8_t kNalSliceDataA = 2;
inline constexpr std::uint8_t kNalSliceDataB = 3;
inline constexpr std::uint8_t kNalSliceDataC = 4;
inline constexpr std::uint8_t kNalIdr = 5;
inline constexpr std::uint8_t kNalSei = 6;
inline constexpr std::uint8_t kNalSps = 7;
inline constexpr std::uint8_t kNalPps = 8;
inline constexpr std::uint8_t kNalAud = 9;
inline constexpr std::uint8_t kNalEndOfSequence = 10;
inline constexpr std::uint8_t kNalEndOfStream = 11;
inline constexpr std::uint8_t kNalFiller = 12;
inline constexpr std::uint8_t kNalStapA = 24;
inline constexpr std::uint8_t kNalStapB = 25;
inline constexpr std::uint8_t kNalMtap16 = 26;
inline constexpr std::uint8_t kNalMtap24 = 27;
inline constexpr std::uint8_t kNalFuA = 28;
inline constexpr std::uint8_t kNalFuB = 29;

constexpr std::uint8_t nal_type(std::uint8_t nal_header) { return nal_header & 0x1f; }

// What one RTP payload carries. A payload that is empty, has the forbidden bit set, or whose sizes
// do not add up is invalid: valid is false and every other field is zero.
struct RtpPayloadInfo {
  bool valid = false;
  std::uint8_t nal_type = 0;  // of a single NAL; for STAP-A the first inner NAL's; for FU-A the fragmented NAL's
  bool fragment_start = false;  // FU-A only
  bool fragment_end = false;    // FU-A only
  // For FU-A these describe the fragmented NAL and hold for every fragment of it; the slice header
  // (first_slice_of_picture, has_b_slice) is only readable in the start fragment.
  bool has_idr = false;
  bool has_sps = false;
  bool has_pps = false;
  bool has_slice = false;               // a coded slice (types 1, 2, 5)
  bool first_slice_of_picture = false;  // a slice with first_mb_in_slice == 0
  bool has_b_slice = false;
};

RtpPayloadInfo inspect_rtp_payload(std::span<const std::uint8_t> payload);

// Reads bits MSB first. Escaped input is a NAL unit's bytes after its header: emulation-prevention
// bytes (00 00 03) are skipped while reading. Reads past the end return 0 and set failed(), which
// stays set; callers check it once after a group of reads.
class BitReader {
 public:
  enum class Input { Rbsp, Escaped };
  explicit BitReader(std::span<const std::uint8_t> data, Input input = Input::Rbsp);

  std::uint32_t bits(unsigned count);  // count <= 32
  bool flag() { return bits(1) != 0; }
  std::uint32_t ue();  // Exp-Golomb; codes longer than 32 bits fail
  std::int32_t se();
  void skip(std::size_t count);
  bool failed() const { return failed_; }
  // Bits not yet read (counting emulation-prevention bytes of escaped input as data).
  std::size_t bits_left() const;

 private:
  bool next_byte();

  std::span<const std::uint8_t> data_;
  bool escaped_;
  std::size_t pos_ = 0;       // index of the next byte to load
  std::uint8_t current_ = 0;  // the byte being read
  unsigned bits_in_current_ = 0;
  unsigned zeros_ = 0;  // consecutive zero bytes loaded, for emulation prevention
  bool failed_ = false;
};

// Copies a NAL unit's escaped bytes to out with emulation-prevention bytes removed. Returns the
// bytes written, or 0 when out is too small.
std::size_t remove_emulation_prevention(std::span<const std::uint8_t> escaped, std::span<std::uint8_t> out);

struct SpsInfo {
  std::uint8_t profile_idc = 0;
  std::uint8_t constraint_flags = 0;  // constraint_set0..5 flags and the two reserved bits, as sent
  std::uint8_t level_idc = 0;
  std::uint8_t chroma_format_idc = 1;
  bool frame_mbs_only = true;
  unsigned width = 0;   // after frame cropping
  unsigned height = 0;  // after frame cropping
  // The SDP profile-level-id (RFC 6184 8.1): profile_idc, constraint byte, level_idc as hex, "42e01f".
  std::string profile_level_id() const;
};

// Parses a whole SPS NAL unit (header byte included) up to the frame cropping fields.
std::optional<SpsInfo> parse_sps(std::span<const std::uint8_t> nal);

// first_mb_in_slice and slice_type (0..9) of a slice NAL unit (types 1, 2, 5; header byte included).
struct SliceStart {
  std::uint32_t first_mb = 0;
  int slice_type = 0;
};
std::optional<SliceStart> parse_slice_start(std::span<const std::uint8_t> nal);
// The slice_type alone; B slices are 1 and 6 (see is_b_slice).
std::optional<int> slice_type(std::span<const std::uint8_t> nal);
constexpr bool is_b_slice(int type) { return type % 5 == 1; }

// Calls f(nal) for each complete NAL unit of a single-NAL or STAP-A payload, header byte included.
// f may return bool; false stops the walk. Returns false (and calls f for nothing) if the payload is
// empty or a STAP-A is malformed; FU-A and other structures hold no complete NAL: true, no calls.
namespace detail {
// Checks a STAP-A payload (indicator byte included): every NAL is non-empty and fits.
bool stap_a_well_formed(std::span<const std::uint8_t> payload);
}
template <typename F>
bool for_each_nal(std::span<const std::uint8_t> payload, F&& f) {
  using Nal = std::span<const std::uint8_t>;
  constexpr bool kCanStop = std::is_same_v<std::invoke_result_t<F&, Nal>, bool>;
  if (payload.empty()) return false;
  const std::uint8_t type = nal_type(payload[0]);
  if (type >= 1 && type <= 23) {
    f(payload);
    return true;
  }
  if (type != kNalStapA) return true;
  if (!detail::stap_a_well_formed(payload)) return false;
  for (std::size_t at = 1; at < payload.size();) {
    const std::size_t size = static_cast<std::size_t>(payload[at] << 8 | payload[at + 1]);
    const Nal nal = payload.subspan(at + 2, size);
    at += 2 + size;
    if constexpr (kCanStop) {
      if (!f(nal)) break;
    } else {
      f(nal);
    }
  }
  return true;
}

// Writes a STAP-A payload (RFC 6184 5.7.1) of SPS then PPS into out. Returns the bytes written, 0 if
// out is too small or a NAL is empty or longer than 65535 bytes.
std::size_t write_stap_a(std::span<std::uint8_t> out, std::span<const std::uint8_t> sps,
                         std::span<const std::uint8_t> pps);

}  // namespace dragon::media::h264
