#pragma once
// RTP packet helpers (RFC 3550, RFC 5761 demux, RFC 8285 header extensions). Everything works in
// place on the caller's bytes: parsing returns offsets into the packet and setters rewrite header
// fields, so the per-packet fan-out path never allocates.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

namespace dragon::media {

inline constexpr std::size_t kRtpFixedHeaderSize = 12;
inline constexpr std::uint8_t kRtpVersion = 2;

struct RtpHeader {
  bool marker = false;
  std::uint8_t payload_type = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::uint8_t csrc_count = 0;
  bool has_extension = false;
  std::size_t header_size = 0;   // fixed header + CSRCs + extension block: the payload starts here
  std::size_t payload_size = 0;  // without padding
  std::uint8_t padding_size = 0;
};

// Validates version 2 and every length (CSRCs, extension block, padding) against the packet size.
std::optional<RtpHeader> parse_rtp(std::span<const std::uint8_t> packet);

// The payload of a packet that parse_rtp accepted.
inline std::span<const std::uint8_t> rtp_payload(std::span<const std::uint8_t> packet, const RtpHeader& header) {
  return packet.subspan(header.header_size, header.payload_size);
}

// RFC 5761 section 4: on a muxed port, version 2 and a second byte in 192..223 is RTCP.
bool is_rtcp_packet(std::span<const std::uint8_t> packet);

// In-place rewrites of a packet's fixed header; the packet must hold at least 12 bytes.
void set_rtp_sequence(std::uint8_t* packet, std::uint16_t sequence);
void set_rtp_timestamp(std::uint8_t* packet, std::uint32_t timestamp);
void set_rtp_ssrc(std::uint8_t* packet, std::uint32_t ssrc);
void set_rtp_payload_type(std::uint8_t* packet, std::uint8_t payload_type);
void set_rtp_marker(std::uint8_t* packet, bool marker);

// True if sequence number a comes after b, modulo 2^16. Exactly half the space apart is ambiguous;
// the larger value counts as newer so that exactly one of seq_newer(a, b), seq_newer(b, a) holds.
constexpr bool seq_newer(std::uint16_t a, std::uint16_t b) {
  const auto forward = static_cast<std::uint16_t>(a - b);
  if (forward == 0x8000) return a > b;
  return forward != 0 && forward < 0x8000;
}

// Signed distance from b to a, modulo 2^16, consistent with seq_newer.
constexpr std::int32_t seq_distance(std::uint16_t a, std::uint16_t b) {
  const auto forward = static_cast<std::uint16_t>(a - b);
  return seq_newer(a, b) || forward == 0 ? static_cast<std::int32_t>(forward)
                                         : static_cast<std::int32_t>(forward) - 0x10000;
}

// Extends 16-bit sequence numbers to 64 bits across wraparounds. Late packets (older than the
// newest seen) unwrap relative to the newest without moving it, so reordering is harmless.
class SequenceUnwrapper {
 public:
  std::int64_t unwrap(std::uint16_t sequence) {
    if (!started_) {
      started_ = true;
      newest_ = sequence;
      return newest_;
    }
    const std::int64_t value = newest_ + seq_distance(sequence, static_cast<std::uint16_t>(newest_ & 0xffff));
    if (value > newest_) newest_ = value;
    return value;
  }
  // The newest unwrapped value so far (meaningless before the first unwrap()).
  std::int64_t newest() const { return newest_; }
  bool started() const { return started_; }
  void reset() { started_ = false; newest_ = 0; }

 private:
  bool started_ = false;
  std::int64_t newest_ = 0;
};

// One RFC 8285 header-extension element.
struct RtpExtensionElement {
  std::uint8_t id = 0;
  std::span<const std::uint8_t> data;
};

// Writes an RFC 8285 extension block (the 4-byte 0xBEDE / 0x1000 header, the elements, zero padding
// to a 32-bit boundary) into out. The one-byte form is used when every id is 1..14 and every element
// 1..16 bytes long, else the two-byte form (ids 1..255, up to 255 bytes). Returns the bytes written,
// 0 if out is too small or an element cannot be encoded. The caller sets the packet's X bit.
std::size_t write_rtp_header_extension(std::span<std::uint8_t> out, std::span<const RtpExtensionElement> elements);

// Calls f(id, data) for each element of the packet's RFC 8285 extension block. Returns false if the
// block is malformed (an element runs past the block) or uses an unknown profile; true otherwise,
// also when the packet has no extension.
namespace detail {
bool visit_rtp_extensions(std::span<const std::uint8_t> packet, const RtpHeader& header,
                          void (*call)(void*, std::uint8_t, std::span<const std::uint8_t>), void* context);
}
template <typename F>
bool for_each_rtp_extension(std::span<const std::uint8_t> packet, const RtpHeader& header, F&& f) {
  using Fn = std::remove_reference_t<F>;
  return detail::visit_rtp_extensions(
      packet, header,
      [](void* context, std::uint8_t id, std::span<const std::uint8_t> data) { (*static_cast<Fn*>(context))(id, data); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace dragon::media
