#include "webrtc/rtcp.hpp"

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "media/rtp.hpp"
#include "rtp_fixtures.hpp"

namespace dragon::webrtc::rtcp {
namespace {

using test::from_hex;
using test::load_rtp_capture;
using Bytes = std::vector<std::uint8_t>;

// Records every callback as one line of text, in order.
struct Recorder : Visitor {
  std::vector<std::string> events;
  std::vector<SenderReport> srs;
  std::vector<ReportBlock> blocks;
  void on_sender_report(const SenderReport& sr) override {
    srs.push_back(sr);
    events.push_back("sr " + std::to_string(sr.ssrc));
  }
  void on_report_block(std::uint32_t reporter, const ReportBlock& b) override {
    blocks.push_back(b);
    events.push_back("rb " + std::to_string(reporter) + " " + std::to_string(b.ssrc));
  }
  void on_nack(std::uint32_t media_ssrc, std::uint16_t pid, std::uint16_t blp) override {
    events.push_back("nack " + std::to_string(media_ssrc) + " " + std::to_string(pid) + " " + std::to_string(blp));
  }
  void on_pli(std::uint32_t media_ssrc) override { events.push_back("pli " + std::to_string(media_ssrc)); }
  void on_fir(std::uint32_t media_ssrc, std::uint8_t seq) override {
    events.push_back("fir " + std::to_string(media_ssrc) + " " + std::to_string(seq));
  }
  void on_remb(std::uint64_t bps) override { events.push_back("remb " + std::to_string(bps)); }
  void on_transport_cc(std::uint32_t media_ssrc, std::uint16_t base, std::uint16_t count) override {
    events.push_back("twcc " + std::to_string(media_ssrc) + " " + std::to_string(base) + " " + std::to_string(count));
  }
  void on_bye(std::uint32_t ssrc) override { events.push_back("bye " + std::to_string(ssrc)); }
};

struct Parsed {
  bool ok;
  Recorder r;
};
Parsed parse(std::span<const std::uint8_t> bytes) {
  Parsed p{false, {}};
  p.ok = parse_compound(bytes, p.r);
  return p;
}
Parsed parse(std::string_view hex) { return parse(from_hex(hex)); }
using Events = std::vector<std::string>;

// Feedback as browsers send it (layouts of RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb and
// draft-holmer-rmcat-transport-wide-cc-extensions); SSRC 1 is the viewer, 0x12345678 = 305419896 the media.
constexpr std::string_view kReceiverReport =
    "81c90007 00000001  12345678 10fffffe 0001035c 00000020 b165b557 00010000";
constexpr std::string_view kNack = "81cd0004 00000001 12345678 0100 0005 0200 0000";
constexpr std::string_view kPli = "81ce0002 00000001 12345678";
constexpr std::string_view kFir = "84ce0004 00000001 00000000 12345678 07000000";
constexpr std::string_view kRemb = "8fce0005 00000001 00000000 52454d42 01043a98 12345678";  // 0x3a98 << 1
// Transport-cc with the padding bit: base 16, 3 packets, run-length chunk, three small deltas, 3 bytes of padding.
constexpr std::string_view kTransportCc = "afcd0006 00000001 12345678 00100003 00000100 2003 040404 000003";
constexpr std::string_view kSdes = "81ca0006 12345678 0110 6162636465666768696a6b6c6d6e6f70 0000";
constexpr std::string_view kByeWithReason = "81cb0003 12345678 05 6279652121 0000";

TEST(RtcpParse, FfmpegSenderReports) {
  const auto packets = load_rtp_capture("ffmpeg_rtcp.hex");
  ASSERT_EQ(packets.size(), 4u);
  // The first SR of the video leg, sent with the first packet: nothing counted yet.
  const auto first = parse(packets[1]);
  ASSERT_TRUE(first.ok);
  ASSERT_EQ(first.r.srs.size(), 1u);
  EXPECT_EQ(first.r.srs[0].ssrc, 0x12345678u);
  EXPECT_EQ(first.r.srs[0].ntp, 0xeeb165b4e2d0e560u);
  EXPECT_EQ(first.r.srs[0].rtp_timestamp, 0x78276df9u);
  EXPECT_EQ(first.r.srs[0].packet_count, 0u);
  EXPECT_EQ(first.r.events, (Events{"sr 305419896"}));
  // At exit (-rtpflags send_bye): SR + BYE.
  const auto last = parse(packets[2]);
  ASSERT_TRUE(last.ok);
  EXPECT_EQ(last.r.events, (Events{"sr 305419896", "bye 305419896"}));
  EXPECT_EQ(last.r.srs[0].packet_count, 138u);
  EXPECT_EQ(last.r.srs[0].octet_count, 141786u);
  EXPECT_EQ(last.r.srs[0].ntp, 0xeeb165b557ced916u);
  const auto audio = parse(packets[3]);
  ASSERT_TRUE(audio.ok);
  EXPECT_EQ(audio.r.events, (Events{"sr 1431655765", "bye 1431655765"}));
}

TEST(RtcpParse, ReceiverReportBlock) {
  const auto p = parse(kReceiverReport);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.r.events, (Events{"rb 1 305419896"}));
  const ReportBlock& b = p.r.blocks.at(0);
  EXPECT_EQ(b.fraction_lost, 0x10);
  EXPECT_EQ(b.cumulative_lost, -2);  // signed 24-bit
  EXPECT_EQ(b.extended_highest_seq, 0x0001035cu);
  EXPECT_EQ(b.jitter, 0x20u);
  EXPECT_EQ(b.last_sr, 0xb165b557u);
  EXPECT_EQ(b.delay_since_last_sr, 0x10000u);
}

TEST(RtcpParse, FeedbackMessages) {
  EXPECT_EQ(parse(kNack).r.events, (Events{"nack 305419896 256 5", "nack 305419896 512 0"}));
  EXPECT_EQ(parse(kPli).r.events, (Events{"pli 305419896"}));
  EXPECT_EQ(parse(kFir).r.events, (Events{"fir 305419896 7"}));
  EXPECT_EQ(parse(kRemb).r.events, (Events{"remb 30000"}));
  const auto twcc = parse(kTransportCc);
  EXPECT_TRUE(twcc.ok);
  EXPECT_EQ(twcc.r.events, (Events{"twcc 305419896 16 3"}));
  // Unknown feedback types, SDES and APP are skipped.
  EXPECT_TRUE(parse("83cd0002 00000001 12345678").ok);  // RTPFB FMT 3 (TMMBR) without FCI
  const auto sdes = parse(kSdes);
  EXPECT_TRUE(sdes.ok);
  EXPECT_TRUE(sdes.r.events.empty());
  EXPECT_TRUE(parse("80cc0002 12345678 6e616d65").ok);  // APP "name"
  EXPECT_EQ(parse(kByeWithReason).r.events, (Events{"bye 305419896"}));
}

TEST(RtcpParse, CompoundAndReducedSize) {
  // RFC 3550 compound: RR, SDES, then feedback.
  const std::string compound = std::string(kReceiverReport) + std::string(kSdes) + std::string(kPli) + std::string(kRemb);
  EXPECT_EQ(parse(compound).r.events, (Events{"rb 1 305419896", "pli 305419896", "remb 30000"}));
  // RFC 5506 reduced size: feedback first, or alone.
  const std::string reduced = std::string(kNack) + std::string(kTransportCc) + std::string(kFir);
  const auto p = parse(reduced);
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.r.events, (Events{"nack 305419896 256 5", "nack 305419896 512 0", "twcc 305419896 16 3",
                                "fir 305419896 7"}));
}

