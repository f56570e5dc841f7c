#pragma once
// An in-memory LRU cache of file contents for the disk and S3 mounts (upstream's
// storage.disk.cache.*): entries expire after a TTL, the total and per-file sizes are bounded, and
// file types can be allowed or blocked by extension. Thread-safe; a hit hands out the shared,
// immutable buffer, so serving it copies nothing.
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fs/filesystem.hpp"

namespace dragon::fs {

struct LruCacheOptions {
  std::uint64_t max_bytes = 0;       // 0 = unlimited
  std::uint64_t max_file_bytes = 1 << 20;
  std::chrono::seconds ttl{300};
  std::vector<std::string> allow;    // extensions (".ts"); empty = all
  std::vector<std::string> block;    // extensions never cached
};

class LruCache {
 public:
  using SteadyClock = std::chrono::steady_clock;
  explicit LruCache(LruCacheOptions options);

  // False for a blocked extension, or one missing from a non-empty allow list.
  bool type_allowed(std::string_view path) const;

  struct Hit {
    FileInfo info;
    std::shared_ptr<const std::string> data;
    std::chrono::seconds ttl_left{0};
  };
  std::optional<Hit> get(const std::string& path, SteadyClock::time_point now = SteadyClock::now());
  // False when the entry is too big (or the type is not cacheable); nothing is stored then.
  bool put(const std::string& path, FileInfo info, std::shared_ptr<const std::string> data,
           SteadyClock::time_point now = SteadyClock::now());
  void invalidate(const std::string& path);
  void clear();

  std::uint64_t bytes() const;
  std::size_t entries() const;
  const LruCacheOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string path;
    FileInfo info;
    std::shared_ptr<const std::string> data;
    SteadyClock::time_point expires;
  };
  void erase_locked(std::list<Entry>::iterator it);

  LruCacheOptions options_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::uint64_t bytes_ = 0;
};

}  // namespace dragon::fs
