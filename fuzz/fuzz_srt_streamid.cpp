// SRT stream ids arrive in the handshake from anyone who can send UDP to the port: the parser must
// answer every byte string with an id or an error, never crash, never quote a token in an error,
// and what it accepts must survive a format/parse round trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "srt/streamid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dragon::srt;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = parse_stream_id(in);
  if (!r.ok()) {
    if (r.error.size() > 128) __builtin_trap();  // errors are short and bounded
    return 0;
  }
  if (r.id.resource.empty() || in.size() > kMaxStreamIdLength) __builtin_trap();
  // The token is a substring of the input and never part of the resource's bytes after it.
  if (!r.id.token.empty() && in.find(r.id.token) == std::string_view::npos) __builtin_trap();
  // A resource starting with "#!:" cannot be expressed in the short syntax; everything else round-trips.
  if (r.id.resource.rfind("#!:", 0) == 0) return 0;
  const std::string again = format_stream_id(r.id);
  if (again.size() > kMaxStreamIdLength) return 0;
  const auto r2 = parse_stream_id(again);
  if (!r2.ok() || r2.id.resource != r.id.resource || r2.id.mode != r.id.mode || r2.id.token != r.id.token)
    __builtin_trap();
  return 0;
}
