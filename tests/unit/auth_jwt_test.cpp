#include "auth/jwt.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "util/base64.hpp"
#include "util/time.hpp"

namespace dragon::auth {
namespace {

using nlohmann::json;

// Upstream's HMAC key: username + password + api.auth.jwt.secret (get_config.json sample).
const std::string k_upstream_key = "admin" "oracle-test-pass" "oracle-fixed-jwt-secret-0123456789abcdef";
// post_api_login.json, issued by datarhei Core 16.16.0 at iat 1795597664.
const std::string k_upstream_access =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJleGkiOjYwMCwiZXhwIjoxNzk1NTk4MjY0LCJpYXQiOjE3OTU1OTc2NjQsImlzcyI6ImRhdGFyaGVpLWNvcmUiLCJqdGkiOiJhZGEzNDNkMy1j"
    "ZDYxLTRiYTctODBhNC0wYTlkZjQ4MjIzYmYiLCJzdWIiOiJhZG1pbiIsInVzZWZvciI6ImFjY2VzcyJ9."
    "8XVPoXcFSb8XzN5xoQgdDeT62R2wku1mMJ5HQVVyK_8";
const std::string k_upstream_refresh =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJleGkiOjg2NDAwLCJleHAiOjE3OTU2ODQwNjQsImlhdCI6MTc5NTU5NzY2NCwiaXNzIjoiZGF0YXJoZWktY29yZSIsImp0aSI6IjZkNjAwZjFk"
    "LWQwM2QtNDljYy1hNWU2LTExZTcwZjdjZWI1YiIsInN1YiI6ImFkbWluIiwidXNlZm9yIjoicmVmcmVzaCJ9."
    "Anj_JRrJuywH0xE2A5G23nsYyywWqJygIeB23Wh_hts";
constexpr std::int64_t k_upstream_iat = 1795597664;

constexpr std::int64_t k_now = 1'800'000'000;
const std::string k_key = "user" "pass" "secret";

std::string hex(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::vector<std::string> parts(const std::string& token) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto dot = token.find('.', start);
    out.push_back(token.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

json decode_part(const std::string& b64) {
  const auto raw = util::base64url_decode(b64);
  EXPECT_TRUE(raw.has_value());
  return json::parse(raw.value_or("null"));
}

// Signs arbitrary header/payload text with `key`, to forge tokens that pass the signature check.
std::string sign(const std::string& header, const std::string& payload, const std::string& key) {
  std::string t = util::base64url_encode(header) + "." + util::base64url_encode(payload);
  return t + "." + util::base64url_encode(hmac_sha256(key, t));
}

std::string claims_json(std::int64_t iat, std::int64_t exp, std::string_view usefor = "access",
                        std::string_view iss = "datarhei-core") {
  return json{{"exi", exp - iat}, {"exp", exp}, {"iat", iat}, {"iss", iss}, {"jti", "x"},
              {"sub", "user"},    {"usefor", usefor}}
      .dump();
}

const std::string k_hs256_header = R"({"alg":"HS256","typ":"JWT"})";

VerifyError error_of(const VerifyResult& r) {
  EXPECT_FALSE(r);
  return r.error;
}

// --- HMAC ------------------------------------------------------------------------------------

TEST(AuthHmac, Rfc4231TestCases) {
  // Test case 1
  EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: key shorter than the block
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: key longer than the block (hashed first)
  EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(AuthHmac, EmptyKeyAndData) {
  EXPECT_EQ(hex(hmac_sha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// --- Issuing ---------------------------------------------------------------------------------

TEST(AuthJwt, AccessTokenShape) {
  const JwtService jwt(k_key);
  const auto token = jwt.issue("user", TokenUse::Access, k_now);
  const auto p = parts(token);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
  const auto raw_header = util::base64url_decode(p[0]);
  ASSERT_TRUE(raw_header);
  EXPECT_EQ(*raw_header, k_hs256_header);

  const auto claims = decode_part(p[1]);
  std::vector<std::string> keys;
  for (const auto& [k, v] : claims.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"exi", "exp", "iat", "iss", "jti", "sub", "usefor"}));
  EXPECT_EQ(claims["exi"], 600);
  EXPECT_EQ(claims["iat"], k_now);
  EXPECT_EQ(claims["exp"], k_now + 600);
  EXPECT_EQ(claims["iss"], "datarhei-core");
  EXPECT_EQ(claims["sub"], "user");
  EXPECT_EQ(claims["usefor"], "access");
  const auto jti = claims["jti"].get<std::string>();
  ASSERT_EQ(jti.size(), 36u);
  EXPECT_EQ(jti[14], '4');  // UUID version 4
  // Same claim serialisation as upstream: compact, sorted.
  EXPECT_EQ(util::base64url_decode(p[1]).value(),
            R"({"exi":600,"exp":)" + std::to_string(k_now + 600) + R"(,"iat":)" + std::to_string(k_now) +
                R"(,"iss":"datarhei-core","jti":")" + jti + R"(","sub":"user","usefor":"access"})");
}

TEST(AuthJwt, RoundTripAccess) {
  const JwtService jwt(k_key);
  const auto token = jwt.issue("user", TokenUse::Access, k_now);
  const auto r = jwt.verify(token, TokenUse::Access, k_now + 10);
  ASSERT_TRUE(r) << to_string(r.error);
  EXPECT_EQ(r.claims->subject, "user");
  EXPECT_EQ(r.claims->use, TokenUse::Access);
  EXPECT_EQ(r.claims->issued_at, k_now);
  EXPECT_EQ(r.claims->expires_at, k_now + 600);
  EXPECT_EQ(r.claims->validity_seconds, 600);
  EXPECT_EQ(r.claims->expires_at - r.claims->issued_at, 600);
  EXPECT_EQ(r.claims->id.size(), 36u);
}

TEST(AuthJwt, RoundTripRefresh) {
  const JwtService jwt(k_key);
  const auto token = jwt.issue("user", TokenUse::Refresh, k_now);
  const auto r = jwt.verify(token, TokenUse::Refresh, k_now + 86000);
  ASSERT_TRUE(r) << to_string(r.error);
  EXPECT_EQ(r.claims->use, TokenUse::Refresh);
  EXPECT_EQ(r.claims->validity_seconds, 86400);
  EXPECT_EQ(r.claims->expires_at - r.claims->issued_at, 86400);
}

TEST(AuthJwt, PairWithRealClock) {
  const JwtService jwt(k_key);
  const auto pair = jwt.issue_pair("admin");
  const auto a = jwt.verify(pair.access_token, TokenUse::Access);
  const auto r = jwt.verify(pair.refresh_token, TokenUse::Refresh);
  ASSERT_TRUE(a);
  ASSERT_TRUE(r);
  EXPECT_EQ(a.claims->issued_at, r.claims->issued_at);
  EXPECT_NEAR(static_cast<double>(a.claims->issued_at), static_cast<double>(util::now_unix()), 5);
  EXPECT_NE(a.claims->id, r.claims->id);
  // Fresh jti per token, so two tokens in the same second still differ.
  EXPECT_NE(jwt.issue("admin", TokenUse::Access, k_now), jwt.issue("admin", TokenUse::Access, k_now));
}

// --- Compatibility with upstream -------------------------------------------------------------

TEST(AuthJwt, VerifiesUpstreamTokens) {
  const JwtService jwt(k_upstream_key);
  const auto a = jwt.verify(k_upstream_access, TokenUse::Access, k_upstream_iat);
  ASSERT_TRUE(a) << to_string(a.error);
  EXPECT_EQ(a.claims->subject, "admin");
  EXPECT_EQ(a.claims->issued_at, k_upstream_iat);
  EXPECT_EQ(a.claims->expires_at, k_upstream_iat + 600);
  EXPECT_EQ(a.claims->validity_seconds, 600);
  EXPECT_EQ(a.claims->id, "ada343d3-cd61-4ba7-80a4-0a9df48223bf");

  const auto r = jwt.verify(k_upstream_refresh, TokenUse::Refresh, k_upstream_iat);
  ASSERT_TRUE(r) << to_string(r.error);
  EXPECT_EQ(r.claims->validity_seconds, 86400);
  EXPECT_EQ(r.claims->id, "6d600f1d-d03d-49cc-a5e6-11e70f7ceb5b");
}

TEST(AuthJwt, ReproducesUpstreamSignatureByteForByte) {
  // Our serialisation of the same claims must give upstream's exact token.
  const auto p = parts(k_upstream_access);
  const auto payload = util::base64url_decode(p[1]).value();
  const auto claims = json::parse(payload);
  EXPECT_EQ(claims.dump(), payload);
  EXPECT_EQ(sign(k_hs256_header, claims.dump(), k_upstream_key), k_upstream_access);
}

TEST(AuthJwt, UpstreamTokensRejectedWithOtherCredentials) {
  const JwtService jwt("admin" "other-pass" "oracle-fixed-jwt-secret-0123456789abcdef");
  EXPECT_EQ(error_of(jwt.verify(k_upstream_access, TokenUse::Access, k_upstream_iat)), VerifyError::BadSignature);
}

TEST(AuthJwt, UpstreamAccessExpiresAfterTenMinutes) {
  const JwtService jwt(k_upstream_key);
  EXPECT_TRUE(jwt.verify(k_upstream_access, TokenUse::Access, k_upstream_iat + 600));  // within leeway
  EXPECT_EQ(error_of(jwt.verify(k_upstream_access, TokenUse::Access, k_upstream_iat + 605)), VerifyError::Expired);
}

// --- Rejections ------------------------------------------------------------------------------

TEST(AuthJwt, RejectsAlgNone) {
  const JwtService jwt(k_key);
  const auto claims = claims_json(k_now, k_now + 600);
  const std::string unsigned_token =
      util::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + util::base64url_encode(claims) + ".";
  EXPECT_EQ(error_of(jwt.verify(unsigned_token, TokenUse::Access, k_now)), VerifyError::BadHeader);
  // Even with a valid HS256 signature over it, the header decides.
  EXPECT_EQ(error_of(jwt.verify(sign(R"({"alg":"none","typ":"JWT"})", claims, k_key), TokenUse::Access, k_now)),
            VerifyError::BadHeader);
  EXPECT_EQ(error_of(jwt.verify(sign(R"({"alg":"None"})", claims, k_key), TokenUse::Access, k_now)),
            VerifyError::BadHeader);
}

TEST(AuthJwt, RejectsOtherAlgorithmsAndOddHeaders) {
  const JwtService jwt(k_key);
  const auto claims = claims_json(k_now, k_now + 600);
  for (const char* header : {R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"RS256","typ":"JWT"})",
                             R"({"alg":"hs256","typ":"JWT"})", R"({"typ":"JWT"})", R"({"alg":256,"typ":"JWT"})",
                             R"({"alg":["HS256"]})", R"({"alg":null})", R"({"alg":"HS256","typ":"JWE"})",
                             R"({"alg":"HS256","typ":1})", R"({"alg":"HS256","crit":["exp"]})"}) {
    EXPECT_EQ(error_of(jwt.verify(sign(header, claims, k_key), TokenUse::Access, k_now)), VerifyError::BadHeader)
        << header;
  }
  // Header without typ, or with extra harmless members, is fine.
  EXPECT_TRUE(jwt.verify(sign(R"({"alg":"HS256"})", claims, k_key), TokenUse::Access, k_now));
  EXPECT_TRUE(jwt.verify(sign(R"({"alg":"HS256","kid":"1","typ":"JWT"})", claims, k_key), TokenUse::Access, k_now));
  // A header that is not a JSON object is malformed.
  EXPECT_EQ(error_of(jwt.verify(sign(R"(["HS256"])", claims, k_key), TokenUse::Access, k_now)),
            VerifyError::Malformed);
  EXPECT_EQ(error_of(jwt.verify(sign("not json", claims, k_key), TokenUse::Access, k_now)), VerifyError::Malformed);
}

TEST(AuthJwt, RejectsTamperedPayload) {
  const JwtService jwt(k_key);
  const auto p = parts(jwt.issue("user", TokenUse::Access, k_now));
  auto claims = decode_part(p[1]);
  claims["sub"] = "admin";
  const auto forged = p[0] + "." + util::base64url_encode(claims.dump()) + "." + p[2];
  EXPECT_EQ(error_of(jwt.verify(forged, TokenUse::Access, k_now)), VerifyError::BadSignature);
  // Refresh token re-labelled as access, signature kept.
  const auto rp = parts(jwt.issue("user", TokenUse::Refresh, k_now));
  auto rclaims = decode_part(rp[1]);
  rclaims["usefor"] = "access";
  EXPECT_EQ(error_of(jwt.verify(rp[0] + "." + util::base64url_encode(rclaims.dump()) + "." + rp[2],
                                TokenUse::Access, k_now)),
            VerifyError::BadSignature);
}

TEST(AuthJwt, RejectsTamperedSignature) {
  const JwtService jwt(k_key);
  const auto token = jwt.issue("user", TokenUse::Access, k_now);
  auto p = parts(token);
  auto sig = util::base64url_decode(p[2]).value();
  sig[0] = static_cast<char>(sig[0] ^ 1);
  EXPECT_EQ(error_of(jwt.verify(p[0] + "." + p[1] + "." + util::base64url_encode(sig), TokenUse::Access, k_now)),
            VerifyError::BadSignature);
  // Truncated and empty signatures.
  EXPECT_EQ(error_of(jwt.verify(p[0] + "." + p[1] + "." + util::base64url_encode(sig.substr(0, 31)),
                                TokenUse::Access, k_now)),
            VerifyError::BadSignature);
  EXPECT_EQ(error_of(jwt.verify(p[0] + "." + p[1] + ".", TokenUse::Access, k_now)), VerifyError::BadSignature);
}

TEST(AuthJwt, RejectsOtherKey) {
  const JwtService issuer(k_key);
  const JwtService other("user" "pass" "other-secret");
  const auto token = issuer.issue("user", TokenUse::Access, k_now);
  EXPECT_EQ(error_of(other.verify(token, TokenUse::Access, k_now)), VerifyError::BadSignature);
}

TEST(AuthJwt, ExpiryWithFixedClock) {
  const JwtService jwt(k_key);
  const auto token = jwt.issue("user", TokenUse::Access, k_now);
  EXPECT_TRUE(jwt.verify(token, TokenUse::Access, k_now + 599));
  EXPECT_TRUE(jwt.verify(token, TokenUse::Access, k_now + 604));  // 5 s leeway
  EXPECT_EQ(error_of(jwt.verify(token, TokenUse::Access, k_now + 605)), VerifyError::Expired);
  EXPECT_EQ(error_of(jwt.verify(token, TokenUse::Access, k_now + 86400)), VerifyError::Expired);
  const auto refresh = jwt.issue("user", TokenUse::Refresh, k_now);
  EXPECT_TRUE(jwt.verify(refresh, TokenUse::Refresh, k_now + 86000));
  EXPECT_EQ(error_of(jwt.verify(refresh, TokenUse::Refresh, k_now + 86405)), VerifyError::Expired);
}

TEST(AuthJwt, RejectsFutureIat) {
  const JwtService jwt(k_key);
  const auto token = jwt.issue("user", TokenUse::Access, k_now + 100);
  EXPECT_EQ(error_of(jwt.verify(token, TokenUse::Access, k_now)), VerifyError::NotYetValid);
  EXPECT_TRUE(jwt.verify(jwt.issue("user", TokenUse::Access, k_now + 5), TokenUse::Access, k_now));  // leeway
  EXPECT_EQ(error_of(jwt.verify(jwt.issue("user", TokenUse::Access, k_now + 6), TokenUse::Access, k_now)),
            VerifyError::NotYetValid);
  // nbf in the future, when present, too.
  auto claims = json::parse(claims_json(k_now, k_now + 600));
  claims["nbf"] = k_now + 60;
  EXPECT_EQ(error_of(jwt.verify(sign(k_hs256_header, claims.dump(), k_key), TokenUse::Access, k_now)),
            VerifyError::NotYetValid);
}

TEST(AuthJwt, RejectsWrongUse) {
  const JwtService jwt(k_key);
  const auto pair_access = jwt.issue("user", TokenUse::Access, k_now);
  const auto pair_refresh = jwt.issue("user", TokenUse::Refresh, k_now);
  EXPECT_EQ(error_of(jwt.verify(pair_refresh, TokenUse::Access, k_now)), VerifyError::WrongUse);
  EXPECT_EQ(error_of(jwt.verify(pair_access, TokenUse::Refresh, k_now)), VerifyError::WrongUse);
  EXPECT_EQ(error_of(jwt.verify(sign(k_hs256_header, claims_json(k_now, k_now + 600, "ACCESS"), k_key),
                                TokenUse::Access, k_now)),
            VerifyError::WrongUse);
}

TEST(AuthJwt, RejectsWrongIssuer) {
  const JwtService jwt(k_key);
  EXPECT_EQ(error_of(jwt.verify(sign(k_hs256_header, claims_json(k_now, k_now + 600, "access", "someone-else"), k_key),
                                TokenUse::Access, k_now)),
            VerifyError::WrongIssuer);
  auto claims = json::parse(claims_json(k_now, k_now + 600));
  claims.erase("iss");
  EXPECT_EQ(error_of(jwt.verify(sign(k_hs256_header, claims.dump(), k_key), TokenUse::Access, k_now)),
            VerifyError::WrongIssuer);
}

TEST(AuthJwt, RejectsMissingOrIllTypedClaims) {
  const JwtService jwt(k_key);
  const auto base = json::parse(claims_json(k_now, k_now + 600));
  auto check = [&](const json& claims) {
    return error_of(jwt.verify(sign(k_hs256_header, claims.dump(), k_key), TokenUse::Access, k_now));
  };
  for (const char* key : {"sub", "exp", "usefor"}) {
    auto c = base;
    c.erase(key);
    EXPECT_EQ(check(c), VerifyError::MissingClaims) << key;
  }
  const std::vector<std::pair<std::string, json>> bad = {
      {"sub", 42},           {"sub", ""},          {"sub", nullptr},        {"usefor", true},
      {"exp", k_now + 600.5}, {"exp", std::to_string(k_now + 600)}, {"exp", nullptr},
      {"exp", 18446744073709551615ull}, {"iat", "now"},  {"iat", 1.5}, {"exi", "600"}, {"jti", 7},
  };
  for (const auto& [key, value] : bad) {
    auto c = base;
    c[key] = value;
    EXPECT_EQ(check(c), VerifyError::MissingClaims) << key << "=" << value.dump();
  }
  // A float exp that happens to be integral is still a float on the wire.
  EXPECT_EQ(check([&] {
              auto c = base;
              c["exp"] = static_cast<double>(k_now + 600);
              return c;
            }()),
            VerifyError::MissingClaims);
}

TEST(AuthJwt, RejectsWrongNumberOfParts) {
  const JwtService jwt(k_key);
  const auto token = jwt.issue("user", TokenUse::Access, k_now);
  const auto p = parts(token);
  EXPECT_EQ(error_of(jwt.verify(p[0] + "." + p[1], TokenUse::Access, k_now)), VerifyError::Malformed);
  EXPECT_EQ(error_of(jwt.verify(token + "." + p[2], TokenUse::Access, k_now)), VerifyError::Malformed);
  EXPECT_EQ(error_of(jwt.verify(token + ".", TokenUse::Access, k_now)), VerifyError::Malformed);
  EXPECT_EQ(error_of(jwt.verify("", TokenUse::Access, k_now)), VerifyError::Malformed);
  EXPECT_EQ(error_of(jwt.verify("..", TokenUse::Access, k_now)), VerifyError::Malformed);
  EXPECT_EQ(error_of(jwt.verify(p[0], TokenUse::Access, k_now)), VerifyError::Malformed);
}

TEST(AuthJwt, RejectsBadBase64) {
  const JwtService jwt(k_key);
  const auto p = parts(jwt.issue("user", TokenUse::Access, k_now));
  for (const std::string& token : {
           "!!!." + p[1] + "." + p[2],                          // garbage header
           p[0] + ".@@@@." + p[2],                              // garbage payload
           p[0] + "." + p[1] + ".***",                          // garbage signature
           p[0] + "=." + p[1] + "." + p[2],                     // padding
           p[0] + "." + p[1] + "." + p[2] + "=",                // padded signature
           p[0] + "." + p[1] + "." + util::base64_encode(util::base64url_decode(p[2]).value()),  // std alphabet
           p[0] + " ." + p[1] + "." + p[2],                     // whitespace
       }) {
    EXPECT_EQ(error_of(jwt.verify(token, TokenUse::Access, k_now)), VerifyError::Malformed) << token;
  }
  // Non-canonical spelling (stray low bits in the last character) of a valid signature.
  std::string sig = p[2];
  ASSERT_EQ(sig.size(), 43u);  // 32 bytes: the last character carries 2 unused bits
  sig.back() = sig.back() == 'A' ? 'B' : static_cast<char>(sig.back() + 1);
  EXPECT_EQ(error_of(jwt.verify(p[0] + "." + p[1] + "." + sig, TokenUse::Access, k_now)), VerifyError::Malformed);
}

TEST(AuthJwt, RejectsHugeToken) {
  const JwtService jwt(k_key);
  auto claims = json::parse(claims_json(k_now, k_now + 600));
  claims["pad"] = std::string(9000, 'x');
  const auto token = sign(k_hs256_header, claims.dump(), k_key);
  ASSERT_GT(token.size(), 8192u);
  EXPECT_EQ(error_of(jwt.verify(token, TokenUse::Access, k_now)), VerifyError::Malformed);
  EXPECT_EQ(error_of(jwt.verify(std::string(1 << 20, 'a'), TokenUse::Access, k_now)), VerifyError::Malformed);
  // Just below the cap is still parsed.
  claims["pad"] = std::string(5000, 'x');
  const auto ok = sign(k_hs256_header, claims.dump(), k_key);
  ASSERT_LE(ok.size(), 8192u);
  EXPECT_TRUE(jwt.verify(ok, TokenUse::Access, k_now));
}

TEST(AuthJwt, RejectsNonObjectPayload) {
  const JwtService jwt(k_key);
  for (const char* payload : {R"(["sub","user"])", "42", R"("user")", "null", "{", ""}) {
    EXPECT_EQ(error_of(jwt.verify(sign(k_hs256_header, payload, k_key), TokenUse::Access, k_now)),
              VerifyError::Malformed)
        << payload;
  }
}

TEST(AuthJwt, ErrorStrings) {
  for (auto e : {VerifyError::Malformed, VerifyError::BadHeader, VerifyError::BadSignature, VerifyError::Expired,
                 VerifyError::NotYetValid, VerifyError::WrongIssuer, VerifyError::WrongUse,
                 VerifyError::MissingClaims}) {
    EXPECT_FALSE(to_string(e).empty());
  }
  EXPECT_EQ(to_string(VerifyError::Expired), "token expired");
}

TEST(AuthJwt, SubjectWithSpecialCharacters) {
  const JwtService jwt(k_key);
  const std::string subject = "üser \"quoted\" <&>";
  const auto r = jwt.verify(jwt.issue(subject, TokenUse::Access, k_now), TokenUse::Access, k_now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.claims->subject, subject);
}

}  // namespace
}  // namespace dragon::auth
