// RTP arrives from FFmpeg on loopback, but any local process can send to those ports: the parser
// must reject what it cannot bound, and its results must stay inside the packet.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "media/rtp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dragon::media;
  const std::span<const std::uint8_t> packet(data, size);
  (void)is_rtcp_packet(packet);
  const auto header = parse_rtp(packet);
  if (!header) return 0;
  if (header->header_size + header->payload_size + header->padding_size != size) __builtin_trap();
  const auto payload = rtp_payload(packet, *header);
  if (payload.data() < data || payload.data() + payload.size() > data + size) __builtin_trap();

  std::size_t extension_bytes = 0;
  for_each_rtp_extension(packet, *header, [&](std::uint8_t id, std::span<const std::uint8_t> element) {
    if (id == 0 || element.data() < data || element.data() + element.size() > data + header->header_size) {
      __builtin_trap();
    }
    extension_bytes += element.size();
  });

  // Rewriting the header as the fan-out does must keep the packet parseable, with the new fields.
  std::vector<std::uint8_t> copy(packet.begin(), packet.end());
  set_rtp_sequence(copy.data(), static_cast<std::uint16_t>(header->sequence + 1));
  set_rtp_timestamp(copy.data(), header->timestamp + 3000);
  set_rtp_ssrc(copy.data(), ~header->ssrc);
  set_rtp_payload_type(copy.data(), 102);
  set_rtp_marker(copy.data(), !header->marker);
  const auto rewritten = parse_rtp(copy);
  if (!rewritten || rewritten->payload_type != 102 || rewritten->ssrc != ~header->ssrc ||
      rewritten->marker == header->marker || rewritten->payload_size != header->payload_size) {
    __builtin_trap();
  }

  // The extension writer must round-trip what the reader found (up to 8 elements).
  std::array<RtpExtensionElement, 8> elements{};
  std::size_t count = 0;
  for_each_rtp_extension(packet, *header, [&](std::uint8_t id, std::span<const std::uint8_t> element) {
    if (count < elements.size()) elements[count++] = {id, element};
  });
  std::array<std::uint8_t, 4 + 8 * (2 + 255) + 3> block{};
  const std::size_t written = write_rtp_header_extension(block, std::span(elements).first(count));
  if (written % 4 != 0 || (count > 0 && written == 0)) __builtin_trap();
  (void)extension_bytes;

  SequenceUnwrapper unwrapper;
  for (std::size_t i = 0; i + 1 < size; i += 2) {
    const auto seq = static_cast<std::uint16_t>(data[i] << 8 | data[i + 1]);
    const auto previous = unwrapper.newest();
    const auto value = unwrapper.unwrap(seq);
    if ((value & 0xffff) != seq || unwrapper.newest() < previous) __builtin_trap();
  }
  return 0;
}
