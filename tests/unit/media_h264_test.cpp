#include "media/h264.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "media/rtp.hpp"
#include "rtp_fixtures.hpp"

namespace dragon::media::h264 {
namespace {

using test::from_hex;
using test::load_rtp_capture;
using Bytes = std::vector<std::uint8_t>;

// SPS NAL units written by x264 (ffmpeg 5.1: -f lavfi -i testsrc2=size=WxH -c:v libx264 -profile:v P
// -frames:v 1 -f h264), copied from the Annex B output.
const Bytes kSpsBaseline360 = from_hex("6742c01ed900a02ff97011000003000100000300320f162e48");
const Bytes kSpsMain360 = from_hex("674d401eeca05017fcb808800000030080000019078b16cb");
const Bytes kSpsHigh360 = from_hex("6764001eacd940a02ff97011000003000100000300320f162d96");
const Bytes kSpsHigh1080 = from_hex("67640028acd940780227e5c044000003000400000300c83c60c658");
// -pix_fmt yuv444p -profile:v high444: chroma_format_idc 3.
const Bytes kSpsHigh444 = from_hex("67f4001e919b281405ff1380880000030008000003019078b16cb0");
// -pix_fmt yuv422p -profile:v high422: chroma_format_idc 2.
const Bytes kSpsHigh422 = from_hex("677a001ebcd940a02ff89c0440000003004000000c83c58b6580");
// 720x576 with -flags +ildct+ilme -x264-params interlaced=1: frame_mbs_only_flag 0.
const Bytes kSpsInterlaced576 = from_hex("6764001eacd940b424d8088000000300800000190f8a14cb");
const Bytes kPpsHigh = from_hex("68ebe3cb22c0");

// Writes bits MSB first, then escapes the result into a NAL unit, for SPS fields x264 never sends.
class BitWriter {
 public:
  void bits(std::uint32_t value, unsigned count) {
    for (unsigned i = count; i-- > 0;) bit((value >> i) & 1);
  }
  void ue(std::uint32_t value) {
    const std::uint64_t v = std::uint64_t{value} + 1;
    unsigned length = 0;
    while ((v >> length) > 1) ++length;
    bits(0, length);
    for (unsigned i = length + 1; i-- > 0;) bit(static_cast<unsigned>((v >> i) & 1));
  }
  void se(std::int32_t value) { ue(value > 0 ? static_cast<std::uint32_t>(2 * value - 1) : static_cast<std::uint32_t>(-2 * value)); }
  Bytes nal(std::uint8_t header) {
    bit(1);  // rbsp_stop_one_bit
    while (used_ != 0) bit(0);
    Bytes out{header};
    int zeros = 0;
    for (const std::uint8_t b : rbsp_) {
      if (zeros >= 2 && b <= 3) {
        out.push_back(3);
        zeros = 0;
      }
      out.push_back(b);
      zeros = b == 0 ? zeros + 1 : 0;
    }
    return out;
  }

