#include "webrtc/rtcp.hpp"

#include <time.h>

#include <algorithm>

namespace dragon::webrtc::rtcp {
namespace {

constexpr std::size_t kHeaderSize = 4;
constexpr std::size_t kReportBlockSize = 24;
constexpr std::size_t kSenderInfoSize = 24;  // SSRC + NTP + RTP timestamp + counts
constexpr std::size_t kFeedbackCommonSize = 8;  // sender SSRC + media SSRC
constexpr unsigned kMaxCount = 31;             // the 5-bit RC/SC field
constexpr std::uint64_t kNtpUnixOffset = 2208988800;  // seconds from 1900 to 1970

std::uint16_t load16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t load24(const std::uint8_t* p) { return std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | p[2]; }
std::uint32_t load32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
void store16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void store24(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 16);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v);
}
void store32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

// The common header; size is the whole packet in bytes, a multiple of 4.
void write_header(std::uint8_t* p, unsigned count, std::uint8_t type, std::size_t size) {
  p[0] = static_cast<std::uint8_t>(0x80 | count);
  p[1] = type;
  store16(p + 2, static_cast<std::uint16_t>(size / 4 - 1));
}

ReportBlock read_report_block(const std::uint8_t* p) {
  ReportBlock b;
  b.ssrc = load32(p);
  b.fraction_lost = p[4];
  const std::uint32_t lost = load24(p + 5);
  b.cumulative_lost = static_cast<std::int32_t>(lost & 0x800000 ? lost | 0xff000000u : lost);  // sign-extend
  b.extended_highest_seq = load32(p + 8);
  b.jitter = load32(p + 12);
  b.last_sr = load32(p + 16);
  b.delay_since_last_sr = load32(p + 20);
  return b;
}

void write_report_block(std::uint8_t* p, const ReportBlock& b) {
  store32(p, b.ssrc);
  p[4] = b.fraction_lost;
  const std::int32_t lost = std::clamp(b.cumulative_lost, -0x800000, 0x7fffff);
  store24(p + 5, static_cast<std::uint32_t>(lost) & 0xffffff);
  store32(p + 8, b.extended_highest_seq);
  store32(p + 12, b.jitter);
  store32(p + 16, b.last_sr);
  store32(p + 20, b.delay_since_last_sr);
}

bool visit_reports(std::uint8_t type, unsigned count, std::span<const std::uint8_t> body, Visitor& visitor) {
  const std::size_t fixed = type == kSenderReport ? kSenderInfoSize : 4;
  if (body.size() < fixed + count * kReportBlockSize) return false;
  const std::uint8_t* p = body.data();
  const std::uint32_t reporter = load32(p);
  if (type == kSenderReport) {
    SenderReport sr;
    sr.ssrc = reporter;
    sr.ntp = std::uint64_t{load32(p + 4)} << 32 | load32(p + 8);
    sr.rtp_timestamp = load32(p + 12);
    sr.packet_count = load32(p + 16);
    sr.octet_count = load32(p + 20);
    visitor.on_sender_report(sr);
  }
  for (unsigned i = 0; i < count; ++i) visitor.on_report_block(reporter, read_report_block(p + fixed + i * kReportBlockSize));
  return true;  // profile-specific extensions after the blocks are ignored
}

bool visit_transport_feedback(unsigned fmt, std::uint32_t media_ssrc, std::span<const std::uint8_t> fci,
                              Visitor& visitor) {
  if (fmt == kFmtNack) {
    if (fci.empty() || fci.size() % 4 != 0) return false;  // one or more pid/blp pairs
    for (std::size_t at = 0; at < fci.size(); at += 4) {
      visitor.on_nack(media_ssrc, load16(fci.data() + at), load16(fci.data() + at + 2));
    }
  } else if (fmt == kFmtTransportCc) {
    // base sequence, status count, 24-bit reference time, feedback packet count: then the chunks.
    if (fci.size() < 8) return false;
    visitor.on_transport_cc(media_ssrc, load16(fci.data()), load16(fci.data() + 2));
  }
  return true;
}

bool visit_payload_feedback(unsigned fmt, std::uint32_t media_ssrc, std::span<const std::uint8_t> fci,
                            Visitor& visitor) {
  if (fmt == kFmtPli) {
    visitor.on_pli(media_ssrc);
  } else if (fmt == kFmtFir) {
    // Entries of SSRC, sequence number and 24 reserved bits; the header's media SSRC is unused.
    if (fci.empty() || fci.size() % 8 != 0) return false;
    for (std::size_t at = 0; at < fci.size(); at += 8) visitor.on_fir(load32(fci.data() + at), fci[at + 4]);
  } else if (fmt == kFmtApplicationLayer && fci.size() >= 4 && load32(fci.data()) == 0x52454D42) {  // "REMB"
    if (fci.size() < 8) return false;
    const unsigned ssrc_count = fci[4];
    if (fci.size() < 8 + 4u * ssrc_count) return false;
    const unsigned exponent = fci[5] >> 2;
    const std::uint64_t mantissa = std::uint64_t{fci[5] & 3u} << 16 | load16(fci.data() + 6);
    // An 18-bit mantissa shifted by up to 63: saturate rather than overflow.
    const bool overflows = exponent > 46 && (mantissa >> (64 - exponent)) != 0;
    visitor.on_remb(overflows ? ~std::uint64_t{0} : mantissa << exponent);
  }
  return true;
}

