#include "session/hls.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace dragon::session {

namespace {
std::string lower_ext(std::string_view path) {
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  std::string ext(path.substr(dot));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string_view dir_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash + 1);
}

std::string reference_of(std::string_view path) {
  auto base = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  if (const auto dot = base.rfind('.'); dot != std::string_view::npos) base = base.substr(0, dot);
  return std::string(base);
}
}  // namespace

HlsKind hls_kind(std::string_view path) {
  const auto ext = lower_ext(path);
  if (ext == ".m3u8" || ext == ".m3u") return HlsKind::Playlist;
  if (ext == ".ts" || ext == ".mp4" || ext == ".m4s" || ext == ".m4a" || ext == ".m4v" || ext == ".aac") {
    return HlsKind::Segment;
  }
  return HlsKind::Other;
}

std::string HlsEgress::session_id(std::string_view ip, std::string_view playlist) {
  // FNV-1a over "ip\nplaylist": stable for the pair, and it keeps the address out of the id.
  std::uint64_t h = 1469598103934665603ull;
  const auto mix = [&h](std::string_view s) {
    for (const unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(ip);
  mix("\n");
  mix(playlist);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void HlsEgress::prune_locked() {
  for (auto it = by_ip_.begin(); it != by_ip_.end();) {
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(), [this](const Entry& e) { return !collector_->exists(e.id); }), v.end());
    it = v.empty() ? by_ip_.erase(it) : std::next(it);
  }
}

HlsEgress::Decision HlsEgress::request(std::string_view ip, std::string_view path, std::string_view user_agent) {
  const auto kind = hls_kind(path);
  if (kind == HlsKind::Other || !collector_ || !collector_->collectable(ip)) return {};

  std::lock_guard lock(mu_);
  if (++seq_ % 4096 == 0) prune_locked();
  auto& entries = by_ip_[std::string(ip)];
  // Sessions that ended (timeout) leave the index here.
  entries.erase(std::remove_if(entries.begin(), entries.end(), [this](const Entry& e) { return !collector_->exists(e.id); }),
                entries.end());

  if (kind == HlsKind::Playlist) {
    const auto id = session_id(ip, path);
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id; });
    if (it != entries.end()) {
      it->seq = seq_;
      return {Admission::Ok, id};
    }
    if (const auto a = collector_->admit(); a != Admission::Ok) {
      if (entries.empty()) by_ip_.erase(std::string(ip));
      return {a, {}};
    }
    collector_->register_session(id, reference_of(path), std::string(path), std::string(ip), std::string(user_agent));
    entries.push_back({std::string(path), std::string(dir_of(path)), id, seq_});
    return {Admission::Ok, id};
  }

  // A segment: the most recent playlist of this IP whose directory holds it (deepest first).
  const Entry* best = nullptr;
  for (const auto& e : entries) {
    if (!path.starts_with(e.dir)) continue;
    if (!best || e.dir.size() > best->dir.size() || (e.dir.size() == best->dir.size() && e.seq > best->seq)) best = &e;
  }
  if (!best) {
    if (entries.empty()) by_ip_.erase(std::string(ip));
    // Segments without a playlist are served uncounted, unless the collector is full: a viewer
    // refused at the playlist must not watch by guessing segment names.
    const auto a = collector_->admit();
    return {a == Admission::SessionsExceeded ? a : Admission::Ok, {}};
  }
  const std::string id = best->id;
  if (const auto a = collector_->activate(id); a != Admission::Ok) {
    entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id; }),
                  entries.end());
    if (entries.empty()) by_ip_.erase(std::string(ip));
    return {a == Admission::Unknown ? Admission::Ok : a, {}};
  }
  return {Admission::Ok, id};
}

void HlsEgress::sent(const std::string& session_id, std::uint64_t bytes) {
  if (session_id.empty() || !collector_) return;
  collector_->egress(session_id, bytes);
}

void HlsIngress::uploaded(std::string_view ip, std::string_view path, std::size_t size, std::string_view body) {
  if (!collector_ || !collector_->collectable(ip)) return;
  const auto kind = hls_kind(path);
  if (kind == HlsKind::Segment) {
    std::lock_guard lock(mu_);
    if (segments_.size() >= 10000) segments_.clear();  // never referenced: a bound, not a cache
    segments_[std::string(path)] = size;
    return;
  }
  if (kind != HlsKind::Playlist) return;
  std::uint64_t bytes = size;
  const auto dir = dir_of(path);
  {
    std::lock_guard lock(mu_);
    std::size_t pos = 0;
    while (pos < body.size()) {
      auto end = body.find('\n', pos);
      if (end == std::string_view::npos) end = body.size();
      auto line = body.substr(pos, end - pos);
      pos = end + 1;
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
      if (line.empty() || line.front() == '#') continue;
      if (const auto q = line.find('?'); q != std::string_view::npos) line = line.substr(0, q);
      std::string target;
      if (const auto scheme = line.find("://"); scheme != std::string_view::npos) {
        const auto slash = line.find('/', scheme + 3);
        if (slash == std::string_view::npos) continue;
        target = std::string(line.substr(slash));
      } else if (line.front() == '/') {
        target = std::string(line);
      } else {
        target = std::string(dir) + std::string(line);
      }
      if (auto it = segments_.find(target); it != segments_.end()) {
        bytes += it->second;
        segments_.erase(it);
      }
    }
  }
  const std::string id(path);
  collector_->open(id, reference_of(path), id, std::string(ip));
  collector_->ingress(id, bytes);
}

}  // namespace dragon::session
