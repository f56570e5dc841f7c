#pragma once
// The registry of FFmpeg processes (upstream's restream): configs with raw placeholders, their
// resolution, one Supervisor per process, the stderr progress parser, metadata, and db.json.
// Thread-safe: API handlers call it from any thread; supervisor callbacks arrive on the reactor.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ffmpeg/command.hpp"
#include "ffmpeg/process_config.hpp"
#include "ffmpeg/progress_parser.hpp"
#include "process/state.hpp"
#include "process/reactor.hpp"
#include "restream/db_store.hpp"
#include "restream/webrtc_legs.hpp"

namespace dragon::restream {

struct RegistryOptions {
  std::string db_path;                 // <db.dir>/db.json
  std::string ffmpeg_binary = "ffmpeg";
  std::string ffversion;               // "^5.1.0", stored with each process as upstream
  std::uint64_t max_processes = 0;     // ffmpeg.max_processes; 0 = unlimited
  std::size_t log_max_lines = 50;      // ffmpeg.log.max_lines
  std::size_t log_max_history = 3;     // ffmpeg.log.max_history
  std::chrono::milliseconds kill_timeout{5000};
  ffmpeg::PlaceholderSettings placeholders;
  ffmpeg::ValidationSettings validation;
  // Cleanup rules go to the filesystems (wired by app/): set with the resolved rules of a process,
  // unset when it is deleted or replaced (which purges purge_on_delete files).
  std::function<void(const std::string& id, const std::vector<ffmpeg::CleanupRule>& rules)> set_cleanup;
  std::function<void(const std::string& id)> unset_cleanup;
  // WebRTC legs for processes with webrtc.enabled (null: WebRTC is off, the block is only stored).
  std::shared_ptr<WebrtcLegProvider> webrtc_legs;
  // The WebRTC side of a process for its state ("webrtc" key); null json when there is none.
  std::function<nlohmann::json(const std::string& id)> webrtc_state;
};

enum class ErrorKind { NotFound, Invalid, Conflict, Limit };
struct Error {
  ErrorKind kind = ErrorKind::Invalid;
  std::string message;  // upstream's detail text
};

// Which sections GET /api/v3/process returns (?filter=config,state,report,metadata).
struct Filter {
  bool config = true, state = true, report = true, metadata = true;
  static Filter parse(std::string_view list);  // empty = all
};

// One process's figures for the metric catalogue (restream_process, restream_process_states, ...).
struct ProcessStats {
  std::string id;
  std::string state, order;        // upstream's strings
  process::StateCounters counters{};  // how often each state was entered
  ffmpeg::Progress progress;
  double cpu_percent = 0, memory_bytes = 0, runtime_seconds = 0;
  double cpu_limit = 0, memory_limit_bytes = 0;
};

class Registry {
 public:
  Registry(RegistryOptions options, process::Reactor& reactor);
  ~Registry();  // stops every child (orders are kept in db.json)
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Loads db.json and starts the processes whose stored order is "start". Throws on a database it
  // cannot read (the server must not overwrite it).
  void load();

  // POST: fills missing io ids; returns the stored config (placeholders unresolved).
  std::optional<Error> add(ffmpeg::ProcessConfig& config);
  // PUT: replace (and maybe rename) a process; keeps its order, history and metadata.
  std::optional<Error> update(const std::string& id, ffmpeg::ProcessConfig& config);
  // DELETE: stops it (waiting for the exit), removes it and its cleanup rules.
  std::optional<Error> remove(const std::string& id);
  // start | stop | restart | reload. stop waits for the child to exit.
  std::optional<Error> command(const std::string& id, std::string_view command);

  bool exists(const std::string& id) const;
  std::vector<ProcessStats> stats() const;
  // FFmpeg runs started again after an earlier run ended, by why that run ended ("failed",
  // "finished", "killed" when it exited by itself; "stale", "cpu_limit", "memory_limit", "restart").
  std::map<std::string, std::uint64_t> restart_counts() const;
  // The WebRTC ingest saw B-frames in a copied video leg: transcode from now on (restarts FFmpeg).
  void webrtc_needs_transcode(const std::string& id);
  // GET /api/v3/process filters: reference (wins over ids), ids, idpattern, refpattern (globs).
  std::vector<std::string> list(const std::string& reference, const std::vector<std::string>& ids,
                                const std::string& idpattern, const std::string& refpattern) const;
  std::optional<nlohmann::ordered_json> process_json(const std::string& id, const Filter& filter) const;
  std::optional<nlohmann::ordered_json> config_json(const std::string& id) const;
  std::optional<nlohmann::ordered_json> state_json(const std::string& id) const;
  std::optional<nlohmann::ordered_json> report_json(const std::string& id) const;
  // The resolved config for probing; nullopt when unknown.
  std::optional<ffmpeg::ProcessConfig> resolved_config(const std::string& id) const;

  // Metadata (null deletes a key). Process metadata of an unknown id → NotFound.
  std::optional<Error> set_metadata(const std::string& id, const std::string& key, const nlohmann::json& value);
  std::optional<nlohmann::json> metadata(const std::string& id) const;  // nullopt = unknown process
  void set_system_metadata(const std::string& key, const nlohmann::json& value);
  nlohmann::json system_metadata() const;

  struct Process;

 private:
  ffmpeg::ResolveOutcome resolve(const ffmpeg::ProcessConfig& config, const std::string& skip_id) const;
  std::shared_ptr<Process> make_process(const ffmpeg::ProcessConfig& config, ffmpeg::ResolvedProcess resolved);
  std::size_t running_orders() const;
  std::vector<std::string> webrtc_argv(Process& p);
  void close_webrtc_legs(const std::string& id);
  void persist();  // under mu_
  Database snapshot_db() const;

  RegistryOptions options_;
  process::Reactor& reactor_;
  ffmpeg::Replacer replacer_;
  DbStore db_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Process>> processes_;
  mutable std::mutex restarts_mu_;
  std::map<std::string, std::uint64_t> restarts_;
  nlohmann::json system_metadata_ = nlohmann::json::object();
};

}  // namespace dragon::restream
