#include "ffmpeg/json_number.hpp"
#include "ffmpeg/progress_parser.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace dragon::ffmpeg {
namespace {

using json = nlohmann::json;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// First occurrence of `key\s*(run)` where run is a non-empty span of `pred` characters (and, when
// given, directly followed by `suffix`), as Go's FindStringSubmatch on such a regex.
template <typename Pred>
bool find_value(std::string_view line, std::string_view key, Pred pred, std::string_view& out,
                std::string_view suffix = {}) {
  for (auto p = line.find(key); p != std::string_view::npos; p = line.find(key, p + 1)) {
    std::size_t i = p + key.size();
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t s = i;
    while (i < line.size() && pred(line[i])) ++i;
    if (i == s) continue;
    if (!suffix.empty() && !line.substr(i).starts_with(suffix)) continue;
    out = line.substr(s, i - s);
    return true;
  }
  return false;
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

bool parse_f64(std::string_view s, double& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

bool is_num_char(char c) { return is_digit(c) || c == '.'; }

// `time=\s*([0-9]+):([0-9]{2}):([0-9]{2}).([0-9]{2})`
bool find_time(std::string_view line, double& seconds) {
  for (auto p = line.find("time="); p != std::string_view::npos; p = line.find("time=", p + 1)) {
    std::size_t i = p + 5;
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t s = i;
    while (i < line.size() && is_digit(line[i])) ++i;
    if (i == s || i + 9 > line.size()) continue;
    auto two = [&](std::size_t k) { return is_digit(line[k]) && is_digit(line[k + 1]); };
    if (line[i] != ':' || !two(i + 1) || line[i + 3] != ':' || !two(i + 4) || !two(i + 7)) continue;
    double h = 0;
    if (!parse_f64(line.substr(s, i - s), h)) continue;
    auto d2 = [&](std::size_t k) { return (line[k] - '0') * 10 + (line[k + 1] - '0'); };
    seconds = h * 3600 + d2(i + 1) * 60 + d2(i + 4) + d2(i + 7) / 100.0;
    return true;
  }
  return false;
}

std::uint64_t delta(std::uint64_t now, std::uint64_t before) { return now >= before ? now - before : 0; }

std::uint64_t j_u64(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_number_integer()) return it->get<std::int64_t>() > 0 ? static_cast<std::uint64_t>(it->get<std::int64_t>()) : 0;
  if (it->is_number_float()) return it->get<double>() > 0 ? static_cast<std::uint64_t>(it->get<double>()) : 0;
  return 0;
}
double j_f64(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<double>() : 0.0;
}
std::string j_str(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::ordered_json number(double v) { return json_number(v); }
// `%.3f` rendered as a JSON float.
double fixed3(double v) { return std::isfinite(v) ? std::round(v * 1000) / 1000 : 0.0; }

nlohmann::ordered_json io_json(const ProgressIO& io, const std::vector<std::string>& ids) {
  nlohmann::ordered_json o;
  o["id"] = io.info.index < ids.size() ? ids[io.info.index] : std::string();
  o["address"] = io.info.address;
  o["index"] = io.info.index;
  o["stream"] = io.info.stream;
  o["format"] = io.info.format;
  o["type"] = io.info.type;
  o["codec"] = io.info.codec;
  o["coder"] = io.info.coder;
  o["frame"] = io.frame;
  o["keyframe"] = io.keyframe;
  o["framerate"] = {{"min", fixed3(io.framerate.min)}, {"max", fixed3(io.framerate.max)},
                    {"avg", fixed3(io.framerate.avg)}};
  o["fps"] = fixed3(io.fps);
  o["packet"] = io.packet;
  o["pps"] = fixed3(io.pps);
  o["size_kb"] = io.size_bytes / 1024;
  o["bitrate_kbit"] = fixed3(io.bitrate_bps / 1024);
  o["extradata_size_bytes"] = io.extradata_size_bytes;
  if (!io.info.pix_fmt.empty()) o["pix_fmt"] = io.info.pix_fmt;
  o["q"] = fixed3(io.q);  // a json.Number string upstream, so never omitted
  if (io.info.width) o["width"] = io.info.width;
  if (io.info.height) o["height"] = io.info.height;
  if (io.info.sampling_hz) o["sampling_hz"] = io.info.sampling_hz;
  if (!io.info.layout.empty()) o["layout"] = io.info.layout;
  if (io.info.channels) o["channels"] = io.info.channels;
  o["avstream"] = nullptr;
  return o;
}

nlohmann::ordered_json report_entry(const Report& r) {
  nlohmann::ordered_json o;
  o["created_at"] = r.created_at;
  o["prelude"] = r.prelude;
  auto log = nlohmann::ordered_json::array();
  for (const auto& l : r.log) log.push_back({std::to_string(l.timestamp), l.data});
  o["log"] = std::move(log);
  return o;
}

ProgressIO io_from_info(const StreamInfo& s) {
  ProgressIO io;
  io.info = s;
  return io;
}

}  // namespace

ProgressParser::ProgressParser(ParserConfig config, std::int64_t now) : cfg_(config), log_start_(now) {
  if (cfg_.log_lines == 0) cfg_.log_lines = 1;
  if (cfg_.prelude_head == 0) cfg_.prelude_head = 100;
  if (cfg_.prelude_tail == 0) cfg_.prelude_tail = 50;
  log_.reserve(std::min<std::size_t>(cfg_.log_lines, 1024));
}

void ProgressParser::store_line(std::string_view line, std::int64_t now) {
  if (line.size() > cfg_.max_line_bytes) line = line.substr(0, cfg_.max_line_bytes);
  if (log_.size() < cfg_.log_lines) {
    log_.push_back({now, std::string(line)});
  } else {
    log_[log_pos_] = {now, std::string(line)};
    log_pos_ = (log_pos_ + 1) % cfg_.log_lines;
  }
  if (prelude_done_) return;
  if (head_.size() < cfg_.prelude_head) {
    head_.emplace_back(line);
    return;
  }
  if (tail_.size() < cfg_.prelude_tail) tail_.emplace_back(line);
  else tail_[tail_pos_].assign(line);
  tail_pos_ = (tail_pos_ + 1) % cfg_.prelude_tail;
  ++truncated_;
}

std::uint64_t ProgressParser::parse(std::string_view raw, std::int64_t now) {
  const std::string_view line = strip_level_prefix(raw);
  const bool is_default = line.starts_with("frame=");
  const bool is_inputs = line.starts_with("ffmpeg.inputs:");
  const bool is_outputs = line.starts_with("ffmpeg.outputs:");
  const bool is_progress = line.starts_with("ffmpeg.progress:");
  const bool is_avstream = line.starts_with("avstream.progress:");

  if (!prelude_done_) {
    if (is_avstream || is_progress) return 0;
    if (is_inputs) {
      parse_json_io(line.substr(14), true);
      return 0;
    }
    if (is_outputs) {
      if (parse_json_io(line.substr(15), false)) prelude_done_ = true;
      return 0;
    }
    if (is_default) {
      if (!finish_vanilla_prelude()) return 0;
      prelude_done_ = true;
    }
  }

  if (!is_default && !is_progress && !is_avstream) {
    store_line(raw, now);
    return 0;
  }
  if (!prelude_done_ || is_avstream) return 0;  // playout stats: patched FFmpeg only, not kept

  if (!stats_initialized_) {
    last_main_ = {};
    last_in_.assign(inputs_.size(), {});
    last_out_.assign(outputs_.size(), {});
    main_rates_ = {};
    in_rates_.assign(inputs_.size(), {});
    out_rates_.assign(outputs_.size(), {});
    stats_initialized_ = true;
  }
  const bool ok = is_default ? parse_vanilla(line) : parse_json_progress(line.substr(16));
  if (!ok) return 0;
  return update_rates(is_progress, now);
}

bool ProgressParser::parse_vanilla(std::string_view line) {
  std::string_view v;
  std::uint64_t u = 0;
  double d = 0;
  if (find_value(line, "frame=", is_digit, v) && parse_u64(v, u)) progress_.frame = u;
  if (find_value(line, "q=", is_num_char, v) && parse_f64(v, d)) progress_.q = d;
  if (find_value(line, "size=", is_digit, v, "kB") && parse_u64(v, u)) progress_.size_bytes = u * 1024;
  if (find_time(line, d)) progress_.time_seconds = d;
  if (find_value(line, "speed=", is_num_char, v, "x") && parse_f64(v, d)) progress_.speed = d;
  if (find_value(line, "drop=", is_digit, v) && parse_u64(v, u)) progress_.drop = u;
  if (find_value(line, "dup=", is_digit, v) && parse_u64(v, u)) progress_.dup = u;
  return true;
}

bool ProgressParser::parse_json_io(std::string_view text, bool input) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty()) return false;
  std::vector<StreamInfo> ios;
  ios.reserve(j.size());
  for (const auto& o : j) {
    if (!o.is_object()) return false;
    StreamInfo s;
    s.address = j_str(o, "url");
    s.format = j_str(o, "format");
    s.index = j_u64(o, "index");
    s.stream = j_u64(o, "stream");
    s.type = j_str(o, "type");
    s.codec = j_str(o, "codec");
    s.coder = j_str(o, "coder");
    s.pix_fmt = j_str(o, "pix_fmt");
    s.width = j_u64(o, "width");
    s.height = j_u64(o, "height");
    s.sampling_hz = j_u64(o, "sampling_hz");
    s.layout = j_str(o, "layout");
    s.channels = j_u64(o, "channels");
    ios.push_back(std::move(s));
  }
  auto& target = input ? inputs_ : outputs_;
  target = std::move(ios);
  auto& pios = input ? progress_.inputs : progress_.outputs;
  pios.clear();
  for (const auto& s : target) pios.push_back(io_from_info(s));
  return true;
}

