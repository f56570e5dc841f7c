// /memfs/{path*} and /api/v3/fs[/{name}[/{path*}]] (upstream http/handler/filesystem.go and
// http/handler/api/filesystems.go).
#include "api/fs_routes.hpp"

#include <algorithm>
#include <ctime>

#include "api/context.hpp"
#include "api/json_body.hpp"
#include "fs/disk.hpp"
#include "fs/mem.hpp"
#include "fs/registry.hpp"
#include "session/hls.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace dragon::api {

std::string_view content_type_for(std::string_view path, std::string_view fallback) {
  static constexpr std::pair<std::string_view, std::string_view> k_types[] = {
      {".m3u8", "application/vnd.apple.mpegurl"},
      {".m3u", "application/vnd.apple.mpegurl"},
      {".ts", "video/MP2T"},
      {".mp4", "video/mp4"},
      {".m4s", "video/iso.segment"},
      {".m4a", "audio/mp4"},
      {".m4v", "video/mp4"},
      {".aac", "audio/aac"},
      {".mp3", "audio/mpeg"},
      {".mpd", "application/dash+xml"},
      {".vtt", "text/vtt"},
      {".webm", "video/webm"},
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".xml", "application/xml"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".woff2", "font/woff2"},
  };
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return fallback;
  const auto ext = util::to_lower(path.substr(dot));
  for (const auto& [e, t] : k_types) {
    if (e == ext) return t;
  }
  return fallback;
}

