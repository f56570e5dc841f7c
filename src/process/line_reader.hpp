#pragma once
// Splits a child's stderr bytes into lines as upstream reads them: on '\r' or '\n', empty lines
// skipped (so "\r\n" is one terminator). A line longer than max_line is cut at max_line bytes and
// the rest up to the next terminator dropped: a hostile child cannot grow our memory. NUL bytes
// are ordinary bytes.
#include <cstddef>
#include <string>
#include <string_view>

namespace dragon::process {

class LineReader {
 public:
  static constexpr std::size_t k_default_max_line = 64 * 1024;
  explicit LineReader(std::size_t max_line = k_default_max_line) : max_(max_line == 0 ? 1 : max_line) {}

  template <typename Fn>  // Fn(std::string_view line)
  void feed(std::string_view bytes, Fn&& on_line) {
    while (!bytes.empty()) {
      std::size_t end = bytes.find_first_of("\r\n");
      std::string_view part = bytes.substr(0, end);
      if (end == std::string_view::npos) {
        append(part);
        return;
      }
      if (buf_.empty() && !truncated_) {
        // Whole line inside this chunk: no copy.
        if (!part.empty()) on_line(part.substr(0, max_));
      } else {
        append(part);
        if (!buf_.empty()) on_line(std::string_view(buf_));
      }
      buf_.clear();
      truncated_ = false;
      bytes.remove_prefix(end + 1);
    }
  }

  // At EOF: the unterminated rest, if any.
  template <typename Fn>
  void finish(Fn&& on_line) {
    if (!buf_.empty()) on_line(std::string_view(buf_));
    reset();
  }

  void reset() {
    buf_.clear();
    truncated_ = false;
  }

  std::size_t buffered() const { return buf_.size(); }

 private:
  void append(std::string_view part) {
    std::size_t room = max_ - buf_.size();
    if (part.size() > room) {
      truncated_ = true;
      part = part.substr(0, room);
    }
    buf_.append(part);
  }

  std::size_t max_;
  std::string buf_;
  bool truncated_ = false;
};

}  // namespace dragon::process
