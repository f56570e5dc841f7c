#include "restream/registry.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>

#include "ffmpeg/input_limits.hpp"
#include "ffmpeg/json_number.hpp"
#include "ffmpeg/progress_parser.hpp"
#include "log/log.hpp"
#include "process/supervisor.hpp"
#include "util/random.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace dragon::restream {

using nlohmann::json;
using nlohmann::ordered_json;

struct Registry::Process {
  std::mutex mu;  // guards everything below except `sup`
  ffmpeg::ProcessConfig config;  // as stored: placeholders unresolved
  ffmpeg::ResolvedProcess resolved;
  std::string ffversion;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  json metadata = json::object();
  ffmpeg::ProgressParser parser;
  std::vector<std::string> spawned_command;       // the last run's command (with WebRTC legs)
  std::optional<WebrtcLegPlan> webrtc_plan;       // from a probe at the first start
  bool webrtc_transcode = false;                  // B-frames were seen in the copied video
  std::string ended_because;                      // why the last run ended (for restart counts)
  // Last: destroyed first, so no callback can run on a half-destroyed Process.
  std::unique_ptr<process::Supervisor> sup;
};

Filter Filter::parse(std::string_view list) {
  Filter f;
  const auto parts = util::split(list, ',');
  if (parts.empty()) return f;
  f = Filter{false, false, false, false};
  for (const auto& p : parts) {
    const auto t = util::trim(p);
    if (t == "config") f.config = true;
    if (t == "state") f.state = true;
    if (t == "report") f.report = true;
    if (t == "metadata") f.metadata = true;
  }
  return f;
}

namespace {
std::vector<std::string> io_ids(const std::vector<ffmpeg::ConfigIO>& list) {
  std::vector<std::string> out;
  for (const auto& x : list) out.push_back(x.id);
  return out;
}

bool glob_match(const std::string& pattern, const std::string& value) {
  return ::fnmatch(pattern.c_str(), value.c_str(), 0) == 0;
}

Error invalid(std::string message) { return {ErrorKind::Invalid, std::move(message)}; }

std::vector<ffmpeg::CleanupRule> cleanup_rules(const ffmpeg::ProcessConfig& resolved) {
  std::vector<ffmpeg::CleanupRule> rules;
  for (const auto& o : resolved.output) rules.insert(rules.end(), o.cleanup.begin(), o.cleanup.end());
  return rules;
}
}  // namespace

Registry::Registry(RegistryOptions options, process::Reactor& reactor)
    : options_(std::move(options)),
      reactor_(reactor),
      replacer_(ffmpeg::make_replacer(options_.placeholders)),
      db_(options_.db_path) {}

Registry::~Registry() {
  std::map<std::string, std::shared_ptr<Process>> procs;
  {
    std::lock_guard lock(mu_);
    procs.swap(processes_);
  }
  // Stop all in parallel (SIGINT to each, then wait), keeping the stored orders.
  for (auto& [id, p] : procs) {
    if (p->sup->snapshot().pid != 0) log::info("Process", "Stopping", {{"id", id}});
  }
  procs.clear();  // ~Supervisor kills and reaps what is left
}

ffmpeg::ResolveOutcome Registry::resolve(const ffmpeg::ProcessConfig& config, const std::string& skip_id) const {
  ffmpeg::ResolveContext ctx;
  ctx.replacer = &replacer_;
  ctx.validation = &options_.validation;
  ctx.binary = options_.ffmpeg_binary;
  // References see the other processes' resolved configs (mu_ is held by the caller).
  ctx.lookup = [this, skip_id](std::string_view id) -> const ffmpeg::ProcessConfig* {
    if (id == skip_id) return nullptr;
    auto it = processes_.find(std::string(id));
    if (it == processes_.end()) return nullptr;
    return &it->second->resolved.config;
  };
  return ffmpeg::resolve_process(config, ctx);
}