 private:
  void bit(unsigned b) {
    if (used_ == 0) rbsp_.push_back(0);
    if (b) rbsp_.back() = static_cast<std::uint8_t>(rbsp_.back() | (0x80 >> used_));
    used_ = (used_ + 1) % 8;
  }
  Bytes rbsp_;
  unsigned used_ = 0;
};

TEST(H264Sps, X264BaselineMainHigh) {
  const auto baseline = parse_sps(kSpsBaseline360);
  ASSERT_TRUE(baseline);
  EXPECT_EQ(baseline->profile_idc, 66);
  EXPECT_EQ(baseline->constraint_flags, 0xc0);
  EXPECT_EQ(baseline->level_idc, 30);
  EXPECT_EQ(baseline->width, 640u);
  EXPECT_EQ(baseline->height, 360u);  // 368 coded, 8 cropped
  EXPECT_EQ(baseline->profile_level_id(), "42c01e");

  const auto main = parse_sps(kSpsMain360);
  ASSERT_TRUE(main);
  EXPECT_EQ(main->profile_level_id(), "4d401e");
  EXPECT_EQ(main->width, 640u);
  EXPECT_EQ(main->height, 360u);

  const auto high = parse_sps(kSpsHigh360);
  ASSERT_TRUE(high);
  EXPECT_EQ(high->profile_level_id(), "64001e");
  EXPECT_EQ(high->chroma_format_idc, 1);
  EXPECT_TRUE(high->frame_mbs_only);
  EXPECT_EQ(high->width, 640u);
  EXPECT_EQ(high->height, 360u);

  const auto full_hd = parse_sps(kSpsHigh1080);
  ASSERT_TRUE(full_hd);
  EXPECT_EQ(full_hd->profile_level_id(), "640028");
  EXPECT_EQ(full_hd->width, 1920u);
  EXPECT_EQ(full_hd->height, 1080u);
}

TEST(H264Sps, ChromaFormatsAndInterlace) {
  const auto yuv444 = parse_sps(kSpsHigh444);
  ASSERT_TRUE(yuv444);
  EXPECT_EQ(yuv444->profile_level_id(), "f4001e");
  EXPECT_EQ(yuv444->chroma_format_idc, 3);
  EXPECT_EQ(yuv444->width, 640u);
  EXPECT_EQ(yuv444->height, 360u);  // crop unit 1 in 4:4:4

  const auto yuv422 = parse_sps(kSpsHigh422);
  ASSERT_TRUE(yuv422);
  EXPECT_EQ(yuv422->profile_level_id(), "7a001e");
  EXPECT_EQ(yuv422->chroma_format_idc, 2);
  EXPECT_EQ(yuv422->width, 640u);
  EXPECT_EQ(yuv422->height, 360u);

  const auto interlaced = parse_sps(kSpsInterlaced576);
  ASSERT_TRUE(interlaced);
  EXPECT_FALSE(interlaced->frame_mbs_only);
  EXPECT_EQ(interlaced->width, 720u);
  EXPECT_EQ(interlaced->height, 576u);  // 18 map units of 32 lines
}

Bytes synthetic_high_sps(bool with_scaling_lists, unsigned poc_type, bool cropping) {
  BitWriter w;
  w.bits(100, 8);  // High
  w.bits(0, 8);
  w.bits(31, 8);
  w.ue(0);  // sps id
  w.ue(1);  // 4:2:0
  w.ue(0);  // bit depths
  w.ue(0);
  w.bits(0, 1);  // qpprime_y_zero_transform_bypass
  w.bits(with_scaling_lists ? 1 : 0, 1);
  if (with_scaling_lists) {
    for (int i = 0; i < 8; ++i) {
      const bool present = i == 0 || i == 1 || i == 6;
      w.bits(present ? 1 : 0, 1);
      if (!present) continue;
      if (i == 1) {
        w.se(-8);  // next = 0 at j = 0: use the default list
      } else {
        const int size = i < 6 ? 16 : 64;
        for (int j = 0; j < size; ++j) w.se(j % 2 == 0 ? 3 : -2);
      }
    }
  }
  w.ue(0);  // log2_max_frame_num_minus4
  w.ue(poc_type);
  if (poc_type == 0) {
    w.ue(2);
  } else if (poc_type == 1) {
    w.bits(0, 1);
    w.se(-1);
    w.se(1);
    w.ue(3);
    w.se(2);
    w.se(-2);
    w.se(0);
  }
  w.ue(2);        // max_num_ref_frames
  w.bits(0, 1);   // gaps
  w.ue(79);       // 1280
  w.ue(44);       // 720
  w.bits(1, 1);   // frame_mbs_only
  w.bits(1, 1);   // direct_8x8
  w.bits(cropping ? 1 : 0, 1);
  if (cropping) {
    w.ue(2);  // left: 4 pixels
    w.ue(0);
    w.ue(0);
    w.ue(4);  // bottom: 8 lines
  }
  w.bits(0, 1);  // no VUI
  return w.nal(0x67);
}

TEST(H264Sps, ScalingListsPocTypesAndCropping) {
  const auto plain = parse_sps(synthetic_high_sps(false, 0, false));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->width, 1280u);
  EXPECT_EQ(plain->height, 720u);
  EXPECT_EQ(plain->profile_level_id(), "64001f");

