#include "media/rtp.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "rtp_fixtures.hpp"

namespace dragon::media {
namespace {

using test::from_hex;
using test::load_rtp_capture;
using Bytes = std::vector<std::uint8_t>;

TEST(RtpParse, FfmpegH264CaptureParsesInOrder) {
  const auto packets = load_rtp_capture("ffmpeg_h264_high_bf2.hex");
  ASSERT_EQ(packets.size(), 60u);
  int markers = 0;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto h = parse_rtp(packets[i]);
    ASSERT_TRUE(h) << "packet " << i;
    EXPECT_EQ(h->payload_type, 96);
    EXPECT_EQ(h->ssrc, 305419896u);
    EXPECT_EQ(h->csrc_count, 0);
    EXPECT_FALSE(h->has_extension);
    EXPECT_EQ(h->header_size, 12u);
    EXPECT_EQ(h->padding_size, 0);
    EXPECT_EQ(h->payload_size, packets[i].size() - 12);
    EXPECT_LE(packets[i].size(), 1200u);  // -pkt_size 1200
    if (i > 0) {
      const auto previous = parse_rtp(packets[i - 1]);
      EXPECT_EQ(static_cast<std::uint16_t>(previous->sequence + 1), h->sequence);
      EXPECT_TRUE(seq_newer(h->sequence, previous->sequence));
    }
    markers += h->marker ? 1 : 0;
  }
  EXPECT_EQ(markers, 16);  // one per frame: the last packet of each access unit
}

TEST(RtpParse, FfmpegOpusCapture) {
  const auto packets = load_rtp_capture("ffmpeg_opus.hex");
  ASSERT_FALSE(packets.empty());
  for (const auto& p : packets) {
    const auto h = parse_rtp(p);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->payload_type, 111);
    EXPECT_EQ(h->ssrc, 1431655765u);
    EXPECT_GT(h->payload_size, 0u);
    EXPECT_FALSE(is_rtcp_packet(p));
  }
}

TEST(RtpParse, CsrcsExtensionAndPadding) {
  // V=2 P=1 X=1 CC=2, M=1 PT=100, seq 0x1234, ts 0xdeadbeef, ssrc 1; two CSRCs; a one-byte extension
  // block of one word; 3 payload bytes; 4 bytes of padding.
  const Bytes p = from_hex(
      "b2 e4 1234 deadbeef 00000001  00000002 00000003  bede0001 10ff0000  aabbcc  00000004");
  const auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->marker);
  EXPECT_EQ(h->payload_type, 100);
  EXPECT_EQ(h->sequence, 0x1234);
  EXPECT_EQ(h->timestamp, 0xdeadbeefu);
  EXPECT_EQ(h->ssrc, 1u);
  EXPECT_EQ(h->csrc_count, 2);
  EXPECT_TRUE(h->has_extension);
  EXPECT_EQ(h->header_size, 12u + 8 + 8);
  EXPECT_EQ(h->payload_size, 3u);
  EXPECT_EQ(h->padding_size, 4);
  const auto payload = rtp_payload(p, *h);
  EXPECT_EQ(Bytes(payload.begin(), payload.end()), from_hex("aabbcc"));

  int elements = 0;
  EXPECT_TRUE(for_each_rtp_extension(p, *h, [&](std::uint8_t id, std::span<const std::uint8_t> data) {
    ++elements;
    EXPECT_EQ(id, 1);
    EXPECT_EQ(Bytes(data.begin(), data.end()), from_hex("ff"));
  }));
  EXPECT_EQ(elements, 1);
}

TEST(RtpParse, PaddingCanFillThePayload) {
  const Bytes p = from_hex("a0 60 0001 00000000 00000001 00000004");
  const auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_size, 0u);
  EXPECT_EQ(h->padding_size, 4);
}

TEST(RtpParse, RejectsHostileInput) {
  const auto rejects = [](std::string_view hex) { return !parse_rtp(from_hex(hex)).has_value(); };
  EXPECT_TRUE(rejects(""));
  EXPECT_TRUE(rejects("80 60 0001 00000000 000000"));                    // 11 bytes
  EXPECT_TRUE(rejects("40 60 0001 00000000 00000001 aa"));               // version 1
  EXPECT_TRUE(rejects("00 60 0001 00000000 00000001 aa"));               // version 0
  EXPECT_TRUE(rejects("c0 60 0001 00000000 00000001 aa"));               // version 3
  EXPECT_TRUE(rejects("8f 60 0001 00000000 00000001 00000002"));         // 15 CSRCs, one present
  EXPECT_TRUE(rejects("90 60 0001 00000000 00000001 bede"));             // extension header cut
  EXPECT_TRUE(rejects("90 60 0001 00000000 00000001 bede0002 10ff0000"));  // extension says 2 words, has 1
  EXPECT_TRUE(rejects("90 60 0001 00000000 00000001 beedffff"));         // extension length 65535
  EXPECT_TRUE(rejects("a0 60 0001 00000000 00000001 aabb00"));           // padding count 0
  EXPECT_TRUE(rejects("a0 60 0001 00000000 00000001 aabb05"));           // padding longer than the payload
  EXPECT_TRUE(rejects("a0 60 0001 00000000 00000001"));                  // padding bit, no byte to count it
  // A header alone is a valid packet with an empty payload.
  const auto h = parse_rtp(from_hex("80 60 0001 00000000 00000001"));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_size, 0u);
}