bool ProgressParser::parse_json_progress(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  static const json kEmpty = json::array();
  const json& in = j.contains("inputs") && j["inputs"].is_array() ? j["inputs"] : kEmpty;
  const json& out = j.contains("outputs") && j["outputs"].is_array() ? j["outputs"] : kEmpty;
  if (in.size() != inputs_.size() || out.size() != outputs_.size()) return false;

  auto fill = [](const json& src, ProgressIO& io) {
    if (!src.is_object()) return;
    io.info.index = j_u64(src, "index");
    io.info.stream = j_u64(src, "stream");
    io.frame = j_u64(src, "frame");
    io.keyframe = j_u64(src, "keyframe");
    io.packet = j_u64(src, "packet");
    io.size_bytes = j_u64(src, "size_bytes");
    if (io.size_bytes == 0) io.size_bytes = j_u64(src, "size_kb") * 1024;
    io.extradata_size_bytes = j_u64(src, "extradata_size_bytes");
    io.q = j_f64(src, "q");
    io.framerate = {};
    if (auto f = src.find("framerate"); f != src.end() && f->is_object())
      io.framerate = {j_f64(*f, "min"), j_f64(*f, "max"), j_f64(*f, "avg")};
  };
  for (std::size_t i = 0; i < in.size(); ++i) fill(in[i], progress_.inputs[i]);
  for (std::size_t i = 0; i < out.size(); ++i) fill(out[i], progress_.outputs[i]);
  progress_.frame = j_u64(j, "frame");
  progress_.packet = j_u64(j, "packet");
  progress_.q = j_f64(j, "q");
  progress_.size_bytes = j_u64(j, "size_bytes");
  if (progress_.size_bytes == 0) progress_.size_bytes = j_u64(j, "size_kb") * 1024;
  progress_.time_seconds = 0;
  if (auto t = j.find("time"); t != j.end()) {
    double secs = 0;
    if (t->is_string() && parse_go_duration(t->get<std::string>(), secs)) progress_.time_seconds = secs;
    else if (t->is_number()) progress_.time_seconds = t->get<double>() / 1e9;  // upstream: a number is ns
  }
  progress_.speed = j_f64(j, "speed");
  progress_.drop = j_u64(j, "drop");
  progress_.dup = j_u64(j, "dup");
  return true;
}

