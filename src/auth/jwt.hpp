#pragma once
// JSON Web Tokens as upstream datarhei Core issues them: HS256 only, claims iss="datarhei-core", sub,
// usefor ("access" | "refresh"), iat, exp, exi (validity in seconds; the Restreamer UI schedules
// its refresh from it), jti (UUID v4). Access tokens live 10 minutes, refresh tokens 24 hours.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dragon::auth {

enum class TokenUse { Access, Refresh };

struct Claims {
  std::string subject;
  TokenUse use = TokenUse::Access;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t validity_seconds = 0;
  std::string id;
};

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
};

enum class VerifyError {
  Malformed,        // not three base64url parts of JSON
  BadHeader,        // alg != HS256 (alg=none included), or typ present and not JWT
  BadSignature,     // HMAC mismatch (tampered or other key)
  Expired,          // exp in the past (no leeway beyond `leeway`)
  NotYetValid,      // iat in the future beyond leeway
  WrongIssuer,      // iss != "datarhei-core"
  WrongUse,         // usefor differs from the expected use
  MissingClaims,    // sub/exp/usefor absent or of the wrong JSON type
};
std::string_view to_string(VerifyError e);

struct VerifyResult {
  std::optional<Claims> claims;
  VerifyError error = VerifyError::Malformed;  // meaningful only when !claims
  explicit operator bool() const { return claims.has_value(); }
};

class JwtService {
 public:
  static constexpr std::chrono::seconds k_access_validity{600};
  static constexpr std::chrono::seconds k_refresh_validity{86400};

  // The HMAC key is upstream's: username + password + secret, so changing the credentials
  // invalidates every token issued before.
  explicit JwtService(std::string key);

  std::string issue(std::string_view subject, TokenUse use) const;
  std::string issue(std::string_view subject, TokenUse use, std::int64_t now_unix) const;
  TokenPair issue_pair(std::string_view subject) const;

  VerifyResult verify(std::string_view token, TokenUse expected) const;
  VerifyResult verify(std::string_view token, TokenUse expected, std::int64_t now_unix) const;

 private:
  std::string key_;
  std::int64_t leeway_seconds_ = 5;
};

// HMAC-SHA256 (OpenSSL), raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace dragon::auth
