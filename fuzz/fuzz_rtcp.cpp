// RTCP comes from browsers (after SRTP) and from FFmpeg: compound walking must stop at the first
// malformed packet without reading past the datagram, and what the writers produce must parse.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "webrtc/rtcp.hpp"

namespace {

using namespace dragon::webrtc::rtcp;

struct Collector : Visitor {
  std::array<ReportBlock, 31> blocks{};
  std::size_t block_count = 0;
  std::array<NackItem, 64> nacks{};
  std::size_t nack_count = 0;
  std::uint32_t reporter = 0;
  void on_report_block(std::uint32_t reporter_ssrc, const ReportBlock& b) override {
    reporter = reporter_ssrc;
    if (block_count < blocks.size()) blocks[block_count++] = b;
    (void)round_trip_time(ntp_middle32(ntp_now()), b);
  }
  void on_nack(std::uint32_t, std::uint16_t pid, std::uint16_t blp) override {
    if (nack_count < nacks.size()) nacks[nack_count++] = {pid, blp};
    for_each_nacked(pid, blp, [](std::uint16_t) {});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Collector collector;
  parse_compound(std::span<const std::uint8_t>(data, size), collector);

  // Whatever was read must survive a write and a parse.
  std::array<std::uint8_t, 4096> out{};
  std::size_t n = write_receiver_report(out, collector.reporter, std::span(collector.blocks).first(collector.block_count));
  if (n == 0) __builtin_trap();
  if (collector.nack_count > 0) {
    const std::size_t m = write_nack(std::span(out).subspan(n), 1, 2, std::span(collector.nacks).first(collector.nack_count));
    if (m == 0) __builtin_trap();
    n += m;
  }
  Collector again;
  if (!parse_compound(std::span<const std::uint8_t>(out.data(), n), again) || again.block_count != collector.block_count ||
      again.nack_count != collector.nack_count) {
    __builtin_trap();
  }
  for (std::size_t i = 0; i < collector.block_count; ++i) {
    if (again.blocks[i].cumulative_lost != collector.blocks[i].cumulative_lost ||
        again.blocks[i].extended_highest_seq != collector.blocks[i].extended_highest_seq) {
      __builtin_trap();
    }
  }
  if (size >= 8) {
    std::uint64_t bitrate = 0;
    for (std::size_t i = 0; i < 8; ++i) bitrate = bitrate << 8 | data[i];
    struct Remb : Visitor {
      std::uint64_t bps = 0;
      void on_remb(std::uint64_t b) override { bps = b; }
    } remb;
    const std::size_t m = write_remb(out, 1, bitrate, {});
    // The 18-bit mantissa rounds down, never up, and keeps the top 18 bits.
    if (m == 0 || !parse_compound(std::span<const std::uint8_t>(out.data(), m), remb) || remb.bps > bitrate ||
        (bitrate - remb.bps) > (bitrate >> 17)) {
      __builtin_trap();
    }
  }
  return 0;
}