  const auto lists = parse_sps(synthetic_high_sps(true, 1, true));
  ASSERT_TRUE(lists);
  EXPECT_EQ(lists->width, 1276u);
  EXPECT_EQ(lists->height, 712u);

  const auto poc2 = parse_sps(synthetic_high_sps(true, 2, false));
  ASSERT_TRUE(poc2);
  EXPECT_EQ(poc2->width, 1280u);
}

TEST(H264Sps, RejectsTruncatedAndInvalid) {
  EXPECT_FALSE(parse_sps({}));
  EXPECT_FALSE(parse_sps(kPpsHigh));  // not an SPS
  for (std::size_t n = 0; n < 8; ++n) {
    // x264's SPS ends its cropping fields within the first 8 bytes after the header.
    EXPECT_FALSE(parse_sps(std::span(kSpsHigh360).first(n))) << n;
  }
  Bytes forbidden = kSpsHigh360;
  forbidden[0] |= 0x80;
  EXPECT_FALSE(parse_sps(forbidden));
  // An Exp-Golomb code longer than 32 bits for the sps id.
  EXPECT_FALSE(parse_sps(from_hex("67 42c01e 00000000 01")));
  // Cropping that removes the whole picture.
  BitWriter w;
  w.bits(66, 8);
  w.bits(0, 8);
  w.bits(30, 8);
  w.ue(0);
  w.ue(0);
  w.ue(0);
  w.ue(2);
  w.ue(1);
  w.bits(0, 1);
  w.ue(0);  // 16 wide
  w.ue(0);
  w.bits(1, 1);
  w.bits(1, 1);
  w.bits(1, 1);
  w.ue(4);  // 8 + 8 pixels of 16
  w.ue(4);
  w.ue(0);
  w.ue(0);
  w.bits(0, 1);
  EXPECT_FALSE(parse_sps(w.nal(0x67)));
}

TEST(H264BitReader, ExpGolombAndBounds) {
  // 1 | 010 | 011 | 00100 | 00101 -> ue 0, 1, 2, 3; then se from 00101 = 4 -> -2.
  const Bytes data = from_hex("a6 42 80");
  BitReader r(data);
  EXPECT_EQ(r.ue(), 0u);
  EXPECT_EQ(r.ue(), 1u);
  EXPECT_EQ(r.ue(), 2u);
  EXPECT_EQ(r.ue(), 3u);
  EXPECT_EQ(r.se(), -2);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.bits_left(), 7u);
  EXPECT_EQ(r.bits(7), 0u);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.bits(1), 0u);
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.ue(), 0u);  // stays failed

  // The largest code: 31 zeros, a one, 31 ones = 2^32 - 2.
  const Bytes largest = from_hex("00 00 00 01 ff ff ff fe");
  BitReader big(largest);
  EXPECT_EQ(big.ue(), 0xfffffffeu);
  EXPECT_FALSE(big.failed());
  const Bytes thirty_two_zeros = from_hex("00 00 00 00 ff ff ff ff ff");
  BitReader too_long(thirty_two_zeros);
  too_long.ue();
  EXPECT_TRUE(too_long.failed());
  const Bytes zeros = from_hex("00 00");
  BitReader all_zero(zeros);
  all_zero.ue();
  EXPECT_TRUE(all_zero.failed());
  BitReader empty({});
  EXPECT_EQ(empty.bits(1), 0u);
  EXPECT_TRUE(empty.failed());
  const Bytes ones = from_hex("ff");
  BitReader wide(ones);
  wide.bits(33);
  EXPECT_TRUE(wide.failed());
}