TEST(RtpDemux, Rfc5761Ranges) {
  const auto with_second_byte = [](std::uint8_t b) { return Bytes{0x80, b, 0, 1}; };
  EXPECT_TRUE(is_rtcp_packet(with_second_byte(192)));
  EXPECT_TRUE(is_rtcp_packet(with_second_byte(200)));  // SR
  EXPECT_TRUE(is_rtcp_packet(with_second_byte(206)));  // PSFB
  EXPECT_TRUE(is_rtcp_packet(with_second_byte(223)));
  EXPECT_FALSE(is_rtcp_packet(with_second_byte(191)));
  EXPECT_FALSE(is_rtcp_packet(with_second_byte(224)));
  EXPECT_FALSE(is_rtcp_packet(with_second_byte(96)));
  EXPECT_FALSE(is_rtcp_packet(with_second_byte(96 | 0x80)));  // PT 96 with marker: RTP
  EXPECT_FALSE(is_rtcp_packet(Bytes{0x40, 200, 0, 1}));       // version 1
  EXPECT_FALSE(is_rtcp_packet(Bytes{0x80, 200}));             // too short
  const auto rtcp = load_rtp_capture("ffmpeg_rtcp.hex");
  for (const auto& p : rtcp) EXPECT_TRUE(is_rtcp_packet(p));
}

TEST(RtpRewrite, SettersTouchOnlyTheirField) {
  Bytes p = from_hex("b2 e4 1234 deadbeef 00000001 00000002 00000003 bede0001 10ff0000 aabbcc 00000004");
  const Bytes original = p;
  set_rtp_sequence(p.data(), 0xfffe);
  set_rtp_timestamp(p.data(), 0x01020304);
  set_rtp_ssrc(p.data(), 0xcafebabe);
  set_rtp_payload_type(p.data(), 0x7f);
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->sequence, 0xfffe);
  EXPECT_EQ(h->timestamp, 0x01020304u);
  EXPECT_EQ(h->ssrc, 0xcafebabeu);
  EXPECT_EQ(h->payload_type, 0x7f);
  EXPECT_TRUE(h->marker);  // the payload type setter keeps the marker
  set_rtp_marker(p.data(), false);
  set_rtp_payload_type(p.data(), 96);
  h = parse_rtp(p);
  EXPECT_FALSE(h->marker);
  EXPECT_EQ(h->payload_type, 96);
  EXPECT_EQ(p[0], original[0]);  // V, P, X, CC untouched
  EXPECT_TRUE(std::equal(p.begin() + 12, p.end(), original.begin() + 12));
  set_rtp_marker(p.data(), true);
  EXPECT_EQ(p[1], 0x80 | 96);
}

TEST(RtpSequence, NewerWithWraparound) {
  EXPECT_TRUE(seq_newer(1, 0));
  EXPECT_FALSE(seq_newer(0, 1));
  EXPECT_FALSE(seq_newer(5, 5));
  EXPECT_TRUE(seq_newer(0, 65535));
  EXPECT_TRUE(seq_newer(10, 65530));
  EXPECT_FALSE(seq_newer(65530, 10));
  EXPECT_TRUE(seq_newer(0x7fff, 0));
  // Exactly half apart: exactly one direction holds.
  EXPECT_TRUE(seq_newer(0x8000, 0));
  EXPECT_FALSE(seq_newer(0, 0x8000));
  EXPECT_NE(seq_newer(0x9000, 0x1000), seq_newer(0x1000, 0x9000));
  EXPECT_EQ(seq_distance(2, 65534), 4);
  EXPECT_EQ(seq_distance(65534, 2), -4);
  EXPECT_EQ(seq_distance(7, 7), 0);
}

TEST(RtpSequence, UnwrapperExtendsAcrossWraps) {
  SequenceUnwrapper u;
  EXPECT_FALSE(u.started());
  EXPECT_EQ(u.unwrap(65533), 65533);
  EXPECT_EQ(u.unwrap(65535), 65535);
  EXPECT_EQ(u.unwrap(0), 65536);
  EXPECT_EQ(u.unwrap(65534), 65534);  // late packet from before the wrap
  EXPECT_EQ(u.newest(), 65536);       // does not move the newest
  EXPECT_EQ(u.unwrap(2), 65538);
  // Three full cycles forward in steps below half the space.
  std::uint16_t s = 2;
  std::int64_t expected = 65538;
  for (int i = 0; i < 3 * 4; ++i) {
    s = static_cast<std::uint16_t>(s + 0x4000);
    expected += 0x4000;
    EXPECT_EQ(u.unwrap(s), expected);
  }
  u.reset();
  EXPECT_EQ(u.unwrap(10), 10);
  EXPECT_EQ(u.unwrap(65530), -6);  // before the first packet
}