bool visit_packet(std::uint8_t type, unsigned count, std::span<const std::uint8_t> body, Visitor& visitor) {
  switch (type) {
    case kSenderReport:
    case kReceiverReport:
      return visit_reports(type, count, body, visitor);
    case kBye:
      if (body.size() < 4u * count) return false;
      for (unsigned i = 0; i < count; ++i) visitor.on_bye(load32(body.data() + 4 * i));
      return true;
    case kTransportFeedback:
    case kPayloadFeedback: {
      if (body.size() < kFeedbackCommonSize) return false;
      const std::uint32_t media_ssrc = load32(body.data() + 4);
      const auto fci = body.subspan(kFeedbackCommonSize);
      return type == kTransportFeedback ? visit_transport_feedback(count, media_ssrc, fci, visitor)
                                        : visit_payload_feedback(count, media_ssrc, fci, visitor);
    }
    default:
      return true;  // SDES, APP, XR and others: nothing the egress acts on
  }
}

}  // namespace

bool parse_compound(std::span<const std::uint8_t> datagram, Visitor& visitor) {
  if (datagram.empty()) return false;
  std::size_t at = 0;
  while (at < datagram.size()) {
    const std::span<const std::uint8_t> rest = datagram.subspan(at);
    if (rest.size() < kHeaderSize || rest[0] >> 6 != 2) return false;
    const std::uint8_t type = rest[1];
    if (type < 192 || type > 223) return false;  // RFC 5761: anything else is not RTCP
    const std::size_t size = (std::size_t{load16(rest.data() + 2)} + 1) * 4;
    if (size > rest.size()) return false;
    std::size_t body_size = size - kHeaderSize;
    if (rest[0] & 0x20) {  // padding: its last byte counts it, itself included
      const std::uint8_t padding = rest[size - 1];
      if (padding == 0 || padding > body_size) return false;
      body_size -= padding;
    }
    if (!visit_packet(type, rest[0] & 0x1fu, rest.subspan(kHeaderSize, body_size), visitor)) return false;
    at += size;
  }
  return true;
}

std::size_t write_sender_report(std::span<std::uint8_t> out, const SenderReport& report) {
  constexpr std::size_t size = kHeaderSize + kSenderInfoSize;
  if (out.size() < size) return 0;
  std::uint8_t* p = out.data();
  write_header(p, 0, kSenderReport, size);
  store32(p + 4, report.ssrc);
  store32(p + 8, static_cast<std::uint32_t>(report.ntp >> 32));
  store32(p + 12, static_cast<std::uint32_t>(report.ntp));
  store32(p + 16, report.rtp_timestamp);
  store32(p + 20, report.packet_count);
  store32(p + 24, report.octet_count);
  return size;
}

std::size_t write_receiver_report(std::span<std::uint8_t> out, std::uint32_t reporter_ssrc,
                                  std::span<const ReportBlock> blocks) {
  const std::size_t size = kHeaderSize + 4 + blocks.size() * kReportBlockSize;
  if (blocks.size() > kMaxCount || out.size() < size) return 0;
  std::uint8_t* p = out.data();
  write_header(p, static_cast<unsigned>(blocks.size()), kReceiverReport, size);
  store32(p + 4, reporter_ssrc);
  for (std::size_t i = 0; i < blocks.size(); ++i) write_report_block(p + 8 + i * kReportBlockSize, blocks[i]);
  return size;
}

std::size_t write_sdes_cname(std::span<std::uint8_t> out, std::uint32_t ssrc, std::string_view cname) {
  // One chunk: SSRC, CNAME item (type 1, length, text), then at least one null octet up to a 32-bit boundary.
  const std::size_t size = (kHeaderSize + 4 + 2 + cname.size() + 1 + 3) / 4 * 4;
  if (cname.size() > 255 || out.size() < size) return 0;
  std::uint8_t* p = out.data();
  write_header(p, 1, kSourceDescription, size);
  store32(p + 4, ssrc);
  p[8] = 1;
  p[9] = static_cast<std::uint8_t>(cname.size());
  std::copy(cname.begin(), cname.end(), p + 10);
  std::fill(p + 10 + cname.size(), p + size, std::uint8_t{0});
  return size;
}

std::size_t write_bye(std::span<std::uint8_t> out, std::span<const std::uint32_t> ssrcs) {
  const std::size_t size = kHeaderSize + 4 * ssrcs.size();
  if (ssrcs.size() > kMaxCount || out.size() < size) return 0;
  std::uint8_t* p = out.data();
  write_header(p, static_cast<unsigned>(ssrcs.size()), kBye, size);
  for (std::size_t i = 0; i < ssrcs.size(); ++i) store32(p + 4 + 4 * i, ssrcs[i]);
  return size;
}