std::shared_ptr<Registry::Process> Registry::make_process(const ffmpeg::ProcessConfig& config,
                                                           ffmpeg::ResolvedProcess resolved) {
  auto p = std::make_shared<Process>();
  p->config = config;
  p->resolved = std::move(resolved);
  p->ffversion = options_.ffversion;
  const auto now = util::now_unix();
  p->created_at = p->updated_at = now;
  p->parser = ffmpeg::ProgressParser({.log_lines = options_.log_max_lines, .max_history = options_.log_max_history}, now);

  process::SupervisorConfig sc;
  sc.id = config.id;
  sc.argv = p->resolved.argv;
  sc.reconnect = config.reconnect;
  sc.reconnect_delay = std::chrono::seconds(config.reconnect_delay_seconds);
  sc.stale_timeout = std::chrono::seconds(config.stale_timeout_seconds);
  sc.kill_timeout = options_.kill_timeout;
  sc.limits.cpu_percent = config.limits.cpu_usage;
  sc.limits.memory_bytes = config.limits.memory_mbytes * 1024 * 1024;
  sc.limits.waitfor = std::chrono::seconds(config.limits.waitfor_seconds);

  Process* raw = p.get();
  process::SupervisorCallbacks cb;
  cb.on_line = [raw](std::string_view line) {
    std::uint64_t progressed = 0;
    {
      std::lock_guard lock(raw->mu);
      progressed = raw->parser.parse(line, util::now_unix());
    }
    if (progressed > 0) raw->sup->progress();
  };
  cb.on_state = [this, raw](const process::StateChange& change) {
    const std::string id = raw->config.id;
    const bool final_state = change.to == process::State::Finished || change.to == process::State::Failed ||
                             change.to == process::State::Killed;
    if (change.to == process::State::Starting) {
      std::string because;
      {
        std::lock_guard lock(raw->mu);
        raw->parser.reset_stats();
        raw->parser.reset_log(util::now_unix());
        because = std::exchange(raw->ended_because, std::string());
      }
      if (!because.empty()) {
        std::lock_guard lock(restarts_mu_);
        ++restarts_[because];
      }
    }
    if (final_state) {
      // A run stopped by order is not restarted by us: the next start is the user's, not a restart.
      const bool ordered = change.reason == process::StopReason::Order || change.reason == process::StopReason::Shutdown;
      std::lock_guard lock(raw->mu);
      raw->ended_because = ordered ? std::string()
                           : change.reason == process::StopReason::None
                               ? std::string(process::state_name(change.to))
                               : std::string(process::reason_name(change.reason));
    }
    if (final_state &&
        (change.reason == process::StopReason::Stale || change.reason == process::StopReason::CpuLimit ||
         change.reason == process::StopReason::MemoryLimit)) {
      // Shown as state.last_logline and in the report, so a user sees why FFmpeg was stopped (added
      // after the exit, so FFmpeg's own last words do not hide it).
      const char* why = change.reason == process::StopReason::Stale      ? "no progress within stale_timeout_seconds"
                        : change.reason == process::StopReason::CpuLimit ? "CPU usage above limits.cpu_usage"
                                                                         : "memory above limits.memory_mbytes";
      const std::string line = std::string("[dragon-core] FFmpeg was stopped: ") + why;
      {
        std::lock_guard lock(raw->mu);
        raw->parser.parse(line, util::now_unix());
      }
      log::warn("Process", "FFmpeg was stopped", {{"id", id}, {"reason", why}});
    }
    if (change.to == process::State::Running) {
      log::info("Process", "Started", {{"id", id}, {"pid", change.pid}});
    } else if (change.to == process::State::Failed || change.to == process::State::Killed ||
               change.to == process::State::Finished) {
      log::info("Process", "Exited", {{"id", id},
                                      {"state", std::string(process::state_name(change.to))},
                                      {"reason", std::string(process::reason_name(change.reason))}});
    }
  };
  if (config.webrtc && config.webrtc->enabled && options_.webrtc_legs && !p->resolved.argv.empty()) {
    sc.argv_at_spawn = [this, raw] { return webrtc_argv(*raw); };
  }
  p->sup = std::make_unique<process::Supervisor>(reactor_, std::move(sc), std::move(cb));
  return p;
}

