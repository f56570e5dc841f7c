#include "media/picture_id.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "media/vp8.hpp"
#include "media/vp9.hpp"
#include "rtp_fixtures.hpp"

namespace dragon::media {
namespace {

using test::from_hex;
using Bytes = std::vector<std::uint8_t>;

// A VP8 frame-start payload with a 15-bit or 7-bit picture ID (and TL0PICIDX 'tl0' when >= 0).
Bytes vp8(std::uint16_t id, bool fifteen = true, int tl0 = -1) {
  Bytes b{0x90, static_cast<std::uint8_t>(0x80 | (tl0 >= 0 ? 0x40 : 0))};
  if (fifteen) {
    b.push_back(static_cast<std::uint8_t>(0x80 | id >> 8));
    b.push_back(static_cast<std::uint8_t>(id));
  } else {
    b.push_back(static_cast<std::uint8_t>(id & 0x7f));
  }
  if (tl0 >= 0) b.push_back(static_cast<std::uint8_t>(tl0));
  b.insert(b.end(), {0x31, 0x46, 0x00, 0x11, 0x22});
  return b;
}

std::uint16_t out_id(PictureIdRewriter& r, const Bytes& in) {
  Bytes out(in.size() + PictureIdRewriter::kMaxGrowth);
  const std::size_t n = r.rewrite(in, out);
  EXPECT_GT(n, 0u);
  out.resize(n);
  const auto d = vp8::parse_descriptor(out);
  EXPECT_TRUE(d.valid());
  EXPECT_TRUE(d.picture_id_15bit);
  return d.picture_id;
}

TEST(PictureIdUnwrapper, Wraps15And7Bits) {
  PictureIdUnwrapper u(15);
  EXPECT_EQ(u.unwrap(32766), 32766);
  EXPECT_EQ(u.unwrap(32767), 32767);
  EXPECT_EQ(u.unwrap(0), 32768);
  EXPECT_EQ(u.unwrap(1), 32769);
  EXPECT_EQ(u.unwrap(32767), 32767);  // late: behind, newest unchanged
  EXPECT_EQ(u.newest(), 32769);
  EXPECT_EQ(u.unwrap(2), 32770);

  PictureIdUnwrapper s(7);
  EXPECT_EQ(s.unwrap(126), 126);
  EXPECT_EQ(s.unwrap(127), 127);
  EXPECT_EQ(s.unwrap(0), 128);
  EXPECT_EQ(s.unwrap(64 + 0), 192);  // exactly half the space ahead counts as ahead
  EXPECT_EQ(s.unwrap(1), 129);       // 63 behind
  EXPECT_EQ(s.unwrap(200), 200);     // values are taken modulo the space (200 & 127 = 72)
  // Backwards by more than half wraps forward.
  PictureIdUnwrapper b(15);
  EXPECT_EQ(b.unwrap(100), 100);
  EXPECT_EQ(b.unwrap(100 + 16385), 100 + 16385 - 32768);
}

TEST(PictureIdRewriter, StartsAtTheGivenIdAndFollowsTheSource) {
  PictureIdRewriter r(VpxCodec::Vp8, 1000);
  EXPECT_EQ(out_id(r, vp8(4242)), 1000);
  EXPECT_EQ(out_id(r, vp8(4242)), 1000);  // another packet of the same picture
  EXPECT_EQ(out_id(r, vp8(4243)), 1001);
  EXPECT_EQ(out_id(r, vp8(4245)), 1003);  // a lost picture stays a gap
  EXPECT_EQ(out_id(r, vp8(4244)), 1002);  // reordered
  EXPECT_EQ(r.last_picture_id(), 1003);
}

TEST(PictureIdRewriter, SourceWrapAndOutgoingWrap) {
  PictureIdRewriter r(VpxCodec::Vp8, 32760);
  std::uint16_t expect = 32760;
  for (std::uint32_t i = 0; i < 40; ++i) {
    const auto in = static_cast<std::uint16_t>((32750 + i) & 0x7fff);
    EXPECT_EQ(out_id(r, vp8(in)), expect) << i;
    expect = static_cast<std::uint16_t>((expect + 1) & 0x7fff);
  }
}

TEST(PictureIdRewriter, SevenBitSourceBecomesFifteenBit) {
  PictureIdRewriter r(VpxCodec::Vp8, 500);
  std::uint16_t expect = 500;
  for (std::uint32_t i = 0; i < 300; ++i) {  // more than two 7-bit wraps
    const Bytes in = vp8(static_cast<std::uint16_t>((120 + i) & 0x7f), false);
    Bytes out(in.size() + 1);
    ASSERT_EQ(r.rewrite(in, out), in.size() + 1);
    const auto d = vp8::parse_descriptor(out);
    ASSERT_TRUE(d.valid());
    EXPECT_TRUE(d.picture_id_15bit);
    EXPECT_EQ(d.picture_id, expect++);
    EXPECT_TRUE(std::equal(in.begin() + 3, in.end(), out.begin() + 4));
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 2), Bytes(in.begin(), in.begin() + 2));
  }
}