std::uint64_t ProgressParser::update_rates(bool json_mode, std::int64_t now) {
  const Counters cur{progress_.frame, progress_.packet, progress_.size_bytes};
  const Counters d{delta(cur.frame, last_main_.frame), delta(cur.packet, last_main_.packet),
                   delta(cur.size, last_main_.size)};
  last_main_ = cur;
  main_rates_.fps.add(now, static_cast<std::int64_t>(d.frame));
  main_rates_.pps.add(now, static_cast<std::int64_t>(d.packet));
  main_rates_.bitrate.add(now, static_cast<std::int64_t>(d.size * 8));
  progress_.fps = main_rates_.fps.average(now);
  progress_.pps = main_rates_.pps.average(now);
  progress_.bitrate_bps = main_rates_.bitrate.average(now);

  std::uint64_t out_product = 1;
  auto side = [&](std::vector<ProgressIO>& ios, std::vector<Counters>& last, std::vector<Rates>& rates,
                  bool outputs) {
    if (!json_mode || ios.size() != last.size()) return;
    for (std::size_t i = 0; i < ios.size(); ++i) {
      auto& io = ios[i];
      const Counters c{io.frame, io.packet, io.size_bytes};
      const Counters dd{delta(c.frame, last[i].frame), delta(c.packet, last[i].packet), delta(c.size, last[i].size)};
      last[i] = c;
      rates[i].fps.add(now, static_cast<std::int64_t>(dd.frame));
      rates[i].pps.add(now, static_cast<std::int64_t>(dd.packet));
      rates[i].bitrate.add(now, static_cast<std::int64_t>(dd.size * 8));
      io.fps = rates[i].fps.average(now);
      io.pps = rates[i].pps.average(now);
      io.bitrate_bps = rates[i].bitrate.average(now);
      if (outputs) out_product *= dd.frame;
    }
  };
  side(progress_.inputs, last_in_, in_rates_, false);
  side(progress_.outputs, last_out_, out_rates_, true);
  return json_mode ? out_product : d.frame;
}

