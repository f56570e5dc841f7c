#include "fs/lru_cache.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace dragon::fs {

namespace {

std::string extension_of(std::string_view path) {
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  return util::to_lower(path.substr(dot));
}

std::vector<std::string> normalised(std::vector<std::string> exts) {
  for (auto& e : exts) {
    e = util::to_lower(e);
    if (!e.empty() && e.front() != '.') e.insert(e.begin(), '.');
  }
  return exts;
}

}  // namespace

LruCache::LruCache(LruCacheOptions options) : options_(std::move(options)) {
  options_.allow = normalised(std::move(options_.allow));
  options_.block = normalised(std::move(options_.block));
}

bool LruCache::type_allowed(std::string_view path) const {
  const auto ext = extension_of(path);
  if (std::find(options_.block.begin(), options_.block.end(), ext) != options_.block.end()) return false;
  if (options_.allow.empty()) return true;
  return std::find(options_.allow.begin(), options_.allow.end(), ext) != options_.allow.end();
}

std::optional<LruCache::Hit> LruCache::get(const std::string& path, SteadyClock::time_point now) {
  std::lock_guard lock(mu_);
  const auto it = index_.find(path);
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= now) {
    erase_locked(it->second);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  const auto& e = *it->second;
  return Hit{e.info, e.data, std::chrono::duration_cast<std::chrono::seconds>(e.expires - now)};
}

bool LruCache::put(const std::string& path, FileInfo info, std::shared_ptr<const std::string> data,
                   SteadyClock::time_point now) {
  if (!data || !type_allowed(path)) return false;
  const std::uint64_t size = data->size();
  if (options_.max_file_bytes > 0 && size > options_.max_file_bytes) return false;
  if (options_.max_bytes > 0 && size > options_.max_bytes) return false;
  std::lock_guard lock(mu_);
  if (const auto it = index_.find(path); it != index_.end()) erase_locked(it->second);
  while (options_.max_bytes > 0 && bytes_ + size > options_.max_bytes && !lru_.empty()) erase_locked(std::prev(lru_.end()));
  lru_.push_front(Entry{path, std::move(info), std::move(data), now + options_.ttl});
  index_.emplace(path, lru_.begin());
  bytes_ += size;
  return true;
}

void LruCache::invalidate(const std::string& path) {
  std::lock_guard lock(mu_);
  if (const auto it = index_.find(path); it != index_.end()) erase_locked(it->second);
}

void LruCache::clear() {
  std::lock_guard lock(mu_);
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

std::uint64_t LruCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

std::size_t LruCache::entries() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

void LruCache::erase_locked(std::list<Entry>::iterator it) {
  bytes_ -= it->data->size();
  index_.erase(it->path);
  lru_.erase(it);
}

}  // namespace dragon::fs