TEST(RtcpParse, RejectsHostileInput) {
  EXPECT_FALSE(parse("").ok);
  EXPECT_FALSE(parse("81c9").ok);                             // shorter than a header
  EXPECT_FALSE(parse("41c90001 00000001").ok);                // version 1
  EXPECT_FALSE(parse("80600001 00000001").ok);                // PT 96: RTP, not RTCP
  EXPECT_FALSE(parse("81c90007 00000001 12345678").ok);       // length past the datagram
  EXPECT_FALSE(parse("81c9ffff 00000001").ok);                // length 65535
  EXPECT_FALSE(parse("80c80000").ok);                         // SR of length 0: no sender info
  EXPECT_FALSE(parse("81c90000").ok);                         // RR of length 0 claiming a block
  EXPECT_FALSE(parse("81c90001 00000001").ok);                // RC 1, no block
  EXPECT_FALSE(parse("81c80006 12345678 0000000000000000 00000000 00000000 00000000").ok);  // SR RC 1, no block
  EXPECT_FALSE(parse("a0c90001 00000000").ok);                // padding count 0
  EXPECT_FALSE(parse("a0c90001 00000009").ok);                // padding longer than the body
  EXPECT_FALSE(parse("a1c90002 00000001 00000004").ok);       // padding eats the report block count room
  EXPECT_FALSE(parse("81cd0002 00000001 12345678").ok);       // NACK without pairs
  EXPECT_FALSE(parse("81ce0001 00000001").ok);                // PLI without media SSRC
  EXPECT_FALSE(parse("84ce0003 00000001 00000000 12345678").ok);  // FIR entry cut
  EXPECT_FALSE(parse("8fce0004 00000001 00000000 52454d42 05043a98").ok);  // REMB with 5 SSRCs, none present
  EXPECT_FALSE(parse("8fce0003 00000001 00000000 52454d42").ok);  // REMB without bitrate
  EXPECT_FALSE(parse("8fcd0003 00000001 12345678 0010").ok);  // transport-cc cut (length says 16 bytes)
  EXPECT_FALSE(parse("8fcd0003 00000001 12345678 00100003").ok);  // transport-cc without reference time
  EXPECT_FALSE(parse("82cb0001 12345678").ok);                // BYE SC 2, one SSRC
  // Valid packets before a malformed one are visited, then parsing stops.
  const auto p = parse(std::string(kPli) + "81");
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.r.events, (Events{"pli 305419896"}));
  // A zero-length packet of an unknown type is a valid, empty packet.
  EXPECT_TRUE(parse("80d00000").ok);
  // Other REMB-less application feedback is skipped.
  EXPECT_TRUE(parse("8fce0003 00000001 00000000 41424344").ok);
}

