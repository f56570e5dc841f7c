#pragma once
// The filesystem mounts (upstream http/handler/filesystem.go): /memfs (mem), / (disk, read-only)
// and one per S3 filesystem at its mountpoint. GET/HEAD are public and pass the HLS session
// accounting; writable mounts take PUT/POST/DELETE with their own Basic auth.
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "http/mime_types.hpp"
#include "http/router.hpp"

namespace dragon::config {
class Config;
}
namespace dragon::fs {
class FilesystemRegistry;
class LruCache;
}

namespace dragon::api {

struct ApiContext;

// Largest upload a mount or /api/v3/fs accepts: the memfs limit, within [64 MiB, 512 MiB], so an
// oversized upload is refused before it is buffered (upstream buffers any size).
std::size_t upload_limit(const config::Config& c);

// Basic credentials of a writable mount (storage.memory.auth.*, storage.s3[].auth.*).
struct MountAuth {
  bool enabled = false;
  std::string username;
  std::string password;
};

struct MountSpec {
  std::string filesystem;  // registry name: "mem", "disk", an S3 name
  std::string mount;       // "/memfs", "/", "/s3"
  bool writable = false;
  MountAuth auth;
  std::string default_type = "application/data";
  std::shared_ptr<fs::LruCache> cache;  // disk and S3 (storage.disk.cache.*), else null
  // Disk: FFmpeg writes absolute segment paths into playlists it writes through {diskfs}; lines of a
  // served .m3u8 that start with this root have it replaced by the mount path.
  std::string playlist_root;
};

// Registers the mount's routes. `registry` and `ctx` must outlive the router.
void register_mount(http::Router& router, ApiContext& ctx, fs::FilesystemRegistry* registry,
                    std::shared_ptr<const http::MimeTypes> mime, MountSpec spec);

// The mounts the config asks for (mem, disk with the LRU cache, every S3 filesystem registered).
// Returns the mounts' caches by filesystem name, for the API's writes to invalidate.
using MountCaches = std::map<std::string, std::shared_ptr<fs::LruCache>, std::less<>>;
MountCaches register_mount_routes(http::Router& router, ApiContext& ctx, fs::FilesystemRegistry* registry,
                           std::shared_ptr<const http::MimeTypes> mime);

}  // namespace dragon::api
