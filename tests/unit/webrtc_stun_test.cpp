#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/hmac.h>

#include <cstring>
#include <random>
#include <vector>

#include "webrtc/stun.hpp"

using namespace dragon::webrtc;

namespace {

constexpr std::string_view k_rfc5769_password = "VOkJxbRl1RmTxUk/WvJxBt";
constexpr StunTransactionId k_rfc5769_tid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

// RFC 5769 §2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MI, FINGERPRINT).
// Its padding bytes are spaces, not zeros: padding content must be ignored.
const std::vector<std::uint8_t> k_sample_request = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

// RFC 5769 §2.2: sample IPv4 response, mapped 192.0.2.1:32853.
const std::vector<std::uint8_t> k_sample_response_v4 = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

// RFC 5769 §2.3: sample IPv6 response, mapped [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const std::vector<std::uint8_t> k_sample_response_v6 = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

sockaddr_in v4(const char* ip, std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sin.sin_addr);
  return sin;
}

sockaddr_in6 v6(const char* ip, std::uint16_t port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  inet_pton(AF_INET6, ip, &sin6.sin6_addr);
  return sin6;
}

void set16(std::vector<std::uint8_t>& p, std::size_t at, std::uint16_t v) {
  p[at] = static_cast<std::uint8_t>(v >> 8);
  p[at + 1] = static_cast<std::uint8_t>(v);
}

// A request built by hand: header plus the given attribute bytes, length field set.
std::vector<std::uint8_t> message(std::vector<std::uint8_t> attributes, std::uint16_t type = k_stun_binding_request) {
  std::vector<std::uint8_t> p = {0, 0, 0, 0, 0x21, 0x12, 0xa4, 0x42};
  p.insert(p.end(), k_rfc5769_tid.begin(), k_rfc5769_tid.end());
  set16(p, 0, type);
  p.insert(p.end(), attributes.begin(), attributes.end());
  set16(p, 2, static_cast<std::uint16_t>(p.size() - 20));
  return p;
}

}  // namespace

TEST(WebrtcStun, Rfc5769SampleRequest) {
  ASSERT_TRUE(is_stun(k_sample_request));
  const auto m = parse_stun(k_sample_request);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, k_stun_binding_request);
  EXPECT_EQ(m->transaction_id, k_rfc5769_tid);
  EXPECT_EQ(m->username, "evtj:h6vY");
  EXPECT_EQ(m->priority, 0x6e0001ffu);
  EXPECT_TRUE(m->ice_controlled);
  EXPECT_FALSE(m->ice_controlling);
  EXPECT_FALSE(m->use_candidate);
  EXPECT_EQ(m->tie_breaker, 0x932ff9b151263b36ull);
  EXPECT_EQ(m->integrity_offset, 76u);
  EXPECT_TRUE(m->has_fingerprint);
  EXPECT_TRUE(m->fingerprint_ok);
  EXPECT_EQ(m->error_code, 0);
  EXPECT_EQ(m->mapped.ss_family, AF_UNSPEC);
  EXPECT_EQ(m->unknown_required_attribute, 0);
  EXPECT_TRUE(verify_integrity(k_sample_request, *m, k_rfc5769_password));
  EXPECT_FALSE(verify_integrity(k_sample_request, *m, "VOkJxbRl1RmTxUk/WvJxBu"));
  EXPECT_FALSE(verify_integrity(k_sample_request, *m, ""));
}

TEST(WebrtcStun, Rfc5769SampleIpv4Response) {
  const auto m = parse_stun(k_sample_response_v4);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, k_stun_binding_success);
  EXPECT_TRUE(m->fingerprint_ok);
  EXPECT_TRUE(verify_integrity(k_sample_response_v4, *m, k_rfc5769_password));
  ASSERT_EQ(m->mapped.ss_family, AF_INET);
  sockaddr_in sin;
  std::memcpy(&sin, &m->mapped, sizeof sin);
  EXPECT_EQ(ntohs(sin.sin_port), 32853);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text);
  EXPECT_STREQ(text, "192.0.2.1");
}

