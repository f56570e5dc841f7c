// H.264 RTP payloads reach the GOP cache and the SDP answer (profile-level-id, size): every read is
// bounded by the input, and what inspect_rtp_payload and for_each_nal say must agree.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "media/h264.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dragon::media::h264;
  const std::span<const std::uint8_t> payload(data, size);
  const RtpPayloadInfo info = inspect_rtp_payload(payload);

  bool saw_sps = false;
  std::size_t nal_bytes = 0;
  const bool well_formed = for_each_nal(payload, [&](std::span<const std::uint8_t> nal) {
    if (nal.empty() || nal.data() < data || nal.data() + nal.size() > data + size) __builtin_trap();
    nal_bytes += nal.size();
    if (nal_type(nal[0]) == kNalSps) saw_sps = true;
    if (const auto sps = parse_sps(nal)) {
      if (sps->width == 0 || sps->height == 0 || sps->profile_level_id().size() != 6) __builtin_trap();
    }
    if (const auto type = slice_type(nal); type && (*type < 0 || *type > 9)) __builtin_trap();
    if (nal.size() > 1) {
      std::array<std::uint8_t, 2048> rbsp{};
      const std::size_t n = remove_emulation_prevention(nal.subspan(1), rbsp);
      if (n > nal.size() - 1) __builtin_trap();
    }
  });
  if (info.valid && info.nal_type != 0 && !well_formed) __builtin_trap();
  if (saw_sps && !(info.valid && info.has_sps) && (data[0] & 0x80) == 0) __builtin_trap();
  if (nal_bytes > size) __builtin_trap();

  // The whole input as an SPS and as a slice, and as escaped bits.
  (void)parse_sps(payload);
  (void)slice_type(payload);
  BitReader reader(payload, BitReader::Input::Escaped);
  for (int i = 0; i < 64 && !reader.failed(); ++i) {
    (void)reader.ue();
    (void)reader.se();
  }

  // A STAP-A built from two halves must be seen as carrying both.
  if (size >= 2) {
    std::array<std::uint8_t, 4096> stap{};
    const auto half = payload.first(size / 2);
    const auto rest = payload.subspan(size / 2);
    const std::size_t n = write_stap_a(stap, half, rest);
    if (n != 0) {
      std::size_t count = 0;
      if (!for_each_nal(std::span<const std::uint8_t>(stap.data(), n), [&](std::span<const std::uint8_t>) { ++count; }) ||
          count != 2) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
