#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "rtmp/chunk.hpp"

namespace dragon::rtmp {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes pattern(std::size_t n, std::uint8_t seed = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return b;
}

void be24(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 16));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

// Hand-written headers, independent of ChunkWriter.
Bytes fmt0(std::uint8_t csid, std::uint32_t ts, std::uint32_t len, std::uint8_t type, std::uint32_t sid) {
  Bytes b{csid};
  be24(b, ts >= 0xFFFFFF ? 0xFFFFFF : ts);
  be24(b, len);
  b.push_back(type);
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(sid >> (8 * i)));
  if (ts >= 0xFFFFFF) be32(b, ts);
  return b;
}
Bytes fmt1(std::uint8_t csid, std::uint32_t delta, std::uint32_t len, std::uint8_t type) {
  Bytes b{static_cast<std::uint8_t>(0x40 | csid)};
  be24(b, delta);
  be24(b, len);
  b.push_back(type);
  return b;
}
Bytes fmt2(std::uint8_t csid, std::uint32_t delta) {
  Bytes b{static_cast<std::uint8_t>(0x80 | csid)};
  be24(b, delta);
  return b;
}
Bytes fmt3(std::uint8_t csid) { return {static_cast<std::uint8_t>(0xC0 | csid)}; }

std::vector<Message> read_all(ChunkReader& r, const Bytes& in, std::size_t step = 0) {
  std::vector<Message> out;
  if (step == 0) {
    EXPECT_EQ(r.feed(in, out), in.size()) << r.error();
    return out;
  }
  // Feed in pieces the way a socket would, keeping unconsumed bytes.
  Bytes pending;
  for (std::size_t i = 0; i < in.size(); i += step) {
    pending.insert(pending.end(), in.begin() + static_cast<std::ptrdiff_t>(i),
                   in.begin() + static_cast<std::ptrdiff_t>(std::min(in.size(), i + step)));
    const std::size_t used = r.feed(pending, out);
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
  }
  EXPECT_TRUE(pending.empty());
  return out;
}

TEST(RtmpChunkReader, EveryFmtWithTimestampDeltas) {
  Bytes in;
  append(in, fmt0(4, 1000, 10, k_audio, 1));
  append(in, pattern(10, 1));
  append(in, fmt1(4, 20, 5, k_video));  // new length and type, delta 20
  append(in, pattern(5, 2));
  append(in, fmt2(4, 40));              // same length and type, delta 40
  append(in, pattern(5, 3));
  append(in, fmt3(4));                  // everything as before: delta 40 again
  append(in, pattern(5, 4));
  for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
    ChunkReader r;
    const auto msgs = read_all(r, in, step);
    ASSERT_EQ(msgs.size(), 4u) << "step " << step;
    EXPECT_EQ(msgs[0].type, k_audio);
    EXPECT_EQ(msgs[0].timestamp, 1000u);
    EXPECT_EQ(msgs[0].stream_id, 1u);
    EXPECT_EQ(*msgs[0].payload, pattern(10, 1));
    EXPECT_EQ(msgs[1].type, k_video);
    EXPECT_EQ(msgs[1].timestamp, 1020u);
    EXPECT_EQ(msgs[1].stream_id, 1u);
    EXPECT_EQ(*msgs[1].payload, pattern(5, 2));
    EXPECT_EQ(msgs[2].timestamp, 1060u);
    EXPECT_EQ(msgs[3].timestamp, 1100u);
    EXPECT_EQ(*msgs[3].payload, pattern(5, 4));
    EXPECT_EQ(msgs[3].csid, 4u);
  }
}

TEST(RtmpChunkReader, MessageSplitIntoChunksAndTwoAndThreeByteBasicHeaders) {
  const Bytes payload = pattern(300);
  for (std::uint32_t csid : {5u, 64u + 10u, 64u + 1000u}) {
    Bytes basic;
    if (csid < 64) basic = {static_cast<std::uint8_t>(csid)};
    else if (csid < 320) basic = {0, static_cast<std::uint8_t>(csid - 64)};
    else basic = {1, static_cast<std::uint8_t>((csid - 64) & 0xFF), static_cast<std::uint8_t>((csid - 64) >> 8)};
    Bytes in = basic;
    be24(in, 7);
    be24(in, 300);
    in.push_back(k_video);
    be32(in, 0x01000000);  // stream id 1, little endian
    append(in, Bytes(payload.begin(), payload.begin() + 128));
    for (int chunk = 1; chunk < 3; ++chunk) {
      Bytes cont = basic;
      cont[0] |= 0xC0;
      append(in, cont);
      const std::size_t from = static_cast<std::size_t>(chunk) * 128;
      append(in, Bytes(payload.begin() + static_cast<std::ptrdiff_t>(from),
                       payload.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(300, from + 128))));
    }
    ChunkReader r;
    const auto msgs = read_all(r, in, 7);
    ASSERT_EQ(msgs.size(), 1u) << csid;
    EXPECT_EQ(msgs[0].csid, csid);
    EXPECT_EQ(msgs[0].timestamp, 7u);
    EXPECT_EQ(*msgs[0].payload, payload);
  }
}

