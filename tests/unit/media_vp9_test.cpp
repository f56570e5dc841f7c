#include "media/vp9.hpp"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "media/picture_id.hpp"
#include "media/rtp.hpp"
#include "rtp_fixtures.hpp"

namespace dragon::media::vp9 {
namespace {

using test::from_hex;
using test::load_rtp_capture;
using Bytes = std::vector<std::uint8_t>;

struct Ss {
  std::uint8_t n_s = 0;  // spatial layers - 1
  bool y = false;
  bool g = false;
  std::vector<std::vector<std::uint8_t>> groups;  // P_DIFFs of each picture group entry
};

struct Fields {
  bool i = false, p = false, l = false, f = false, b = false, e = false, v = false, z = false;
  bool m = false;
  std::uint16_t picture_id = 0;
  std::uint8_t tid = 0, sid = 0;
  bool u = false, d = false;
  std::uint8_t tl0 = 0;
  std::vector<std::uint8_t> p_diff;
  Ss ss;
};

Bytes build_ss(const Ss& ss) {
  Bytes b{static_cast<std::uint8_t>(ss.n_s << 5 | (ss.y ? 0x10 : 0) | (ss.g ? 0x08 : 0))};
  if (ss.y) {
    for (int i = 0; i <= ss.n_s; ++i) {
      const int w = 320 << i, h = 180 << i;
      b.insert(b.end(), {static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w), static_cast<std::uint8_t>(h >> 8),
                         static_cast<std::uint8_t>(h)});
    }
  }
  if (ss.g) {
    b.push_back(static_cast<std::uint8_t>(ss.groups.size()));
    for (std::size_t g = 0; g < ss.groups.size(); ++g) {
      b.push_back(static_cast<std::uint8_t>((g % 8) << 5 | 0x10 | ss.groups[g].size() << 2));
      b.insert(b.end(), ss.groups[g].begin(), ss.groups[g].end());
    }
  }
  return b;
}

Bytes build(const Fields& f) {
  Bytes b{static_cast<std::uint8_t>((f.i ? 0x80 : 0) | (f.p ? 0x40 : 0) | (f.l ? 0x20 : 0) | (f.f ? 0x10 : 0) |
                                    (f.b ? 0x08 : 0) | (f.e ? 0x04 : 0) | (f.v ? 0x02 : 0) | (f.z ? 0x01 : 0))};
  if (f.i) {
    if (f.m) {
      b.push_back(static_cast<std::uint8_t>(0x80 | (f.picture_id >> 8 & 0x7f)));
      b.push_back(static_cast<std::uint8_t>(f.picture_id));
    } else {
      b.push_back(static_cast<std::uint8_t>(f.picture_id & 0x7f));
    }
  }
  if (f.l) {
    b.push_back(static_cast<std::uint8_t>(f.tid << 5 | (f.u ? 0x10 : 0) | f.sid << 1 | (f.d ? 1 : 0)));
    if (!f.f) b.push_back(f.tl0);
  }
  if (f.f && f.p) {
    for (std::size_t r = 0; r < f.p_diff.size(); ++r) {
      b.push_back(static_cast<std::uint8_t>(f.p_diff[r] << 1 | (r + 1 < f.p_diff.size() ? 1 : 0)));
    }
  }
  if (f.v) {
    const Bytes ss = build_ss(f.ss);
    b.insert(b.end(), ss.begin(), ss.end());
  }
  return b;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// VP9 uncompressed headers (profile 0, 8 bit). A key frame: 0x82 is frame_marker 2, profile 0,
// show_existing_frame 0, frame_type 0 (key), show_frame 1, error_resilient 0; then the sync code
// 49 83 42, color_space (3 bits) 0, color_range 0, width-1 and height-1 (16 bits each), padding.
Bytes key_frame_header(unsigned width, unsigned height) {
  std::uint64_t bits = 0;
  bits = (bits << 4) | 0;
  bits = (bits << 16) | (width - 1);
  bits = (bits << 16) | (height - 1);
  bits <<= 4;  // 40 bits = 5 bytes
  Bytes b{0x82, 0x49, 0x83, 0x42};
  for (int i = 4; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  return b;
}
const Bytes kInterFrameHeader = from_hex("86 00 40");  // frame_type 1

const std::vector<Ss> kSsVariants = {
    {0, false, false, {}},
    {2, true, true, {{1}, {1, 2}, {1, 2, 3}}},
    {7, true, false, {}},
    {1, false, true, {}},  // G with N_G 0
    {0, false, true, {{}, {4}}},
};

TEST(Vp9Descriptor, EveryFlagCombinationAndTruncation) {
  int valid = 0, rejected = 0;
  for (int flags = 0; flags < 256; ++flags) {
    for (int m = 0; m < 2; ++m) {
      for (std::size_t refs = 1; refs <= kMaxReferences; ++refs) {
        for (std::size_t ssv = 0; ssv < kSsVariants.size(); ++ssv) {
          Fields f;
          f.i = flags & 0x80;
          f.p = flags & 0x40;
          f.l = flags & 0x20;
          f.f = flags & 0x10;
          f.b = flags & 0x08;
          f.e = flags & 0x04;
          f.v = flags & 0x02;
          f.z = flags & 0x01;
          if (!f.i && m) continue;
          if (!(f.f && f.p) && refs > 1) continue;
          if (!f.v && ssv > 0) continue;
          f.m = m;
          f.picture_id = m ? 0x1234 : 0x55;
          f.tid = 5;
          f.sid = 3;
          f.u = true;
          f.d = flags & 1;
          f.tl0 = 0x9e;
          for (std::size_t r = 0; r < refs; ++r) f.p_diff.push_back(static_cast<std::uint8_t>(10 * (r + 1)));
          f.ss = kSsVariants[ssv];
          const Bytes descriptor = build(f);
          const Bytes payload = cat(descriptor, {0xab});
          SCOPED_TRACE(testing::Message() << "flags " << flags << " m " << m << " refs " << refs << " ss " << ssv);
          const Descriptor d = parse_descriptor(payload);
          if (f.f && !f.i) {
            EXPECT_EQ(d.error, Error::FlexibleWithoutPictureId);
            ++rejected;
            continue;
          }
          ASSERT_TRUE(d.valid()) << to_string(d.error);
          ++valid;
          EXPECT_EQ(d.size, descriptor.size());
          EXPECT_EQ(d.has_picture_id, f.i);
          EXPECT_EQ(d.inter_picture, f.p);
          EXPECT_EQ(d.has_layer_indices, f.l);
          EXPECT_EQ(d.flexible, f.f);
          EXPECT_EQ(d.begin_of_frame, f.b);
          EXPECT_EQ(d.end_of_frame, f.e);
          EXPECT_EQ(d.has_ss, f.v);
          EXPECT_EQ(d.not_upper_reference, f.z);
          if (f.i) {
            EXPECT_EQ(d.picture_id, f.picture_id);
            EXPECT_EQ(d.picture_id_15bit, f.m);
            EXPECT_EQ(d.picture_id_offset, 1);
          }
          EXPECT_EQ(d.picture_id_size(), f.i ? (f.m ? 2 : 1) : 0);
          if (f.l) {
            EXPECT_EQ(d.tid, 5);
            EXPECT_EQ(d.sid, 3);
            EXPECT_TRUE(d.switching_up);
            EXPECT_EQ(d.inter_layer_dependency, f.d);
          }
          EXPECT_EQ(d.has_tl0picidx, f.l && !f.f);
          if (d.has_tl0picidx) {
            EXPECT_EQ(d.tl0picidx, 0x9e);
            EXPECT_EQ(payload[d.tl0picidx_offset], 0x9e);
          }
          if (f.f && f.p) {
            ASSERT_EQ(d.num_references, refs);
            for (std::size_t r = 0; r < refs; ++r) EXPECT_EQ(d.p_diff[r], 10 * (r + 1));
          } else {
            EXPECT_EQ(d.num_references, 0);
          }
          if (f.v) {
            EXPECT_EQ(d.ss_spatial_layers, f.ss.n_s + 1);
            EXPECT_EQ(d.ss_has_resolutions, f.ss.y);
            EXPECT_EQ(d.ss_has_picture_groups, f.ss.g);
            EXPECT_EQ(d.ss_picture_groups, f.ss.groups.size());
            EXPECT_EQ(d.ss_size, build_ss(f.ss).size());
            EXPECT_EQ(d.ss_offset + d.ss_size, d.size);
            if (f.ss.y) {
              for (int i = 0; i <= f.ss.n_s; ++i) {
                EXPECT_EQ(d.ss_width[i], 320 << i);
                EXPECT_EQ(d.ss_height[i], 180 << i);
              }
            }
          }
          EXPECT_EQ(d.picture_start(), f.b && (!f.l || d.sid == 0));

          for (std::size_t len = 0; len <= descriptor.size(); ++len) {
            const Bytes cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(len));
            const Descriptor t = parse_descriptor(cut);
            EXPECT_FALSE(t.valid()) << len;
            if (len == 0) {
              EXPECT_EQ(t.error, Error::Empty);
            } else if (len == descriptor.size()) {
              EXPECT_EQ(t.error, Error::NoPayload);
            } else if (f.v && len >= d.ss_offset) {
              EXPECT_EQ(t.error, Error::TruncatedScalabilityStructure) << len;
            } else {
              EXPECT_EQ(t.error, Error::TruncatedDescriptor) << len;
            }
            EXPECT_FALSE(is_keyframe(cut));
          }
        }
      }
    }
  }
  EXPECT_GT(valid, 1000);
  EXPECT_GT(rejected, 0);
}

// The rewriter over descriptors of every shape: picture ID widened to 15 bits, TL0PICIDX mapped,
// everything else (layer indices, P_DIFFs, SS, the frame) byte for byte the same.
TEST(Vp9Rewrite, EveryFlagCombination) {
  for (int flags = 0; flags < 256; ++flags) {
    for (int m = 0; m < 2; ++m) {
      Fields f;
      f.i = flags & 0x80;
      f.p = flags & 0x40;
      f.l = flags & 0x20;
      f.f = flags & 0x10;
      f.b = flags & 0x08;
      f.e = flags & 0x04;
      f.v = flags & 0x02;
      f.z = flags & 0x01;
      if ((f.f && !f.i) || (!f.i && m)) continue;
      f.m = m;
      f.picture_id = m ? 300 : 100;
      f.tid = 2;
      f.sid = 1;
      f.tl0 = 0x80;
      f.p_diff = {1, 2};
      f.ss = kSsVariants[1];
      const Bytes in = cat(build(f), key_frame_header(320, 180));
      const Descriptor din = parse_descriptor(in);
      ASSERT_TRUE(din.valid());
      PictureIdRewriter rewriter(VpxCodec::Vp9, 7, 200);
      Bytes out(in.size() + PictureIdRewriter::kMaxGrowth);
      const std::size_t n = rewriter.rewrite(in, out);
      SCOPED_TRACE(testing::Message() << "flags " << flags << " m " << m);
      ASSERT_EQ(n, in.size() + (f.i && !m ? 1 : 0));
      out.resize(n);
      const Descriptor d = parse_descriptor(out);
      ASSERT_TRUE(d.valid());
      EXPECT_EQ(d.size, din.size + (n - in.size()));
      if (f.i) {
        EXPECT_TRUE(d.picture_id_15bit);
        EXPECT_EQ(d.picture_id, 7);
      }
      if (d.has_tl0picidx) {
        EXPECT_EQ(d.tl0picidx, 200);
      }
      EXPECT_EQ(d.has_layer_indices, f.l);
      EXPECT_EQ(d.tid, din.tid);
      EXPECT_EQ(d.sid, din.sid);
      EXPECT_EQ(d.num_references, din.num_references);
      EXPECT_EQ(d.p_diff[1], din.p_diff[1]);
      EXPECT_EQ(d.ss_size, din.ss_size);
      EXPECT_EQ(d.ss_width[2], din.ss_width[2]);
      // Everything after the picture ID is the same bytes, TL0PICIDX aside.
      const std::size_t after_in = din.picture_id_offset + din.picture_id_size() + (f.i ? 0 : 1);
      const std::size_t after_out = after_in + (n - in.size());
      for (std::size_t i = after_in; i < in.size(); ++i) {
        if (din.has_tl0picidx && i == din.tl0picidx_offset) continue;
        EXPECT_EQ(out[i - after_in + after_out], in[i]) << i;
      }
      EXPECT_EQ(inspect_rtp_payload(out).keyframe, inspect_rtp_payload(in).keyframe);
    }
  }
}

TEST(Vp9Descriptor, AFourthReferenceIsRejected) {
  // I, P, F, B; 15-bit ID; P_DIFF 1, 2, 3 each with N set.
  const Bytes payload = from_hex("d8 8001 03 05 07 09 ab");
  EXPECT_EQ(parse_descriptor(payload).error, Error::TooManyReferences);
  const Bytes three = from_hex("d8 8001 03 05 06 ab");
  const Descriptor d = parse_descriptor(three);
  ASSERT_TRUE(d.valid());
  EXPECT_EQ(d.num_references, 3);
  EXPECT_EQ(d.p_diff[2], 3);
}

TEST(Vp9Descriptor, ErrorsHaveText) {
  for (const Error e : {Error::None, Error::Empty, Error::TruncatedDescriptor, Error::TooManyReferences,
                        Error::FlexibleWithoutPictureId, Error::TruncatedScalabilityStructure, Error::NoPayload}) {
    EXPECT_FALSE(to_string(e).empty());
  }
}

TEST(Vp9Keyframe, KeyFrameStart) {
  // FFmpeg's one-byte form, B only; 15-bit ID with layers SID 0; flexible with SS.
  for (const Bytes& descriptor : {from_hex("08"), from_hex("a8 8123 00 07"), from_hex("9a 8123 00"), from_hex("0c")}) {
    const Bytes payload = cat(descriptor, key_frame_header(320, 180));
    const PayloadInfo info = inspect_rtp_payload(payload);
    ASSERT_TRUE(info.valid()) << to_string(info.descriptor.error);
    EXPECT_TRUE(info.frame_start);
    EXPECT_TRUE(info.picture_start);
    EXPECT_TRUE(info.keyframe);
    EXPECT_EQ(info.width, 320u);
    EXPECT_EQ(info.height, 180u);
    EXPECT_TRUE(is_keyframe(payload));
  }
}

TEST(Vp9Keyframe, HeaderSplitAcrossPackets) {
  // Only the first byte (frame_type) here: the descriptor and frame_type agree, size unknown.
  const PayloadInfo info = inspect_rtp_payload(from_hex("08 82 49"));
  EXPECT_TRUE(info.keyframe);
  EXPECT_EQ(info.width, 0u);
  // Sync code present but the size is not.
  const PayloadInfo partial = inspect_rtp_payload(from_hex("08 82 49 83 42 00"));
  EXPECT_TRUE(partial.keyframe);
  EXPECT_EQ(partial.width, 0u);
}

TEST(Vp9Keyframe, NotAKeyFrame) {
  const Bytes key = key_frame_header(320, 180);
  EXPECT_FALSE(is_keyframe(cat(from_hex("48"), key)));            // P=1
  EXPECT_FALSE(is_keyframe(cat(from_hex("00"), key)));            // B=0: not a frame start
  EXPECT_FALSE(is_keyframe(cat(from_hex("28 06 00"), key)));      // L: SID 3
  EXPECT_TRUE(is_keyframe(cat(from_hex("28 00 00"), key)));       // L: SID 0
  EXPECT_FALSE(is_keyframe(cat(from_hex("08"), kInterFrameHeader)));  // FFmpeg never sets P: the header says inter
  EXPECT_FALSE(is_keyframe(from_hex("08 8a")));                   // show_existing_frame
  EXPECT_FALSE(is_keyframe(from_hex("08 42")));                   // frame_marker 1
  EXPECT_FALSE(is_keyframe(from_hex("08 82 49 83 43 00 00 00 00 00")));  // bad sync code
  const PayloadInfo spatial = inspect_rtp_payload(cat(from_hex("28 06 00"), key));
  EXPECT_TRUE(spatial.frame_start);
  EXPECT_FALSE(spatial.picture_start);
}

TEST(Vp9Keyframe, ProfilesAndRgb) {
  // Profile 1 (0xa2: marker 2, profile_low 1, high 0), color_space 7 (RGB) + reserved bit, 64x48.
  // Bits after sync: 111 (RGB) 0 (reserved) + 16 + 16 = 36 bits.
  std::uint64_t bits = (0b1110ull << 32) | (std::uint64_t{63} << 16) | 47;
  bits <<= 4;
  Bytes p1{0x08, 0xa2, 0x49, 0x83, 0x42};
  for (int i = 4; i >= 0; --i) p1.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  const PayloadInfo info = inspect_rtp_payload(p1);
  ASSERT_TRUE(info.keyframe);
  EXPECT_EQ(info.width, 64u);
  EXPECT_EQ(info.height, 48u);
  // Profile 3 with reserved_zero set is invalid.
  EXPECT_FALSE(is_keyframe(from_hex("08 b8 49 83 42 00 00 00 00 00")));
  // Profile 2: ten_or_twelve_bit before color_space 0, color_range; 640x360.
  bits = (std::uint64_t{0} << 37) | (std::uint64_t{639} << 16) | 359;  // 1+3+1 = 5 zero bits, then sizes
  bits <<= 3;                                                         // 40 bits
  Bytes p2{0x08, 0x92, 0x49, 0x83, 0x42};
  for (int i = 4; i >= 0; --i) p2.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  const PayloadInfo info2 = inspect_rtp_payload(p2);
  ASSERT_TRUE(info2.keyframe);
  EXPECT_EQ(info2.width, 640u);
  EXPECT_EQ(info2.height, 360u);
}

// ffmpeg 5.1, libvpx-vp9 (-strict experimental), -g 25, 55 frames of 160x96: FFmpeg sends the
// one-byte descriptor (B, E only): no picture ID, P never set.
TEST(Vp9Payload, FfmpegCapture) {
  const auto packets = load_rtp_capture("ffmpeg_vp9.hex");
  ASSERT_FALSE(packets.empty());
  int frames = 0, ends = 0;
  std::vector<int> keyframes;
  PictureIdRewriter rewriter(VpxCodec::Vp9);
  for (const Bytes& packet : packets) {
    const auto h = parse_rtp(packet);
    ASSERT_TRUE(h);
    const auto payload = rtp_payload(packet, *h);
    const PayloadInfo info = inspect_rtp_payload(payload);
    ASSERT_TRUE(info.valid()) << to_string(info.descriptor.error);
    EXPECT_EQ(info.descriptor.size, 1);
    EXPECT_FALSE(info.descriptor.has_picture_id);
    EXPECT_EQ(info.descriptor.end_of_frame, h->marker);
    ends += info.descriptor.end_of_frame;
    if (info.frame_start) ++frames;
    if (info.keyframe) {
      keyframes.push_back(frames - 1);
      EXPECT_EQ(info.width, 160u);
      EXPECT_EQ(info.height, 96u);
    }
    // Without a picture ID the rewriter copies the payload unchanged.
    Bytes out(payload.size() + PictureIdRewriter::kMaxGrowth);
    ASSERT_EQ(rewriter.rewrite(payload, out), payload.size());
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), out.begin()));
  }
  EXPECT_EQ(frames, 55);
  EXPECT_EQ(ends, 55);
  EXPECT_EQ(keyframes, (std::vector<int>{0, 25, 50}));
}

}  // namespace
}  // namespace dragon::media::vp9