bool ProgressParser::finish_vanilla_prelude() {
  PreludeInfo info = parse_prelude(prelude());
  if (info.outputs.size() != info.mapped_outputs) return false;
  inputs_ = std::move(info.inputs);
  outputs_ = std::move(info.outputs);
  progress_.inputs.clear();
  progress_.outputs.clear();
  for (const auto& s : inputs_) progress_.inputs.push_back(io_from_info(s));
  for (const auto& s : outputs_) progress_.outputs.push_back(io_from_info(s));
  return true;
}

std::vector<std::string> ProgressParser::prelude() const {
  std::vector<std::string> out;
  out.reserve(head_.size() + tail_.size() + 1);
  out = head_;
  if (!tail_.empty()) {
    if (truncated_ > cfg_.prelude_tail)
      out.push_back(fmt::format("... truncated {} lines ...", truncated_ - cfg_.prelude_tail));
    // Oldest first: once full, the oldest entry sits at tail_pos_.
    const std::size_t start = tail_.size() < cfg_.prelude_tail ? 0 : tail_pos_;
    for (std::size_t i = 0; i < tail_.size(); ++i) out.push_back(tail_[(start + i) % tail_.size()]);
  }
  return out;
}

std::vector<LogLine> ProgressParser::log() const {
  std::vector<LogLine> out;
  out.reserve(log_.size());
  const std::size_t start = log_.size() < cfg_.log_lines ? 0 : log_pos_;
  for (std::size_t i = 0; i < log_.size(); ++i) out.push_back(log_[(start + i) % log_.size()]);
  return out;
}

