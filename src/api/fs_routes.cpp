// /api/v3/fs[/{name}[/{path*}]] (upstream http/handler/api/filesystems.go); the mounts themselves
// are in mount_routes.cpp.
#include "api/fs_routes.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "api/context.hpp"
#include "api/file_serving.hpp"
#include "api/json_body.hpp"
#include "api/mount_routes.hpp"
#include "fs/disk.hpp"
#include "fs/lru_cache.hpp"
#include "fs/mem.hpp"
#include "fs/registry.hpp"
#include "fs/s3.hpp"
#include "log/log.hpp"
#include "util/time.hpp"

namespace dragon::api {

std::string_view content_type_for(std::string_view path, std::string_view fallback) {
  return builtin_mime_types().lookup(path, fallback);
}

namespace {

http::Response not_found(const std::string& path) { return http::Response::error(404, "File not found", {path}); }

// Runs disk and S3 work on the blocking pool; mem work inline (it never blocks).
http::Response run_for(const fs::Filesystem& f, std::function<http::Response()> work) {
  if (f.type() == "mem") return work();
  return http::Response::deferred(std::move(work));
}

std::string file_path(const http::Request& req) { return "/" + req.param("path"); }

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
  auto mime = std::make_shared<http::MimeTypes>();
  const auto mime_file = c.get_string("storage.mimetypes_file");
  if (!mime_file.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(mime_file, ec)) {
      if (auto err = mime->load_file(mime_file)) log::warn("fs", "MIME types file not loaded", {{"error", *err}});
    } else if (mime_file != "./mime.types") {
      log::warn("fs", "MIME types file missing, using the built-in table", {{"file", mime_file}});
    }
  }
  auto caches = std::make_shared<const MountCaches>(register_mount_routes(router, ctx, registry, mime));
  // A write or delete through the API drops the mount's cached copy (upstream).
  const auto invalidate = [caches](const std::string& fs_name, const std::string& path) {
    if (const auto it = caches->find(fs_name); it != caches->end()) {
      if (const auto clean = fs::clean_path(path)) it->second->invalidate(*clean);
    }
  };
  const std::size_t max_body = upload_limit(c);

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

  router.add(http::Method::Get, "/api/v3/fs/{name}/{path*}", [registry, unknown_fs, mime](http::Request& req) {
    auto f = registry->get(req.param("name"));
    if (!f) return unknown_fs(req);
    auto& fs_ref = *f;
    return run_for(fs_ref, [f = std::move(f), path = file_path(req), mime, &req] {
      const auto content = f->read(path);
      if (!content) return not_found(path);
      return file_response(req, *content, mime->lookup(content->info.name, "application/data"));
    });
  });

  if (ctx.read_only) return;

  router.add(
      http::Method::Put, "/api/v3/fs/{name}/{path*}",
      [registry, unknown_fs, invalidate](http::Request& req) {
        auto f = registry->get(req.param("name"));
        if (!f) return unknown_fs(req);
        auto& fs_ref = *f;
        return run_for(fs_ref, [f = std::move(f), path = file_path(req), body = std::move(req.body),
                                location = req.target.empty() ? req.path : req.target, invalidate]() mutable {
          const auto r = f->write(path, std::move(body));
          invalidate(f->name(), path);
          if (!r) return http::Response::error(400, "Bad request", {r.message});  // upstream: 400, not 507
          http::Response res = http::Response::empty(r.created ? 201 : 204);
          res.headers.set("Content-Location", std::move(location));
          return res;
        });
      },
      {.max_body = max_body});

  router.add(http::Method::Delete, "/api/v3/fs/{name}/{path*}", [registry, unknown_fs, invalidate](http::Request& req) {
    auto f = registry->get(req.param("name"));
    if (!f) return unknown_fs(req);
    auto& fs_ref = *f;
    return run_for(fs_ref, [f = std::move(f), path = file_path(req), invalidate] {
      invalidate(f->name(), path);
      const auto clean = fs::clean_path(path);
      if (!clean || !f->remove(*clean)) return not_found(path);
      return http::Response::text(200, "Deleted: " + *clean);
    });
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

  // S3 filesystems (storage.s3), one mount each. Rebuilt at every (re)configuration: they hold no
  // state besides connections. Filesystems of S3 items removed from the config are dropped.
  std::set<std::string> wanted;
  for (const auto& item : c.get("storage.s3")) {
    const auto name = item.value("name", std::string());
    fs::S3Options o;
    o.endpoint = item.value("endpoint", std::string());
    o.bucket = item.value("bucket", std::string());
    o.region = item.value("region", std::string());
    o.access_key_id = item.value("access_key_id", std::string());
    o.secret_access_key = item.value("secret_access_key", std::string());
    o.use_ssl = item.value("use_ssl", false);
    o.content_type = [](std::string_view path) { return std::string(content_type_for(path)); };
    auto s3 = std::make_shared<fs::S3Filesystem>(name, std::move(o));  // throws naming what is wrong
    // Upstream creates a missing bucket at startup; a failure is logged, not fatal (the endpoint may
    // come up later, and every request reports its own error).
    if (auto err = s3->ensure_bucket(); !err.empty()) {
      log::error("fs", "S3 bucket not ready", {{"fs", name}, {"error", err}});
    }
    registry.add(std::move(s3), item.value("mountpoint", std::string()));
    wanted.insert(name);
  }
  for (const auto& m : registry.list()) {
    if (m.type == "s3" && !wanted.count(m.name)) registry.remove(m.name);
  }
}

}  // namespace dragon::api
