#pragma once
// VP9 RTP payloads (RFC 9628): the payload descriptor, including the scalability structure (parsed
// and bounds-checked; its resolutions and picture groups are reported by count and offset only), and
// the first bits of the VP9 uncompressed header for key frames (frame type, picture size). Parsing
// reads the packet in place, never allocates and never reads outside the input.
//
// FFmpeg's VP9 packetizer (libavformat/rtpenc_vp9.c, "experimental", an early draft) sends a
// one-byte descriptor with only B and E: no picture ID, no layers. That parses here as a valid
// non-flexible descriptor without picture ID.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace dragon::media::vp9 {

enum class Error : std::uint8_t {
  None,
  Empty,
  TruncatedDescriptor,       // a flag announces a field the packet does not hold
  TooManyReferences,         // flexible mode: a fourth P_DIFF (N set on the third)
  FlexibleWithoutPictureId,  // F=1 requires I=1 (RFC 9628 4.2)
  TruncatedScalabilityStructure,
  NoPayload,                 // the descriptor is the whole packet
};
std::string_view to_string(Error e);

inline constexpr std::size_t kMaxReferences = 3;
inline constexpr std::size_t kMaxSpatialLayers = 8;

// RFC 9628 section 4.2:
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |I|P|L|F|B|E|V|Z|  required
//  I:   |M| PICTURE ID  |  (second byte if M)
//  L:   | TID |U| SID |D|
//       |   TL0PICIDX   |  non-flexible mode (F=0) with L only
//  P,F: | P_DIFF      |N|  flexible mode with P only, up to 3 times
//  V:   | SS ...        |
struct Descriptor {
  Error error = Error::Empty;
  bool has_picture_id = false;     // I
  bool inter_picture = false;      // P: predicted from an earlier picture
  bool has_layer_indices = false;  // L
  bool flexible = false;           // F
  bool begin_of_frame = false;     // B
  bool end_of_frame = false;       // E
  bool has_ss = false;             // V
  bool not_upper_reference = false;  // Z
  bool picture_id_15bit = false;   // M
  std::uint16_t picture_id = 0;    // 7 or 15 bits
  std::uint8_t tid = 0;            // 0..7
  bool switching_up = false;       // U
  std::uint8_t sid = 0;            // 0..7
  bool inter_layer_dependency = false;  // D
  bool has_tl0picidx = false;      // F=0 and L=1
  std::uint8_t tl0picidx = 0;
  std::uint8_t num_references = 0;  // flexible mode
  std::uint8_t p_diff[kMaxReferences] = {};
  // The scalability structure (V=1).
  std::uint8_t ss_spatial_layers = 0;  // N_S + 1
  bool ss_has_resolutions = false;     // Y
  std::uint16_t ss_width[kMaxSpatialLayers] = {};
  std::uint16_t ss_height[kMaxSpatialLayers] = {};
  bool ss_has_picture_groups = false;  // G
  std::uint8_t ss_picture_groups = 0;  // N_G (0 when G=0)
  std::uint16_t ss_offset = 0;
  std::uint16_t ss_size = 0;
  // Byte offsets in the payload (0 when absent).
  std::uint8_t picture_id_offset = 0;
  std::uint8_t tl0picidx_offset = 0;
  std::uint16_t size = 0;  // descriptor length: the VP9 frame data starts here

  bool valid() const { return error == Error::None; }
  std::uint8_t picture_id_size() const { return has_picture_id ? (picture_id_15bit ? 2 : 1) : 0; }
  // The first packet of a picture: the start of a frame of its lowest spatial layer (SID 0, or no
  // layer indices at all). With spatial layers a picture holds one frame per layer, all sharing a
  // picture ID and RTP timestamp.
  bool picture_start() const { return begin_of_frame && (!has_layer_indices || sid == 0); }
};

Descriptor parse_descriptor(std::span<const std::uint8_t> payload);

struct PayloadInfo {
  Descriptor descriptor;
  bool frame_start = false;    // B
  bool picture_start = false;  // see Descriptor::picture_start
  // B=1, P=0, SID 0 (when layer indices are present), and, where the VP9 uncompressed header can be
  // read (it can whenever the frame starts in this packet), frame_marker 2, not show_existing_frame,
  // frame_type KEY_FRAME and the sync code 49 83 42. A packet whose VP9 header says otherwise (an
  // intra-only frame, say) is not a key frame.
  bool keyframe = false;
  // Key frames whose header holds them: the size of the frame (uncompressed header, VP9 6.2).
  unsigned width = 0;
  unsigned height = 0;

  bool valid() const { return descriptor.valid(); }
};

PayloadInfo inspect_rtp_payload(std::span<const std::uint8_t> payload);

inline bool is_keyframe(std::span<const std::uint8_t> payload) { return inspect_rtp_payload(payload).keyframe; }

}  // namespace dragon::media::vp9
