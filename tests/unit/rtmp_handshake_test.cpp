#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "rtmp/handshake.hpp"

namespace dragon::rtmp {
namespace {

std::vector<std::uint8_t> random_block(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> b(k_handshake_size);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

// A Flash-Player-style C1: version field set, digest keyed with the first 30 bytes of the FP key at the
// offset of `scheme`.
std::vector<std::uint8_t> digest_c1(int scheme, std::uint32_t seed) {
  auto c1 = random_block(seed);
  c1[4] = 9, c1[5] = 0, c1[6] = 124, c1[7] = 2;
  const std::size_t off = digest_offset(c1, scheme);
  const auto d = block_digest(c1, off, genuine_fp_key().first(30));
  std::memcpy(c1.data() + off, d.data(), d.size());
  return c1;
}

std::vector<std::uint8_t> with_c0(const std::vector<std::uint8_t>& c1) {
  std::vector<std::uint8_t> v{3};
  v.insert(v.end(), c1.begin(), c1.end());
  return v;
}

TEST(RtmpHandshake, KeysAreTheWellKnownOnes) {
  const auto fp = genuine_fp_key();
  const auto fms = genuine_fms_key();
  ASSERT_EQ(fp.size(), 62u);
  ASSERT_EQ(fms.size(), 68u);
  EXPECT_EQ(std::string(fp.begin(), fp.begin() + 30), "Genuine Adobe Flash Player 001");
  EXPECT_EQ(std::string(fms.begin(), fms.begin() + 36), "Genuine Adobe Flash Media Server 001");
  EXPECT_TRUE(std::equal(fp.begin() + 30, fp.end(), fms.begin() + 36));  // the same 32-byte tail
  EXPECT_EQ(fp[30], 0xF0);
  EXPECT_EQ(fp[61], 0xAE);
}

TEST(RtmpHandshake, DigestOffsetsFollowBothSchemes) {
  std::vector<std::uint8_t> b(k_handshake_size, 0);
  b[8] = 200, b[9] = 200, b[10] = 200, b[11] = 200;  // 800 % 728 = 72
  EXPECT_EQ(digest_offset(b, 0), 72u + 12u);
  b[772] = 255, b[773] = 255, b[774] = 255, b[775] = 255;  // 1020 % 728 = 292
  EXPECT_EQ(digest_offset(b, 1), 292u + 776u);
  // The digest always fits inside the block.
  std::fill(b.begin(), b.end(), 0xFF);
  EXPECT_LE(digest_offset(b, 0) + 32, k_handshake_size);
  EXPECT_LE(digest_offset(b, 1) + 32, k_handshake_size);
}

TEST(RtmpHandshake, SimpleHandshakeEchoesC1) {
  Handshake hs;
  auto c1 = random_block(1);
  std::memset(c1.data() + 4, 0, 4);  // zero version: simple handshake
  const auto in = with_c0(c1);
  EXPECT_EQ(hs.feed(in), in.size());
  ASSERT_EQ(hs.state(), Handshake::State::WaitC2);
  EXPECT_FALSE(hs.digest());
  const auto out = hs.take_output();
  ASSERT_EQ(out.size(), 1 + 2 * k_handshake_size);
  EXPECT_EQ(out[0], 3);
  // S1's zero field, S2 = C1.
  EXPECT_EQ(out[5] | out[6] | out[7] | out[8], 0);
  EXPECT_TRUE(std::equal(c1.begin(), c1.end(), out.begin() + 1 + k_handshake_size));
  // C2 = S1, followed by the first bytes of the chunk stream, which must not be consumed.
  std::vector<std::uint8_t> c2(out.begin() + 1, out.begin() + 1 + k_handshake_size);
  c2.push_back(0x03);
  c2.push_back(0x00);
  EXPECT_EQ(hs.feed(c2), k_handshake_size);
  EXPECT_TRUE(hs.done());
  EXPECT_TRUE(hs.c2_valid());
}

TEST(RtmpHandshake, ByteByByteFeeding) {
  Handshake hs;
  auto c1 = random_block(2);
  std::memset(c1.data() + 4, 0, 4);
  const auto in = with_c0(c1);
  for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(hs.feed({&in[i], 1}), 1u) << i;
  ASSERT_EQ(hs.state(), Handshake::State::WaitC2);
  const auto out = hs.take_output();
  for (std::size_t i = 0; i < k_handshake_size; ++i) ASSERT_EQ(hs.feed({&out[1 + i], 1}), 1u);
  EXPECT_TRUE(hs.done());
  EXPECT_EQ(hs.feed({out.data(), 1}), 0u);  // nothing more belongs to the handshake
}

class RtmpDigestHandshake : public ::testing::TestWithParam<int> {};

TEST_P(RtmpDigestHandshake, AnswersWithServerDigestAndSignedS2) {
  const int scheme = GetParam();
  const auto c1 = digest_c1(scheme, 42 + static_cast<std::uint32_t>(scheme));
  ASSERT_EQ(find_digest_scheme(c1, genuine_fp_key().first(30)), scheme);
  Handshake hs;
  hs.feed(with_c0(c1));
  ASSERT_EQ(hs.state(), Handshake::State::WaitC2);
  EXPECT_TRUE(hs.digest());
  EXPECT_EQ(hs.scheme(), scheme);
  const auto out = hs.take_output();
  ASSERT_EQ(out.size(), 1 + 2 * k_handshake_size);
  const std::span<const std::uint8_t> s1(out.data() + 1, k_handshake_size);
  const std::span<const std::uint8_t> s2(out.data() + 1 + k_handshake_size, k_handshake_size);
  // What a checking client (FFmpeg when playing) verifies: S1's digest with the FMS key (36 bytes) at the
  // same scheme, and S2's signature keyed by HMAC(full FMS key, the client's digest).
  EXPECT_NE(s1[4] | s1[5] | s1[6] | s1[7], 0);
  EXPECT_EQ(find_digest_scheme(s1, genuine_fms_key().first(36)), scheme);
  const std::size_t coff = digest_offset(c1, scheme);
  const auto key = hmac_sha256(genuine_fms_key(), {c1.data() + coff, 32});
  const auto sig = hmac_sha256(key, s2.first(k_handshake_size - 32));
  EXPECT_TRUE(std::equal(sig.begin(), sig.end(), s2.end() - 32));

  // A proper C2: signed with HMAC(full FP key, S1's digest).
  auto c2 = random_block(7);
  const std::size_t soff = digest_offset(s1, scheme);
  const auto ckey = hmac_sha256(genuine_fp_key(), s1.subspan(soff, 32));
  const auto csig = hmac_sha256(ckey, {c2.data(), k_handshake_size - 32});
  std::memcpy(c2.data() + k_handshake_size - 32, csig.data(), 32);
  EXPECT_EQ(hs.feed(c2), k_handshake_size);
  EXPECT_TRUE(hs.done());
  EXPECT_TRUE(hs.c2_valid());
}

INSTANTIATE_TEST_SUITE_P(Schemes, RtmpDigestHandshake, ::testing::Values(0, 1));

TEST(RtmpHandshake, InvalidDigestFallsBackToSimple) {
  auto c1 = digest_c1(0, 5);
  c1[digest_offset(c1, 0)] ^= 0x01;  // break the digest
  Handshake hs;
  hs.feed(with_c0(c1));
  EXPECT_FALSE(hs.digest());
  const auto out = hs.take_output();
  EXPECT_TRUE(std::equal(c1.begin(), c1.end(), out.begin() + 1 + k_handshake_size));
  // A C2 that is not S1's echo is accepted (encoders differ) but reported.
  EXPECT_EQ(hs.feed(random_block(9)), k_handshake_size);
  EXPECT_TRUE(hs.done());
  EXPECT_FALSE(hs.c2_valid());
}

TEST(RtmpHandshake, WrongVersionFails) {
  for (std::uint8_t v : {0, 6, 8, 0x16, 0xFF}) {
    Handshake hs;
    const std::uint8_t b[2] = {v, 0};
    EXPECT_EQ(hs.feed(b), 1u);
    EXPECT_TRUE(hs.failed()) << int(v);
    EXPECT_FALSE(hs.error().empty());
    EXPECT_TRUE(hs.output().empty());
    EXPECT_EQ(hs.feed(b), 0u);  // stays failed
  }
  Handshake tls;
  const std::uint8_t client_hello[3] = {0x16, 0x03, 0x01};
  tls.feed(client_hello);
  EXPECT_NE(tls.error().find("version"), std::string::npos);
}

}  // namespace
}  // namespace dragon::rtmp
