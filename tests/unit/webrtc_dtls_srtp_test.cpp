// DTLS-SRTP between our server and client roles over an in-memory "network": the handshake
// completes, each side checks the other's certificate against the fingerprint it was given, both
// derive mirrored SRTP keys, and what one protects the other unprotects (every profile).
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <vector>

#include "webrtc/dtls.hpp"
#include "webrtc/srtp.hpp"

using namespace dragon::webrtc;

namespace {

struct Side : DtlsTransport::Listener {
  std::deque<std::vector<std::uint8_t>> outbox;
  std::optional<SrtpKeys> keys;
  std::string failure;
  bool closed = false;
  void on_dtls_send(std::span<const std::uint8_t> d) override { outbox.emplace_back(d.begin(), d.end()); }
  void on_dtls_connected(const SrtpKeys& k) override { keys = k; }
  void on_dtls_failed(std::string_view why) override { failure = why; }
  void on_dtls_closed() override { closed = true; }
};

// Shuttles datagrams until both sides are quiet.
void run(DtlsTransport& a, Side& sa, DtlsTransport& b, Side& sb) {
  for (int i = 0; i < 100 && (!sa.outbox.empty() || !sb.outbox.empty()); ++i) {
    while (!sa.outbox.empty()) {
      auto d = std::move(sa.outbox.front());
      sa.outbox.pop_front();
      b.on_datagram(d);
    }
    while (!sb.outbox.empty()) {
      auto d = std::move(sb.outbox.front());
      sb.outbox.pop_front();
      a.on_datagram(d);
    }
  }
}

std::vector<std::uint8_t> rtp_packet(std::uint16_t seq) {
  std::vector<std::uint8_t> p(12 + 200);
  p[0] = 0x80;
  p[1] = 96;
  p[2] = static_cast<std::uint8_t>(seq >> 8);
  p[3] = static_cast<std::uint8_t>(seq);
  p[8] = 0x12;
  p[9] = 0x34;
  p[10] = 0x56;
  p[11] = 0x78;
  for (std::size_t i = 12; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 7);
  return p;
}

}  // namespace

TEST(WebrtcDtls, HandshakeDerivesMirroredKeysAndChecksFingerprints) {
  auto server_cert = DtlsCertificate::generate();
  auto client_cert = DtlsCertificate::generate();
  ASSERT_EQ(server_cert->fingerprint_sha256().size(), 32u * 3 - 1);
  Side s, c;
  DtlsTransport server(*server_cert, DtlsTransport::Role::Server, s, "sha-256", client_cert->fingerprint_sha256());
  DtlsTransport client(*client_cert, DtlsTransport::Role::Client, c, "sha-256", server_cert->fingerprint_sha256());
  server.start();
  client.start();
  ASSERT_FALSE(c.outbox.empty());  // ClientHello
  run(client, c, server, s);
  ASSERT_TRUE(s.keys) << s.failure;
  ASSERT_TRUE(c.keys) << c.failure;
  EXPECT_EQ(server.state(), DtlsTransport::State::Connected);
  EXPECT_EQ(s.keys->profile, SrtpProfile::AeadAes128Gcm);  // our first preference, offered by both
  EXPECT_EQ(s.keys->local_key_salt, c.keys->remote_key_salt);
  EXPECT_EQ(s.keys->remote_key_salt, c.keys->local_key_salt);
  EXPECT_NE(s.keys->local_key_salt, s.keys->remote_key_salt);
  EXPECT_EQ(s.keys->local_key_salt.size(), 16u + 12u);
}

TEST(WebrtcDtls, WrongFingerprintFailsTheHandshake) {
  auto server_cert = DtlsCertificate::generate();
  auto client_cert = DtlsCertificate::generate();
  auto other = DtlsCertificate::generate();
  Side s, c;
  DtlsTransport server(*server_cert, DtlsTransport::Role::Server, s, "sha-256", other->fingerprint_sha256());
  DtlsTransport client(*client_cert, DtlsTransport::Role::Client, c, "sha-256", server_cert->fingerprint_sha256());
  server.start();
  client.start();
  run(client, c, server, s);
  EXPECT_FALSE(s.keys);
  EXPECT_NE(s.failure.find("fingerprint"), std::string::npos) << s.failure;
  EXPECT_EQ(server.state(), DtlsTransport::State::Failed);
}

