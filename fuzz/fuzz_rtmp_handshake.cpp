// The handshake is the first thing anyone on the network can send the RTMP port. Whatever arrives, in
// whatever pieces: never read past the input, never consume past C2, answer exactly once with
// S0+S1+S2, and hand what follows C2 to the chunk reader.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rtmp/chunk.hpp"
#include "rtmp/handshake.hpp"

using namespace dragon::rtmp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte chooses the piece size the "socket" delivers.
  const std::size_t step = 1 + data[0] * 13;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  Handshake hs;
  std::size_t used = 0, replies = 0;
  std::vector<std::uint8_t> pending;
  std::size_t offered = 0;
  while (offered < in.size() && !hs.done() && !hs.failed()) {
    const std::size_t n = std::min(step, in.size() - offered);
    pending.insert(pending.end(), in.begin() + static_cast<std::ptrdiff_t>(offered),
                   in.begin() + static_cast<std::ptrdiff_t>(offered + n));
    offered += n;
    const std::size_t u = hs.feed(pending);
    if (u > pending.size()) __builtin_trap();
    used += u;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(u));
    if (!hs.output().empty()) {
      if (hs.output().size() != 1 + 2 * k_handshake_size || hs.output()[0] != 3) __builtin_trap();
      ++replies;
      (void)hs.take_output();
    }
  }
  if (replies > 1) __builtin_trap();
  if (hs.done()) {
    if (used != 1 + 2 * k_handshake_size) __builtin_trap();
    // What follows belongs to the chunk stream.
    pending.insert(pending.end(), in.begin() + static_cast<std::ptrdiff_t>(offered), in.end());
    ChunkReader reader(ChunkLimits{.max_message_size = 1 << 20, .max_chunk_size = 1 << 20, .max_chunk_streams = 16});
    std::vector<Message> out;
    const std::size_t u = reader.feed(pending, out);
    if (u > pending.size()) __builtin_trap();
  }
  return 0;
}
