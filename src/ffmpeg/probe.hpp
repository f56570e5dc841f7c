#pragma once
// GET /api/v3/process/{id}/probe as upstream (restream.ProbeWithTimeout + ffmpeg/probe): FFmpeg runs
// with the process's global options and every input (its options, `-i address`) but no output, so
// it prints the stream overview and exits with "At least one output file must be specified". The
// streams come from an `ffmpeg.inputs:` JSON line (datarhei's patched FFmpeg) if there is one, else
// from the "Input #…"/"Stream #…" prelude; `log` is every stderr line.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ffmpeg/prelude.hpp"
#include "ffmpeg/process_config.hpp"

namespace dragon::ffmpeg {

struct Probe {
  std::vector<StreamInfo> streams;
  std::vector<std::string> log;
};

// Pure: FFmpeg's stderr → Probe. Lines split like upstream's reader (on '\r' or '\n', empty lines
// dropped); `avstream.progress:` lines are not logged.
Probe parse_probe(std::string_view stderr_text);
Probe parse_probe_lines(std::vector<std::string> lines);

// The arguments after the binary: options, then per input its options and `-i address`.
std::vector<std::string> probe_arguments(const ProcessConfig& resolved);

// Runs `binary` on a config whose placeholders the caller has already resolved. Never throws; a
// failure to start yields just that error as the log (like upstream). Blocks up to `timeout`.
Probe run_probe(const std::string& binary, const ProcessConfig& resolved,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Upstream's body: {"streams":[{url,format,index,stream,language,type,codec,coder,bitrate_kbps,
// duration_sec,fps,pix_fmt,width,height,sampling_hz,layout,channels}],"log":[...]}.
nlohmann::ordered_json probe_to_json(const Probe& p);

}  // namespace dragon::ffmpeg
