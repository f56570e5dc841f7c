#pragma once
// The disk filesystem (storage.disk.dir). Every path stays beneath the root: paths are cleaned
// lexically (clean_path: no "..", NUL, overlong names) and every open resolves from a directory fd
// of the root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so a symlink inside the root
// that points outside (absolute, or "../..") fails with EXDEV instead of being followed. Kernels
// without openat2 (< 5.6, or a seccomp filter answering ENOSYS/EPERM) get a per-component walk with
// O_NOFOLLOW, which refuses every symlink: stricter, equally confined.
// Writes go to a temp file in the target's directory and are renamed over it, so readers see the
// old or the new file, never half of one. Parent directories are created as needed.
#include <string>

#include "fs/filesystem.hpp"

namespace dragon::fs {

struct DiskOptions {
  // fsync each written file before the rename. Off by default: media segments need atomic
  // visibility, not durability across power loss, and an fsync per HLS segment costs disk latency.
  bool fsync = false;
};

class DiskFilesystem final : public Filesystem {
 public:
  // Creates the root directory when missing; throws std::system_error naming it when it cannot.
  DiskFilesystem(std::string name, std::string root, DiskOptions options = {});
  ~DiskFilesystem() override;
  DiskFilesystem(const DiskFilesystem&) = delete;
  DiskFilesystem& operator=(const DiskFilesystem&) = delete;

  const std::string& name() const override { return name_; }
  std::string_view type() const override { return "disk"; }
  const std::string& root() const { return root_; }
  bool uses_openat2() const { return openat2_; }

  std::vector<FileInfo> list(std::string_view glob = {}) const override;
  std::optional<FileInfo> stat(std::string_view path) const override;
  // A directory reads as its index.html (upstream). host_path is root + the cleaned path, checked
  // to resolve beneath the root at the time of the call; the server then opens it by name, so a
  // symlink swapped in afterwards could race it — only something that can already write the data
  // dir directly could do that (our API never creates symlinks).
  std::optional<FileContent> read(std::string_view path) const override;
  WriteResult write(std::string_view path, std::string data) override;
  bool remove(std::string_view path) override;
  // Walks the tree; upstream reports no limit for disk (storage.disk.max_size_mbytes is dead).
  Usage usage() const override;

  // Test hook: force the O_NOFOLLOW fallback.
  void disable_openat2_for_tests() { openat2_ = false; }

 private:
  // fd of `rel` ("" = root, else "a/b" without leading '/') opened beneath the root; -1 with errno.
  int open_beneath(const std::string& rel, int flags) const;
  std::optional<FileInfo> stat_regular(const std::string& clean) const;

  const std::string name_;
  std::string root_;
  DiskOptions opt_;
  int root_fd_ = -1;
  bool openat2_ = true;
};

// Name prefix of in-flight temp files: hidden from listings.
inline constexpr std::string_view k_disk_temp_prefix = ".dragon-tmp-";

}  // namespace dragon::fs
