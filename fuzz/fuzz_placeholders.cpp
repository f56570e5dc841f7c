// Process configs come from API clients: placeholder resolution, references and validation must
// turn any config into a command or an error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ffmpeg/command.hpp"
#include "ffmpeg/input_limits.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dragon::ffmpeg::Replacer replacer = [] {
    dragon::ffmpeg::PlaceholderSettings s;
    s.diskfs = "/data";
    s.memfs = "http://admin:pw@localhost:8080/memfs";
    s.rtmp_address = "127.0.0.1:1935";
    s.srt_address = "127.0.0.1:6000";
    s.srt_passphrase = "pass phrase";
    return dragon::ffmpeg::make_replacer(s);
  }();
  static const dragon::ffmpeg::ValidationSettings validation = [] {
    dragon::ffmpeg::ValidationSettings v;
    v.disk_dir = "/data";
    return v;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  dragon::ffmpeg::ProcessConfig c;
  c.id = "fuzz";
  c.reference = "ref";
  c.input.push_back({"in", text, {"-f", "lavfi"}, {}});
  c.output.push_back({"out", text, {text}, {{text, 1, 0, true}}});
  c.options = {text};
  (void)dragon::ffmpeg::check_process_input(c);
  dragon::ffmpeg::ResolveContext ctx;
  ctx.replacer = &replacer;
  ctx.validation = &validation;
  ctx.lookup = [](std::string_view) -> const dragon::ffmpeg::ProcessConfig* { return nullptr; };
  (void)dragon::ffmpeg::resolve_process(c, ctx);
  return 0;
}
