#pragma once
// Splits FFmpeg's stderr bytes into lines as upstream reads them: on '\r' or '\n', empty lines
// skipped. Lines longer than `max_line` are cut (the rest up to the next terminator is dropped), so a
// hostile child cannot grow memory without bound. Pure: the caller feeds bytes from its pipe.
#include <cstddef>
#include <string>
#include <string_view>

namespace dragon::ffmpeg {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 64 * 1024) : max_(max_line) {}

  template <typename Fn>  // Fn(std::string_view line)
  void feed(std::string_view bytes, Fn&& on_line) {
    for (char c : bytes) {
      if (c == '\r' || c == '\n') {
        if (!buf_.empty()) on_line(std::string_view(buf_));
        buf_.clear();
        continue;
      }
      if (buf_.size() < max_) buf_ += c;
    }
  }
  // At EOF: the unterminated rest, if any.
  template <typename Fn>
  void finish(Fn&& on_line) {
    if (!buf_.empty()) on_line(std::string_view(buf_));
    buf_.clear();
  }

 private:
  std::size_t max_;
  std::string buf_;
};

}  // namespace dragon::ffmpeg
