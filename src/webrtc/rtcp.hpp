#pragma once
// RTCP (RFC 3550, feedback RFC 4585, codec control RFC 5104, reduced-size RFC 5506, REMB and
// transport-wide congestion control drafts): a compound parser that reports what it finds to a
// visitor, and writers of the packets the egress sends. Parsing reads in place, writers fill caller
// buffers: nothing here allocates.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dragon::webrtc::rtcp {

// Packet types (the second byte).
inline constexpr std::uint8_t kSenderReport = 200;
inline constexpr std::uint8_t kReceiverReport = 201;
inline constexpr std::uint8_t kSourceDescription = 202;
inline constexpr std::uint8_t kBye = 203;
inline constexpr std::uint8_t kApp = 204;
inline constexpr std::uint8_t kTransportFeedback = 205;  // RTPFB
inline constexpr std::uint8_t kPayloadFeedback = 206;    // PSFB
// Feedback message types (the FMT field of RTPFB / PSFB).
inline constexpr std::uint8_t kFmtNack = 1;             // RTPFB, RFC 4585 6.2.1
inline constexpr std::uint8_t kFmtTransportCc = 15;     // RTPFB, draft-holmer-rmcat-transport-wide-cc
inline constexpr std::uint8_t kFmtPli = 1;              // PSFB, RFC 4585 6.3.1
inline constexpr std::uint8_t kFmtFir = 4;              // PSFB, RFC 5104 4.3.1
inline constexpr std::uint8_t kFmtApplicationLayer = 15;  // PSFB; REMB is one

struct SenderReport {
  std::uint32_t ssrc = 0;
  std::uint64_t ntp = 0;  // 32.32 fixed point seconds since 1900
  std::uint32_t rtp_timestamp = 0;
  std::uint32_t packet_count = 0;
  std::uint32_t octet_count = 0;
};

struct ReportBlock {
  std::uint32_t ssrc = 0;  // the source this block reports on
  std::uint8_t fraction_lost = 0;
  std::int32_t cumulative_lost = 0;  // signed 24-bit on the wire
  std::uint32_t extended_highest_seq = 0;
  std::uint32_t jitter = 0;
  std::uint32_t last_sr = 0;              // middle 32 bits of the last SR's NTP time
  std::uint32_t delay_since_last_sr = 0;  // in 1/65536 s
};

struct Visitor {
  virtual ~Visitor() = default;
  virtual void on_sender_report(const SenderReport&) {}
  virtual void on_report_block(std::uint32_t /*reporter_ssrc*/, const ReportBlock&) {}
  virtual void on_nack(std::uint32_t /*media_ssrc*/, std::uint16_t /*pid*/, std::uint16_t /*blp*/) {}
  virtual void on_pli(std::uint32_t /*media_ssrc*/) {}
  virtual void on_fir(std::uint32_t /*media_ssrc*/, std::uint8_t /*seq*/) {}
  virtual void on_remb(std::uint64_t /*bitrate_bps*/) {}
  virtual void on_transport_cc(std::uint32_t /*media_ssrc*/, std::uint16_t /*base_seq*/,
                               std::uint16_t /*packet_status_count*/) {}
  virtual void on_bye(std::uint32_t /*ssrc*/) {}
};

// Walks every packet of a compound (or reduced-size, RFC 5506) RTCP datagram in order, calling the
// visitor. Returns false at the first malformed packet (bad version, a length past the datagram,
// bad padding, a body shorter than its counts say); packets before it have been visited. Unknown
// packet and feedback types are skipped.
bool parse_compound(std::span<const std::uint8_t> datagram, Visitor& visitor);

// Calls f(sequence) for each sequence number a NACK's (pid, blp) pair reports lost, oldest first.
template <typename F>
void for_each_nacked(std::uint16_t pid, std::uint16_t blp, F&& f) {
  f(pid);
  for (unsigned bit = 0; bit < 16; ++bit) {
    if (blp & (1u << bit)) f(static_cast<std::uint16_t>(pid + bit + 1));
  }
}

struct NackItem {
  std::uint16_t pid = 0;
  std::uint16_t blp = 0;
};

// Writers: each fills one RTCP packet at the start of out and returns its size in bytes, or 0 if out
// is too small or the counts do not fit the packet (at most 31 report blocks or SSRCs). Append
// packets into out.subspan(written) to build a compound.
std::size_t write_sender_report(std::span<std::uint8_t> out, const SenderReport& report);
std::size_t write_receiver_report(std::span<std::uint8_t> out, std::uint32_t reporter_ssrc,
                                  std::span<const ReportBlock> blocks);
std::size_t write_sdes_cname(std::span<std::uint8_t> out, std::uint32_t ssrc, std::string_view cname);
std::size_t write_bye(std::span<std::uint8_t> out, std::span<const std::uint32_t> ssrcs);
std::size_t write_nack(std::span<std::uint8_t> out, std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                       std::span<const NackItem> items);
std::size_t write_pli(std::span<std::uint8_t> out, std::uint32_t sender_ssrc, std::uint32_t media_ssrc);
std::size_t write_fir(std::span<std::uint8_t> out, std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                      std::uint8_t seq);
std::size_t write_remb(std::span<std::uint8_t> out, std::uint32_t sender_ssrc, std::uint64_t bitrate_bps,
                       std::span<const std::uint32_t> ssrcs);

// Groups sequence numbers reported lost (ascending modulo 2^16, as a jitter buffer finds them) into
// NACK items. Returns the items written; stops when items is full.
std::size_t build_nack_items(std::span<const std::uint16_t> lost, std::span<NackItem> items);

// NTP time: 32.32 fixed point seconds since 1900-01-01.
std::uint64_t ntp_from_unix(std::chrono::nanoseconds since_unix_epoch);
std::uint64_t ntp_now();  // CLOCK_REALTIME
// The middle 32 bits (16.16), as RTCP's LSR and DLSR use them.
constexpr std::uint32_t ntp_middle32(std::uint64_t ntp) { return static_cast<std::uint32_t>(ntp >> 16); }
// Round-trip time from a report block on one of our SRs (RFC 3550 6.4.1), given the middle 32 bits of
// the NTP time at which the block arrived. nullopt if the block refers to no SR.
std::optional<std::chrono::microseconds> round_trip_time(std::uint32_t arrival_ntp_middle32, const ReportBlock& block);

}  // namespace dragon::webrtc::rtcp