TEST(RtcpParse, RembSaturates) {
  // Exponent 63 with the largest mantissa would need 81 bits.
  EXPECT_EQ(parse("8fce0004 00000001 00000000 52454d42 00ffffff").r.events,
            (Events{"remb " + std::to_string(~std::uint64_t{0})}));
  // Exponent 46 with the largest mantissa just fits.
  EXPECT_EQ(parse("8fce0004 00000001 00000000 52454d42 00bbffff").r.events,
            (Events{"remb " + std::to_string(std::uint64_t{0x3ffff} << 46)}));
}

TEST(RtcpWrite, SenderReportMatchesFfmpeg) {
  const auto packets = load_rtp_capture("ffmpeg_rtcp.hex");
  SenderReport sr{0x12345678, 0xeeb165b557ced916, 0x78280ea3, 138, 141786};
  std::array<std::uint8_t, 64> out{};
  const std::size_t n = write_sender_report(out, sr);
  ASSERT_EQ(n, 28u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 28), Bytes(packets[2].begin(), packets[2].begin() + 28));
  EXPECT_EQ(write_sender_report(std::span(out).first(27), sr), 0u);
}

TEST(RtcpWrite, RoundTrips) {
  std::array<std::uint8_t, 1500> buffer{};
  std::span<std::uint8_t> out(buffer);
  std::size_t n = 0;
  const auto append = [&](std::size_t written) {
    EXPECT_GT(written, 0u);
    EXPECT_EQ(written % 4, 0u);
    n += written;
  };
  const std::array<ReportBlock, 2> blocks{{{11, 25, -7, 70000, 12, 0xaabbccdd, 655360},
                                            {12, 0, 0x7fffff, 1, 0, 0, 0}}};
  append(write_receiver_report(out.subspan(n), 99, blocks));
  append(write_sdes_cname(out.subspan(n), 99, "dragon-core"));
  const std::array<NackItem, 2> items{{{1000, 0x8001}, {2000, 0}}};
  append(write_nack(out.subspan(n), 99, 11, items));
  append(write_pli(out.subspan(n), 99, 11));
  append(write_fir(out.subspan(n), 99, 11, 3));
  const std::array<std::uint32_t, 2> ssrcs{11, 12};
  append(write_remb(out.subspan(n), 99, 2'500'000, ssrcs));
  append(write_bye(out.subspan(n), ssrcs));
  const auto p = parse(std::span<const std::uint8_t>(buffer.data(), n));
  ASSERT_TRUE(p.ok);
  // 2'500'000 = 0x2625a0 needs 22 bits: shifted by 4, the mantissa keeps 156250 exactly.
  EXPECT_EQ(p.r.events, (Events{"rb 99 11", "rb 99 12", "nack 11 1000 32769", "nack 11 2000 0", "pli 11", "fir 11 3",
                                "remb 2500000", "bye 11", "bye 12"}));
  EXPECT_EQ(p.r.blocks[0].cumulative_lost, -7);
  EXPECT_EQ(p.r.blocks[0].last_sr, 0xaabbccddu);
  EXPECT_EQ(p.r.blocks[0].delay_since_last_sr, 655360u);
  EXPECT_EQ(p.r.blocks[1].cumulative_lost, 0x7fffff);
  for (std::size_t at = 0; at < n;) {  // every packet is RTCP to the RFC 5761 demux
    EXPECT_TRUE(media::is_rtcp_packet(std::span<const std::uint8_t>(buffer.data() + at, n - at)));
    at += (std::size_t{buffer[at + 2]} << 8 | buffer[at + 3]) * 4 + 4;
  }
}

