#include "webrtc/tcp_framing.hpp"

#include <algorithm>
#include <cstring>

namespace dragon::webrtc {

TcpFrameDecoder::TcpFrameDecoder(std::size_t max_frame)
    : max_frame_(std::clamp<std::size_t>(max_frame, 1, k_tcp_max_frame_limit)) {}

TcpFrameDecoder::Result TcpFrameDecoder::next(std::span<std::uint8_t> in) {
  std::size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::Failed:
        return {Status::Error, pos, {}};
      case State::Header: {
        if (header_have_ == 0 && in.size() - pos >= k_tcp_frame_header) {
          // Fast path: the header, and maybe the whole frame, are in this read.
          const std::size_t length = (std::size_t{in[pos]} << 8) | in[pos + 1];
          if (length == 0 || length > max_frame_) {
            bad_length_ = length;
            state_ = State::Failed;
            return {Status::Error, pos + k_tcp_frame_header, {}};
          }
          pos += k_tcp_frame_header;
          if (in.size() - pos >= length) {
            const auto frame = in.subspan(pos, length);
            return {Status::Frame, pos + length, frame};
          }
          length_ = length;
          body_have_ = 0;
          state_ = State::Body;
          continue;
        }
        if (pos == in.size()) return {Status::NeedMore, pos, {}};
        header_[header_have_++] = in[pos++];
        if (header_have_ < k_tcp_frame_header) continue;
        header_have_ = 0;
        const std::size_t length = (std::size_t{header_[0]} << 8) | header_[1];
        if (length == 0 || length > max_frame_) {
          bad_length_ = length;
          state_ = State::Failed;
          return {Status::Error, pos, {}};
        }
        length_ = length;
        body_have_ = 0;
        state_ = State::Body;
        continue;
      }
      case State::Body: {
        if (body_have_ == 0 && in.size() - pos >= length_) {
          // The whole body is here (its header came in an earlier read): no copy.
          state_ = State::Header;
          const auto frame = in.subspan(pos, length_);
          return {Status::Frame, pos + length_, frame};
        }
        if (pos == in.size()) return {Status::NeedMore, pos, {}};
        if (!buffer_) buffer_ = std::make_unique<std::uint8_t[]>(max_frame_);
        const std::size_t take = std::min(length_ - body_have_, in.size() - pos);
        std::memcpy(buffer_.get() + body_have_, in.data() + pos, take);
        body_have_ += take;
        pos += take;
        if (body_have_ < length_) return {Status::NeedMore, pos, {}};
        state_ = State::Header;
        const std::size_t n = body_have_;
        body_have_ = 0;
        return {Status::Frame, pos, {buffer_.get(), n}};
      }
    }
  }
}

bool write_tcp_frame_header(std::span<std::uint8_t> headroom, std::size_t payload_size) {
  if (headroom.size() < k_tcp_frame_header || payload_size == 0 || payload_size > k_tcp_max_frame_limit) return false;
  headroom[0] = static_cast<std::uint8_t>(payload_size >> 8);
  headroom[1] = static_cast<std::uint8_t>(payload_size & 0xFF);
  return true;
}

std::span<std::uint8_t> frame_in_headroom(std::span<std::uint8_t> buffer, std::size_t payload_size) {
  if (buffer.size() < k_tcp_frame_header || buffer.size() - k_tcp_frame_header < payload_size) return {};
  if (!write_tcp_frame_header(buffer, payload_size)) return {};
  return buffer.first(k_tcp_frame_header + payload_size);
}

}  // namespace dragon::webrtc
