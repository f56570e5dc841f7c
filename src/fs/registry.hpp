#pragma once
// The filesystems by name ("mem", "disk", S3 names) and the cleanup rules of process outputs
// (upstream restream/fs): per process id, patterns like "memfs:/{processid}_*.ts" with max_files,
// max_file_age_seconds and purge_on_delete, enforced once a second.
//
// Deliberate deviation: upstream also purges purge_on_delete files when the core stops or reloads
// its config; we purge only when a process's rules are removed or replaced (process delete/update),
// so a reload or restart does not wipe what viewers are watching.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fs/filesystem.hpp"

namespace dragon::fs {

struct CleanupRule {
  std::string pattern;  // "<fs prefix>:<glob>", placeholders already resolved
  std::uint64_t max_files = 0;             // keep the N newest matches; 0 = off
  std::uint64_t max_file_age_seconds = 0;  // delete matches older than this; 0 = off
  bool purge_on_delete = false;            // delete all matches when the rules are removed
};

struct MountInfo {
  std::string name;
  std::string type;
  std::string mount;  // HTTP mount point ("/memfs", "/")
};

class FilesystemRegistry {
 public:
  explicit FilesystemRegistry(std::function<Clock::time_point()> clock = {});
  ~FilesystemRegistry();
  FilesystemRegistry(const FilesystemRegistry&) = delete;
  FilesystemRegistry& operator=(const FilesystemRegistry&) = delete;

  // Adds or replaces (same name, keeps its position) a filesystem.
  void add(std::shared_ptr<Filesystem> fs, std::string mount);
  std::shared_ptr<Filesystem> get(std::string_view name) const;
  // Drops a filesystem (an S3 item removed from the config); false when there was none.
  bool remove(std::string_view name);
  std::vector<MountInfo> list() const;  // in registration order

  // "memfs:/a/*.ts" -> ("mem", "/a/*.ts"). Prefix `^[A-Za-z0-9_-]+:`; mem/memfs and disk/diskfs are aliases,
  // any other prefix must name a registered filesystem. nullopt: the pattern is ignored (upstream).
  std::optional<std::pair<std::string, std::string>> resolve_pattern(std::string_view pattern) const;

  // Sets a process's rules; rules it had before are removed first, with their purge (process update).
  void set_cleanup(const std::string& process_id, std::vector<CleanupRule> rules);
  // Removes a process's rules and deletes the matches of its purge_on_delete patterns (process delete).
  void remove_cleanup(const std::string& process_id);
  std::vector<CleanupRule> cleanup_rules(const std::string& process_id) const;

  // One enforcement pass at `now` (the ticker calls it every second; tests call it directly).
  // Returns the number of files deleted.
  std::size_t tick(Clock::time_point now);
  // The 1-second ticker thread; stop() joins it and purges nothing.
  void start();
  void stop();

 private:
  struct Resolved {
    std::shared_ptr<Filesystem> fs;
    std::string glob;
    CleanupRule rule;
  };
  std::vector<Resolved> resolve_rules(const std::vector<CleanupRule>& rules) const;
  static std::size_t purge(const std::vector<Resolved>& rules);

  std::function<Clock::time_point()> clock_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::shared_ptr<Filesystem>, std::string>> filesystems_;
  std::map<std::string, std::vector<CleanupRule>, std::less<>> rules_;

  std::mutex thread_mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dragon::fs
