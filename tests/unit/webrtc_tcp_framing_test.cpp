// RFC 4571 framing for ICE-TCP: every split of a byte stream gives the same frames, hostile lengths
// fail for good, and the encoder writes the prefix into the caller's headroom.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "webrtc/tcp_framing.hpp"

using namespace dragon::webrtc;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes payload(std::size_t n, std::uint8_t seed) {
  Bytes p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(seed + i * 7);
  return p;
}

Bytes frame(const Bytes& p) {
  Bytes out(k_tcp_frame_header + p.size());
  EXPECT_TRUE(write_tcp_frame_header(out, p.size()));
  std::memcpy(out.data() + k_tcp_frame_header, p.data(), p.size());
  return out;
}

// Feeds `stream` in the given chunk sizes (the last chunk takes the rest); collects frames.
// Returns false if the decoder failed.
bool decode(TcpFrameDecoder& d, Bytes stream, const std::vector<std::size_t>& cuts, std::vector<Bytes>& frames) {
  std::size_t pos = 0;
  std::vector<std::size_t> bounds = cuts;
  bounds.push_back(stream.size());
  for (std::size_t end : bounds) {
    end = std::min(end, stream.size());
    if (end < pos) continue;
    std::span<std::uint8_t> in(stream.data() + pos, end - pos);
    pos = end;
    while (!in.empty()) {
      const auto r = d.next(in);
      EXPECT_LE(r.consumed, in.size());
      in = in.subspan(r.consumed);
      if (r.status == TcpFrameDecoder::Status::Error) return false;
      if (r.status == TcpFrameDecoder::Status::NeedMore) {
        EXPECT_TRUE(in.empty()) << "NeedMore must consume everything";
        break;
      }
      frames.emplace_back(r.frame.begin(), r.frame.end());
    }
  }
  return true;
}

}  // namespace

