// RFC 4571 framing arrives on the ICE-TCP port from anyone: whatever the bytes and however the
// kernel splits them, the decoder must never read or write outside them, must give the same
// frames for every split, and what it returns must re-encode to the bytes it came from.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "webrtc/tcp_framing.hpp"

using namespace dragon::webrtc;

namespace {

struct Decoded {
  std::vector<std::vector<std::uint8_t>> frames;
  bool failed = false;
};

// Splits `stream` into chunks whose sizes come from `sizes` (cycled; 0 means 1).
Decoded decode(std::vector<std::uint8_t> stream, const std::uint8_t* sizes, std::size_t n_sizes, std::size_t max_frame) {
  TcpFrameDecoder d(max_frame);
  Decoded out;
  std::size_t pos = 0, k = 0;
  while (pos < stream.size() && !out.failed) {
    std::size_t len = n_sizes ? sizes[k++ % n_sizes] : stream.size();
    if (len == 0) len = 1;
    len = std::min(len, stream.size() - pos);
    std::uint8_t* const chunk_begin = stream.data() + pos;
    std::span<std::uint8_t> in(chunk_begin, len);
    pos += len;
    while (!in.empty()) {
      const auto r = d.next(in);
      if (r.consumed > in.size()) __builtin_trap();
      in = in.subspan(r.consumed);
      if (r.status == TcpFrameDecoder::Status::Error) {
        out.failed = true;
        if (!d.failed()) __builtin_trap();
        if (d.next(in).consumed != 0) __builtin_trap();  // sticky
        break;
      }
      if (r.status == TcpFrameDecoder::Status::NeedMore) {
        if (!in.empty()) __builtin_trap();
        break;
      }
      if (r.frame.empty() || r.frame.size() > d.max_frame()) __builtin_trap();
      out.frames.emplace_back(r.frame.begin(), r.frame.end());
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0: the cap (small caps reach the error path often); byte 1: how many chunk sizes follow.
  const std::size_t max_frame = data[0] < 128 ? k_tcp_default_max_frame : 1 + data[0] * 4u;
  const std::size_t n_sizes = std::min<std::size_t>(data[1] % 16, size - 2);
  const std::uint8_t* sizes = data + 2;
  const std::vector<std::uint8_t> stream(data + 2 + n_sizes, data + size);

  const Decoded whole = decode(stream, nullptr, 0, max_frame);
  const Decoded split = decode(stream, sizes, n_sizes, max_frame);
  const std::uint8_t one = 1;
  const Decoded bytewise = decode(stream, &one, 1, max_frame);
  if (whole.frames != split.frames || whole.failed != split.failed) __builtin_trap();
  if (whole.frames != bytewise.frames || whole.failed != bytewise.failed) __builtin_trap();

  // Re-encode: the frames are the stream's prefix, byte for byte.
  std::vector<std::uint8_t> again;
  for (const auto& f : whole.frames) {
    std::vector<std::uint8_t> buf(k_tcp_frame_header + f.size());
    std::memcpy(buf.data() + k_tcp_frame_header, f.data(), f.size());
    const auto framed = frame_in_headroom(buf, f.size());
    if (framed.size() != buf.size()) __builtin_trap();
    again.insert(again.end(), buf.begin(), buf.end());
  }
  if (again.size() > stream.size()) __builtin_trap();
  if (!again.empty() && std::memcmp(again.data(), stream.data(), again.size()) != 0) __builtin_trap();
  return 0;
}