std::vector<std::string> Registry::webrtc_argv(Process& p) {
  std::vector<std::string> argv = p.resolved.argv;
  const std::string id = p.config.id;
  const auto ports = options_.webrtc_legs->open(id);
  if (!ports) {
    log::error("WebRTC", "No ports for the process's WebRTC legs; it runs without them", {{"id", id}});
    return argv;
  }
  std::optional<WebrtcLegPlan> plan;
  bool transcode = false;
  {
    std::lock_guard lock(p.mu);
    plan = p.webrtc_plan;
    transcode = p.webrtc_transcode;
  }
  if (!plan) {
    // Once per process config: which streams exist, and whether the video can be copied.
    const auto probe = ffmpeg::run_probe(options_.ffmpeg_binary, p.resolved.config, std::chrono::seconds(5));
    if (!probe.streams.empty()) {
      plan = plan_webrtc_legs(probe, *p.config.webrtc);
      std::lock_guard lock(p.mu);
      p.webrtc_plan = plan;
    } else {
      plan = fallback_webrtc_legs(*p.config.webrtc);
    }
    log::info("WebRTC", plan->video_copy ? "Video leg copies the input" : "Video leg transcodes to H.264",
              {{"id", id}, {"reason", plan->video_reason}, {"audio", !plan->audio_map.empty()}});
  }
  const auto extra = webrtc_leg_arguments(*plan, *ports, p.config.webrtc->force_transcode || transcode);
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::lock_guard lock(p.mu);
  p.spawned_command.assign(argv.begin() + 1, argv.end());
  return argv;
}

void Registry::close_webrtc_legs(const std::string& id) {
  if (options_.webrtc_legs) options_.webrtc_legs->close(id);
}

void Registry::webrtc_needs_transcode(const std::string& id) {
  std::shared_ptr<Process> p;
  {
    std::lock_guard lock(mu_);
    auto it = processes_.find(id);
    if (it == processes_.end()) return;
    p = it->second;
  }
  {
    std::lock_guard l(p->mu);
    if (p->webrtc_transcode) return;
    p->webrtc_transcode = true;
  }
  log::warn("WebRTC", "Copied video has B-frames; restarting the process to transcode its WebRTC leg", {{"id", id}});
  p->sup->respawn();
}

std::size_t Registry::running_orders() const {
  std::size_t n = 0;
  for (const auto& [id, p] : processes_) {
    if (p->sup->order() == process::Order::Start) ++n;
  }
  return n;
}

Database Registry::snapshot_db() const {
  Database db;
  db.system_metadata = system_metadata_;
  for (const auto& [id, p] : processes_) {
    std::lock_guard lock(p->mu);
    StoredProcess sp;
    sp.config = p->config;
    sp.ffversion = p->ffversion;
    sp.created_at = p->created_at;
    sp.updated_at = p->updated_at;
    sp.order_start = p->sup->order() == process::Order::Start;
    db.processes.emplace(id, std::move(sp));
    if (!p->metadata.empty()) db.process_metadata[id] = p->metadata;
  }
  return db;
}

void Registry::persist() {
  try {
    db_.save(snapshot_db());
  } catch (const std::exception& e) {
    // The running state stays; the next successful write catches up.
    log::error("Restream", "Cannot store the process database", {{"error", e.what()}});
  }
}

void Registry::load() {
  const Database db = db_.load();  // throws: never start over a database we could not read
  std::vector<std::shared_ptr<Process>> to_start;
  {
    std::lock_guard lock(mu_);
    system_metadata_ = db.system_metadata;
    // Processes referring to others need those first: resolve in rounds until nothing changes.
    std::map<std::string, StoredProcess> pending(db.processes.begin(), db.processes.end());
    bool progressed = true;
    while (!pending.empty() && progressed) {
      progressed = false;
      for (auto it = pending.begin(); it != pending.end();) {
        auto outcome = resolve(it->second.config, it->first);
        if (!outcome.process) {
          ++it;
          continue;
        }
        auto p = make_process(it->second.config, std::move(*outcome.process));
        p->ffversion = it->second.ffversion;
        p->created_at = it->second.created_at;
        p->updated_at = it->second.updated_at;
        if (auto m = db.process_metadata.find(it->first); m != db.process_metadata.end()) p->metadata = m->second;
        if (it->second.order_start) to_start.push_back(p);
        if (options_.set_cleanup) options_.set_cleanup(it->first, cleanup_rules(p->resolved.config));
        processes_.emplace(it->first, std::move(p));
        it = pending.erase(it);
        progressed = true;
      }
    }
    for (const auto& [id, sp] : pending) {
      // Keep it (a later fix of the config or of the referenced process makes it work); report why.
      auto outcome = resolve(sp.config, id);
      log::error("Restream", "Stored process has an invalid config and is not started",
                 {{"id", id}, {"error", outcome.error}});
      ffmpeg::ResolvedProcess unresolved;
      unresolved.config = sp.config;
      auto p = make_process(sp.config, std::move(unresolved));
      p->created_at = sp.created_at;
      p->updated_at = sp.updated_at;
      processes_.emplace(id, std::move(p));
    }
  }
  for (auto& p : to_start) {
    log::info("Process", "Autostart", {{"id", p->config.id}});
    p->sup->start();
  }
  log::info("Restream", "Loaded processes", {{"count", db.processes.size()}, {"started", to_start.size()}});
}

