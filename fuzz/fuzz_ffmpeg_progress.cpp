// FFmpeg's stderr is untrusted (inputs are remote streams; names and metadata end up in it): the
// progress parser must survive any line sequence.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ffmpeg/progress_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dragon::ffmpeg::ProgressParser parser({.log_lines = 8, .max_history = 2}, 0);
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::int64_t now = 0;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    parser.parse(rest.substr(0, nl), now++);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
    if (now % 50 == 0) parser.reset_log(now);
  }
  (void)dragon::ffmpeg::progress_to_json(parser.progress(), {"in"}, {"out"});
  (void)dragon::ffmpeg::report_to_json(parser.report(), parser.history());
  return 0;
}
