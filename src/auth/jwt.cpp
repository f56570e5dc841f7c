#include "auth/jwt.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "util/base64.hpp"
#include "util/random.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace dragon::auth {

namespace {

using nlohmann::json;

constexpr std::string_view k_issuer = "datarhei-core";
constexpr std::size_t k_max_token_size = 8 * 1024;
// base64url of {"alg":"HS256","typ":"JWT"}, byte for byte what upstream (golang-jwt) emits.
constexpr std::string_view k_header_b64 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

std::string_view use_name(TokenUse use) { return use == TokenUse::Access ? "access" : "refresh"; }

std::chrono::seconds validity(TokenUse use) {
  return use == TokenUse::Access ? JwtService::k_access_validity : JwtService::k_refresh_validity;
}

VerifyResult fail(VerifyError e) {
  VerifyResult r;
  r.error = e;
  return r;
}

// Integer-valued JSON number that fits int64; floats and strings are not accepted (as golang-jwt's
// NumericDate would truncate them silently, we prefer to refuse).
bool get_int(const json& obj, const char* key, std::int64_t& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return false;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return true;
  }
  return false;
}

std::optional<json> decode_object(std::string_view b64) {
  const auto raw = util::base64url_decode(b64);
  if (!raw) return std::nullopt;
  json j = json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

std::string_view to_string(VerifyError e) {
  switch (e) {
    case VerifyError::Malformed: return "malformed token";
    case VerifyError::BadHeader: return "unsupported token header";
    case VerifyError::BadSignature: return "invalid signature";
    case VerifyError::Expired: return "token expired";
    case VerifyError::NotYetValid: return "token not yet valid";
    case VerifyError::WrongIssuer: return "wrong issuer";
    case VerifyError::WrongUse: return "token used for the wrong purpose";
    case VerifyError::MissingClaims: return "missing or invalid claims";
  }
  return "unknown error";
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  // OpenSSL 3's HMAC() rejects a null key pointer even with length 0; point at something.
  static const unsigned char k_empty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&k_empty) : key.data();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out, &out_len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

JwtService::JwtService(std::string key) : key_(std::move(key)) {}

std::string JwtService::issue(std::string_view subject, TokenUse use) const {
  return issue(subject, use, util::now_unix());
}

std::string JwtService::issue(std::string_view subject, TokenUse use, std::int64_t now_unix) const {
  const std::int64_t exi = validity(use).count();
  // nlohmann objects serialise with sorted keys, which is exactly upstream's claim order.
  const json claims = {
      {"exi", exi},
      {"exp", now_unix + exi},
      {"iat", now_unix},
      {"iss", k_issuer},
      {"jti", util::uuid_v4()},
      {"sub", subject},
      {"usefor", use_name(use)},
  };
  std::string token(k_header_b64);
  token.push_back('.');
  token += util::base64url_encode(claims.dump(-1, ' ', false, json::error_handler_t::replace));
  const std::string sig = hmac_sha256(key_, token);
  token.push_back('.');
  token += util::base64url_encode(sig);
  return token;
}

TokenPair JwtService::issue_pair(std::string_view subject) const {
  const auto now = util::now_unix();
  return {issue(subject, TokenUse::Access, now), issue(subject, TokenUse::Refresh, now)};
}

VerifyResult JwtService::verify(std::string_view token, TokenUse expected) const {
  return verify(token, expected, util::now_unix());
}

VerifyResult JwtService::verify(std::string_view token, TokenUse expected, std::int64_t now_unix) const {
  if (token.size() > k_max_token_size) return fail(VerifyError::Malformed);

  const auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return fail(VerifyError::Malformed);
  const auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail(VerifyError::Malformed);
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view sig_b64 = token.substr(dot2 + 1);

  // Structure first, then the header, then the signature; claims are parsed only once authentic.
  const auto payload = util::base64url_decode(payload_b64);
  const auto sig = util::base64url_decode(sig_b64);
  if (!payload || !sig) return fail(VerifyError::Malformed);
  const auto header = decode_object(header_b64);
  if (!header) return fail(VerifyError::Malformed);

  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return fail(VerifyError::BadHeader);
  }
  if (const auto typ = header->find("typ");
      typ != header->end() && (!typ->is_string() || !util::iequals(typ->get_ref<const std::string&>(), "JWT"))) {
    return fail(VerifyError::BadHeader);
  }
  // We understand no extensions, so any critical one makes the token unacceptable (RFC 7515 §4.1.11).
  if (header->contains("crit")) return fail(VerifyError::BadHeader);

  const std::string expected_sig = hmac_sha256(key_, token.substr(0, dot2));
  if (!util::secure_equals(expected_sig, *sig)) return fail(VerifyError::BadSignature);

  const json claims = json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (claims.is_discarded() || !claims.is_object()) return fail(VerifyError::Malformed);

  Claims c;
  const auto sub = claims.find("sub");
  const auto usefor = claims.find("usefor");
  if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty() ||
      usefor == claims.end() || !usefor->is_string() || !get_int(claims, "exp", c.expires_at)) {
    return fail(VerifyError::MissingClaims);
  }
  // iat, nbf and exi are optional (upstream always sets iat and exi), but must be integers if present.
  std::int64_t nbf = std::numeric_limits<std::int64_t>::min();
  if ((claims.contains("iat") && !get_int(claims, "iat", c.issued_at)) ||
      (claims.contains("nbf") && !get_int(claims, "nbf", nbf)) ||
      (claims.contains("exi") && !get_int(claims, "exi", c.validity_seconds))) {
    return fail(VerifyError::MissingClaims);
  }
  if (const auto jti = claims.find("jti"); jti != claims.end()) {
    if (!jti->is_string()) return fail(VerifyError::MissingClaims);
    c.id = jti->get<std::string>();
  }

  const auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || iss->get_ref<const std::string&>() != k_issuer) {
    return fail(VerifyError::WrongIssuer);
  }
  // Saturating arithmetic: now_unix comes from callers and claims from the token.
  constexpr auto k_min = std::numeric_limits<std::int64_t>::min();
  constexpr auto k_max = std::numeric_limits<std::int64_t>::max();
  const std::int64_t lo = now_unix < k_min + leeway_seconds_ ? k_min : now_unix - leeway_seconds_;
  const std::int64_t hi = now_unix > k_max - leeway_seconds_ ? k_max : now_unix + leeway_seconds_;
  if (c.expires_at <= lo) return fail(VerifyError::Expired);
  if (c.issued_at > hi || nbf > hi) return fail(VerifyError::NotYetValid);

  const auto& use = usefor->get_ref<const std::string&>();
  if (use != use_name(expected)) return fail(VerifyError::WrongUse);

  c.subject = sub->get<std::string>();
  c.use = expected;
  VerifyResult r;
  r.claims = std::move(c);
  return r;
}

}  // namespace dragon::auth
