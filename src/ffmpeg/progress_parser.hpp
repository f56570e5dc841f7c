#pragma once
// FFmpeg stderr parser (upstream ffmpeg/parse): one line at a time, time injected by the caller.
//  * `frame= ... fps= ... q= ... size= ... time= ... bitrate= ... speed= ...` (vanilla stats), also
//    behind a "[level] " prefix (-loglevel level+info);
//  * `ffmpeg.inputs:` / `ffmpeg.outputs:` / `ffmpeg.progress:` JSON lines (datarhei's patched FFmpeg);
//  * every other line goes to the log ring and, until progress starts, to the prelude
//    (first 100 + last 50 lines, "... truncated N lines ..." between).
// Rates (fps, pps, bitrate) are 30 s sliding averages of counter deltas, not FFmpeg's own numbers.
// Not thread-safe: the owner (process/ or restream/) serialises access.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ffmpeg/prelude.hpp"
#include "ffmpeg/sliding_average.hpp"

namespace dragon::ffmpeg {

struct ParserConfig {
  std::size_t log_lines = 50;     // ffmpeg.log.max_lines
  std::size_t max_history = 3;    // ffmpeg.log.max_history
  std::size_t prelude_head = 100;
  std::size_t prelude_tail = 50;
  std::size_t max_line_bytes = 64 * 1024;  // longer lines are cut before storing (hostile output)
};

struct Framerate {
  double min = 0, max = 0, avg = 0;
};

struct ProgressIO {
  std::string id;  // filled by the caller from the config (by index), see progress_to_json
  StreamInfo info;
  std::uint64_t frame = 0, keyframe = 0, packet = 0, size_bytes = 0, extradata_size_bytes = 0;
  Framerate framerate;
  double fps = 0, pps = 0, bitrate_bps = 0, q = 0;
};

struct Progress {
  std::vector<ProgressIO> inputs, outputs;
  std::uint64_t frame = 0, packet = 0, size_bytes = 0, drop = 0, dup = 0;
  double fps = 0, pps = 0, q = 0, time_seconds = 0, bitrate_bps = 0, speed = 0;
};

struct LogLine {
  std::int64_t timestamp = 0;  // unix seconds
  std::string data;
};

struct Report {
  std::int64_t created_at = 0;
  std::vector<std::string> prelude;
  std::vector<LogLine> log;
};

class ProgressParser {
 public:
  explicit ProgressParser(ParserConfig config = {}, std::int64_t now = 0);

  // One stderr line without its terminator. Returns the progress signal for stale detection:
  // vanilla = frames since the previous stats line, JSON = product of per-output frame deltas
  // (0 when any output stalled); 0 for non-progress lines.
  std::uint64_t parse(std::string_view line, std::int64_t now);

  const Progress& progress() const { return progress_; }
  bool prelude_done() const { return prelude_done_; }
  std::vector<std::string> prelude() const;
  std::vector<LogLine> log() const;
  std::string last_line() const;  // state.last_logline
  Report report() const;
  std::vector<Report> history() const;  // oldest first

  // On every (re)start: counters and stream info cleared (upstream ResetStats).
  void reset_stats();
  // On every (re)start: the current report joins the history (if it has a prelude), new log.
  void reset_log(std::int64_t now);
  // Update keeps the history of the replaced process (upstream TransferReportHistory).
  void transfer_history_to(ProgressParser& dst) const;

 private:
  void store_line(std::string_view line, std::int64_t now);
  bool finish_vanilla_prelude();
  bool parse_vanilla(std::string_view line);
  bool parse_json_io(std::string_view json, bool input);
  bool parse_json_progress(std::string_view json);
  std::uint64_t update_rates(bool json_mode, std::int64_t now);

  ParserConfig cfg_;
  // prelude
  std::vector<std::string> head_;
  std::vector<std::string> tail_;  // ring of prelude_tail
  std::size_t tail_pos_ = 0;
  std::uint64_t truncated_ = 0;
  bool prelude_done_ = false;
  // log ring
  std::vector<LogLine> log_;
  std::size_t log_pos_ = 0;
  std::int64_t log_start_ = 0;
  std::deque<Report> history_;
  // progress
  Progress progress_;
  std::vector<StreamInfo> inputs_, outputs_;  // from the prelude / ffmpeg.inputs: lines
  struct Counters {
    std::uint64_t frame = 0, packet = 0, size = 0;
  };
  struct Rates {
    SlidingAverage fps, pps, bitrate;
  };
  Counters last_main_{};
  std::vector<Counters> last_in_, last_out_;
  Rates main_rates_;
  std::vector<Rates> in_rates_, out_rates_;
  bool stats_initialized_ = false;
};

// state.progress in upstream's names/types: globals as integer-when-integral else 3 decimals,
// per-IO rates always fractional, kbit = bit/s ÷ 1024, size_kb = bytes ÷ 1024, ids by index.
nlohmann::ordered_json progress_to_json(const Progress& p, const std::vector<std::string>& input_ids,
                                        const std::vector<std::string>& output_ids);
// report: {"created_at","prelude","log":[["<unix>","line"],...],"history":[...]}
nlohmann::ordered_json report_to_json(const Report& current, const std::vector<Report>& history);

// Go duration strings as in ffmpeg.progress ("0h0m1.8s", "1.5s", "300ms"); false if malformed.
bool parse_go_duration(std::string_view s, double& seconds);

}  // namespace dragon::ffmpeg