TEST(RtmpChunkReader, ExtendedTimestampAlsoOnContinuationChunks) {
  const std::uint32_t ts = 0x12345678;
  const Bytes payload = pattern(200);
  Bytes in = fmt0(6, ts, 200, k_video, 1);
  append(in, Bytes(payload.begin(), payload.begin() + 128));
  append(in, fmt3(6));
  be32(in, ts);  // the extended timestamp repeats on the fmt 3 chunk
  append(in, Bytes(payload.begin() + 128, payload.end()));
  // A second message with fmt 2 and an extended delta.
  append(in, fmt2(6, 0xFFFFFF));
  be32(in, 0x01000000);
  append(in, pattern(200, 9));  // 200 > 128: continuation again with the extended field
  in.insert(in.end() - 72, 0xC6);
  in.insert(in.end() - 72, {0x01, 0x00, 0x00, 0x00});
  ChunkReader r;
  const auto msgs = read_all(r, in, 5);
  ASSERT_EQ(msgs.size(), 2u) << r.error();
  EXPECT_EQ(msgs[0].timestamp, ts);
  EXPECT_EQ(*msgs[0].payload, payload);
  EXPECT_EQ(msgs[1].timestamp, ts + 0x01000000u);
  EXPECT_EQ(*msgs[1].payload, pattern(200, 9));
}

TEST(RtmpChunkReader, ChunkSizeChangeMidStream) {
  Bytes in = fmt0(2, 0, 4, k_set_chunk_size, 0);
  be32(in, 4096);
  const Bytes big = pattern(5000);
  append(in, fmt0(4, 0, 5000, k_video, 1));
  append(in, Bytes(big.begin(), big.begin() + 4096));
  append(in, fmt3(4));
  append(in, Bytes(big.begin() + 4096, big.end()));
  ChunkReader r;
  const auto msgs = read_all(r, in, 1000);
  ASSERT_EQ(msgs.size(), 2u) << r.error();
  EXPECT_EQ(msgs[0].type, k_set_chunk_size);  // reported as well
  EXPECT_EQ(r.chunk_size(), 4096u);
  EXPECT_EQ(*msgs[1].payload, big);
}

TEST(RtmpChunkReader, InterleavedMessagesOnTwoChunkStreams) {
  const Bytes a = pattern(200, 1), v = pattern(250, 2);
  Bytes in = fmt0(4, 10, 200, k_audio, 1);
  append(in, Bytes(a.begin(), a.begin() + 128));
  append(in, fmt0(6, 20, 250, k_video, 1));
  append(in, Bytes(v.begin(), v.begin() + 128));
  append(in, fmt3(4));
  append(in, Bytes(a.begin() + 128, a.end()));
  append(in, fmt3(6));
  append(in, Bytes(v.begin() + 128, v.end()));
  ChunkReader r;
  const auto msgs = read_all(r, in);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, k_audio);
  EXPECT_EQ(*msgs[0].payload, a);
  EXPECT_EQ(msgs[1].type, k_video);
  EXPECT_EQ(*msgs[1].payload, v);
}

TEST(RtmpChunkReader, AbortDropsThePartialMessage) {
  Bytes in = fmt0(4, 0, 200, k_video, 1);
  append(in, pattern(128));
  append(in, fmt0(2, 0, 4, k_abort, 0));
  be32(in, 4);
  // A fresh message on the aborted chunk stream.
  append(in, fmt0(4, 50, 3, k_video, 1));
  append(in, {1, 2, 3});
  ChunkReader r;
  const auto msgs = read_all(r, in);
  ASSERT_EQ(msgs.size(), 2u) << r.error();
  EXPECT_EQ(msgs[0].type, k_abort);
  EXPECT_EQ(*msgs[1].payload, (Bytes{1, 2, 3}));
  EXPECT_EQ(msgs[1].timestamp, 50u);
}

