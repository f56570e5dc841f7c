#include "fs/mem.hpp"

#include <algorithm>
#include <utility>
#include <mutex>

#include "fs/glob.hpp"

namespace dragon::fs {

MemFilesystem::MemFilesystem(std::string name, MemOptions options)
    : name_(std::move(name)), opt_(std::move(options)) {}

std::vector<FileInfo> MemFilesystem::list(std::string_view glob) const {
  std::optional<Glob> g;
  if (!glob.empty()) {
    g = Glob::compile(glob);
    if (!g) return {};
  }
  std::vector<FileInfo> out;
  std::shared_lock lock(mu_);
  out.reserve(files_.size());
  for (const auto& [path, e] : files_) {
    if (g && !g->match(path)) continue;
    out.push_back({path, e.data->size(), e.mtime});
  }
  return out;
}

std::optional<FileInfo> MemFilesystem::stat(std::string_view path) const {
  const auto p = clean_path(path);
  if (!p) return std::nullopt;
  std::shared_lock lock(mu_);
  const auto it = files_.find(*p);
  if (it == files_.end()) return std::nullopt;
  return FileInfo{*p, it->second.data->size(), it->second.mtime};
}

std::optional<FileContent> MemFilesystem::read(std::string_view path) const {
  const auto p = clean_path(path);
  if (!p) return std::nullopt;
  std::shared_lock lock(mu_);
  const auto it = files_.find(*p);
  if (it == files_.end()) return std::nullopt;
  FileContent c;
  c.info = {*p, it->second.data->size(), it->second.mtime};
  c.data = it->second.data;
  return c;
}

bool MemFilesystem::evict_locked(std::uint64_t need, const std::string* keep) {
  std::vector<std::map<std::string, Entry, std::less<>>::iterator> order;
  order.reserve(files_.size());
  for (auto it = files_.begin(); it != files_.end(); ++it) {
    if (!keep || it->first != *keep) order.push_back(it);
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a->second.mtime != b->second.mtime ? a->second.mtime < b->second.mtime : a->second.seq < b->second.seq;
  });
  // Check first so a failed purge deletes nothing.
  std::uint64_t freeable = 0;
  for (const auto& it : order) freeable += it->second.data->size();
  if (freeable < need) return false;
  std::uint64_t freed = 0;
  for (const auto& it : order) {
    if (freed >= need) break;
    freed += it->second.data->size();
    bytes_ -= it->second.data->size();
    files_.erase(it);
  }
  return true;
}

WriteResult MemFilesystem::write(std::string_view path, std::string data) {
  WriteResult r;
  const auto p = clean_path(path);
  if (!p || *p == "/") {
    r.error = WriteError::InvalidPath;
    r.message = "invalid path";
    return r;
  }
  const std::uint64_t size = data.size();
  // Allocated outside the lock so writers do not serialise on it.
  auto buf = std::make_shared<const std::string>(std::move(data));
  std::unique_lock lock(mu_);
  const std::uint64_t limit = opt_.max_bytes;
  auto it = files_.find(*p);
  const std::uint64_t old = it == files_.end() ? 0 : it->second.data->size();
  if (limit > 0) {
    if (size > limit) {
      r.error = WriteError::TooBig;
      r.message = "File is too big";
      return r;
    }
    const std::uint64_t projected = bytes_ - old + size;
    if (projected > limit) {
      if (!opt_.purge || !evict_locked(projected - limit, &*p)) {
        r.error = WriteError::NoSpace;
        r.message = "not enough space on device";
        return r;
      }
    }
  }
  r.created = it == files_.end();
  if (r.created) {
    it = files_.emplace(*p, Entry{}).first;
  } else {
    bytes_ -= it->second.data->size();
  }
  it->second.data = std::move(buf);
  it->second.mtime = now();
  it->second.seq = ++seq_;
  bytes_ += size;
  return r;
}

bool MemFilesystem::remove(std::string_view path) {
  const auto p = clean_path(path);
  if (!p) return false;
  std::unique_lock lock(mu_);
  const auto it = files_.find(*p);
  if (it == files_.end()) return false;
  bytes_ -= it->second.data->size();
  files_.erase(it);
  return true;
}

Usage MemFilesystem::usage() const {
  std::shared_lock lock(mu_);
  return {files_.size(), bytes_, opt_.max_bytes};
}

void MemFilesystem::set_limits(std::uint64_t max_bytes, bool purge) {
  std::unique_lock lock(mu_);
  opt_.max_bytes = max_bytes;
  opt_.purge = purge;
  if (max_bytes > 0 && bytes_ > max_bytes) evict_locked(bytes_ - max_bytes, nullptr);
}

}  // namespace dragon::fs