std::optional<Error> Registry::add(ffmpeg::ProcessConfig& config) {
  std::unique_lock lock(mu_);
  ffmpeg::fill_missing_io_ids(config, [] { return util::short_uuid(); });
  if (auto err = ffmpeg::check_process_input(config)) return invalid(*err);
  if (processes_.count(config.id)) return invalid("process already exists");
  auto outcome = resolve(config, config.id);
  if (!outcome.process) return invalid(outcome.error);
  if (config.autostart && options_.max_processes > 0 && running_orders() >= options_.max_processes) {
    return Error{ErrorKind::Limit, "max. number of running processes (" + std::to_string(options_.max_processes) +
                                       ") reached"};
  }
  auto p = make_process(config, std::move(*outcome.process));
  if (options_.set_cleanup) options_.set_cleanup(config.id, cleanup_rules(p->resolved.config));
  processes_.emplace(config.id, p);
  log::info("Process", "Created", {{"id", config.id}});
  if (config.autostart) p->sup->start();
  persist();
  return std::nullopt;
}

std::optional<Error> Registry::update(const std::string& id, ffmpeg::ProcessConfig& config) {
  std::unique_lock lock(mu_);
  auto it = processes_.find(id);
  if (it == processes_.end()) return Error{ErrorKind::NotFound, "Process not found"};
  ffmpeg::fill_missing_io_ids(config, [] { return util::short_uuid(); });
  if (auto err = ffmpeg::check_process_input(config)) return invalid(*err);
  if (config.id != id && processes_.count(config.id)) return invalid("process already exists");
  auto outcome = resolve(config, id);
  if (!outcome.process) return invalid(outcome.error);
  auto old = it->second;
  const bool was_started = old->sup->order() == process::Order::Start;
  auto p = make_process(config, std::move(*outcome.process));
  {
    std::lock_guard l(old->mu);
    old->parser.transfer_history_to(p->parser);
    p->metadata = old->metadata;
    p->created_at = old->created_at;  // (upstream resets it; a replaced config is still the same process)
  }
  processes_.erase(it);
  processes_.emplace(config.id, p);
  lock.unlock();
  old->sup->stop(true);
  // Viewers stay connected across an update that keeps WebRTC on under the same id.
  if (config.id != id || !config.webrtc || !config.webrtc->enabled) close_webrtc_legs(id);
  if (options_.unset_cleanup) options_.unset_cleanup(id);
  if (options_.set_cleanup) options_.set_cleanup(config.id, cleanup_rules(p->resolved.config));
  log::info("Process", "Updated", {{"id", config.id}});
  if (was_started) p->sup->start();
  lock.lock();
  persist();
  return std::nullopt;
}

std::optional<Error> Registry::remove(const std::string& id) {
  std::shared_ptr<Process> p;
  {
    std::lock_guard lock(mu_);
    auto it = processes_.find(id);
    if (it == processes_.end()) return Error{ErrorKind::NotFound, "Unknown process ID"};
    p = it->second;
    processes_.erase(it);
    persist();
  }
  p->sup->stop(true);
  close_webrtc_legs(id);
  if (options_.unset_cleanup) options_.unset_cleanup(id);
  log::info("Process", "Deleted", {{"id", id}});
  return std::nullopt;
}