TEST(H264BitReader, SkipsEmulationPreventionWhenEscaped) {
  const Bytes escaped = from_hex("00 00 03 01 00 00 03 00 00 03");
  BitReader r(escaped, BitReader::Input::Escaped);
  EXPECT_EQ(r.bits(32), 0x00000100u);
  EXPECT_EQ(r.bits(24), 0u);
  EXPECT_FALSE(r.failed());
  r.bits(1);  // only the trailing 03 is left: it is not data
  EXPECT_TRUE(r.failed());
  BitReader plain(escaped);
  EXPECT_EQ(plain.bits(32), 0x00000301u);

  std::array<std::uint8_t, 16> out{};
  EXPECT_EQ(remove_emulation_prevention(escaped, out), 7u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 7), from_hex("00 00 01 00 00 00 00"));
  EXPECT_EQ(remove_emulation_prevention(escaped, std::span(out).first(6)), 0u);  // too small
  // The x264 SPS has two emulation-prevention bytes in its VUI.
  EXPECT_EQ(remove_emulation_prevention(kSpsBaseline360, out), 0u);
  std::array<std::uint8_t, 64> sps{};
  EXPECT_EQ(remove_emulation_prevention(kSpsBaseline360, sps), kSpsBaseline360.size() - 2);
}

TEST(H264Payload, SingleNalUnits) {
  const auto sps = inspect_rtp_payload(kSpsHigh360);
  EXPECT_TRUE(sps.valid);
  EXPECT_EQ(sps.nal_type, kNalSps);
  EXPECT_TRUE(sps.has_sps);
  EXPECT_FALSE(sps.has_slice);
  // An IDR slice: first_mb 0 (1), slice_type 7 (0001000), pps id 0 (1).
  const auto idr = inspect_rtp_payload(from_hex("65 88 84 00"));
  EXPECT_TRUE(idr.valid);
  EXPECT_EQ(idr.nal_type, kNalIdr);
  EXPECT_TRUE(idr.has_idr);
  EXPECT_TRUE(idr.has_slice);
  EXPECT_TRUE(idr.first_slice_of_picture);
  EXPECT_FALSE(idr.has_b_slice);
  // A B slice that is not the first of its picture: first_mb 1 (010), slice_type 1 (010).
  const auto b = inspect_rtp_payload(from_hex("01 48"));
  EXPECT_TRUE(b.has_b_slice);
  EXPECT_FALSE(b.first_slice_of_picture);
  EXPECT_EQ(slice_type(from_hex("01 48")), 1);
  EXPECT_EQ(parse_slice_start(from_hex("01 48"))->first_mb, 1u);
  EXPECT_FALSE(slice_type(kSpsHigh360));
  EXPECT_FALSE(slice_type(from_hex("01")));     // no slice header
  EXPECT_FALSE(slice_type(from_hex("01 8b")));   // slice_type 10 > 9
  const auto sei = inspect_rtp_payload(from_hex("06 05 01 aa 80"));
  EXPECT_TRUE(sei.valid);
  EXPECT_EQ(sei.nal_type, kNalSei);
  EXPECT_FALSE(sei.has_slice);
}

TEST(H264Payload, RejectsMalformed) {
  EXPECT_FALSE(inspect_rtp_payload({}).valid);
  EXPECT_FALSE(inspect_rtp_payload(from_hex("e5 88")).valid);             // forbidden bit
  EXPECT_FALSE(inspect_rtp_payload(from_hex("7c")).valid);                // FU-A without FU header
  EXPECT_FALSE(inspect_rtp_payload(from_hex("7c c5 00")).valid);          // start and end together
  EXPECT_FALSE(inspect_rtp_payload(from_hex("7c 98 00")).valid);          // fragmenting a STAP-A
  EXPECT_FALSE(inspect_rtp_payload(from_hex("7c 80 00")).valid);          // fragment of type 0
  EXPECT_FALSE(inspect_rtp_payload(from_hex("78")).valid);                // STAP-A without NALs
  EXPECT_FALSE(inspect_rtp_payload(from_hex("78 00")).valid);             // size cut
  EXPECT_FALSE(inspect_rtp_payload(from_hex("78 0000")).valid);           // size 0
  EXPECT_FALSE(inspect_rtp_payload(from_hex("78 0005 6742")).valid);      // size past the end
  EXPECT_FALSE(inspect_rtp_payload(from_hex("78 0002 6742 00")).valid);   // trailing byte
  EXPECT_FALSE(inspect_rtp_payload(from_hex("78 0002 6742 ffff")).valid);  // second size past the end
  const auto info = inspect_rtp_payload(from_hex("78 0001 68"));
  EXPECT_TRUE(info.valid);
  EXPECT_TRUE(info.has_pps);
  // Structures of the interleaved mode are passed through, not inspected.
  const auto stap_b = inspect_rtp_payload(from_hex("79 0000 0001 68"));
  EXPECT_TRUE(stap_b.valid);
  EXPECT_EQ(stap_b.nal_type, kNalStapB);
}

