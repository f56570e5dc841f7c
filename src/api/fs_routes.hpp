#pragma once
// Filesystem routes: the /memfs mount (public reads, Basic-auth writes as upstream) and /api/v3/fs.
#include "http/router.hpp"

namespace dragon::config {
class Config;
}
namespace dragon::fs {
class FilesystemRegistry;
}

namespace dragon::api {

struct ApiContext;

// `registry` must outlive the router. Mount writes are not removed by api.read_only (upstream);
// the /api/v3/fs PUT/DELETE routes are.
void register_fs_routes(http::Router& router, ApiContext& ctx, fs::FilesystemRegistry* registry);

// Creates "mem" (mount /memfs) and "disk" (mount /) when missing, and applies the config to them:
// memory limit/purge on the existing memfs (contents survive reloads), a new disk filesystem when
// storage.disk.dir changed. Throws std::system_error when the disk dir cannot be created.
void configure_filesystems(fs::FilesystemRegistry& registry, const config::Config& config);

// "video/MP2T" for "/a/b.ts"; `fallback` for unknown extensions.
std::string_view content_type_for(std::string_view path, std::string_view fallback = "application/data");

}  // namespace dragon::api
