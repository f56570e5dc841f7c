#include "media/rtp.hpp"

namespace dragon::media {
namespace {

std::uint16_t load16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t load32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
void store16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void store32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

constexpr std::uint16_t kOneByteProfile = 0xBEDE;
constexpr std::uint16_t kTwoByteProfile = 0x1000;  // upper 12 bits; the low 4 are "appbits"

}  // namespace

std::optional<RtpHeader> parse_rtp(std::span<const std::uint8_t> packet) {
  if (packet.size() < kRtpFixedHeaderSize) return std::nullopt;
  const std::uint8_t* p = packet.data();
  if (p[0] >> 6 != kRtpVersion) return std::nullopt;
  RtpHeader h;
  const bool has_padding = (p[0] & 0x20) != 0;
  h.has_extension = (p[0] & 0x10) != 0;
  h.csrc_count = p[0] & 0x0f;
  h.marker = (p[1] & 0x80) != 0;
  h.payload_type = p[1] & 0x7f;
  h.sequence = load16(p + 2);
  h.timestamp = load32(p + 4);
  h.ssrc = load32(p + 8);
  std::size_t size = kRtpFixedHeaderSize + 4u * h.csrc_count;
  if (h.has_extension) {
    if (packet.size() < size + 4) return std::nullopt;
    size += 4 + 4u * load16(p + size + 2);
  }
  if (packet.size() < size) return std::nullopt;
  h.header_size = size;
  if (has_padding) {
    // The last byte counts the padding, itself included: zero is invalid.
    h.padding_size = packet.back();
    if (h.padding_size == 0 || packet.size() - size < h.padding_size) return std::nullopt;
  }
  h.payload_size = packet.size() - size - h.padding_size;
  return h;
}

bool is_rtcp_packet(std::span<const std::uint8_t> packet) {
  return packet.size() >= 4 && packet[0] >> 6 == kRtpVersion && packet[1] >= 192 && packet[1] <= 223;
}

void set_rtp_sequence(std::uint8_t* packet, std::uint16_t sequence) { store16(packet + 2, sequence); }
void set_rtp_timestamp(std::uint8_t* packet, std::uint32_t timestamp) { store32(packet + 4, timestamp); }
void set_rtp_ssrc(std::uint8_t* packet, std::uint32_t ssrc) { store32(packet + 8, ssrc); }
void set_rtp_payload_type(std::uint8_t* packet, std::uint8_t payload_type) {
  packet[1] = static_cast<std::uint8_t>((packet[1] & 0x80) | (payload_type & 0x7f));
}
void set_rtp_marker(std::uint8_t* packet, bool marker) {
  packet[1] = static_cast<std::uint8_t>((packet[1] & 0x7f) | (marker ? 0x80 : 0));
}

std::size_t write_rtp_header_extension(std::span<std::uint8_t> out, std::span<const RtpExtensionElement> elements) {
  bool one_byte = true;
  std::size_t body = 0;
  for (const auto& e : elements) {
    if (e.id == 0 || e.data.size() > 255) return 0;
    if (e.id > 14 || e.data.empty() || e.data.size() > 16) one_byte = false;
  }
  for (const auto& e : elements) body += (one_byte ? 1 : 2) + e.data.size();
  const std::size_t padded = (body + 3) / 4 * 4;
  if (padded / 4 > 0xffff || out.size() < 4 + padded) return 0;
  std::uint8_t* p = out.data();
  store16(p, one_byte ? kOneByteProfile : kTwoByteProfile);
  store16(p + 2, static_cast<std::uint16_t>(padded / 4));
  std::size_t at = 4;
  for (const auto& e : elements) {
    if (one_byte) {
      p[at++] = static_cast<std::uint8_t>(e.id << 4 | (e.data.size() - 1));
    } else {
      p[at++] = e.id;
      p[at++] = static_cast<std::uint8_t>(e.data.size());
    }
    for (const std::uint8_t b : e.data) p[at++] = b;
  }
  while (at < 4 + padded) p[at++] = 0;
  return at;
}

namespace detail {

bool visit_rtp_extensions(std::span<const std::uint8_t> packet, const RtpHeader& header,
                          void (*call)(void*, std::uint8_t, std::span<const std::uint8_t>), void* context) {
  if (!header.has_extension) return true;
  const std::size_t start = kRtpFixedHeaderSize + 4u * header.csrc_count;
  if (packet.size() < start + 4 || header.header_size > packet.size()) return false;
  const std::uint16_t profile = load16(packet.data() + start);
  const std::span<const std::uint8_t> block = packet.subspan(start + 4, header.header_size - start - 4);
  const bool one_byte = profile == kOneByteProfile;
  if (!one_byte && (profile & 0xfff0) != kTwoByteProfile) return false;
  std::size_t at = 0;
  while (at < block.size()) {
    const std::uint8_t first = block[at];
    // Id 0 is padding (RFC 8285 4.2, 4.3); a one-byte padding byte's length bits are ignored, as
    // libwebrtc does, so it never reaches the caller as an element.
    if ((one_byte ? first >> 4 : first) == 0) {
      ++at;
      continue;
    }
    std::uint8_t id = 0;
    std::size_t length = 0;
    if (one_byte) {
      id = first >> 4;
      if (id == 15) return true;  // RFC 8285 4.2: stop processing at id 15
      length = (first & 0x0f) + 1u;
      at += 1;
    } else {
      if (at + 2 > block.size()) return false;
      id = first;
      length = block[at + 1];
      at += 2;
    }
    if (block.size() - at < length) return false;
    call(context, id, block.subspan(at, length));
    at += length;
  }
  return true;
}

}  // namespace detail
}  // namespace dragon::media