TEST(H264Payload, ForEachNal) {
  std::vector<Bytes> nals;
  const auto collect = [&](std::span<const std::uint8_t> nal) { nals.emplace_back(nal.begin(), nal.end()); };
  EXPECT_TRUE(for_each_nal(kSpsHigh360, collect));
  ASSERT_EQ(nals.size(), 1u);
  EXPECT_EQ(nals[0], kSpsHigh360);

  std::array<std::uint8_t, 64> stap{};
  const std::size_t n = write_stap_a(stap, kSpsHigh360, kPpsHigh);
  nals.clear();
  EXPECT_TRUE(for_each_nal(std::span(stap).first(n), collect));
  ASSERT_EQ(nals.size(), 2u);
  EXPECT_EQ(nals[0], kSpsHigh360);
  EXPECT_EQ(nals[1], kPpsHigh);

  // A callable returning false stops the walk.
  int calls = 0;
  EXPECT_TRUE(for_each_nal(std::span(stap).first(n), [&](std::span<const std::uint8_t>) { return ++calls < 1; }));
  EXPECT_EQ(calls, 1);

  // All or nothing: a malformed STAP-A visits none of its NALs.
  nals.clear();
  EXPECT_FALSE(for_each_nal(from_hex("78 0001 68 0009 67"), collect));
  EXPECT_TRUE(nals.empty());
  EXPECT_FALSE(for_each_nal({}, collect));
  EXPECT_TRUE(for_each_nal(from_hex("7c 85 88"), collect));  // FU-A: no complete NAL
  EXPECT_TRUE(nals.empty());
}

TEST(H264Payload, WriteStapA) {
  std::array<std::uint8_t, 64> out{};
  const std::size_t n = write_stap_a(out, kSpsHigh360, kPpsHigh);
  ASSERT_EQ(n, 1 + 2 + kSpsHigh360.size() + 2 + kPpsHigh.size());
  EXPECT_EQ(out[0], 0x78);  // NRI 3 from the SPS/PPS, type 24
  EXPECT_EQ(out[1], 0);
  EXPECT_EQ(out[2], kSpsHigh360.size());
  const auto info = inspect_rtp_payload(std::span(out).first(n));
  EXPECT_TRUE(info.valid);
  EXPECT_EQ(info.nal_type, kNalSps);
  EXPECT_TRUE(info.has_sps);
  EXPECT_TRUE(info.has_pps);
  EXPECT_EQ(write_stap_a(std::span(out).first(n - 1), kSpsHigh360, kPpsHigh), 0u);
  EXPECT_EQ(write_stap_a(out, {}, kPpsHigh), 0u);
  const Bytes low_nri_sps = from_hex("2742c01e");  // NRI 1
  const Bytes pps_nri2 = from_hex("48ce");
  ASSERT_GT(write_stap_a(out, low_nri_sps, pps_nri2), 0u);
  EXPECT_EQ(out[0], 0x40 | kNalStapA);  // the larger NRI
}

