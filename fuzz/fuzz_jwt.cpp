// Bearer tokens come straight from the network: verification must reject anything malformed
// without crashing, and never accept a token it did not sign.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dragon::auth::JwtService jwt("fuzz-key");
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const auto a = jwt.verify(token, dragon::auth::TokenUse::Access, 1795597669);
  const auto r = jwt.verify(token, dragon::auth::TokenUse::Refresh, 1795597669);
  if (a && r) __builtin_trap();  // one token cannot be both
  return 0;
}
