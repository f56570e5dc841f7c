#include "media/picture_id.hpp"

#include <cstring>

#include "media/vp8.hpp"
#include "media/vp9.hpp"

namespace dragon::media {

bool read_picture_id(std::span<const std::uint8_t> payload, std::size_t& at, PictureIdField& out) {
  const std::size_t n = payload.size();
  if (at >= n) return false;
  out.offset = static_cast<std::uint8_t>(at);
  out.fifteen_bit = (payload[at] & 0x80) != 0;
  if (out.fifteen_bit) {
    if (n - at < 2) return false;
    out.value = static_cast<std::uint16_t>((payload[at] & 0x7f) << 8 | payload[at + 1]);
    at += 2;
  } else {
    out.value = payload[at] & 0x7f;
    at += 1;
  }
  return true;
}
namespace {

// Where the fields to rewrite are in a valid descriptor, whatever the codec.
struct Fields {
  bool valid = false;
  std::size_t pid_offset = 0;
  std::size_t pid_size = 0;  // 0 (absent), 1 (7-bit) or 2 (15-bit)
  std::uint16_t pid = 0;
  bool has_tl0 = false;
  std::size_t tl0_offset = 0;
  std::uint8_t tl0 = 0;
};

Fields fields(VpxCodec codec, std::span<const std::uint8_t> in) {
  Fields f;
  if (codec == VpxCodec::Vp8) {
    const auto d = vp8::parse_descriptor(in);
    if (!d.valid()) return f;
    f = {true, d.picture_id_offset, d.picture_id_size(), d.picture_id, d.has_tl0picidx, d.tl0picidx_offset, d.tl0picidx};
  } else {
    const auto d = vp9::parse_descriptor(in);
    if (!d.valid()) return f;
    f = {true, d.picture_id_offset, d.picture_id_size(), d.picture_id, d.has_tl0picidx, d.tl0picidx_offset, d.tl0picidx};
  }
  return f;
}

}  // namespace

std::int64_t PictureIdUnwrapper::unwrap(std::uint32_t value) {
  const std::int64_t v = static_cast<std::int64_t>(value) & (modulus_ - 1);
  if (!started_) {
    started_ = true;
    newest_ = v;
    return v;
  }
  const std::int64_t newest_low = newest_ & (modulus_ - 1);
  std::int64_t forward = (v - newest_low) & (modulus_ - 1);
  if (forward > modulus_ / 2) forward -= modulus_;  // behind the newest
  const std::int64_t result = newest_ + forward;
  if (result > newest_) newest_ = result;
  return result;
}

std::int64_t PictureIdRewriter::Space::map(std::uint32_t value, unsigned bits) {
  if (pending_rebase || !in.started() || in.modulus() != (std::int64_t{1} << bits)) {
    in.reset(bits);
    const std::int64_t v = in.unwrap(value);
    offset = (have_out ? newest_out + 1 : first) - v;
    pending_rebase = false;
  }
  const std::int64_t out = in.unwrap(value) + offset;
  if (!have_out || out > newest_out) newest_out = out;
  have_out = true;
  return out;
}

PictureIdRewriter::PictureIdRewriter(VpxCodec codec, std::uint16_t first_picture_id, std::uint8_t first_tl0picidx)
    : codec_(codec) {
  pid_.first = first_picture_id & 0x7fff;
  tl0_.first = first_tl0picidx;
}

void PictureIdRewriter::rebase() {
  pid_.pending_rebase = true;
  tl0_.pending_rebase = true;
}

std::uint16_t PictureIdRewriter::map_picture_id(std::uint16_t id, bool fifteen_bit) {
  const std::int64_t out = pid_.map(id, fifteen_bit ? 15 : 7);
  return static_cast<std::uint16_t>(static_cast<std::uint64_t>(out) & 0x7fff);
}

std::uint8_t PictureIdRewriter::map_tl0picidx(std::uint8_t tl0) {
  const std::int64_t out = tl0_.map(tl0, 8);
  return static_cast<std::uint8_t>(static_cast<std::uint64_t>(out) & 0xff);
}

std::size_t PictureIdRewriter::rewrite(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  const Fields f = fields(codec_, in);
  if (!f.valid) return 0;
  const std::size_t growth = f.pid_size == 1 ? 1 : 0;
  const std::size_t size = in.size() + growth;
  if (out.size() < size) return 0;
  const bool aliased = out.data() == in.data();
  if (f.pid_size == 0) {
    if (!aliased) std::memcpy(out.data(), in.data(), in.size());
  } else {
    // The bytes after the picture ID move by `growth`; memmove copes with out aliasing in.
    const std::size_t tail = f.pid_offset + f.pid_size;
    std::memmove(out.data() + tail + growth, in.data() + tail, in.size() - tail);
    if (!aliased) std::memcpy(out.data(), in.data(), f.pid_offset);
    const std::uint16_t id = map_picture_id(f.pid, f.pid_size == 2);
    out[f.pid_offset] = static_cast<std::uint8_t>(0x80 | id >> 8);  // M=1
    out[f.pid_offset + 1] = static_cast<std::uint8_t>(id);
  }
  if (f.has_tl0) {
    // TL0PICIDX follows the picture ID in both formats, so it moved with the tail.
    const std::size_t at = f.tl0_offset + (f.tl0_offset > f.pid_offset && f.pid_size != 0 ? growth : 0);
    out[at] = map_tl0picidx(f.tl0);
  }
  return size;
}

}  // namespace dragon::media
