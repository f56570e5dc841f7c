#pragma once
// The memory filesystem behind /memfs (upstream io/fs/mem.go + sized.go). Thread-safe; contents are
// shared immutable buffers, so a reader that holds a file never sees it change under a later write.
#include <cstdint>
#include <functional>
#include <map>
#include <shared_mutex>

#include "fs/filesystem.hpp"

namespace dragon::fs {

struct MemOptions {
  std::uint64_t max_bytes = 0;  // storage.memory.max_size_mbytes × 2^20; 0 = unlimited
  bool purge = false;           // storage.memory.purge: evict the oldest files instead of refusing
  std::function<Clock::time_point()> clock;  // mtime source (tests); system clock when empty
};

class MemFilesystem final : public Filesystem {
 public:
  explicit MemFilesystem(std::string name = "mem", MemOptions options = {});

  const std::string& name() const override { return name_; }
  std::string_view type() const override { return "mem"; }
  std::vector<FileInfo> list(std::string_view glob = {}) const override;
  std::optional<FileInfo> stat(std::string_view path) const override;
  std::optional<FileContent> read(std::string_view path) const override;
  // Refuses (files untouched) with TooBig when data alone exceeds the limit, NoSpace when the
  // projected total would and purge is off or cannot free enough.
  WriteResult write(std::string_view path, std::string data) override;
  bool remove(std::string_view path) override;
  Usage usage() const override;

  // Config reload: a smaller limit evicts the oldest files until the contents fit (as upstream's Resize).
  void set_limits(std::uint64_t max_bytes, bool purge);

 private:
  struct Entry {
    std::shared_ptr<const std::string> data;
    Clock::time_point mtime;
    std::uint64_t seq = 0;  // write order: breaks mtime ties so "oldest" is deterministic
  };
  // Evicts oldest entries (never `keep`) until `need` more bytes fit; caller holds the lock.
  bool evict_locked(std::uint64_t need, const std::string* keep);
  Clock::time_point now() const { return opt_.clock ? opt_.clock() : Clock::now(); }

  const std::string name_;
  MemOptions opt_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> files_;
  std::uint64_t bytes_ = 0;
  std::uint64_t seq_ = 0;
};

}  // namespace dragon::fs
