#pragma once
// The filesystems FFmpeg writes into and viewers read from (upstream's io/fs): "mem" (memfs),
// "disk" (storage.disk.dir), later "s3". Paths are absolute inside the filesystem ("/a/b.ts");
// every implementation cleans them with clean_path first, so "..", "." and "//" never escape.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::fs {

using Clock = std::chrono::system_clock;

// Longest name accepted per path segment and in total (Linux NAME_MAX / PATH_MAX).
inline constexpr std::size_t k_max_segment = 255;
inline constexpr std::size_t k_max_path = 4096;

// "/a/./b//../c" -> "/a/c"; ".." at the top stays at the top, as upstream's path.Clean("/" + p).
// nullopt for a NUL byte, a segment over 255 bytes or a result over 4096 bytes. "" -> "/".
std::optional<std::string> clean_path(std::string_view path);

struct FileInfo {
  std::string name;  // with a leading '/'
  std::uint64_t size = 0;
  Clock::time_point mtime;
};

// What a read hands to the HTTP layer: mem files as a shared immutable buffer (a later write
// replaces the buffer, never mutates it), disk files as a host path for the server to stream.
struct FileContent {
  FileInfo info;
  std::shared_ptr<const std::string> data;  // mem, s3
  std::string host_path;                    // disk
};

enum class WriteError { None, TooBig, NoSpace, InvalidPath, Io };

struct WriteResult {
  WriteError error = WriteError::None;
  bool created = false;  // false: an existing file was replaced
  std::string message;   // upstream's wording: "File is too big", "not enough space on device"
  explicit operator bool() const { return error == WriteError::None; }
};

struct Usage {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t limit = 0;  // bytes, 0 = unlimited
};

class Filesystem {
 public:
  virtual ~Filesystem() = default;
  virtual const std::string& name() const = 0;
  virtual std::string_view type() const = 0;  // "mem" | "disk" | "s3"
  // All files (recursively, no directories), filtered by a glob over the name when not empty.
  virtual std::vector<FileInfo> list(std::string_view glob = {}) const = 0;
  virtual std::optional<FileInfo> stat(std::string_view path) const = 0;
  virtual std::optional<FileContent> read(std::string_view path) const = 0;
  virtual WriteResult write(std::string_view path, std::string data) = 0;
  // False when there was no such file.
  virtual bool remove(std::string_view path) = 0;
  virtual Usage usage() const = 0;
};

}  // namespace dragon::fs