std::size_t write_nack(std::span<std::uint8_t> out, std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                       std::span<const NackItem> items) {
  const std::size_t size = kHeaderSize + kFeedbackCommonSize + 4 * items.size();
  if (items.empty() || size / 4 - 1 > 0xffff || out.size() < size) return 0;
  std::uint8_t* p = out.data();
  write_header(p, kFmtNack, kTransportFeedback, size);
  store32(p + 4, sender_ssrc);
  store32(p + 8, media_ssrc);
  for (std::size_t i = 0; i < items.size(); ++i) {
    store16(p + 12 + 4 * i, items[i].pid);
    store16(p + 14 + 4 * i, items[i].blp);
  }
  return size;
}

std::size_t write_pli(std::span<std::uint8_t> out, std::uint32_t sender_ssrc, std::uint32_t media_ssrc) {
  constexpr std::size_t size = kHeaderSize + kFeedbackCommonSize;
  if (out.size() < size) return 0;
  std::uint8_t* p = out.data();
  write_header(p, kFmtPli, kPayloadFeedback, size);
  store32(p + 4, sender_ssrc);
  store32(p + 8, media_ssrc);
  return size;
}

std::size_t write_fir(std::span<std::uint8_t> out, std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                      std::uint8_t seq) {
  constexpr std::size_t size = kHeaderSize + kFeedbackCommonSize + 8;
  if (out.size() < size) return 0;
  std::uint8_t* p = out.data();
  write_header(p, kFmtFir, kPayloadFeedback, size);
  store32(p + 4, sender_ssrc);
  store32(p + 8, 0);  // RFC 5104 4.3.1.2: the media SSRC field is unused, the FCI names the source
  store32(p + 12, media_ssrc);
  p[16] = seq;
  store24(p + 17, 0);
  return size;
}

std::size_t write_remb(std::span<std::uint8_t> out, std::uint32_t sender_ssrc, std::uint64_t bitrate_bps,
                       std::span<const std::uint32_t> ssrcs) {
  const std::size_t size = kHeaderSize + kFeedbackCommonSize + 8 + 4 * ssrcs.size();
  if (ssrcs.size() > 255 || out.size() < size) return 0;
  unsigned exponent = 0;
  while ((bitrate_bps >> exponent) >= (1u << 18)) ++exponent;  // an 18-bit mantissa, rounded down
  const auto mantissa = static_cast<std::uint32_t>(bitrate_bps >> exponent);
  std::uint8_t* p = out.data();
  write_header(p, kFmtApplicationLayer, kPayloadFeedback, size);
  store32(p + 4, sender_ssrc);
  store32(p + 8, 0);
  store32(p + 12, 0x52454D42);  // "REMB"
  p[16] = static_cast<std::uint8_t>(ssrcs.size());
  p[17] = static_cast<std::uint8_t>(exponent << 2 | mantissa >> 16);
  store16(p + 18, static_cast<std::uint16_t>(mantissa));
  for (std::size_t i = 0; i < ssrcs.size(); ++i) store32(p + 20 + 4 * i, ssrcs[i]);
  return size;
}

std::size_t build_nack_items(std::span<const std::uint16_t> lost, std::span<NackItem> items) {
  std::size_t used = 0;
  for (const std::uint16_t seq : lost) {
    if (used > 0) {
      NackItem& item = items[used - 1];
      const auto distance = static_cast<std::uint16_t>(seq - item.pid);
      if (distance == 0) continue;
      if (distance <= 16) {
        item.blp = static_cast<std::uint16_t>(item.blp | 1u << (distance - 1));
        continue;
      }
    }
    if (used == items.size()) break;
    items[used++] = NackItem{seq, 0};
  }
  return used;
}

std::uint64_t ntp_from_unix(std::chrono::nanoseconds since_unix_epoch) {
  constexpr std::int64_t kNanos = 1'000'000'000;
  std::int64_t seconds = since_unix_epoch.count() / kNanos;
  std::int64_t nanos = since_unix_epoch.count() % kNanos;
  if (nanos < 0) {
    nanos += kNanos;
    --seconds;
  }
  const auto ntp_seconds = static_cast<std::uint64_t>(seconds + static_cast<std::int64_t>(kNtpUnixOffset));
  const std::uint64_t fraction = (static_cast<std::uint64_t>(nanos) << 32) / kNanos;
  return ntp_seconds << 32 | fraction;
}

std::uint64_t ntp_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ntp_from_unix(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

std::optional<std::chrono::microseconds> round_trip_time(std::uint32_t arrival_ntp_middle32, const ReportBlock& block) {
  if (block.last_sr == 0) return std::nullopt;  // the receiver has seen no SR yet
  const std::uint32_t rtt = arrival_ntp_middle32 - block.last_sr - block.delay_since_last_sr;
  if (rtt > 0x80000000u) return std::chrono::microseconds(0);  // clocks disagree: negative
  return std::chrono::microseconds(static_cast<std::int64_t>((std::uint64_t{rtt} * 1'000'000) >> 16));
}

}  // namespace dragon::webrtc::rtcp
