#pragma once
// RFC 4571 framing for ICE-TCP (RFC 6544): every STUN message, DTLS record and SRTP/SRTCP packet on
// a TCP connection is preceded by its length as a 16-bit big-endian integer.
//
// TcpFrameDecoder is a pure incremental decoder: feed it bytes as they arrive, in any split, and it
// hands back complete frames. A frame that arrives whole inside one read is returned as a view into
// the caller's bytes (no copy); only a frame split across reads is assembled in the decoder's own
// buffer (allocated once, max_frame bytes, on first need). A zero length or a length above
// max_frame puts the decoder in a permanent error state: the connection is to be closed (a peer
// that sends such a length is not speaking ICE-TCP, and there is no way to resynchronise).
//
// The encoder writes the 2-byte prefix into headroom the caller reserved in front of the payload,
// so sending never allocates per packet. Nothing here does I/O.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace dragon::webrtc {

inline constexpr std::size_t k_tcp_frame_header = 2;
// What a viewer sends over ICE-TCP: STUN checks, DTLS records (fragmented by the peer to its path
// MTU, ~1200–1500 bytes), SRTCP. 2048 leaves room for any of them; RFC 4571 itself allows 65535.
inline constexpr std::size_t k_tcp_default_max_frame = 2048;
inline constexpr std::size_t k_tcp_max_frame_limit = 65535;

class TcpFrameDecoder {
 public:
  enum class Status { NeedMore, Frame, Error };
  struct Result {
    Status status = Status::NeedMore;
    std::size_t consumed = 0;      // bytes of the input this call used (always all of them unless Frame)
    std::span<std::uint8_t> frame;  // with Frame: valid until the next call or the input's end of life
  };

  // max_frame is clamped to 1..65535.
  explicit TcpFrameDecoder(std::size_t max_frame = k_tcp_default_max_frame);

  // Reads from `in` until one frame is complete (Frame; `consumed` may be < in.size(): call again
  // with the rest), the input is used up (NeedMore), or the length prefix is invalid (Error; sticky,
  // nothing further is read). The returned frame may point into `in` (which is why it is mutable:
  // SRTCP is decrypted in place) or into the decoder's buffer.
  Result next(std::span<std::uint8_t> in);

  bool failed() const { return state_ == State::Failed; }
  // Bytes of a frame (or its header) received but not yet returned.
  std::size_t buffered() const { return header_have_ + body_have_; }
  std::size_t max_frame() const { return max_frame_; }
  // Why it failed: the offending length (0 or > max_frame); 0 if it did not fail.
  std::size_t bad_length() const { return bad_length_; }

 private:
  enum class State { Header, Body, Failed };
  std::size_t max_frame_;
  State state_ = State::Header;
  std::uint8_t header_[k_tcp_frame_header] = {0, 0};
  std::size_t header_have_ = 0;
  std::size_t length_ = 0;     // of the frame being assembled
  std::size_t body_have_ = 0;  // bytes of it in buffer_
  std::size_t bad_length_ = 0;
  std::unique_ptr<std::uint8_t[]> buffer_;
};

// Writes the RFC 4571 prefix for a payload of `payload_size` bytes into `headroom` (at least 2
// bytes; the payload follows it). False, writing nothing, if the size is 0 or above 65535 or the
// headroom is too small.
bool write_tcp_frame_header(std::span<std::uint8_t> headroom, std::size_t payload_size);

// `buffer` holds 2 bytes of headroom then the payload: fills the headroom and returns the whole
// frame (2 + payload_size bytes), or an empty span if it cannot be framed.
std::span<std::uint8_t> frame_in_headroom(std::span<std::uint8_t> buffer, std::size_t payload_size);

}  // namespace dragon::webrtc
