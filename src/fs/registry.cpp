#include "fs/registry.hpp"

#include <algorithm>
#include <utility>

#include "log/log.hpp"

namespace dragon::fs {

FilesystemRegistry::FilesystemRegistry(std::function<Clock::time_point()> clock) : clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return Clock::now(); };
}

FilesystemRegistry::~FilesystemRegistry() { stop(); }

void FilesystemRegistry::add(std::shared_ptr<Filesystem> fs, std::string mount) {
  std::lock_guard lock(mu_);
  for (auto& [f, m] : filesystems_) {
    if (f->name() == fs->name()) {
      f = std::move(fs);
      m = std::move(mount);
      return;
    }
  }
  filesystems_.emplace_back(std::move(fs), std::move(mount));
}

std::shared_ptr<Filesystem> FilesystemRegistry::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& [f, m] : filesystems_) {
    if (f->name() == name) return f;
  }
  return nullptr;
}

bool FilesystemRegistry::remove(std::string_view name) {
  std::lock_guard lock(mu_);
  const auto it = std::find_if(filesystems_.begin(), filesystems_.end(),
                               [&](const auto& f) { return f.first->name() == name; });
  if (it == filesystems_.end()) return false;
  filesystems_.erase(it);
  return true;
}

std::vector<MountInfo> FilesystemRegistry::list() const {
  std::lock_guard lock(mu_);
  std::vector<MountInfo> out;
  for (const auto& [f, m] : filesystems_) out.push_back({f->name(), std::string(f->type()), m});
  return out;
}

std::optional<std::pair<std::string, std::string>> FilesystemRegistry::resolve_pattern(std::string_view pattern) const {
  std::size_t i = 0;
  // Upstream matches ^[a-z]+: here, which never names an S3 filesystem called "s3media" or "my-s3";
  // ours takes every character a filesystem name may have.
  const auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  };
  while (i < pattern.size() && name_char(pattern[i])) ++i;
  if (i == 0 || i >= pattern.size() || pattern[i] != ':') return std::nullopt;
  std::string name(pattern.substr(0, i));
  if (name == "memfs") name = "mem";
  if (name == "diskfs") name = "disk";
  if (!get(name)) return std::nullopt;
  return std::make_pair(std::move(name), std::string(pattern.substr(i + 1)));
}

std::vector<FilesystemRegistry::Resolved> FilesystemRegistry::resolve_rules(const std::vector<CleanupRule>& rules) const {
  std::vector<Resolved> out;
  for (const auto& r : rules) {
    auto rp = resolve_pattern(r.pattern);
    if (!rp || rp->second.empty()) continue;
    if (auto fs = get(rp->first)) out.push_back({std::move(fs), std::move(rp->second), r});
  }
  return out;
}

std::size_t FilesystemRegistry::purge(const std::vector<Resolved>& rules) {
  std::size_t n = 0;
  for (const auto& r : rules) {
    if (!r.rule.purge_on_delete) continue;
    for (const auto& f : r.fs->list(r.glob)) n += r.fs->remove(f.name) ? 1 : 0;
  }
  return n;
}

void FilesystemRegistry::set_cleanup(const std::string& process_id, std::vector<CleanupRule> rules) {
  std::vector<CleanupRule> old;
  {
    std::lock_guard lock(mu_);
    auto& slot = rules_[process_id];
    old = std::exchange(slot, std::move(rules));
    if (slot.empty()) rules_.erase(process_id);
  }
  // Outside the lock: listing a disk can take a while and must not stall the API.
  purge(resolve_rules(old));
}

void FilesystemRegistry::remove_cleanup(const std::string& process_id) {
  std::vector<CleanupRule> old;
  {
    std::lock_guard lock(mu_);
    auto it = rules_.find(process_id);
    if (it == rules_.end()) return;
    old = std::move(it->second);
    rules_.erase(it);
  }
  const auto n = purge(resolve_rules(old));
  if (n > 0) log::info("FS", "Purged files of a removed process", {{"process", process_id}, {"files", n}});
}

std::vector<CleanupRule> FilesystemRegistry::cleanup_rules(const std::string& process_id) const {
  std::lock_guard lock(mu_);
  auto it = rules_.find(process_id);
  return it == rules_.end() ? std::vector<CleanupRule>{} : it->second;
}

std::size_t FilesystemRegistry::tick(Clock::time_point now) {
  std::vector<CleanupRule> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, rules] : rules_) all.insert(all.end(), rules.begin(), rules.end());
  }
  std::size_t deleted = 0;
  for (const auto& r : resolve_rules(all)) {
    if (r.rule.max_files == 0 && r.rule.max_file_age_seconds == 0) continue;
    auto files = r.fs->list(r.glob);
    std::sort(files.begin(), files.end(), [](const FileInfo& a, const FileInfo& b) {
      return a.mtime != b.mtime ? a.mtime < b.mtime : a.name < b.name;
    });
    std::size_t first_kept = 0;
    if (r.rule.max_files > 0 && files.size() > r.rule.max_files) {
      first_kept = files.size() - r.rule.max_files;
      for (std::size_t i = 0; i < first_kept; ++i) deleted += r.fs->remove(files[i].name) ? 1 : 0;
    }
    if (r.rule.max_file_age_seconds > 0) {
      const auto best_before = now - std::chrono::seconds(r.rule.max_file_age_seconds);
      for (std::size_t i = first_kept; i < files.size(); ++i) {
        if (files[i].mtime < best_before) deleted += r.fs->remove(files[i].name) ? 1 : 0;
      }
    }
  }
  return deleted;
}

void FilesystemRegistry::start() {
  std::lock_guard lock(thread_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock l(thread_mu_);
    while (!cv_.wait_for(l, std::chrono::seconds(1), [this] { return stopping_; })) {
      l.unlock();
      try {
        tick(clock_());
      } catch (const std::exception& e) {
        log::error("FS", "Cleanup failed", {{"error", e.what()}});
      }
      l.lock();
    }
  });
}

void FilesystemRegistry::stop() {
  {
    std::lock_guard lock(thread_mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace dragon::fs
