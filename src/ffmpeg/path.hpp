#pragma once
// Lexical path handling as Go's path/filepath on Unix (Clean, Abs), which upstream uses to confine
// file outputs; the cwd is injected so resolution stays pure.
#include <string>
#include <string_view>

namespace dragon::ffmpeg::path {

std::string clean(std::string_view p);
// Joins with `cwd` when relative, then cleans. An empty path yields the cleaned cwd.
std::string absolute(std::string_view p, std::string_view cwd);

}  // namespace dragon::ffmpeg::path