TEST(RtpExtension, OneByteForm) {
  // abs-send-time (3 bytes) and a transport-cc sequence (2 bytes): 1 + 3 + 1 + 2 = 7, padded to 8.
  const std::array<std::uint8_t, 3> abs_send_time{0x12, 0x34, 0x56};
  const std::array<std::uint8_t, 2> twcc{0x00, 0x2a};
  const std::array<RtpExtensionElement, 2> elements{{{3, abs_send_time}, {5, twcc}}};
  std::array<std::uint8_t, 32> out{};
  const std::size_t n = write_rtp_header_extension(out, elements);
  ASSERT_EQ(n, 12u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 12), from_hex("bede0002 32123456 51002a00"));
  EXPECT_EQ(write_rtp_header_extension(std::span(out).first(11), elements), 0u);

  // Round trip through a packet.
  Bytes packet = from_hex("90 60 0001 00000000 00000001");
  packet.insert(packet.end(), out.begin(), out.begin() + 12);
  packet.push_back(0xaa);
  const auto h = parse_rtp(packet);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header_size, 24u);
  EXPECT_EQ(h->payload_size, 1u);
  std::vector<std::pair<int, Bytes>> seen;
  EXPECT_TRUE(for_each_rtp_extension(packet, *h, [&](std::uint8_t id, std::span<const std::uint8_t> data) {
    seen.emplace_back(id, Bytes(data.begin(), data.end()));
  }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, 3);
  EXPECT_EQ(seen[0].second, Bytes(abs_send_time.begin(), abs_send_time.end()));
  EXPECT_EQ(seen[1].first, 5);
  EXPECT_EQ(seen[1].second, Bytes(twcc.begin(), twcc.end()));
}

TEST(RtpExtension, TwoByteFormWhenNeeded) {
  const std::array<std::uint8_t, 17> long_data{};
  const std::array<std::uint8_t, 1> one{0x07};
  const std::array<RtpExtensionElement, 2> elements{{{20, one}, {2, long_data}}};
  std::array<std::uint8_t, 64> out{};
  const std::size_t n = write_rtp_header_extension(out, elements);
  // 2 + 1 + 2 + 17 = 22, padded to 24, plus the 4-byte header.
  ASSERT_EQ(n, 28u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 7), from_hex("10000006 140107"));
  Bytes packet = from_hex("90 60 0001 00000000 00000001");
  packet.insert(packet.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
  const auto h = parse_rtp(packet);
  ASSERT_TRUE(h);
  int count = 0;
  EXPECT_TRUE(for_each_rtp_extension(packet, *h, [&](std::uint8_t id, std::span<const std::uint8_t> data) {
    EXPECT_EQ(id, count == 0 ? 20 : 2);
    EXPECT_EQ(data.size(), count == 0 ? 1u : 17u);
    ++count;
  }));
  EXPECT_EQ(count, 2);

  const std::array<RtpExtensionElement, 1> id_zero{{{0, one}}};
  EXPECT_EQ(write_rtp_header_extension(out, id_zero), 0u);
}

TEST(RtpExtension, RejectsMalformedBlocks) {
  const auto visit = [](std::string_view hex) {
    const Bytes p = from_hex(hex);
    const auto h = parse_rtp(p);
    EXPECT_TRUE(h);
    return for_each_rtp_extension(p, *h, [](std::uint8_t, std::span<const std::uint8_t>) {});
  };
  EXPECT_FALSE(visit("90 60 0001 00000000 00000001 bede0001 3f000000"));  // id 3 says 16 bytes, 3 left
  EXPECT_FALSE(visit("90 60 0001 00000000 00000001 12340001 00000000"));  // unknown profile
  EXPECT_FALSE(visit("90 60 0001 00000000 00000001 10000001 0105aabb"));  // two-byte element past the end
  EXPECT_TRUE(visit("90 60 0001 00000000 00000001 bede0001 f0ffffff"));   // id 15 stops processing
  EXPECT_TRUE(visit("90 60 0001 00000000 00000001 bede0000"));            // empty block
  // Padding bytes between elements, with stray length bits in the one-byte form.
  const Bytes padded = from_hex("90 60 0001 00000000 00000001 bede0002 00 01 20aa 0f 00 10bb");
  const auto h = parse_rtp(padded);
  ASSERT_TRUE(h);
  std::vector<int> ids;
  EXPECT_TRUE(for_each_rtp_extension(padded, *h, [&](std::uint8_t id, std::span<const std::uint8_t>) { ids.push_back(id); }));
  EXPECT_EQ(ids, (std::vector<int>{2, 1}));
}

}  // namespace
}  // namespace dragon::media
