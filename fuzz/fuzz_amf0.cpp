// AMF0 comes from clients (commands, metadata). The decoder must reject malformed input with a reason,
// never recurse without bound, and whatever it accepts must encode and decode back to the same values.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rtmp/amf0.hpp"

using namespace dragon::rtmp::amf0;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string error;
  const auto values = decode_all({data, size}, &error);
  if (!values) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  const auto bytes = encode_all(*values);
  const auto again = decode_all(bytes, &error);
  if (!again || *again != *values) __builtin_trap();
  if (encode_all(*again) != bytes) __builtin_trap();
  return 0;
}