TEST(WebrtcStun, Rfc5769SampleIpv6Response) {
  const auto m = parse_stun(k_sample_response_v6);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->fingerprint_ok);
  EXPECT_TRUE(verify_integrity(k_sample_response_v6, *m, k_rfc5769_password));
  ASSERT_EQ(m->mapped.ss_family, AF_INET6);
  sockaddr_in6 sin6;
  std::memcpy(&sin6, &m->mapped, sizeof sin6);
  EXPECT_EQ(ntohs(sin6.sin6_port), 32853);
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof text);
  EXPECT_STREQ(text, "2001:db8:1234:5678:11:2233:4455:6677");
}

// Our writer reproduces the RFC's response bytes once SOFTWARE (which we never send) is left out:
// the XOR-MAPPED-ADDRESS bytes must match, and MI/FINGERPRINT must verify.
TEST(WebrtcStun, WriteBindingSuccessMatchesRfcAddressEncoding) {
  std::uint8_t out[128];
  const auto addr4 = v4("192.0.2.1", 32853);
  const auto n = write_binding_success(out, k_rfc5769_tid, reinterpret_cast<const sockaddr*>(&addr4), k_rfc5769_password);
  ASSERT_EQ(n, 20u + 12 + 24 + 8);
  const std::span<const std::uint8_t> packet(out, n);
  // XOR-MAPPED-ADDRESS right after the header, as the RFC encodes it.
  EXPECT_EQ(std::memcmp(out + 20, k_sample_response_v4.data() + 36, 12), 0);
  const auto m = parse_stun(packet);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, k_stun_binding_success);
  EXPECT_TRUE(m->fingerprint_ok);
  EXPECT_TRUE(verify_integrity(packet, *m, k_rfc5769_password));
  EXPECT_EQ(std::memcmp(&m->mapped, &addr4, sizeof addr4), 0);

  const auto addr6 = v6("2001:db8:1234:5678:11:2233:4455:6677", 32853);
  const auto n6 = write_binding_success(out, k_rfc5769_tid, reinterpret_cast<const sockaddr*>(&addr6), "pw");
  ASSERT_EQ(n6, 20u + 24 + 24 + 8);
  EXPECT_EQ(std::memcmp(out + 20, k_sample_response_v6.data() + 36, 24), 0);
  const auto m6 = parse_stun(std::span<const std::uint8_t>(out, n6));
  ASSERT_TRUE(m6);
  EXPECT_TRUE(verify_integrity(std::span<const std::uint8_t>(out, n6), *m6, "pw"));
  sockaddr_in6 got;
  std::memcpy(&got, &m6->mapped, sizeof got);
  EXPECT_EQ(got.sin6_port, addr6.sin6_port);
  EXPECT_EQ(std::memcmp(&got.sin6_addr, &addr6.sin6_addr, 16), 0);
}

TEST(WebrtcStun, IntegrityMatchesOpenSslHmacForLongKeys) {
  // Keys longer than the SHA-1 block are hashed first (RFC 2104); ICE passwords may be 256 chars.
  const std::string key(200, 'k');
  std::uint8_t out[128];
  const auto n = write_binding_error(out, k_rfc5769_tid, 401, "Unauthorized", key);
  ASSERT_GT(n, 0u);
  const std::span<const std::uint8_t> packet(out, n);
  const auto m = parse_stun(packet);
  ASSERT_TRUE(m);
  ASSERT_GT(m->integrity_offset, 0u);
  EXPECT_TRUE(verify_integrity(packet, *m, key));
  // Recompute with OpenSSL's HMAC over the adjusted header + attributes.
  std::vector<std::uint8_t> covered(out, out + m->integrity_offset);
  set16(covered, 2, static_cast<std::uint16_t>(m->integrity_offset + 24 - 20));
  unsigned char mac[20];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), covered.data(), covered.size(), mac, &mac_len);
  EXPECT_EQ(std::memcmp(mac, out + m->integrity_offset + 4, 20), 0);
}