std::optional<Error> Registry::command(const std::string& id, std::string_view cmd) {
  std::unique_lock lock(mu_);
  auto it = processes_.find(id);
  if (it == processes_.end()) return Error{ErrorKind::NotFound, "unknown process"};
  auto p = it->second;
  if (cmd == "start") {
    if (p->sup->order() != process::Order::Start && options_.max_processes > 0 &&
        running_orders() >= options_.max_processes) {
      return Error{ErrorKind::Limit,
                   "max. number of running processes (" + std::to_string(options_.max_processes) + ") reached"};
    }
    if (p->resolved.argv.empty()) return invalid("the process config is invalid; update or reload it");
    p->sup->start();
    persist();
    return std::nullopt;
  }
  if (cmd == "stop") {
    p->sup->stop(false);  // order recorded now; the exit is awaited below without the lock
    persist();
    lock.unlock();
    p->sup->stop(true);
    close_webrtc_legs(id);
    return std::nullopt;
  }
  if (cmd == "restart") {
    // Upstream's restart only works through reconnect (a process without it stayed down); here a
    // started process is always back after restart.
    if (p->sup->order() != process::Order::Start) return std::nullopt;
    lock.unlock();
    p->sup->stop(true);
    p->sup->start();
    return std::nullopt;
  }
  if (cmd == "reload") {
    auto outcome = resolve(p->config, id);
    if (!outcome.process) return invalid(outcome.error);
    const bool was_started = p->sup->order() == process::Order::Start;
    auto fresh = make_process(p->config, std::move(*outcome.process));
    {
      std::lock_guard l(p->mu);
      fresh->metadata = p->metadata;
      fresh->created_at = p->created_at;
      fresh->updated_at = p->updated_at;
      fresh->ffversion = p->ffversion;
    }
    it->second = fresh;
    lock.unlock();
    p->sup->stop(true);
    if (!p->config.webrtc || !p->config.webrtc->enabled || !was_started) close_webrtc_legs(id);
    if (options_.set_cleanup) options_.set_cleanup(id, cleanup_rules(fresh->resolved.config));
    if (was_started) fresh->sup->start();
    return std::nullopt;
  }
  return Error{ErrorKind::Invalid, "Unknown command provided"};
}

std::vector<ProcessStats> Registry::stats() const {
  std::vector<std::shared_ptr<Process>> procs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, p] : processes_) procs.push_back(p);
  }
  std::vector<ProcessStats> out;
  out.reserve(procs.size());
  for (const auto& p : procs) {
    const auto snap = p->sup->snapshot();
    ProcessStats s;
    s.state = std::string(process::state_name(snap.state));
    s.order = std::string(process::order_name(snap.order));
    s.counters = snap.counters;
    s.cpu_percent = snap.cpu_percent;
    s.memory_bytes = static_cast<double>(snap.memory_bytes);
    s.runtime_seconds = snap.runtime_seconds;
    std::lock_guard l(p->mu);
    s.id = p->config.id;
    s.progress = p->parser.progress();
    s.cpu_limit = p->config.limits.cpu_usage;
    s.memory_limit_bytes = static_cast<double>(p->config.limits.memory_mbytes) * 1024 * 1024;
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, std::uint64_t> Registry::restart_counts() const {
  std::lock_guard lock(restarts_mu_);
  return restarts_;
}

bool Registry::exists(const std::string& id) const {
  std::lock_guard lock(mu_);
  return processes_.count(id) > 0;
}

std::vector<std::string> Registry::list(const std::string& reference, const std::vector<std::string>& ids,
                                        const std::string& idpattern, const std::string& refpattern) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, p] : processes_) {
    std::string ref;
    {
      std::lock_guard l(p->mu);
      ref = p->config.reference;
    }
    if (!reference.empty()) {
      if (ref != reference) continue;  // as upstream: reference wins over the id list
    } else if (!ids.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) {
      continue;
    }
    if (!idpattern.empty() && !glob_match(idpattern, id)) continue;
    if (!refpattern.empty() && !glob_match(refpattern, ref)) continue;
    out.push_back(id);
  }
  return out;
}

std::optional<ordered_json> Registry::config_json(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = processes_.find(id);
  if (it == processes_.end()) return std::nullopt;
  std::lock_guard l(it->second->mu);
  return ffmpeg::process_config_to_json(it->second->config);
}

