// VP8 RTP payloads reach the GOP cache (key frame detection) and every viewer's picture ID rewriter:
// every read is bounded by the input, what the descriptor parser and inspect_rtp_payload say agree,
// and a rewrite (into a separate buffer and in place with headroom) keeps every byte after the
// descriptor and every descriptor field but the picture ID and TL0PICIDX.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "media/picture_id.hpp"
#include "media/vp8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dragon::media;
  using namespace dragon::media::vp8;
  const std::span<const std::uint8_t> payload(data, size);
  const Descriptor d = parse_descriptor(payload);
  const PayloadInfo info = inspect_rtp_payload(payload);
  if (info.descriptor.error != d.error || info.valid() != d.valid()) __builtin_trap();
  if (to_string(d.error).empty()) __builtin_trap();
  if (!d.valid()) {
    if (info.keyframe || info.frame_start) __builtin_trap();
    // A descriptor that does not parse is refused by the rewriter without touching its output.
    PictureIdRewriter r(VpxCodec::Vp8);
    std::vector<std::uint8_t> out(size + PictureIdRewriter::kMaxGrowth, 0x5a);
    if (r.rewrite(payload, out) != 0) __builtin_trap();
    if (std::any_of(out.begin(), out.end(), [](std::uint8_t b) { return b != 0x5a; })) __builtin_trap();
    return 0;
  }
  if (d.size == 0 || d.size > 6 || d.size >= size) __builtin_trap();
  if (d.picture_id_offset + d.picture_id_size() > d.size || d.tl0picidx_offset >= d.size) __builtin_trap();
  if (info.keyframe && (!info.frame_start || !d.frame_start() || size - d.size < 10)) __builtin_trap();
  if (info.width > 0x3fff || info.height > 0x3fff) __builtin_trap();

  // Rewrite twice: into a separate buffer, and in place with headroom; both must agree.
  const std::uint16_t first = static_cast<std::uint16_t>(size * 2654435761u & 0x7fff);
  PictureIdRewriter a(VpxCodec::Vp8, first, static_cast<std::uint8_t>(size));
  PictureIdRewriter b(VpxCodec::Vp8, first, static_cast<std::uint8_t>(size));
  std::vector<std::uint8_t> out(size + PictureIdRewriter::kMaxGrowth);
  const std::size_t n = a.rewrite(payload, out);
  std::vector<std::uint8_t> in_place(payload.begin(), payload.end());
  in_place.push_back(0);
  const std::size_t m = b.rewrite(std::span<const std::uint8_t>(in_place.data(), size), in_place);
  const std::size_t growth = d.has_picture_id && !d.picture_id_15bit ? 1 : 0;
  if (n != size + growth || m != n) __builtin_trap();
  if (!std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), in_place.begin())) __builtin_trap();

  const std::span<const std::uint8_t> rewritten(out.data(), n);
  const Descriptor r = parse_descriptor(rewritten);
  if (!r.valid() || r.size != d.size + growth) __builtin_trap();
  if (!std::equal(payload.begin() + d.size, payload.end(), rewritten.begin() + r.size)) __builtin_trap();
  if (r.has_picture_id != d.has_picture_id || r.has_tl0picidx != d.has_tl0picidx || r.tid != d.tid ||
      r.layer_sync != d.layer_sync || r.keyidx != d.keyidx || r.partition_id != d.partition_id ||
      r.start_of_partition != d.start_of_partition || r.non_reference != d.non_reference) {
    __builtin_trap();
  }
  if (d.has_picture_id && (!r.picture_id_15bit || r.picture_id != first)) __builtin_trap();
  if (d.has_tl0picidx && r.tl0picidx != static_cast<std::uint8_t>(size)) __builtin_trap();
  if (inspect_rtp_payload(rewritten).keyframe != info.keyframe) __builtin_trap();
  return 0;
}