TEST(WebrtcStun, BindingErrorCarriesCodeAndReason) {
  std::uint8_t out[256];
  for (const std::uint16_t code : {400, 401, 420, 487}) {
    const auto n = write_binding_error(out, k_rfc5769_tid, code, "Role Conflict", "");
    ASSERT_GT(n, 0u);
    const auto m = parse_stun(std::span<const std::uint8_t>(out, n));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, k_stun_binding_error);
    EXPECT_EQ(m->error_code, code);
    EXPECT_EQ(m->error_reason, "Role Conflict");
    EXPECT_EQ(m->integrity_offset, 0u);  // no key, no MI
    EXPECT_TRUE(m->fingerprint_ok);
    EXPECT_FALSE(verify_integrity(std::span<const std::uint8_t>(out, n), *m, "anything"));
  }
  EXPECT_EQ(write_binding_error(out, k_rfc5769_tid, 200, "bad", ""), 0u);
  EXPECT_EQ(write_binding_error(out, k_rfc5769_tid, 700, "bad", ""), 0u);
  EXPECT_EQ(write_binding_error(out, k_rfc5769_tid, 400, std::string(800, 'x'), ""), 0u);
}

TEST(WebrtcStun, BindingRequestRoundTrip) {
  std::uint8_t out[256];
  const StunTransactionId tid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const auto n = write_binding_request(out, tid, "srvU:cliU", "remote-password-22chars", 0x7e7f00ff, true,
                                       0x0102030405060708ull, true);
  ASSERT_GT(n, 0u);
  const std::span<const std::uint8_t> packet(out, n);
  ASSERT_TRUE(is_stun(packet));
  const auto m = parse_stun(packet);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, k_stun_binding_request);
  EXPECT_EQ(m->transaction_id, tid);
  EXPECT_EQ(m->username, "srvU:cliU");
  EXPECT_EQ(m->priority, 0x7e7f00ffu);
  EXPECT_TRUE(m->ice_controlling);
  EXPECT_FALSE(m->ice_controlled);
  EXPECT_EQ(m->tie_breaker, 0x0102030405060708ull);
  EXPECT_TRUE(m->use_candidate);
  EXPECT_TRUE(m->fingerprint_ok);
  EXPECT_TRUE(verify_integrity(packet, *m, "remote-password-22chars"));

  const auto n2 = write_binding_request(out, tid, "a:b", "pw", 1, false, 7, false);
  const auto m2 = parse_stun(std::span<const std::uint8_t>(out, n2));
  ASSERT_TRUE(m2);
  EXPECT_TRUE(m2->ice_controlled);
  EXPECT_FALSE(m2->use_candidate);
}

TEST(WebrtcStun, WritersReportShortBuffers) {
  std::uint8_t out[256];
  const auto addr = v4("10.0.0.1", 5000);
  const auto* sa = reinterpret_cast<const sockaddr*>(&addr);
  const auto full = write_binding_success(out, k_rfc5769_tid, sa, "key");
  ASSERT_EQ(full, 64u);
  for (std::size_t size = 0; size < full; ++size) {
    EXPECT_EQ(write_binding_success(std::span<std::uint8_t>(out, size), k_rfc5769_tid, sa, "key"), 0u) << size;
  }
  EXPECT_EQ(write_binding_success(std::span<std::uint8_t>(out, full), k_rfc5769_tid, sa, "key"), full);
  sockaddr bad{};
  bad.sa_family = AF_UNIX;
  EXPECT_EQ(write_binding_success(out, k_rfc5769_tid, &bad, "key"), 0u);
  EXPECT_EQ(write_binding_request(out, k_rfc5769_tid, std::string(600, 'u'), "k", 1, true, 1, false), 0u);
  // Without a mapped address: header + FINGERPRINT only.
  EXPECT_EQ(write_binding_success(out, k_rfc5769_tid, nullptr, ""), 28u);
}