// The capture starts at a keyframe: STAP-A (SPS, PPS, SEI), then the IDR in FU-A fragments, then P
// and B frames (-bf 2), each one slice in FU-A fragments.
TEST(H264Payload, FfmpegHighProfileWithBFrames) {
  const auto packets = load_rtp_capture("ffmpeg_h264_high_bf2.hex");
  ASSERT_EQ(packets.size(), 60u);
  int stap = 0, starts = 0, ends = 0, idr_fragments = 0, b_slices = 0, first_slices = 0;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto h = parse_rtp(packets[i]);
    ASSERT_TRUE(h);
    const auto info = inspect_rtp_payload(rtp_payload(packets[i], *h));
    ASSERT_TRUE(info.valid) << i;
    if (info.has_sps) {
      ++stap;
      EXPECT_EQ(i, 0u);
      EXPECT_TRUE(info.has_pps);
      EXPECT_EQ(info.nal_type, kNalSps);
      std::vector<std::uint8_t> types;
      EXPECT_TRUE(for_each_nal(rtp_payload(packets[i], *h), [&](std::span<const std::uint8_t> nal) {
        types.push_back(nal_type(nal[0]));
        if (nal_type(nal[0]) == kNalSps) {
          EXPECT_EQ(Bytes(nal.begin(), nal.end()), kSpsHigh360);  // x264 sends the same SPS over RTP
          const auto sps = parse_sps(nal);
          ASSERT_TRUE(sps);
          EXPECT_EQ(sps->profile_level_id(), "64001e");
        }
      }));
      EXPECT_EQ(types, (std::vector<std::uint8_t>{kNalSps, kNalPps, kNalSei}));
      continue;
    }
    EXPECT_TRUE(info.has_slice);
    starts += info.fragment_start;
    ends += info.fragment_end;
    idr_fragments += info.has_idr;
    b_slices += info.has_b_slice;
    first_slices += info.first_slice_of_picture;
    if (info.fragment_end) {
      EXPECT_TRUE(h->marker) << i;  // one slice per frame
    }
    if (!info.fragment_start) {
      EXPECT_FALSE(info.has_b_slice);
      EXPECT_FALSE(info.first_slice_of_picture);
    }
  }
  EXPECT_EQ(stap, 1);
  EXPECT_EQ(starts, 17);
  EXPECT_EQ(ends, 16);  // the capture stops inside the 17th frame
  EXPECT_EQ(idr_fragments, 7);
  EXPECT_EQ(b_slices, 10);
  EXPECT_EQ(first_slices, 17);
}

TEST(H264Payload, FfmpegBaselineSingleNalUnits) {
  const auto packets = load_rtp_capture("ffmpeg_h264_baseline.hex");
  int single = 0, stap = 0, idr_starts = 0, b_slices = 0;
  for (const auto& packet : packets) {
    const auto h = parse_rtp(packet);
    ASSERT_TRUE(h);
    const auto payload = rtp_payload(packet, *h);
    const auto info = inspect_rtp_payload(payload);
    ASSERT_TRUE(info.valid);
    b_slices += info.has_b_slice;
    if (nal_type(payload[0]) == kNalStapA) {
      ++stap;
      EXPECT_TRUE(info.has_sps && info.has_pps);
      int nals = 0;
      EXPECT_TRUE(for_each_nal(payload, [&](std::span<const std::uint8_t> nal) {
        ++nals;
        if (nal_type(nal[0]) == kNalSps) {
          const auto sps = parse_sps(nal);
          ASSERT_TRUE(sps);
          EXPECT_EQ(sps->profile_level_id(), "42c00b");
          EXPECT_EQ(sps->width, 160u);
          EXPECT_EQ(sps->height, 96u);
        }
      }));
      EXPECT_GE(nals, 2);
    } else if (nal_type(payload[0]) == kNalSlice) {
      ++single;
      EXPECT_TRUE(info.first_slice_of_picture);
      EXPECT_EQ(slice_type(payload), 5);  // P, all slices of the picture alike
      EXPECT_TRUE(h->marker);
    } else {
      ASSERT_EQ(nal_type(payload[0]), kNalFuA);
      EXPECT_TRUE(info.has_idr);
      idr_starts += info.fragment_start;
    }
  }
  EXPECT_EQ(single, 36);
  EXPECT_EQ(stap, 2);
  EXPECT_EQ(idr_starts, 2);
  EXPECT_EQ(b_slices, 0);
}

}  // namespace
}  // namespace dragon::media::h264
