#pragma once
// Per-viewer picture ID rewriting for VP8 (RFC 7741) and VP9 (RFC 9628) RTP payloads, the way the
// viewer already rewrites sequence numbers and timestamps: the source's picture IDs (7 or 15 bits,
// restarting with every FFmpeg run) are unwrapped and mapped onto one continuous 15-bit space per
// viewer, so a browser never sees its picture IDs jump backwards when a rendition restarts or the
// viewer's first packets come from the GOP cache. TL0PICIDX (VP8 L=1, VP9 non-flexible L=1) is kept
// continuous the same way in its 8-bit space.
//
// Output size. Outgoing IDs are always 15-bit (M=1). A payload that arrives with a 7-bit ID grows by
// one byte, which cannot happen in the packet's own bytes, so rewrite() writes into a buffer the
// caller provides: the viewer already copies every packet into its per-loop scratch buffer before
// rewriting the RTP header, so it passes that (at the payload's offset) with kMaxGrowth spare bytes.
// out may also be in's own storage (the same first byte) when it holds kMaxGrowth bytes past the
// payload: the tail is moved with memmove. No other overlap is allowed. Nothing is allocated.
// FFmpeg 5.1's VP8 packetizer sends 15-bit IDs (size unchanged); its VP9 packetizer sends none.
//
// Payloads without a picture ID (or TL0PICIDX) are copied unchanged: this class does not invent IDs.
// KEYIDX (VP8) is copied unchanged too.
#include <cstddef>
#include <cstdint>
#include <span>

namespace dragon::media {

// The picture ID field VP8 (RFC 7741 §4.2) and VP9 (RFC 9628 §4.2) share: M bit, then 7 or 15 bits.
struct PictureIdField {
  std::uint16_t value = 0;
  std::uint8_t offset = 0;  // where the field starts in the payload
  bool fifteen_bit = false;
};
// Reads the field at `at` and advances past it; false when the payload ends inside it.
bool read_picture_id(std::span<const std::uint8_t> payload, std::size_t& at, PictureIdField& out);

enum class VpxCodec : std::uint8_t { Vp8, Vp9 };

// Extends a picture ID (or TL0PICIDX) of a 2^bits space to 64 bits, like SequenceUnwrapper: values
// more than half the space behind the newest are taken as ahead of it; late values unwrap relative
// to the newest without moving it; exactly half the space apart counts as ahead.
class PictureIdUnwrapper {
 public:
  explicit PictureIdUnwrapper(unsigned bits = 15) : modulus_(std::int64_t{1} << bits) {}
  std::int64_t unwrap(std::uint32_t value);
  std::int64_t newest() const { return newest_; }
  bool started() const { return started_; }
  std::int64_t modulus() const { return modulus_; }
  void reset(unsigned bits) {
    modulus_ = std::int64_t{1} << bits;
    started_ = false;
    newest_ = 0;
  }

 private:
  std::int64_t modulus_;
  bool started_ = false;
  std::int64_t newest_ = 0;
};

class PictureIdRewriter {
 public:
  static constexpr std::size_t kMaxGrowth = 1;  // a 7-bit picture ID written as 15 bits

  // The first picture this viewer gets is numbered first_picture_id (15 bits; a random start is fine),
  // its first TL0PICIDX first_tl0picidx.
  explicit PictureIdRewriter(VpxCodec codec, std::uint16_t first_picture_id = 0, std::uint8_t first_tl0picidx = 0);

  // The source changed (new SSRC: a rendition restart, or a switch to another source): the next
  // picture ID seen, whatever its value, is numbered one past the newest this viewer was sent, and
  // the same for TL0PICIDX. The caller must not pass packets of the old source after this (the
  // ingest's epoch tells them apart). A change of picture ID width (7 <-> 15 bits) rebases by itself.
  void rebase();

  // Writes payload `in` with its picture ID (and TL0PICIDX) rewritten into `out` (see the header
  // comment for aliasing). Returns the bytes written: in.size(), or in.size() + 1 for a 7-bit input.
  // Returns 0, leaving the mapping unchanged, if the payload descriptor is invalid (vp8/vp9::parse_
  // descriptor says why) or out is too small.
  std::size_t rewrite(std::span<const std::uint8_t> in, std::span<std::uint8_t> out);

  // The mapping alone, for a source ID of 7 or 15 bits (advances the state like rewrite()).
  std::uint16_t map_picture_id(std::uint16_t id, bool fifteen_bit);
  std::uint8_t map_tl0picidx(std::uint8_t tl0);

  VpxCodec codec() const { return codec_; }
  // The newest outgoing picture ID (meaningless before the first picture).
  std::uint16_t last_picture_id() const { return static_cast<std::uint16_t>(static_cast<std::uint64_t>(pid_.newest_out) & 0x7fff); }

 private:
  struct Space {
    PictureIdUnwrapper in;
    std::int64_t offset = 0;      // outgoing = unwrapped incoming + offset
    std::int64_t newest_out = 0;  // newest outgoing value (unwrapped)
    bool have_out = false;
    bool pending_rebase = true;
    std::int64_t first = 0;
    std::int64_t map(std::uint32_t value, unsigned bits);
  };

  VpxCodec codec_;
  Space pid_;
  Space tl0_;
};

}  // namespace dragon::media