TEST(WebrtcStun, IsStunRejectsOtherProtocols) {
  EXPECT_FALSE(is_stun({}));
  std::vector<std::uint8_t> p = k_sample_request;
  p[0] = 0x80;  // RTP
  EXPECT_FALSE(is_stun(p));
  p = k_sample_request;
  p[0] = 0x16;  // DTLS handshake content type is 22 (0x16): first two bits 0, but no cookie
  p[4] = 0xfe;
  EXPECT_FALSE(is_stun(p));
  p = k_sample_request;
  p.push_back(0);  // datagram longer than the length field says
  EXPECT_FALSE(is_stun(p));
  p = k_sample_request;
  set16(p, 2, 0x57);  // not a multiple of 4
  EXPECT_FALSE(is_stun(p));
  EXPECT_FALSE(is_stun(std::span<const std::uint8_t>(k_sample_request.data(), 19)));
}

TEST(WebrtcStun, FingerprintMismatchIsReportedNotRejected) {
  auto p = k_sample_request;
  p.back() ^= 0x01;
  const auto m = parse_stun(p);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->has_fingerprint);
  EXPECT_FALSE(m->fingerprint_ok);
}

TEST(WebrtcStun, TamperedMessageFailsIntegrity) {
  for (std::size_t i = 0; i < 76; ++i) {  // every byte before MI, padding included
    auto p = k_sample_request;
    p[i] ^= 0x40;
    const auto m = parse_stun(p);
    if (!m) continue;  // some flips make it malformed
    EXPECT_FALSE(verify_integrity(p, *m, k_rfc5769_password)) << i;
  }
}

TEST(WebrtcStun, RejectsMalformedAttributes) {
  // attribute overrunning the message
  EXPECT_FALSE(parse_stun(message({0x00, 0x06, 0x00, 0x09, 'a', 'b', 'c', 'd'})));
  // header of an attribute cut short is impossible with length%4==0, but a zero-padded overrun is:
  EXPECT_FALSE(parse_stun(message({0x00, 0x24, 0x00, 0x08, 0, 0, 0, 1})));
  // PRIORITY with the wrong length
  EXPECT_FALSE(parse_stun(message({0x00, 0x24, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 2})));
  // USE-CANDIDATE with a value
  EXPECT_FALSE(parse_stun(message({0x00, 0x25, 0x00, 0x04, 0, 0, 0, 0})));
  // ICE-CONTROLLING with 4 bytes
  EXPECT_FALSE(parse_stun(message({0x80, 0x2a, 0x00, 0x04, 0, 0, 0, 0})));
  // both roles
  EXPECT_FALSE(parse_stun(message({0x80, 0x2a, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 1,
                                   0x80, 0x29, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 2})));
  // MESSAGE-INTEGRITY of 16 bytes
  EXPECT_FALSE(parse_stun(message({0x00, 0x08, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})));
  // FINGERPRINT of 8 bytes
  EXPECT_FALSE(parse_stun(message({0x80, 0x28, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0})));
  // XOR-MAPPED-ADDRESS with an unknown family, and v4 with v6 length
  EXPECT_FALSE(parse_stun(message({0x00, 0x20, 0x00, 0x08, 0x00, 0x03, 0, 0, 0, 0, 0, 0})));
  EXPECT_FALSE(parse_stun(message({0x00, 0x20, 0x00, 0x04, 0x00, 0x01, 0, 0})));
  // ERROR-CODE with class 2 or number 100
  EXPECT_FALSE(parse_stun(message({0x00, 0x09, 0x00, 0x04, 0, 0, 2, 0}, k_stun_binding_error)));
  EXPECT_FALSE(parse_stun(message({0x00, 0x09, 0x00, 0x04, 0, 0, 4, 100}, k_stun_binding_error)));
  // USERNAME longer than 512 bytes
  std::vector<std::uint8_t> long_user = {0x00, 0x06, 0x02, 0x04};
  long_user.resize(4 + 516, 'u');
  EXPECT_FALSE(parse_stun(message(long_user)));
  // an empty message is fine
  EXPECT_TRUE(parse_stun(message({})));
}

