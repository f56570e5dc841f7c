#include "media/vp8.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "media/picture_id.hpp"
#include "media/rtp.hpp"
#include "rtp_fixtures.hpp"

namespace dragon::media::vp8 {
namespace {

using test::from_hex;
using test::load_rtp_capture;
using Bytes = std::vector<std::uint8_t>;

struct Fields {
  bool x = false, n = false, s = false;
  std::uint8_t pid = 0;
  bool i = false, m = false, l = false, t = false, k = false;
  std::uint16_t picture_id = 0;
  std::uint8_t tl0 = 0;
  std::uint8_t tid = 0;
  bool y = false;
  std::uint8_t keyidx = 0;
};

Bytes build(const Fields& f) {
  Bytes b{static_cast<std::uint8_t>((f.x ? 0x80 : 0) | (f.n ? 0x20 : 0) | (f.s ? 0x10 : 0) | (f.pid & 7))};
  if (!f.x) return b;
  b.push_back(static_cast<std::uint8_t>((f.i ? 0x80 : 0) | (f.l ? 0x40 : 0) | (f.t ? 0x20 : 0) | (f.k ? 0x10 : 0)));
  if (f.i) {
    if (f.m) {
      b.push_back(static_cast<std::uint8_t>(0x80 | (f.picture_id >> 8 & 0x7f)));
      b.push_back(static_cast<std::uint8_t>(f.picture_id));
    } else {
      b.push_back(static_cast<std::uint8_t>(f.picture_id & 0x7f));
    }
  }
  if (f.l) b.push_back(f.tl0);
  if (f.t || f.k) b.push_back(static_cast<std::uint8_t>((f.t ? f.tid << 6 : 0) | (f.t && f.y ? 0x20 : 0) | (f.k ? f.keyidx & 0x1f : 0)));
  return b;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A key frame's first bytes (RFC 6386 9.1): frame tag (P=0 key frame, version 0, shown, a first
// partition size), start code, 320x180 with no scaling. An inter frame's tag has P=1.
const Bytes kKeyFrameHeader = from_hex("b04500 9d012a 4001 b400");
const Bytes kInterFrameHeader = from_hex("314600");

// Every combination of the descriptor's flags, with every truncation.
TEST(Vp8Descriptor, EveryFlagCombinationAndTruncation) {
  int combinations = 0;
  for (int bits = 0; bits < 1 << 9; ++bits) {
    Fields f;
    f.x = bits & 1;
    f.n = bits & 2;
    f.s = bits & 4;
    f.i = bits & 8;
    f.m = bits & 16;
    f.l = bits & 32;
    f.t = bits & 64;
    f.k = bits & 128;
    f.y = bits & 256;
    if (!f.x && (bits & ~7)) continue;  // extension flags only exist with X
    f.pid = static_cast<std::uint8_t>(bits % 8);
    f.picture_id = f.m ? 0x5a5a : 0x5a;
    f.tl0 = 0xc3;
    f.tid = 2;
    f.keyidx = 0x15;
    const Bytes descriptor = build(f);
    const Bytes payload = cat(descriptor, {0xab, 0xcd});
    const Descriptor d = parse_descriptor(payload);
    ++combinations;
    SCOPED_TRACE(bits);
    ASSERT_TRUE(d.valid()) << to_string(d.error);
    EXPECT_EQ(d.size, descriptor.size());
    EXPECT_EQ(d.extended, f.x);
    EXPECT_EQ(d.non_reference, f.n);
    EXPECT_EQ(d.start_of_partition, f.s);
    EXPECT_EQ(d.partition_id, f.pid);
    EXPECT_EQ(d.frame_start(), f.s && f.pid == 0);
    EXPECT_EQ(d.has_picture_id, f.x && f.i);
    if (d.has_picture_id) {
      EXPECT_EQ(d.picture_id_15bit, f.m);
      EXPECT_EQ(d.picture_id, f.picture_id);
      EXPECT_EQ(d.picture_id_offset, 2);
      EXPECT_EQ(d.picture_id_size(), f.m ? 2 : 1);
    } else {
      EXPECT_EQ(d.picture_id_size(), 0);
    }
    EXPECT_EQ(d.has_tl0picidx, f.x && f.l);
    if (d.has_tl0picidx) {
      EXPECT_EQ(d.tl0picidx, 0xc3);
      EXPECT_EQ(payload[d.tl0picidx_offset], 0xc3);
    }
    EXPECT_EQ(d.has_tid, f.x && f.t);
    EXPECT_EQ(d.has_keyidx, f.x && f.k);
    EXPECT_EQ(d.tid, f.x && f.t ? 2 : 0);
    EXPECT_EQ(d.layer_sync, f.x && f.t && f.y);
    EXPECT_EQ(d.keyidx, f.x && f.k ? 0x15 : 0);

    for (std::size_t len = 0; len <= descriptor.size(); ++len) {
      const Bytes cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(len));
      const Descriptor t = parse_descriptor(cut);
      EXPECT_FALSE(t.valid()) << len;
      const Error want = len == 0 ? Error::Empty : len < descriptor.size() ? Error::TruncatedDescriptor : Error::NoPayload;
      EXPECT_EQ(t.error, want) << len;
      EXPECT_FALSE(inspect_rtp_payload(cut).keyframe);
      EXPECT_FALSE(is_keyframe(cut));
    }
  }
  EXPECT_EQ(combinations, 4 + 256);  // without X only N and S vary
}

// The rewriter over every descriptor: the output always carries a 15-bit picture ID where the input
// had one, every other field and every byte after the descriptor are unchanged.
TEST(Vp8Rewrite, EveryFlagCombination) {
  for (int bits = 0; bits < 1 << 8; ++bits) {
    Fields f;
    f.x = true;
    f.s = bits & 1;
    f.i = bits & 2;
    f.m = bits & 4;
    f.l = bits & 8;
    f.t = bits & 16;
    f.k = bits & 32;
    f.y = bits & 64;
    f.n = bits & 128;
    f.picture_id = f.m ? 0x7ffe : 0x7e;
    f.tl0 = 0xff;
    f.tid = 1;
    f.keyidx = 9;
    const Bytes in = cat(build(f), kKeyFrameHeader);
    const Descriptor din = parse_descriptor(in);
    ASSERT_TRUE(din.valid());
    PictureIdRewriter rewriter(VpxCodec::Vp8, 0x7fff, 0xff);
    Bytes out(in.size() + PictureIdRewriter::kMaxGrowth, 0xee);
    const std::size_t n = rewriter.rewrite(in, out);
    SCOPED_TRACE(bits);
    ASSERT_EQ(n, in.size() + (f.i && !f.m ? 1 : 0));
    out.resize(n);
    const Descriptor d = parse_descriptor(out);
    ASSERT_TRUE(d.valid());
    EXPECT_EQ(d.size, din.size + (n - in.size()));
    EXPECT_EQ(d.has_picture_id, f.i);
    if (f.i) {
      EXPECT_TRUE(d.picture_id_15bit);
      EXPECT_EQ(d.picture_id, 0x7fff);
    }
    EXPECT_EQ(d.has_tl0picidx, f.l);
    EXPECT_EQ(d.tl0picidx, f.l ? 0xff : 0);
    EXPECT_EQ(d.has_tid, f.t);
    EXPECT_EQ(d.tid, din.tid);
    EXPECT_EQ(d.layer_sync, din.layer_sync);
    EXPECT_EQ(d.keyidx, din.keyidx);
    EXPECT_EQ(d.non_reference, f.n);
    EXPECT_EQ(d.start_of_partition, f.s);
    EXPECT_TRUE(std::equal(in.begin() + din.size, in.end(), out.begin() + d.size));
    EXPECT_EQ(inspect_rtp_payload(out).keyframe, inspect_rtp_payload(in).keyframe);
    // The next picture continues, wrapping the 15-bit space.
    Fields next = f;
    next.picture_id = f.m ? 0x7fff : 0x7f;
    next.tl0 = 0;
    const Bytes in2 = cat(build(next), kInterFrameHeader);
    Bytes out2(in2.size() + 1);
    ASSERT_GT(rewriter.rewrite(in2, out2), 0u);
    const Descriptor d2 = parse_descriptor(out2);
    if (f.i) {
      EXPECT_EQ(d2.picture_id, 0);
    }
    if (f.l) {
      EXPECT_EQ(d2.tl0picidx, 0);
    }
  }
}

TEST(Vp8Descriptor, ReservedBitsAreIgnored) {
  const Bytes payload = from_hex("d0 8f 11 ab");  // R bit in byte 0, RSV bits in the extension byte
  const Descriptor d = parse_descriptor(payload);
  ASSERT_TRUE(d.valid());
  EXPECT_TRUE(d.start_of_partition);
  EXPECT_EQ(d.picture_id, 0x11);
  EXPECT_EQ(d.size, 3);
  EXPECT_FALSE(d.has_tl0picidx);
}

TEST(Vp8Descriptor, ErrorsHaveText) {
  for (const Error e : {Error::None, Error::Empty, Error::TruncatedDescriptor, Error::NoPayload}) {
    EXPECT_FALSE(to_string(e).empty());
  }
  EXPECT_NE(to_string(Error::TruncatedDescriptor).find("truncated"), std::string_view::npos);
}

TEST(Vp8Keyframe, KeyFrameStart) {
  for (const Bytes& descriptor : {from_hex("10"), from_hex("90 80 81 23"), from_hex("90 e0 05 07 40"), from_hex("90 f0 0a 07 9f")}) {
    const Bytes payload = cat(descriptor, kKeyFrameHeader);
    const PayloadInfo info = inspect_rtp_payload(payload);
    ASSERT_TRUE(info.valid());
    EXPECT_TRUE(info.frame_start);
    EXPECT_TRUE(info.keyframe);
    EXPECT_TRUE(info.show_frame);
    EXPECT_EQ(info.width, 320u);
    EXPECT_EQ(info.height, 180u);
    EXPECT_TRUE(is_keyframe(payload));
  }
}

TEST(Vp8Keyframe, ScalingBitsAreNotPartOfTheSize) {
  const Bytes payload = cat(from_hex("10"), from_hex("b04500 9d012a 40c1 b480"));
  const PayloadInfo info = inspect_rtp_payload(payload);
  ASSERT_TRUE(info.keyframe);
  EXPECT_EQ(info.width, 320u);
  EXPECT_EQ(info.height, 180u);
}

TEST(Vp8Keyframe, NotAKeyFrame) {
  // Inter frame (P bit 1).
  EXPECT_FALSE(is_keyframe(cat(from_hex("10"), kInterFrameHeader)));
  const PayloadInfo inter = inspect_rtp_payload(cat(from_hex("10"), kInterFrameHeader));
  EXPECT_TRUE(inter.frame_start);
  EXPECT_FALSE(inter.keyframe);
  EXPECT_EQ(inter.width, 0u);
  // A continuation packet of a key frame (S=0), and a later partition (S=1, PID=1).
  EXPECT_FALSE(is_keyframe(cat(from_hex("00"), kKeyFrameHeader)));
  EXPECT_FALSE(inspect_rtp_payload(cat(from_hex("00"), kKeyFrameHeader)).frame_start);
  EXPECT_FALSE(is_keyframe(cat(from_hex("11"), kKeyFrameHeader)));
  EXPECT_FALSE(inspect_rtp_payload(cat(from_hex("11"), kKeyFrameHeader)).frame_start);
  // A wrong start code.
  EXPECT_FALSE(is_keyframe(cat(from_hex("10"), from_hex("b04500 9d012b 4001 b400"))));
  // The key frame header split across packets: every prefix shorter than 10 bytes.
  for (std::size_t len = 1; len < kKeyFrameHeader.size(); ++len) {
    const Bytes payload = cat(from_hex("10"), Bytes(kKeyFrameHeader.begin(), kKeyFrameHeader.begin() + static_cast<std::ptrdiff_t>(len)));
    const PayloadInfo info = inspect_rtp_payload(payload);
    EXPECT_TRUE(info.valid());
    EXPECT_TRUE(info.frame_start);
    EXPECT_FALSE(info.keyframe) << len;
  }
}

// Counts frames and key frames of an FFmpeg VP8 stream, checks every packet.
struct StreamSummary {
  int packets = 0;
  int frames = 0;
  std::vector<int> keyframe_frames;  // frame index of each key frame
  unsigned width = 0, height = 0;
};

StreamSummary summarize(const std::vector<Bytes>& packets) {
  StreamSummary s;
  std::uint32_t timestamp = 0;
  bool have_timestamp = false;
  int expected_picture_id = -1;
  for (const Bytes& packet : packets) {
    const auto h = parse_rtp(packet);
    EXPECT_TRUE(h);
    if (!h) continue;
    const auto payload = rtp_payload(packet, *h);
    const PayloadInfo info = inspect_rtp_payload(payload);
    EXPECT_TRUE(info.valid()) << s.packets << ": " << to_string(info.descriptor.error);
    ++s.packets;
    // FFmpeg: one partition per packet run, PID 0; S only on a frame's first packet, which is also
    // where the RTP timestamp changes.
    const bool new_timestamp = !have_timestamp || h->timestamp != timestamp;
    EXPECT_EQ(info.frame_start, new_timestamp) << s.packets;
    have_timestamp = true;
    timestamp = h->timestamp;
    if (info.descriptor.has_picture_id) {
      if (info.frame_start) {
        if (expected_picture_id >= 0) {
          EXPECT_EQ(info.descriptor.picture_id, expected_picture_id);
        }
        expected_picture_id = (info.descriptor.picture_id + 1) & (info.descriptor.picture_id_15bit ? 0x7fff : 0x7f);
      }
    }
    if (info.frame_start) ++s.frames;
    if (info.keyframe) {
      s.keyframe_frames.push_back(s.frames - 1);
      s.width = info.width;
      s.height = info.height;
    }
  }
  return s;
}

// ffmpeg 5.1, libvpx, -g 25, 55 frames of 160x96 (tests/data/rtp/ffmpeg_vp8.hex).
TEST(Vp8Payload, FfmpegCapture) {
  const auto packets = load_rtp_capture("ffmpeg_vp8.hex");
  ASSERT_FALSE(packets.empty());
  const auto first = parse_rtp(packets[0]);
  ASSERT_TRUE(first);
  const Descriptor d = parse_descriptor(rtp_payload(packets[0], *first));
  EXPECT_TRUE(d.has_picture_id);
  EXPECT_TRUE(d.picture_id_15bit);  // FFmpeg 5.1 sends 15-bit IDs: the rewriter works in place
  const StreamSummary s = summarize(packets);
  EXPECT_EQ(s.packets, static_cast<int>(packets.size()));
  EXPECT_EQ(s.frames, 55);
  EXPECT_EQ(s.keyframe_frames, (std::vector<int>{0, 25, 50}));
  EXPECT_EQ(s.width, 160u);
  EXPECT_EQ(s.height, 96u);

  // A viewer's rewriter over the whole capture, in place: picture IDs continue from 1000, the
  // payload is otherwise unchanged and still parses the same.
  PictureIdRewriter rewriter(VpxCodec::Vp8, 1000);
  int frame = -1;
  for (const Bytes& packet : packets) {
    const auto h = parse_rtp(packet);
    Bytes copy = packet;
    const std::span<std::uint8_t> payload(copy.data() + h->header_size, h->payload_size);
    ASSERT_EQ(rewriter.rewrite(payload, payload), payload.size());
    const Descriptor in = parse_descriptor(rtp_payload(packet, *h));
    const Descriptor out = parse_descriptor(payload);
    ASSERT_TRUE(out.valid());
    if (out.frame_start()) ++frame;
    EXPECT_EQ(out.picture_id, 1000 + frame);
    EXPECT_EQ(out.size, in.size);
    for (std::size_t i = 0; i < copy.size(); ++i) {
      if (i < h->header_size + in.picture_id_offset || i >= h->header_size + in.picture_id_offset + 2u) {
        EXPECT_EQ(copy[i], packet[i]) << i;
      }
    }
  }
}

// The same from a live FFmpeg on loopback (skipped where ffmpeg or libvpx is missing).
TEST(Vp8Payload, LiveFfmpegOnLoopback) {
  if (std::system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -qw libvpx") != 0) {
    GTEST_SKIP() << "ffmpeg with libvpx not available";
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  int rcvbuf = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  // 75 frames at -g 25 without -re: done in about a second. Received while FFmpeg runs (the socket
  // buffer alone may be too small for a burst of every packet).
  const std::string cmd =
      "ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i testsrc2=size=160x96:rate=25 -frames:v 75 "
      "-c:v libvpx -deadline realtime -g 25 -b:v 200k -payload_type 96 -pkt_size 1200 -f rtp rtp://127.0.0.1:" +
      std::to_string(port) + " >/dev/null 2>&1";
  std::atomic<bool> done{false};
  int status = -1;
  std::thread runner([&] {
    status = std::system(cmd.c_str());
    done = true;
  });
  timeval tick{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
  std::vector<Bytes> packets;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    std::uint8_t buf[2048];
    const bool finished = done;  // read before recv: a timeout after FFmpeg ended means drained
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      packets.emplace_back(buf, buf + n);
    } else if (finished || std::chrono::steady_clock::now() > deadline) {
      break;
    }
  }
  runner.join();
  ::close(fd);
  ASSERT_EQ(status, 0);
  ASSERT_FALSE(packets.empty());
  const StreamSummary s = summarize(packets);
  EXPECT_EQ(s.packets, static_cast<int>(packets.size()));
  EXPECT_EQ(s.frames, 75);
  EXPECT_EQ(s.keyframe_frames, (std::vector<int>{0, 25, 50}));
  EXPECT_EQ(s.width, 160u);
}

}  // namespace
}  // namespace dragon::media::vp8