TEST(TcpFraming, EveryTwoWaySplitGivesTheSameFrames) {
  const std::vector<Bytes> payloads = {payload(1, 1), payload(2, 2), payload(20, 3), payload(100, 4),
                                       payload(1500, 5), payload(k_tcp_default_max_frame, 6), payload(3, 7)};
  Bytes stream;
  for (const auto& p : payloads) {
    const auto f = frame(p);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    TcpFrameDecoder d;
    std::vector<Bytes> frames;
    ASSERT_TRUE(decode(d, stream, {cut}, frames)) << "cut " << cut;
    ASSERT_EQ(frames, payloads) << "cut " << cut;
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(TcpFraming, EveryThreeWaySplitOfSmallFrames) {
  const std::vector<Bytes> payloads = {payload(1, 1), payload(5, 2), payload(3, 3)};
  Bytes stream;
  for (const auto& p : payloads) {
    const auto f = frame(p);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  for (std::size_t a = 0; a <= stream.size(); ++a) {
    for (std::size_t b = a; b <= stream.size(); ++b) {
      TcpFrameDecoder d;
      std::vector<Bytes> frames;
      ASSERT_TRUE(decode(d, stream, {a, b}, frames));
      ASSERT_EQ(frames, payloads) << a << "," << b;
    }
  }
}

TEST(TcpFraming, ByteByByteAndRandomChunks) {
  std::mt19937 rng(4571);
  std::vector<Bytes> payloads;
  Bytes stream;
  for (int i = 0; i < 300; ++i) {
    payloads.push_back(payload(1 + rng() % k_tcp_default_max_frame, static_cast<std::uint8_t>(i)));
    const auto f = frame(payloads.back());
    stream.insert(stream.end(), f.begin(), f.end());
  }
  {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
    TcpFrameDecoder d;
    std::vector<Bytes> frames;
    ASSERT_TRUE(decode(d, stream, cuts, frames));
    EXPECT_EQ(frames, payloads);
  }
  for (int round = 0; round < 50; ++round) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0; at < stream.size(); at += 1 + rng() % 4000) cuts.push_back(at);
    TcpFrameDecoder d;
    std::vector<Bytes> frames;
    ASSERT_TRUE(decode(d, stream, cuts, frames));
    EXPECT_EQ(frames, payloads);
  }
}

TEST(TcpFraming, WholeFrameInOneReadIsNotCopied) {
  Bytes stream = frame(payload(40, 9));
  TcpFrameDecoder d;
  const auto r = d.next(stream);
  ASSERT_EQ(r.status, TcpFrameDecoder::Status::Frame);
  EXPECT_EQ(r.frame.data(), stream.data() + 2);
  EXPECT_EQ(r.frame.size(), 40u);
  EXPECT_EQ(r.consumed, stream.size());
  // A body that arrives whole after its header came alone is not copied either.
  TcpFrameDecoder d2;
  ASSERT_EQ(d2.next({stream.data(), 2}).status, TcpFrameDecoder::Status::NeedMore);
  const auto r2 = d2.next({stream.data() + 2, 40});
  ASSERT_EQ(r2.status, TcpFrameDecoder::Status::Frame);
  EXPECT_EQ(r2.frame.data(), stream.data() + 2);
}

TEST(TcpFraming, FrameIsMutableInPlace) {
  Bytes stream = frame(payload(4, 0));
  TcpFrameDecoder d;
  auto r = d.next(stream);
  ASSERT_EQ(r.status, TcpFrameDecoder::Status::Frame);
  r.frame[0] = 0xAB;  // SRTCP is decrypted in place
  EXPECT_EQ(stream[2], 0xAB);
}

TEST(TcpFraming, HostileLengthsFailForGood) {
  struct Case {
    Bytes bytes;
    std::size_t bad;
  };
  const std::vector<Case> cases = {
      {{0x00, 0x00}, 0},
      {{0x00, 0x00, 0x01, 0x02}, 0},
      {{0x08, 0x01}, 2049},  // one above the default cap
      {{0xFF, 0xFF}, 65535},
      {{0x80, 0x00, 0x16, 0xfe, 0xfd}, 32768},  // a DTLS record sent without framing
      {{0x00, 0x01, 0x42, 0x00, 0x00}, 0},      // a good frame, then a zero length
  };
  for (const auto& c : cases) {
    for (std::size_t cut = 0; cut <= c.bytes.size(); ++cut) {
      TcpFrameDecoder d;
      std::vector<Bytes> frames;
      EXPECT_FALSE(decode(d, c.bytes, {cut}, frames)) << "cut " << cut;
      EXPECT_TRUE(d.failed());
      EXPECT_EQ(d.bad_length(), c.bad);
      Bytes more = frame(payload(3, 0));
      const auto r = d.next(more);  // sticky: nothing more is read
      EXPECT_EQ(r.status, TcpFrameDecoder::Status::Error);
      EXPECT_EQ(r.consumed, 0u);
    }
  }
}

TEST(TcpFraming, CapIsConfigurableAndClamped) {
  TcpFrameDecoder small(10);
  Bytes ok = frame(payload(10, 1));
  EXPECT_EQ(small.next(ok).status, TcpFrameDecoder::Status::Frame);
  Bytes big = frame(payload(11, 1));
  EXPECT_EQ(small.next(big).status, TcpFrameDecoder::Status::Error);
  EXPECT_EQ(TcpFrameDecoder(0).max_frame(), 1u);
  EXPECT_EQ(TcpFrameDecoder(1 << 20).max_frame(), 65535u);
  TcpFrameDecoder full(65535);
  Bytes max = frame(payload(65535, 2));
  std::vector<Bytes> frames;
  ASSERT_TRUE(decode(full, max, {1, 70, 40000}, frames));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], payload(65535, 2));
}

TEST(TcpFraming, EncoderWritesIntoHeadroom) {
  std::uint8_t buf[2 + 300] = {};
  std::memset(buf + 2, 0x5A, 300);
  const auto f = frame_in_headroom(buf, 300);
  ASSERT_EQ(f.size(), 302u);
  EXPECT_EQ(f.data(), buf);
  EXPECT_EQ(buf[0], 0x01);
  EXPECT_EQ(buf[1], 0x2C);
  EXPECT_TRUE(frame_in_headroom(buf, 301).empty());  // payload would overrun the buffer
  EXPECT_TRUE(frame_in_headroom(buf, 0).empty());
  EXPECT_TRUE(frame_in_headroom({buf, 1}, 0).empty());

  std::uint8_t h[2] = {9, 9};
  EXPECT_FALSE(write_tcp_frame_header(h, 0));
  EXPECT_FALSE(write_tcp_frame_header(h, 65536));
  EXPECT_FALSE(write_tcp_frame_header({h, 1}, 5));
  EXPECT_EQ(h[0], 9);  // untouched on failure
  EXPECT_TRUE(write_tcp_frame_header(h, 65535));
  EXPECT_EQ(h[0], 0xFF);
  EXPECT_EQ(h[1], 0xFF);
}