TEST(WebrtcStun, EnforcesAttributeOrderAroundIntegrityAndFingerprint) {
  // Anything after FINGERPRINT, including MESSAGE-INTEGRITY.
  auto p = k_sample_request;
  p.insert(p.end(), {0x00, 0x25, 0x00, 0x00});
  set16(p, 2, static_cast<std::uint16_t>(p.size() - 20));
  EXPECT_FALSE(parse_stun(p));
  p = k_sample_request;
  std::vector<std::uint8_t> mi = {0x00, 0x08, 0x00, 0x14};
  mi.resize(24, 0);
  p.insert(p.end(), mi.begin(), mi.end());
  set16(p, 2, static_cast<std::uint16_t>(p.size() - 20));
  EXPECT_FALSE(parse_stun(p));
  // USE-CANDIDATE between MESSAGE-INTEGRITY and FINGERPRINT.
  p = k_sample_request;
  p.insert(p.begin() + 100, {0x00, 0x25, 0x00, 0x00});
  set16(p, 2, static_cast<std::uint16_t>(p.size() - 20));
  EXPECT_FALSE(parse_stun(p));
  // Two MESSAGE-INTEGRITY attributes.
  p = message({});
  auto two = mi;
  two.insert(two.end(), mi.begin(), mi.end());
  EXPECT_FALSE(parse_stun(message(two)));
  // MESSAGE-INTEGRITY without FINGERPRINT is fine (a plain STUN client may send that).
  const auto only_mi = parse_stun(message(mi));
  ASSERT_TRUE(only_mi);
  EXPECT_EQ(only_mi->integrity_offset, 20u);
  EXPECT_FALSE(only_mi->has_fingerprint);
}

TEST(WebrtcStun, ReportsUnknownComprehensionRequiredAttribute) {
  const auto m = parse_stun(message({0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0,    // CHANGE-REQUEST
                                     0x80, 0x55, 0x00, 0x04, 1, 2, 3, 4}));  // optional, ignored
  ASSERT_TRUE(m);
  EXPECT_EQ(m->unknown_required_attribute, 0x0003);
}

TEST(WebrtcStun, FirstDuplicateWins) {
  const auto packet = message({0x00, 0x06, 0x00, 0x04, 'a', ':', 'b', 'c',  // views point into it
                               0x00, 0x06, 0x00, 0x04, 'x', ':', 'y', 'z'});
  const auto m = parse_stun(packet);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->username, "a:bc");
}

TEST(WebrtcStun, VerifyIntegrityRejectsForgedOffsets) {
  const auto m = parse_stun(k_sample_request);
  ASSERT_TRUE(m);
  StunMessage forged = *m;
  forged.integrity_offset = 1000;
  EXPECT_FALSE(verify_integrity(k_sample_request, forged, k_rfc5769_password));
  forged.integrity_offset = 24;  // not an MI attribute there
  EXPECT_FALSE(verify_integrity(k_sample_request, forged, k_rfc5769_password));
  forged.integrity_offset = 5;
  EXPECT_FALSE(verify_integrity(k_sample_request, forged, k_rfc5769_password));
}

// Every truncation and random mutation of the vectors parses or is rejected without crashing
// (ASan/UBSan watch), and nothing parsed lies outside the packet.
TEST(WebrtcStun, HostileMutationsNeverCrash) {
  std::mt19937 rng(5769);
  for (const auto* base : {&k_sample_request, &k_sample_response_v4, &k_sample_response_v6}) {
    for (std::size_t len = 0; len <= base->size(); ++len) {
      std::vector<std::uint8_t> p(base->begin(), base->begin() + static_cast<std::ptrdiff_t>(len));
      (void)parse_stun(p);
    }
    for (int round = 0; round < 3000; ++round) {
      auto p = *base;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) p[4 + rng() % (p.size() - 4)] = static_cast<std::uint8_t>(rng());
      p[4] = 0x21, p[5] = 0x12, p[6] = 0xa4, p[7] = 0x42;  // keep the cookie so the attribute walk runs
      set16(p, 2, static_cast<std::uint16_t>(p.size() - 20));
      if (const auto m = parse_stun(p)) {
        if (!m->username.empty()) {
          EXPECT_GE(reinterpret_cast<const std::uint8_t*>(m->username.data()), p.data());
          EXPECT_LE(reinterpret_cast<const std::uint8_t*>(m->username.data()) + m->username.size(), p.data() + p.size());
        }
        (void)verify_integrity(p, *m, k_rfc5769_password);
      }
    }
  }
}