std::string ProgressParser::last_line() const {
  if (log_.empty()) return {};
  const std::size_t last = log_.size() < cfg_.log_lines ? log_.size() - 1 : (log_pos_ + log_.size() - 1) % log_.size();
  return log_[last].data;
}

Report ProgressParser::report() const { return Report{log_start_, prelude(), log()}; }

std::vector<Report> ProgressParser::history() const { return {history_.begin(), history_.end()}; }

void ProgressParser::reset_stats() {
  progress_ = Progress{};
  inputs_.clear();
  outputs_.clear();
  last_main_ = {};
  last_in_.clear();
  last_out_.clear();
  main_rates_ = {};
  in_rates_.clear();
  out_rates_.clear();
  stats_initialized_ = false;
  prelude_done_ = false;
}

void ProgressParser::reset_log(std::int64_t now) {
  if (cfg_.max_history > 0) {
    Report r = report();
    if (!r.prelude.empty()) {
      history_.push_back(std::move(r));
      while (history_.size() > cfg_.max_history) history_.pop_front();
    }
  }
  head_.clear();
  tail_.clear();
  tail_pos_ = 0;
  truncated_ = 0;
  prelude_done_ = false;
  log_.clear();
  log_pos_ = 0;
  log_start_ = now;
}

void ProgressParser::transfer_history_to(ProgressParser& dst) const {
  if (dst.cfg_.max_history == 0) return;
  for (const auto& r : history_) {
    dst.history_.push_back(r);
    while (dst.history_.size() > dst.cfg_.max_history) dst.history_.pop_front();
  }
}

nlohmann::ordered_json progress_to_json(const Progress& p, const std::vector<std::string>& input_ids,
                                        const std::vector<std::string>& output_ids) {
  nlohmann::ordered_json o;
  auto in = nlohmann::ordered_json::array();
  for (const auto& io : p.inputs) in.push_back(io_json(io, input_ids));
  auto out = nlohmann::ordered_json::array();
  for (const auto& io : p.outputs) out.push_back(io_json(io, output_ids));
  o["inputs"] = std::move(in);
  o["outputs"] = std::move(out);
  o["frame"] = p.frame;
  o["packet"] = p.packet;
  o["fps"] = number(p.fps);
  o["q"] = number(p.q);
  o["size_kb"] = p.size_bytes / 1024;
  o["time"] = number(p.time_seconds);
  o["bitrate_kbit"] = number(p.bitrate_bps / 1024);
  o["speed"] = number(p.speed);
  o["drop"] = p.drop;
  o["dup"] = p.dup;
  return o;
}

nlohmann::ordered_json report_to_json(const Report& current, const std::vector<Report>& history) {
  nlohmann::ordered_json o = report_entry(current);
  auto h = nlohmann::ordered_json::array();
  for (const auto& r : history) h.push_back(report_entry(r));
  o["history"] = std::move(h);
  return o;
}

bool parse_go_duration(std::string_view s, double& seconds) {
  if (s.empty()) return false;
  double sign = 1;
  if (s[0] == '-' || s[0] == '+') {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  if (s == "0") {
    seconds = 0;
    return true;
  }
  if (s.empty()) return false;
  double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && (is_digit(s[i]) || s[i] == '.')) ++i;
    double v = 0;
    if (i == 0 || !parse_f64(s.substr(0, i), v)) return false;
    s.remove_prefix(i);
    std::size_t u = 0;
    while (u < s.size() && !is_digit(s[u]) && s[u] != '.') ++u;
    auto unit = s.substr(0, u);
    s.remove_prefix(u);
    double mul = 0;
    if (unit == "h") mul = 3600;
    else if (unit == "m") mul = 60;
    else if (unit == "s") mul = 1;
    else if (unit == "ms") mul = 1e-3;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") mul = 1e-6;
    else if (unit == "ns") mul = 1e-9;
    else return false;
    total += v * mul;
  }
  seconds = sign * total;
  return true;
}

}  // namespace dragon::ffmpeg