TEST(RtmpChunkReader, ZeroLengthMessage) {
  Bytes in = fmt0(4, 5, 0, k_audio, 1);
  append(in, fmt0(4, 6, 1, k_audio, 1));
  in.push_back(0xAF);
  ChunkReader r;
  const auto msgs = read_all(r, in);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_TRUE(msgs[0].payload->empty());
  EXPECT_EQ(msgs[1].payload->size(), 1u);
}

TEST(RtmpChunkReader, HostileInputs) {
  {  // a message longer than the limit
    ChunkReader r(ChunkLimits{.max_message_size = 1000});
    std::vector<Message> out;
    const Bytes in = fmt0(4, 0, 0xFFFFFF, k_video, 1);
    r.feed(in, out);
    EXPECT_TRUE(r.failed());
    EXPECT_NE(r.error().find("exceeds the limit"), std::string::npos) << r.error();
    EXPECT_EQ(r.feed(in, out), 0u);  // stays failed
  }
  {  // too many chunk streams
    ChunkReader r(ChunkLimits{.max_chunk_streams = 4});
    std::vector<Message> out;
    Bytes in;
    for (std::uint8_t c = 3; c < 10; ++c) {
      append(in, fmt0(c, 0, 1, k_audio, 1));
      in.push_back(0);
    }
    r.feed(in, out);
    EXPECT_TRUE(r.failed());
    EXPECT_EQ(out.size(), 4u);
    EXPECT_NE(r.error().find("chunk streams"), std::string::npos);
  }
  {  // fmt 1 without a previous header
    ChunkReader r;
    std::vector<Message> out;
    r.feed(fmt1(4, 0, 1, k_audio), out);
    EXPECT_TRUE(r.failed());
  }
  {  // chunk size 0 and above the limit
    for (std::uint32_t size : {0u, 0x7FFFFFFFu}) {
      ChunkReader r;
      std::vector<Message> out;
      Bytes in = fmt0(2, 0, 4, k_set_chunk_size, 0);
      be32(in, size);
      r.feed(in, out);
      EXPECT_TRUE(r.failed()) << size;
    }
  }
  {  // a new message header while a message is incomplete on that chunk stream
    ChunkReader r;
    std::vector<Message> out;
    Bytes in = fmt0(4, 0, 200, k_video, 1);
    append(in, pattern(128));
    append(in, fmt0(4, 0, 10, k_video, 1));
    r.feed(in, out);
    EXPECT_TRUE(r.failed());
  }
  {  // a huge announced length is not allocated up front: memory follows the bytes actually sent
    ChunkReader r;
    std::vector<Message> out;
    Bytes in = fmt0(4, 0, 0xFFFFFF, k_video, 1);  // 16 MiB - 1, the largest 24-bit length
    EXPECT_EQ(r.feed(in, out), in.size());
    EXPECT_FALSE(r.failed());
    EXPECT_TRUE(out.empty());
  }
  {  // random bytes never crash and end in an error or in waiting for more
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
      Bytes junk(1 + rng() % 600);
      for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
      ChunkReader r(ChunkLimits{.max_message_size = 1 << 16, .max_chunk_size = 1 << 16, .max_chunk_streams = 8});
      std::vector<Message> out;
      const std::size_t used = r.feed(junk, out);
      EXPECT_LE(used, junk.size());
    }
  }
}

TEST(RtmpChunkWriter, RoundTripThroughTheReaderWithCompressionAndExtendedTimestamps) {
  ChunkWriter w;
  w.set_chunk_size(100);
  Bytes wire;
  struct Sent {
    std::uint32_t csid;
    std::uint8_t type;
    std::uint32_t sid, ts;
    Bytes payload;
  };
  std::vector<Sent> sent = {
      {4, k_audio, 1, 0, pattern(10)},           // fmt 0
      {4, k_audio, 1, 23, pattern(10, 1)},       // fmt 2
      {4, k_audio, 1, 46, pattern(11, 2)},       // fmt 1
      {6, k_video, 1, 40, pattern(450, 3)},      // several chunks
      {6, k_video, 1, 30, pattern(50, 4)},       // backwards: fmt 0
      {6, k_video, 1, 0x1000000, pattern(250, 5)},  // extended delta, continuation chunks
      {6, k_video, 1, 0x2000000, pattern(250, 6)},
      {400, k_data_amf0, 2, 5, pattern(3, 7)},   // three-byte basic header
      {70, k_command_amf0, 0, 0, {}},            // empty payload
  };
  for (const auto& s : sent) w.write(s.csid, s.type, s.sid, s.ts, s.payload, wire);
  ChunkReader r;
  std::vector<Message> out;
  Bytes chunk_size_msg = fmt0(2, 0, 4, k_set_chunk_size, 0);
  be32(chunk_size_msg, 100);
  r.feed(chunk_size_msg, out);
  out.clear();
  ASSERT_EQ(r.feed(wire, out), wire.size()) << r.error();
  ASSERT_EQ(out.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(out[i].csid, sent[i].csid) << i;
    EXPECT_EQ(out[i].type, sent[i].type) << i;
    EXPECT_EQ(out[i].stream_id, sent[i].sid) << i;
    EXPECT_EQ(out[i].timestamp, sent[i].ts) << i;
    EXPECT_EQ(*out[i].payload, sent[i].payload) << i;
  }
}