namespace {

// Upstream's mount body size is unbounded (whole body buffered); ours follows the memfs limit but
// stays within [64 MiB, 512 MiB] so an oversized upload is refused before it is buffered.
constexpr std::size_t k_min_body = 64u << 20;
constexpr std::size_t k_max_body = 512u << 20;

std::string http_date(fs::Clock::time_point t) {
  const std::time_t secs = fs::Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

// Playlists change every segment: always revalidate. Segments are written once per name while a
// stream runs, but names restart with the process, so caches may keep them only briefly.
void cache_headers(http::Response& res, std::string_view path) {
  const auto ct = content_type_for(path, "");
  if (ct == "application/vnd.apple.mpegurl" || ct == "application/dash+xml") {
    res.headers.set("Cache-Control", "no-cache");
  } else if (ct == "video/MP2T" || ct == "video/iso.segment" || ct == "video/mp4" || ct == "audio/aac" ||
             ct == "audio/mp4" || ct == "text/vtt") {
    res.headers.set("Cache-Control", "max-age=10");
  }
}

http::Response not_found(const std::string& path) { return http::Response::error(404, "File not found", {path}); }

// Runs disk work on the blocking pool; mem work inline (it never blocks).
http::Response run_for(const fs::Filesystem& f, std::function<http::Response()> work) {
  if (f.type() == "mem") return work();
  return http::Response::deferred(std::move(work));
}

std::string file_path(const http::Request& req) { return "/" + req.param("path"); }

http::Response serve(std::shared_ptr<fs::Filesystem> f, std::string path) {
  auto c = f->read(path);
  if (!c) return not_found(path);
  http::Response res;
  res.status = 200;
  res.headers.set("Content-Type", std::string(content_type_for(c->info.name)));
  res.headers.set("Last-Modified", http_date(c->info.mtime));
  cache_headers(res, c->info.name);
  if (c->data) {
    res.body = *c->data;  // http::Response owns a string; the shared buffer stays immutable
  } else {
    res.file = http::FileBody{c->host_path, 0, c->info.size};
  }
  return res;
}

http::Response store(std::shared_ptr<fs::Filesystem> f, std::string path, std::string body, std::string location) {
  const auto r = f->write(path, std::move(body));
  if (!r) return http::Response::error(400, "Bad request", {r.message});  // upstream: 400, not 507
  http::Response res = http::Response::empty(r.created ? 201 : 204);
  res.headers.set("Content-Location", std::move(location));
  return res;
}

http::Response erase(std::shared_ptr<fs::Filesystem> f, std::string path) {
  const auto clean = fs::clean_path(path);
  if (!clean || !f->remove(*clean)) return not_found(path);
  return http::Response::text(200, "Deleted: " + *clean);
}

// Basic auth for memfs writes (storage.memory.auth.*). The API's access JWT is accepted as well: it
// already grants the same writes through /api/v3/fs/mem.
struct MemAuth {
  bool enabled = false;
  std::string username;
  std::string password;
  const auth::JwtService* jwt = nullptr;

  std::optional<http::Response> check(const http::Request& req) const {
    if (!enabled) return std::nullopt;
    if (const auto h = req.headers.get("Authorization")) {
      if (util::starts_with_icase(*h, "Basic ")) {
        if (const auto dec = util::base64_decode(util::trim(h->substr(6)))) {
          const auto colon = dec->find(':');
          if (colon != std::string::npos) {
            // Both compared, always: no early exit that times the username.
            const bool u = util::secure_equals(std::string_view(*dec).substr(0, colon), username);
            const bool p = util::secure_equals(std::string_view(*dec).substr(colon + 1), password);
            if (u && p) return std::nullopt;
          }
        }
      } else if (jwt && util::starts_with_icase(*h, "Bearer ")) {
        if (jwt->verify(util::trim(h->substr(7)), auth::TokenUse::Access)) return std::nullopt;
      }
    }
    // FFmpeg sends its upload without credentials until it sees this challenge.
    auto res = http::Response::error(401, "Unauthorized", {"Missing or invalid credentials"});
    res.headers.set("WWW-Authenticate", "Basic realm=\"Restricted\"");
    return res;
  }
};

std::size_t body_limit(const config::Config& c) {
  const auto mb = c.get_int("storage.memory.max_size_mbytes");
  const std::size_t limit = mb > 0 ? static_cast<std::size_t>(mb) << 20 : 0;
  return std::clamp(limit, k_min_body, k_max_body);
}

nlohmann::json file_list(const fs::Filesystem& f, const std::string& glob, const std::string& sort, bool desc) {
  auto files = f.list(glob);
  // Upstream: "name", "size", anything else sorts by modification time.
  std::stable_sort(files.begin(), files.end(), [&](const fs::FileInfo& a, const fs::FileInfo& b) {
    if (sort == "name") return desc ? a.name > b.name : a.name < b.name;
    if (sort == "size") return desc ? a.size > b.size : a.size < b.size;
    return desc ? a.mtime > b.mtime : a.mtime < b.mtime;
  });
  auto out = nlohmann::json::array();
  for (const auto& fi : files) {
    out.push_back({{"name", fi.name}, {"size_bytes", fi.size}, {"last_modified", util::unix_seconds(fi.mtime)}});
  }
  return out;
}

}  // namespace

void register_fs_routes(http::Router& router, ApiContext& ctx, fs::FilesystemRegistry* registry) {
  const auto& c = *ctx.config;
  auto mem_auth = std::make_shared<MemAuth>();
  mem_auth->enabled = c.get_bool("storage.memory.auth.enable");
  mem_auth->username = c.get_string("storage.memory.auth.username");
  mem_auth->password = c.get_string("storage.memory.auth.password");
  mem_auth->jwt = ctx.jwt.get();
  const std::size_t max_body = body_limit(c);

  // HLS sessions (session/hls.hpp): viewers of the mount's playlists and segments ("hls"), FFmpeg's
  // uploads ("hlsingress"); absent when sessions are off or the collector is not registered.
  std::shared_ptr<session::HlsEgress> hls;
  std::shared_ptr<session::HlsIngress> hls_ingress;
  if (ctx.sessions) {
    if (auto col = ctx.sessions->get("hls")) hls = std::make_shared<session::HlsEgress>(std::move(col));
    if (auto col = ctx.sessions->get("hlsingress")) hls_ingress = std::make_shared<session::HlsIngress>(std::move(col));
  }

  // --- the /memfs mount: public reads, Basic-auth writes (also with api.read_only, as upstream) ---
  router.add(
      http::Method::Get, "/memfs/{path*}",
      [registry, hls](http::Request& req) {
        auto f = registry->get("mem");
        if (!f) return not_found(file_path(req));
        auto res = serve(std::move(f), file_path(req));
        if (hls && res.status == 200) {
          const auto ua = req.headers.get("User-Agent");
          const auto d = hls->request(req.remote_ip, req.path, ua ? *ua : std::string_view{});
          if (d.admission != session::Admission::Ok) {
            return http::Response::error(509, {}, {std::string(session::admission_text(d.admission))});
          }
          hls->sent(d.session_id, req.method == http::Method::Head ? 0 : res.body.size());
        }
        return res;
      },
      {.access = http::Access::Public});

  const auto mount_write = [registry, mem_auth, hls_ingress](http::Request& req) {
    if (auto refused = mem_auth->check(req)) return std::move(*refused);
    auto f = registry->get("mem");
    if (!f) return not_found(file_path(req));
    const std::size_t size = req.body.size();
    std::string playlist;
    if (hls_ingress && session::hls_kind(req.path) == session::HlsKind::Playlist) playlist = req.body;
    auto res = store(std::move(f), file_path(req), std::move(req.body), req.target.empty() ? req.path : req.target);
    if (hls_ingress && res.status < 300) hls_ingress->uploaded(req.remote_ip, req.path, size, playlist);
    return res;
  };
  // The precheck answers 401 before the body is read (Expect: 100-continue); the handler checks
  // again because Service::handle does not run prechecks.
  http::RouteOptions write_opts{.access = http::Access::Custom,
                                .max_body = max_body,
                                .precheck = [mem_auth](http::Request& req) { return mem_auth->check(req); }};
  router.add(http::Method::Put, "/memfs/{path*}", mount_write, write_opts);
  router.add(http::Method::Post, "/memfs/{path*}", mount_write, write_opts);
  router.add(
      http::Method::Delete, "/memfs/{path*}",
      [registry, mem_auth](http::Request& req) {
        if (auto refused = mem_auth->check(req)) return std::move(*refused);
        auto f = registry->get("mem");
        if (!f) return not_found(file_path(req));
        return erase(std::move(f), file_path(req));
      },
      {.access = http::Access::Custom, .precheck = [mem_auth](http::Request& req) { return mem_auth->check(req); }});

  // --- /api/v3/fs ---
  router.add(http::Method::Get, "/api/v3/fs", [registry](http::Request& req) {
    auto out = nlohmann::json::array();
    for (const auto& m : registry->list()) out.push_back({{"name", m.name}, {"type", m.type}, {"mount", m.mount}});
    return json_response(req, 200, out);
  });

  router.add(http::Method::Get, "/api/v3/fs/{name}", [registry](http::Request& req) {
    auto f = registry->get(req.param("name"));
    if (!f) return http::Response::error(404, "File not found", {"unknown filesystem: " + req.param("name")});
    auto& fs_ref = *f;
    return run_for(fs_ref, [f = std::move(f), glob = req.query_param("glob").value_or(""),
                            sort = req.query_param("sort").value_or(""),
                            desc = req.query_param("order").value_or("") == "desc",
                            pretty = req.has_query_param("pretty")] {
      return http::Response::json(200, file_list(*f, glob, sort, desc), pretty);
    });
  });

  const auto unknown_fs = [](const http::Request& req) {
    return http::Response::error(404, "File not found", {"unknown filesystem: " + req.param("name")});
  };

  router.add(http::Method::Get, "/api/v3/fs/{name}/{path*}", [registry, unknown_fs](http::Request& req) {
    auto f = registry->get(req.param("name"));
    if (!f) return unknown_fs(req);
    auto& fs_ref = *f;
    return run_for(fs_ref, [f = std::move(f), path = file_path(req)] { return serve(f, path); });
  });

  if (ctx.read_only) return;

  router.add(
      http::Method::Put, "/api/v3/fs/{name}/{path*}",
      [registry, unknown_fs](http::Request& req) {
        auto f = registry->get(req.param("name"));
        if (!f) return unknown_fs(req);
        auto& fs_ref = *f;
        return run_for(fs_ref, [f = std::move(f), path = file_path(req), body = std::move(req.body),
                                location = req.target.empty() ? req.path : req.target]() mutable {
          return store(f, path, std::move(body), location);
        });
      },
      {.max_body = max_body});

  router.add(http::Method::Delete, "/api/v3/fs/{name}/{path*}", [registry, unknown_fs](http::Request& req) {
    auto f = registry->get(req.param("name"));
    if (!f) return unknown_fs(req);
    auto& fs_ref = *f;
    return run_for(fs_ref, [f = std::move(f), path = file_path(req)] { return erase(f, path); });
  });
}

void configure_filesystems(fs::FilesystemRegistry& registry, const config::Config& c) {
  const auto mb = c.get_int("storage.memory.max_size_mbytes");
  const std::uint64_t max_bytes = mb > 0 ? static_cast<std::uint64_t>(mb) << 20 : 0;
  const bool purge = c.get_bool("storage.memory.purge");
  if (auto mem = std::dynamic_pointer_cast<fs::MemFilesystem>(registry.get("mem"))) {
    mem->set_limits(max_bytes, purge);
  } else {
    registry.add(std::make_shared<fs::MemFilesystem>("mem", fs::MemOptions{.max_bytes = max_bytes, .purge = purge}),
                 "/memfs");
  }
  auto disk = std::make_shared<fs::DiskFilesystem>("disk", c.get_string("storage.disk.dir"));
  auto current = std::dynamic_pointer_cast<fs::DiskFilesystem>(registry.get("disk"));
  if (!current || current->root() != disk->root()) registry.add(std::move(disk), "/");
}

}  // namespace dragon::api
