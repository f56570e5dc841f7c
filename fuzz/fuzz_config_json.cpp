// Config documents arrive via PUT /api/v3/config and from files: overlay + validate must turn any
// JSON into either a valid config or errors, never a crash.
#include <cstddef>
#include <cstdint>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dragon::config::Config base = dragon::config::Config::defaults();
  const auto doc = nlohmann::json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;
  auto c = base;
  const auto errors = c.overlay(doc);
  if (errors.empty()) {
    (void)c.validate();
    auto redacted = c.to_json_redacted();
    c.unredact(redacted);
  }
  return 0;
}
