#pragma once
// HLS sessions over plain HTTP file serving (the /memfs mount), as DESIGN "Tests on loopback" settles:
//
// - Egress ("hls" collector): a viewer is the client IP + the playlist path. The playlist request
//   registers a pending session (refused with 509 when the collector is full); the first segment
//   fetched after it activates the session (refused, and the session dropped, when the collector
//   filled up in between). A segment belongs to the most recently requested playlist of the same
//   IP whose directory contains it. Every byte sent (playlists and segments) is booked on the
//   session; it ends after sessions.session_timeout_sec without requests. Unlike upstream we do not
//   rewrite playlists with ?session= ids: players that share one IP share one session per playlist.
// - Ingress ("hlsingress" collector, upstream's): segment uploads are remembered; an uploaded
//   playlist books its own size plus the sizes of the segments it references on the session whose
//   id is the playlist path.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "session/registry.hpp"

namespace dragon::session {

enum class HlsKind { Other, Playlist, Segment };
HlsKind hls_kind(std::string_view path);

class HlsEgress {
 public:
  explicit HlsEgress(std::shared_ptr<Collector> collector) : collector_(std::move(collector)) {}

  struct Decision {
    Admission admission = Admission::Ok;  // not Ok: answer 509 with admission_text()
    std::string session_id;               // empty: nothing to book
  };
  // Called for a successful GET/HEAD of `path` by `ip`, before the body is sent.
  Decision request(std::string_view ip, std::string_view path, std::string_view user_agent = {});
  void sent(const std::string& session_id, std::uint64_t bytes);

  // The id of the session of (ip, playlist path).
  static std::string session_id(std::string_view ip, std::string_view playlist);

 private:
  struct Entry {
    std::string playlist, dir, id;
    std::uint64_t seq = 0;  // when the playlist was last requested
  };
  void prune_locked();

  std::shared_ptr<Collector> collector_;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<Entry>> by_ip_;
  std::uint64_t seq_ = 0;
};

class HlsIngress {
 public:
  explicit HlsIngress(std::shared_ptr<Collector> collector) : collector_(std::move(collector)) {}
  // A file was stored at `path` (e.g. "/memfs/live/x.m3u8") with `size` bytes; `body` is read only for playlists.
  void uploaded(std::string_view ip, std::string_view path, std::size_t size, std::string_view body);

 private:
  std::shared_ptr<Collector> collector_;
  std::mutex mu_;
  std::unordered_map<std::string, std::uint64_t> segments_;  // uploaded, not yet referenced
};

}  // namespace dragon::session