std::optional<ordered_json> Registry::state_json(const std::string& id) const {
  std::shared_ptr<Process> p;
  {
    std::lock_guard lock(mu_);
    auto it = processes_.find(id);
    if (it == processes_.end()) return std::nullopt;
    p = it->second;
  }
  const auto snap = p->sup->snapshot();
  std::unique_lock l(p->mu);
  ordered_json s;
  s["order"] = std::string(process::order_name(snap.order));
  s["exec"] = std::string(process::state_name(snap.state));
  s["runtime_seconds"] = static_cast<std::int64_t>(snap.runtime_seconds);
  s["reconnect_seconds"] = static_cast<std::int64_t>(snap.reconnect_seconds < 0 ? -1 : std::ceil(snap.reconnect_seconds));
  s["last_logline"] = p->parser.last_line();
  s["progress"] = ffmpeg::progress_to_json(p->parser.progress(), io_ids(p->config.input), io_ids(p->config.output));
  s["memory_bytes"] = snap.memory_bytes;
  s["cpu_usage"] = ffmpeg::json_number(snap.cpu_percent);
  s["command"] = p->spawned_command.empty() ? p->resolved.command : p->spawned_command;
  const bool webrtc = options_.webrtc_state && p->config.webrtc && p->config.webrtc->enabled;
  l.unlock();  // the WebRTC loop may be waiting for this process's lock
  if (webrtc) s["webrtc"] = options_.webrtc_state(id);
  return s;
}

std::optional<ordered_json> Registry::report_json(const std::string& id) const {
  std::shared_ptr<Process> p;
  {
    std::lock_guard lock(mu_);
    auto it = processes_.find(id);
    if (it == processes_.end()) return std::nullopt;
    p = it->second;
  }
  std::lock_guard l(p->mu);
  return ffmpeg::report_to_json(p->parser.report(), p->parser.history());
}

std::optional<ordered_json> Registry::process_json(const std::string& id, const Filter& filter) const {
  std::shared_ptr<Process> p;
  {
    std::lock_guard lock(mu_);
    auto it = processes_.find(id);
    if (it == processes_.end()) return std::nullopt;
    p = it->second;
  }
  ordered_json j;
  {
    std::lock_guard l(p->mu);
    j["id"] = p->config.id;
    j["type"] = "ffmpeg";
    j["reference"] = p->config.reference;
    j["created_at"] = p->created_at;
    j["updated_at"] = p->updated_at;
    if (filter.config) j["config"] = ffmpeg::process_config_to_json(p->config);
  }
  if (filter.state) {
    auto state = state_json(id);
    j["state"] = state ? std::move(*state) : ordered_json::object();
  }
  if (filter.report) {
    std::lock_guard l(p->mu);
    j["report"] = ffmpeg::report_to_json(p->parser.report(), p->parser.history());
  }
  if (filter.metadata) {
    std::lock_guard l(p->mu);
    j["metadata"] = p->metadata.empty() ? ordered_json(nullptr) : ordered_json::parse(p->metadata.dump());
  }
  return j;
}

std::optional<ffmpeg::ProcessConfig> Registry::resolved_config(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = processes_.find(id);
  if (it == processes_.end()) return std::nullopt;
  std::lock_guard l(it->second->mu);
  return it->second->resolved.config;
}

std::optional<Error> Registry::set_metadata(const std::string& id, const std::string& key, const json& value) {
  std::lock_guard lock(mu_);
  auto it = processes_.find(id);
  if (it == processes_.end()) return Error{ErrorKind::NotFound, "Unknown process ID"};
  {
    std::lock_guard l(it->second->mu);
    if (value.is_null()) {
      it->second->metadata.erase(key);
    } else {
      it->second->metadata[key] = value;
    }
  }
  persist();
  return std::nullopt;
}

std::optional<json> Registry::metadata(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = processes_.find(id);
  if (it == processes_.end()) return std::nullopt;
  std::lock_guard l(it->second->mu);
  return it->second->metadata;
}

void Registry::set_system_metadata(const std::string& key, const json& value) {
  std::lock_guard lock(mu_);
  if (value.is_null()) {
    system_metadata_.erase(key);
  } else {
    system_metadata_[key] = value;
  }
  persist();
}

json Registry::system_metadata() const {
  std::lock_guard lock(mu_);
  return system_metadata_;
}

}  // namespace dragon::restream