TEST(RtmpChunkWriter, HeadersPlusSerializeEqualsWrite) {
  ChunkWriter a, b;
  a.set_chunk_size(64);
  const Bytes payload = pattern(200);
  Bytes via_write, via_headers;
  a.write(6, k_video, 1, 1000, payload, via_write);
  const auto h = b.headers(6, k_video, 1, 1000, 200);
  ChunkWriter::serialize(h, payload, 64, via_headers);
  EXPECT_EQ(via_write, via_headers);
  EXPECT_EQ(h.first_len, 12);
  EXPECT_EQ(h.cont_len, 1);
  EXPECT_EQ(via_write.size(), 12u + 200u + 3u);  // three continuation headers
}

TEST(RtmpChunkWriter, OneDeltaWireFormServesPeersWithDifferentTimestampBases) {
  // Two peers whose previous video message lay at different (rebased) timestamps, one of them extended.
  ChunkWriter a, b;
  a.set_chunk_size(64);
  b.set_chunk_size(64);
  Bytes to_a, to_b;
  a.write(6, k_video, 1, 100, pattern(10), to_a);
  b.write(6, k_video, 1, 0x1000000, pattern(10), to_b);

  const Bytes payload = pattern(150, 3);
  Bytes shared;
  ChunkWriter::write_delta(6, k_video, 40, payload, 64, shared);
  Bytes expected = fmt1(6, 40, 150, k_video);
  append(expected, Bytes(payload.begin(), payload.begin() + 64));
  append(expected, fmt3(6));
  append(expected, Bytes(payload.begin() + 64, payload.begin() + 128));
  append(expected, fmt3(6));
  append(expected, Bytes(payload.begin() + 128, payload.end()));
  EXPECT_EQ(shared, expected);

  // Not for a timestamp the delta does not lead to, another stream id or chunk size, an unknown chunk stream.
  EXPECT_FALSE(a.continues_with(6, k_video, 1, 141, 150, 40, 64));
  EXPECT_FALSE(a.continues_with(6, k_video, 2, 140, 150, 40, 64));
  EXPECT_FALSE(a.continues_with(6, k_video, 1, 140, 150, 40, 128));
  EXPECT_FALSE(a.continues_with(7, k_video, 1, 140, 150, 40, 64));
  ASSERT_TRUE(a.continues_with(6, k_video, 1, 140, 150, 40, 64));
  ASSERT_TRUE(b.continues_with(6, k_video, 1, 0x1000028, 150, 40, 64));
  append(to_a, shared);
  append(to_b, shared);
  // The writers' state moved on: their next headers are deltas from the shared message.
  a.write(6, k_video, 1, 180, pattern(5), to_a);
  b.write(6, k_video, 1, 0x1000050, pattern(5), to_b);

  for (auto [wire, first] : {std::pair{&to_a, 100u}, std::pair{&to_b, 0x1000000u}}) {
    ChunkReader r;
    std::vector<Message> out;
    Bytes chunk_size_msg = fmt0(2, 0, 4, k_set_chunk_size, 0);
    be32(chunk_size_msg, 64);
    r.feed(chunk_size_msg, out);
    out.clear();
    ASSERT_EQ(r.feed(*wire, out), wire->size()) << r.error();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].timestamp, first);
    EXPECT_EQ(out[1].timestamp, first + 40);
    EXPECT_EQ(out[1].stream_id, 1u);
    EXPECT_EQ(*out[1].payload, payload);
    EXPECT_EQ(out[2].timestamp, first + 80);
  }
}

TEST(RtmpChunk, ControlPayloads) {
  EXPECT_EQ(control_u32(4096), (Bytes{0, 0, 0x10, 0}));
  EXPECT_EQ(peer_bandwidth(2500000, 2), (Bytes{0x00, 0x26, 0x25, 0xA0, 2}));
  EXPECT_EQ(user_control(k_stream_eof, 1), (Bytes{0, 1, 0, 0, 0, 1}));
}

}  // namespace
}  // namespace dragon::rtmp