TEST(RtcpWrite, ExactBytesAndLimits) {
  std::array<std::uint8_t, 256> out{};
  ASSERT_EQ(write_pli(out, 1, 0x12345678), 12u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 12), from_hex(kPli));
  ASSERT_EQ(write_fir(out, 1, 0x12345678, 7), 20u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 20), from_hex(kFir));
  const std::array<std::uint32_t, 1> media{0x12345678};
  ASSERT_EQ(write_remb(out, 1, 30000, media), 24u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 24), from_hex("8fce0005 00000001 00000000 52454d42 01007530 12345678"));
  ASSERT_EQ(write_sdes_cname(out, 0x12345678, "abcdefghijklmnop"), 28u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 28), from_hex(kSdes));
  // Header, SSRC, type and length, "ab": 12 bytes, so the terminating null needs another word.
  ASSERT_EQ(write_sdes_cname(out, 1, "ab"), 16u);
  EXPECT_EQ(Bytes(out.begin() + 8, out.begin() + 16), from_hex("01026162 00000000"));

  const std::array<ReportBlock, 32> too_many_blocks{};
  EXPECT_EQ(write_receiver_report(out, 1, too_many_blocks), 0u);
  const std::array<std::uint32_t, 32> too_many_ssrcs{};
  EXPECT_EQ(write_bye(out, too_many_ssrcs), 0u);
  EXPECT_EQ(write_nack(out, 1, 2, {}), 0u);
  EXPECT_EQ(write_pli(std::span(out).first(11), 1, 2), 0u);
  EXPECT_EQ(write_sdes_cname(out, 1, std::string(256, 'x')), 0u);
  const std::array<ReportBlock, 1> clamp{{{1, 0, -10'000'000, 0, 0, 0, 0}}};
  ASSERT_EQ(write_receiver_report(out, 1, clamp), 32u);
  Recorder r;
  ASSERT_TRUE(parse_compound(std::span(out).first(32), r));
  EXPECT_EQ(r.blocks.at(0).cumulative_lost, -0x800000);
}

TEST(RtcpNack, ItemsAndLostSequences) {
  const std::array<std::uint16_t, 7> lost{100, 101, 105, 116, 116, 117, 200};
  std::array<NackItem, 8> items{};
  ASSERT_EQ(build_nack_items(lost, items), 3u);
  EXPECT_EQ(items[0].pid, 100);
  EXPECT_EQ(items[0].blp, 0x8011);  // 101, 105, 116
  EXPECT_EQ(items[1].pid, 117);
  EXPECT_EQ(items[2].pid, 200);
  EXPECT_EQ(build_nack_items(lost, std::span(items).first(1)), 1u);

  const std::array<std::uint16_t, 3> wrapping{65535, 0, 1};
  ASSERT_EQ(build_nack_items(wrapping, items), 1u);
  EXPECT_EQ(items[0].pid, 65535);
  EXPECT_EQ(items[0].blp, 0x3);

  std::vector<std::uint16_t> seen;
  for_each_nacked(65535, 0x8003, [&](std::uint16_t s) { seen.push_back(s); });
  EXPECT_EQ(seen, (std::vector<std::uint16_t>{65535, 0, 1, 15}));
}

TEST(RtcpNtp, Conversions) {
  using namespace std::chrono;
  EXPECT_EQ(ntp_from_unix(nanoseconds(0)), std::uint64_t{2208988800} << 32);
  EXPECT_EQ(ntp_from_unix(milliseconds(1500)), (std::uint64_t{2208988801} << 32) | 0x80000000u);
  EXPECT_EQ(ntp_from_unix(milliseconds(-500)), (std::uint64_t{2208988799} << 32) | 0x80000000u);
  EXPECT_EQ(ntp_middle32(0xeeb165b557ced916), 0x65b557ceu);
  const auto now = ntp_now();
  const auto expected = ntp_from_unix(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()));
  const auto diff = static_cast<std::int64_t>(expected - now);
  EXPECT_LT(std::abs(diff), std::int64_t{1} << 32);  // within a second
}

TEST(RtcpNtp, RoundTripTimeFromRfc3550Example) {
  // RFC 3550 6.4.1: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 -> 6.125 s.
  ReportBlock b;
  b.last_sr = 0xb7052000;
  b.delay_since_last_sr = 0x00054000;
  EXPECT_EQ(round_trip_time(0xb7108000, b), std::chrono::microseconds(6'125'000));
  b.last_sr = 0;
  EXPECT_FALSE(round_trip_time(0xb7108000, b));
  b.last_sr = 0xb7108000;  // arrival before send: clocks disagree
  EXPECT_EQ(round_trip_time(0xb7100000, b), std::chrono::microseconds(0));
}

}  // namespace
}  // namespace dragon::webrtc::rtcp
