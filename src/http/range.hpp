#pragma once
// The Range request header (RFC 9110 §14): one byte range is served as 206; several ranges are
// answered with the whole file (200), which the RFC allows, so no multipart bodies exist here.
#include <cstdint>
#include <string_view>

namespace dragon::http {

struct ByteRange {
  enum class Kind {
    None,           // no usable Range header: send the whole representation (200)
    Satisfiable,    // send [first, last] (206)
    Unsatisfiable,  // 416 with "Content-Range: bytes */<size>"
  };
  Kind kind = Kind::None;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::uint64_t length() const { return last - first + 1; }
};

// `header` is the Range value ("bytes=0-99", "bytes=100-", "bytes=-500"). Unknown units, malformed
// values and multiple ranges give None; a syntactically valid range outside `size` gives
// Unsatisfiable.
ByteRange parse_range(std::string_view header, std::uint64_t size);

}  // namespace dragon::http