TEST(WebrtcDtls, GarbageDatagramsDoNotConnectOrCrash) {
  auto cert = DtlsCertificate::generate();
  Side s;
  DtlsTransport server(*cert, DtlsTransport::Role::Server, s, "sha-256", "00");
  server.start();
  std::vector<std::uint8_t> junk(300);
  for (int round = 0; round < 50; ++round) {
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(i * 31 + round * 17);
    junk[0] = 22;  // looks like a handshake record
    server.on_datagram(junk);
  }
  EXPECT_FALSE(s.keys);
}

TEST(WebrtcDtls, CloseNotifyReachesThePeer) {
  auto a_cert = DtlsCertificate::generate();
  auto b_cert = DtlsCertificate::generate();
  Side s, c;
  DtlsTransport server(*a_cert, DtlsTransport::Role::Server, s, "sha-256", b_cert->fingerprint_sha256());
  DtlsTransport client(*b_cert, DtlsTransport::Role::Client, c, "sha-256", a_cert->fingerprint_sha256());
  server.start();
  client.start();
  run(client, c, server, s);
  ASSERT_TRUE(s.keys);
  client.close();
  run(client, c, server, s);
  EXPECT_TRUE(s.closed);
}

class WebrtcSrtp : public ::testing::TestWithParam<SrtpProfile> {};

TEST_P(WebrtcSrtp, ProtectedPacketsRoundTripAndTamperingIsDetected) {
  const SrtpProfile profile = GetParam();
  const std::size_t key = profile == SrtpProfile::AeadAes256Gcm ? 32 : 16;
  const std::size_t salt = profile == SrtpProfile::Aes128CmSha1_80 ? 14 : 12;
  SrtpKeys a;
  a.profile = profile;
  a.local_key_salt.assign(key + salt, 0x11);
  a.remote_key_salt.assign(key + salt, 0x22);
  SrtpKeys b = a;
  std::swap(b.local_key_salt, b.remote_key_salt);
  SrtpSession sender(a), receiver(b);

  for (std::uint16_t seq = 1000; seq < 1010; ++seq) {
    auto plain = rtp_packet(seq);
    std::vector<std::uint8_t> buf(plain.size() + SrtpSession::k_max_trailer);
    std::memcpy(buf.data(), plain.data(), plain.size());
    std::size_t len = plain.size();
    ASSERT_TRUE(sender.protect_rtp(buf.data(), len));
    EXPECT_GT(len, plain.size());
    EXPECT_NE(std::memcmp(buf.data() + 12, plain.data() + 12, 16), 0);  // payload encrypted
    // The same packet again (a NACK retransmission) must be allowed on the sending side.
    std::vector<std::uint8_t> again(plain.size() + SrtpSession::k_max_trailer);
    std::memcpy(again.data(), plain.data(), plain.size());
    std::size_t again_len = plain.size();
    EXPECT_TRUE(sender.protect_rtp(again.data(), again_len));
    ASSERT_TRUE(receiver.unprotect_rtp(buf.data(), len));
    ASSERT_EQ(len, plain.size());
    EXPECT_EQ(std::memcmp(buf.data(), plain.data(), len), 0);
  }
  // RTCP both ways, and a flipped bit is rejected.
  std::vector<std::uint8_t> rtcp = {0x81, 201, 0, 7, 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0,
                                    0, 0, 0, 0,    0, 0, 0, 0, 0,    0,    0,    0,    0, 0, 0, 0};
  std::vector<std::uint8_t> buf(rtcp.size() + SrtpSession::k_max_trailer);
  std::memcpy(buf.data(), rtcp.data(), rtcp.size());
  std::size_t len = rtcp.size();
  SrtpSession viewer_side(b), server_side(a);
  ASSERT_TRUE(viewer_side.protect_rtcp(buf.data(), len));
  auto tampered = buf;
  tampered[10] ^= 1;
  std::size_t tampered_len = len;
  EXPECT_FALSE(server_side.unprotect_rtcp(tampered.data(), tampered_len));
  ASSERT_TRUE(server_side.unprotect_rtcp(buf.data(), len));
  EXPECT_EQ(len, rtcp.size());
  EXPECT_EQ(std::memcmp(buf.data(), rtcp.data(), len), 0);
}

INSTANTIATE_TEST_SUITE_P(Profiles, WebrtcSrtp,
                         ::testing::Values(SrtpProfile::AeadAes128Gcm, SrtpProfile::AeadAes256Gcm,
                                           SrtpProfile::Aes128CmSha1_80));
