#include "api/mount_routes.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "api/context.hpp"
#include "api/file_serving.hpp"
#include "fs/disk.hpp"
#include "fs/lru_cache.hpp"
#include "fs/registry.hpp"
#include "log/log.hpp"
#include "session/hls.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dragon::api {

namespace {

// Upstream's mount body size is unbounded (whole body buffered); ours follows the memfs limit but
// stays within [64 MiB, 512 MiB] so an oversized upload is refused before it is buffered.
constexpr std::size_t k_min_body = 64u << 20;
constexpr std::size_t k_max_body = 512u << 20;
// Playlists larger than this are served as they are, not rewritten.
constexpr std::uint64_t k_max_rewrite = 4u << 20;

struct Mount {
  MountSpec spec;
  fs::FilesystemRegistry* registry = nullptr;
  std::shared_ptr<const http::MimeTypes> mime;
  const auth::JwtService* jwt = nullptr;
  std::shared_ptr<session::HlsEgress> hls;
  std::shared_ptr<session::HlsIngress> hls_ingress;

  std::string path_of(const http::Request& req) const { return "/" + req.param("path"); }

  // The API's access JWT is accepted as well: it already grants the same writes through /api/v3/fs.
  std::optional<http::Response> check_auth(const http::Request& req) const {
    if (!spec.auth.enabled) return std::nullopt;
    if (const auto h = req.headers.get("Authorization")) {
      if (util::starts_with_icase(*h, "Basic ")) {
        if (const auto dec = util::base64_decode(util::trim(h->substr(6)))) {
          const auto colon = dec->find(':');
          if (colon != std::string::npos) {
            // Both compared, always: no early exit that times the username.
            const bool u = util::secure_equals(std::string_view(*dec).substr(0, colon), spec.auth.username);
            const bool p = util::secure_equals(std::string_view(*dec).substr(colon + 1), spec.auth.password);
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

  // The file, from the cache when it holds a current copy. Sets X-Cache as upstream does.
  std::optional<fs::FileContent> lookup(const fs::Filesystem& f, const http::Request& req, const std::string& path,
                                        std::string& x_cache) const {
    auto& cache = spec.cache;
    if (!cache) return f.read(path);
    if (req.method != http::Method::Get) {
      x_cache = "SKIP ONLYGET";
      return f.read(path);
    }
    if (!cache->type_allowed(path)) {
      x_cache = "SKIP EXT";
      return f.read(path);
    }
    if (auto hit = cache->get(path)) {
      // A disk file may have been rewritten behind the API's back (FFmpeg writing through
      // {diskfs}): a hit counts only while size and mtime still match.
      const auto now = f.type() == "disk" ? f.stat(hit->info.name) : std::optional<fs::FileInfo>(hit->info);
      if (now && now->size == hit->info.size && now->mtime == hit->info.mtime) {
        x_cache = "HIT " + std::to_string(hit->ttl_left.count());
        return fs::FileContent{std::move(hit->info), std::move(hit->data), {}};
      }
      cache->invalidate(path);
    }
    auto c = f.read(path);
    if (!c) {
      x_cache = "SKIP NOTOK";
      return c;
    }
    const auto max_file = cache->options().max_file_bytes;
    if (max_file > 0 && c->info.size > max_file) {
      x_cache = "SKIP TOOBIG";
      return c;
    }
    if (!c->data) {
      std::ifstream in(c->host_path, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      if (!in.good() && !in.eof()) return c;
      c->data = std::make_shared<const std::string>(std::move(ss).str());
      c->info.size = c->data->size();
      c->host_path.clear();
    }
    cache->put(path, c->info, c->data);
    x_cache = "MISS";
    return c;
  }

  // Disk playlists: absolute segment paths under the disk root become paths under the mount.
  void rewrite_playlist(fs::FileContent& c) const {
    if (spec.playlist_root.empty() || c.info.size > k_max_rewrite) return;
    std::string text;
    if (c.data) {
      text = *c.data;
    } else {
      std::ifstream in(c.host_path, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      text = std::move(ss).str();
    }
    const std::string prefix = spec.playlist_root + "/";
    const std::string replacement = spec.mount == "/" ? "/" : spec.mount + "/";
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    bool changed = false;
    while (pos < text.size()) {
      auto eol = text.find('\n', pos);
      const auto next = eol == std::string::npos ? text.size() : eol + 1;
      std::string_view line(text.data() + pos, next - pos);
      if (!line.empty() && line.front() != '#' && line.starts_with(prefix)) {
        out += replacement;
        out += line.substr(prefix.size());
        changed = true;
      } else {
        out += line;
      }
      pos = next;
    }
    if (!changed) return;
    c.data = std::make_shared<const std::string>(std::move(out));
    c.info.size = c.data->size();
    c.host_path.clear();
  }

  http::Response get(http::Request& req) const {
    auto f = registry->get(spec.filesystem);
    const auto path = path_of(req);
    if (!f) return http::Response::error(404, "File not found", {path});
    std::string x_cache;
    auto c = lookup(*f, req, path, x_cache);
    if (!c) {
      // The embedded UI stays reachable until the disk has an index.html of its own.
      if (spec.mount == "/" && path == "/") {
        http::Response r = http::Response::empty(302);
        r.headers.set("Location", "/ui/");
        r.headers.set("Cache-Control", "no-store");
        return r;
      }
      auto res = http::Response::error(404, "File not found", {path});
      if (!x_cache.empty()) res.headers.set("X-Cache", x_cache);
      return res;
    }
    const bool playlist = session::hls_kind(c->info.name) == session::HlsKind::Playlist;
    if (playlist) rewrite_playlist(*c);
    auto res = file_response(req, *c, mime->lookup(c->info.name, spec.default_type));
    if (!x_cache.empty()) res.headers.set("X-Cache", x_cache);
    if (playlist && !spec.playlist_root.empty()) res.headers.set("Cache-Control", "private");
    if (hls && (res.status == 200 || res.status == 206)) {
      const auto ua = req.headers.get("User-Agent");
      const auto d = hls->request(req.remote_ip, req.path, ua ? *ua : std::string_view{});
      if (d.admission != session::Admission::Ok) {
        return http::Response::error(509, {}, {std::string(session::admission_text(d.admission))});
      }
      hls->sent(d.session_id, req.method == http::Method::Head ? 0 : res.body_size());
    }
    return res;
  }

  http::Response put(http::Request& req) const {
    if (auto refused = check_auth(req)) return std::move(*refused);
    auto f = registry->get(spec.filesystem);
    const auto path = path_of(req);
    if (!f) return http::Response::error(404, "File not found", {path});
    const std::size_t size = req.body.size();
    std::string playlist;
    if (hls_ingress && session::hls_kind(req.path) == session::HlsKind::Playlist) playlist = req.body;
    const auto r = f->write(path, std::move(req.body));
    if (!r) return http::Response::error(400, "Bad request", {r.message});  // upstream: 400, not 507
    if (spec.cache) spec.cache->invalidate(path);
    if (hls_ingress) hls_ingress->uploaded(req.remote_ip, req.path, size, playlist);
    http::Response res = http::Response::empty(r.created ? 201 : 204);
    res.headers.set("Content-Location", req.target.empty() ? req.path : req.target);
    return res;
  }

  http::Response remove(http::Request& req) const {
    if (auto refused = check_auth(req)) return std::move(*refused);
    auto f = registry->get(spec.filesystem);
    const auto path = path_of(req);
    const auto clean = fs::clean_path(path);
    if (!f || !clean || !f->remove(*clean)) return http::Response::error(404, "File not found", {path});
    if (spec.cache) spec.cache->invalidate(*clean);
    return http::Response::text(200, "Deleted: " + *clean);
  }
};

}  // namespace

std::size_t upload_limit(const config::Config& c) {
  const auto mb = c.get_int("storage.memory.max_size_mbytes");
  const std::size_t limit = mb > 0 ? static_cast<std::size_t>(mb) << 20 : 0;
  return std::clamp(limit, k_min_body, k_max_body);
}

void register_mount(http::Router& router, ApiContext& ctx, fs::FilesystemRegistry* registry,
                    std::shared_ptr<const http::MimeTypes> mime, MountSpec spec) {
  auto m = std::make_shared<Mount>();
  m->registry = registry;
  m->mime = std::move(mime);
  m->jwt = ctx.jwt.get();
  // HLS sessions (session/hls.hpp): viewers of the mount's playlists and segments ("hls"), FFmpeg's
  // uploads ("hlsingress"); absent when sessions are off or the collector is not registered.
  if (ctx.sessions) {
    if (auto col = ctx.sessions->get("hls")) m->hls = std::make_shared<session::HlsEgress>(std::move(col));
    if (auto col = ctx.sessions->get("hlsingress")) {
      m->hls_ingress = std::make_shared<session::HlsIngress>(std::move(col));
    }
  }
  const std::string pattern = (spec.mount == "/" ? std::string() : spec.mount) + "/{path*}";
  const bool disk_like = registry->get(spec.filesystem) && registry->get(spec.filesystem)->type() != "mem";
  m->spec = std::move(spec);

  // Disk and S3 reads block: they run on the blocking pool. Memory reads never do.
  router.add(
      http::Method::Get, pattern,
      [m, disk_like](http::Request& req) {
        if (!disk_like) return m->get(req);
        return http::Response::deferred([m, &req] { return m->get(req); });
      },
      {.access = http::Access::Public});
  if (!m->spec.writable) return;

  const auto write = [m, disk_like](http::Request& req) {
    if (!disk_like) return m->put(req);
    return http::Response::deferred([m, &req] { return m->put(req); });
  };
  // The precheck answers 401 before the body is read (Expect: 100-continue); the handler checks
  // again because Service::handle does not run prechecks. Mount writes stay with api.read_only
  // (upstream).
  const auto precheck = [m](http::Request& req) { return m->check_auth(req); };
  http::RouteOptions write_opts{
      .access = http::Access::Custom, .max_body = upload_limit(*ctx.config), .precheck = precheck};
  router.add(http::Method::Put, pattern, write, write_opts);
  router.add(http::Method::Post, pattern, write, write_opts);
  router.add(
      http::Method::Delete, pattern,
      [m, disk_like](http::Request& req) {
        if (!disk_like) return m->remove(req);
        return http::Response::deferred([m, &req] { return m->remove(req); });
      },
      {.access = http::Access::Custom, .precheck = precheck});
}

MountCaches register_mount_routes(http::Router& router, ApiContext& ctx, fs::FilesystemRegistry* registry,
                           std::shared_ptr<const http::MimeTypes> mime) {
  const auto& c = *ctx.config;
  // One cache per mount (keys are paths inside the filesystem), all with the same rules.
  const auto make_cache = [&c]() -> std::shared_ptr<fs::LruCache> {
    if (!c.get_bool("storage.disk.cache.enable")) return nullptr;
    fs::LruCacheOptions o;
    o.max_bytes = c.get_uint("storage.disk.cache.max_size_mbytes") << 20;
    o.max_file_bytes = c.get_uint("storage.disk.cache.max_file_size_mbytes") << 20;
    o.ttl = std::chrono::seconds(c.get_int("storage.disk.cache.ttl_seconds"));
    o.allow = c.get_strings("storage.disk.cache.types.allow");
    o.block = c.get_strings("storage.disk.cache.types.block");
    return std::make_shared<fs::LruCache>(std::move(o));
  };
  MountCaches caches;
  for (const auto& info : registry->list()) {
    MountSpec spec;
    spec.filesystem = info.name;
    spec.mount = info.mount;
    if (info.type == "mem") {
      spec.writable = true;
      spec.auth = {c.get_bool("storage.memory.auth.enable"), c.get_string("storage.memory.auth.username"),
                   c.get_string("storage.memory.auth.password")};
    } else if (info.type == "disk") {
      spec.default_type = "text/html";
      spec.cache = make_cache();
      if (const auto f = registry->get(info.name)) {
        if (const auto* disk = dynamic_cast<const fs::DiskFilesystem*>(f.get())) spec.playlist_root = disk->root();
      }
    } else if (info.type == "s3") {
      // storage.s3[].auth for writes; the same cache rules as the disk (upstream).
      spec.writable = true;
      spec.cache = make_cache();
      for (const auto& item : c.get("storage.s3")) {
        if (item.value("name", std::string()) != info.name) continue;
        const auto auth = item.value("auth", nlohmann::json::object());
        spec.auth = {auth.value("enable", false), auth.value("username", std::string()),
                     auth.value("password", std::string())};
      }
    } else {
      continue;
    }
    if (spec.cache) caches[info.name] = spec.cache;
    register_mount(router, ctx, registry, mime, std::move(spec));
  }
  return caches;
}

}  // namespace dragon::api
