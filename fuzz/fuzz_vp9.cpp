// VP9 RTP payloads reach the GOP cache (key frame detection) and every viewer's picture ID rewriter:
// every read is bounded by the input (the scalability structure included), what the descriptor
// parser and inspect_rtp_payload say agree, and a rewrite (into a separate buffer and in place with
// headroom) keeps every byte after the picture ID but TL0PICIDX, and every descriptor field but those.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "media/picture_id.hpp"
#include "media/vp9.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dragon::media;
  using namespace dragon::media::vp9;
  const std::span<const std::uint8_t> payload(data, size);
  const Descriptor d = parse_descriptor(payload);
  const PayloadInfo info = inspect_rtp_payload(payload);
  if (info.descriptor.error != d.error || info.valid() != d.valid()) __builtin_trap();
  if (to_string(d.error).empty()) __builtin_trap();
  if (!d.valid()) {
    if (info.keyframe || info.frame_start || info.picture_start) __builtin_trap();
    PictureIdRewriter r(VpxCodec::Vp9);
    std::vector<std::uint8_t> out(size + PictureIdRewriter::kMaxGrowth, 0x5a);
    if (r.rewrite(payload, out) != 0) __builtin_trap();
    if (std::any_of(out.begin(), out.end(), [](std::uint8_t b) { return b != 0x5a; })) __builtin_trap();
    return 0;
  }
  if (d.size == 0 || d.size >= size) __builtin_trap();
  if (d.picture_id_offset + d.picture_id_size() > d.size || d.tl0picidx_offset >= d.size) __builtin_trap();
  if (d.num_references > kMaxReferences || (d.num_references > 0 && !(d.flexible && d.inter_picture))) __builtin_trap();
  if (d.has_ss && (d.ss_offset + d.ss_size != d.size || d.ss_spatial_layers == 0 || d.ss_spatial_layers > kMaxSpatialLayers)) {
    __builtin_trap();
  }
  if (info.keyframe && (!info.picture_start || d.inter_picture || !d.begin_of_frame)) __builtin_trap();
  if (info.picture_start && !info.frame_start) __builtin_trap();
  if (!info.keyframe && (info.width != 0 || info.height != 0)) __builtin_trap();

  const std::uint16_t first = static_cast<std::uint16_t>(size * 2654435761u & 0x7fff);
  PictureIdRewriter a(VpxCodec::Vp9, first, static_cast<std::uint8_t>(size));
  PictureIdRewriter b(VpxCodec::Vp9, first, static_cast<std::uint8_t>(size));
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
  // Every byte after the picture ID is the same, TL0PICIDX aside; the first byte too.
  const std::size_t after = d.has_picture_id ? d.picture_id_offset + d.picture_id_size() : 1;
  if (rewritten[0] != payload[0]) __builtin_trap();
  for (std::size_t i = after; i < size; ++i) {
    if (d.has_tl0picidx && i == d.tl0picidx_offset) continue;
    if (rewritten[i + growth] != payload[i]) __builtin_trap();
  }
  if (r.tid != d.tid || r.sid != d.sid || r.num_references != d.num_references || r.ss_size != d.ss_size ||
      r.ss_spatial_layers != d.ss_spatial_layers || r.ss_picture_groups != d.ss_picture_groups) {
    __builtin_trap();
  }
  if (d.has_picture_id && (!r.picture_id_15bit || r.picture_id != first)) __builtin_trap();
  if (d.has_tl0picidx && r.tl0picidx != static_cast<std::uint8_t>(size)) __builtin_trap();
  const PayloadInfo ri = inspect_rtp_payload(rewritten);
  if (ri.keyframe != info.keyframe || ri.width != info.width || ri.height != info.height) __builtin_trap();
  return 0;
}