TEST(PictureIdRewriter, InPlaceWithHeadroom) {
  PictureIdRewriter r(VpxCodec::Vp8, 77);
  // 15-bit: the same bytes, same size.
  Bytes a = vp8(9000);
  const Bytes a_in = a;
  ASSERT_EQ(r.rewrite(a, a), a.size());
  EXPECT_EQ(vp8::parse_descriptor(a).picture_id, 77);
  EXPECT_TRUE(std::equal(a_in.begin() + 4, a_in.end(), a.begin() + 4));
  // 7-bit with TL0PICIDX, in a buffer one byte longer than the payload.
  PictureIdRewriter s(VpxCodec::Vp8, 77, 5);
  const Bytes in = vp8(3, false, 250);
  Bytes buf = in;
  buf.push_back(0);
  const std::span<const std::uint8_t> payload(buf.data(), in.size());
  ASSERT_EQ(s.rewrite(payload, buf), in.size() + 1);
  const auto d = vp8::parse_descriptor(buf);
  ASSERT_TRUE(d.valid());
  EXPECT_EQ(d.picture_id, 77);
  EXPECT_EQ(d.tl0picidx, 5);
  EXPECT_TRUE(std::equal(in.begin() + 4, in.end(), buf.begin() + 5));
  // Without the spare byte it refuses and changes nothing.
  Bytes tight = vp8(4, false, 251);
  const Bytes tight_in = tight;
  EXPECT_EQ(s.rewrite(tight, tight), 0u);
  EXPECT_EQ(tight, tight_in);
  EXPECT_EQ(out_id(s, vp8(4, false, 251)), 78);  // the failed call did not advance the mapping
}

TEST(PictureIdRewriter, RejectsInvalidPayloads) {
  PictureIdRewriter r(VpxCodec::Vp8);
  Bytes out(64);
  EXPECT_EQ(r.rewrite({}, out), 0u);
  EXPECT_EQ(r.rewrite(from_hex("90 80"), out), 0u);     // truncated
  EXPECT_EQ(r.rewrite(from_hex("90 80 81 00"), out), 0u);  // descriptor only
  PictureIdRewriter v(VpxCodec::Vp9);
  EXPECT_EQ(v.rewrite(from_hex("18 00"), out), 0u);  // flexible without picture ID
  EXPECT_EQ(v.rewrite(from_hex("8a 80"), out), 0u);  // 15-bit ID truncated
}

TEST(PictureIdRewriter, RebaseContinuesAfterTheNewestSent) {
  PictureIdRewriter r(VpxCodec::Vp8, 10, 100);
  EXPECT_EQ(out_id(r, vp8(500, true, 7)), 10);
  EXPECT_EQ(out_id(r, vp8(502, true, 8)), 12);
  EXPECT_EQ(out_id(r, vp8(501, true, 7)), 11);  // late: newest stays 12
  // FFmpeg restarts: new SSRC, IDs from 0 again (or anywhere).
  r.rebase();
  EXPECT_EQ(out_id(r, vp8(0, true, 0)), 13);
  EXPECT_EQ(out_id(r, vp8(1, true, 0)), 14);
  // Another restart, now with 7-bit IDs near their wrap.
  r.rebase();
  EXPECT_EQ(out_id(r, vp8(127, false)), 15);
  EXPECT_EQ(out_id(r, vp8(0, false)), 16);
  // The source switches width without a rebase: treated as a new source.
  EXPECT_EQ(out_id(r, vp8(30000)), 17);
  EXPECT_EQ(out_id(r, vp8(30001)), 18);

  // TL0PICIDX: 8-bit wrap, and continuity across a rebase.
  PictureIdRewriter t(VpxCodec::Vp8, 0, 254);
  Bytes out(32);
  auto tl0_of = [&](const Bytes& in) {
    const std::size_t n = t.rewrite(in, out);
    EXPECT_GT(n, 0u);
    return vp8::parse_descriptor(std::span<const std::uint8_t>(out.data(), n)).tl0picidx;
  };
  EXPECT_EQ(tl0_of(vp8(1, true, 40)), 254);
  EXPECT_EQ(tl0_of(vp8(2, true, 41)), 255);
  EXPECT_EQ(tl0_of(vp8(3, true, 42)), 0);  // 8-bit wrap
  t.rebase();
  EXPECT_EQ(tl0_of(vp8(9, true, 200)), 1);
  EXPECT_EQ(tl0_of(vp8(10, true, 200)), 1);
  EXPECT_EQ(tl0_of(vp8(11, true, 201)), 2);
}

TEST(PictureIdRewriter, RebaseBeforeAnyPictureStartsAtTheFirstId) {
  PictureIdRewriter r(VpxCodec::Vp8, 321);
  r.rebase();
  EXPECT_EQ(out_id(r, vp8(7)), 321);
}

// A viewer that joins from the GOP cache gets its own rewriter: the cached pictures and the live ones
// after them are one source, so they number continuously from the viewer's first ID; a second viewer
// joining later starts at its own first ID.
TEST(PictureIdRewriter, JoinFromCacheThenLive) {
  std::vector<Bytes> stream;
  for (std::uint16_t id = 32700; id != 40; id = static_cast<std::uint16_t>((id + 1) & 0x7fff)) stream.push_back(vp8(id));
  PictureIdRewriter first(VpxCodec::Vp8, 5);
  PictureIdRewriter second(VpxCodec::Vp8, 20000);
  for (std::size_t i = 0; i < stream.size(); ++i) {
    EXPECT_EQ(out_id(first, stream[i]), 5 + i);
    if (i >= 50) {
      EXPECT_EQ(out_id(second, stream[i]), 20000 + (i - 50));
    }
  }
}

TEST(PictureIdRewriter, MapOnly) {
  PictureIdRewriter r(VpxCodec::Vp9, 32767);
  EXPECT_EQ(r.map_picture_id(10, true), 32767);
  EXPECT_EQ(r.map_picture_id(11, true), 0);
  EXPECT_EQ(r.codec(), VpxCodec::Vp9);
}

TEST(PictureIdRewriter, Vp9SevenBitWithLayersInPlace) {
  // I, L, B (non-flexible), 7-bit ID 5, layers TID 0 SID 0, TL0PICIDX 9, then a key frame's first bytes.
  const Bytes in = from_hex("a8 05 00 09 82 49 83 42 00 02 7f 01 67 00");
  PictureIdRewriter r(VpxCodec::Vp9, 1234, 77);
  Bytes buf = in;
  buf.push_back(0);
  ASSERT_EQ(r.rewrite(std::span<const std::uint8_t>(buf.data(), in.size()), buf), in.size() + 1);
  const auto info = vp9::inspect_rtp_payload(buf);
  ASSERT_TRUE(info.valid());
  EXPECT_EQ(info.descriptor.picture_id, 1234);
  EXPECT_TRUE(info.descriptor.picture_id_15bit);
  EXPECT_EQ(info.descriptor.tl0picidx, 77);
  EXPECT_TRUE(info.keyframe);
  EXPECT_TRUE(std::equal(in.begin() + 4, in.end(), buf.begin() + 5));
}

}  // namespace
}  // namespace dragon::media
