// GET /ui/...: the web UI (a single-page app of plain ES modules), served from the binary, or from
// the folder router.ui_path names (e.g. a Restreamer UI build), as upstream does. GET / redirects
// to /ui/ while the disk filesystem mounted at / has no index.html (mount_routes.cpp).
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "api/context.hpp"
#include "api/fs_routes.hpp"
#include "util/embedded_assets.hpp"

namespace dragon::api {

namespace {

namespace stdfs = std::filesystem;

// The UI talks to this server only; nothing else may load into it.
constexpr const char* k_csp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'";

// Paths that name a file type a browser loads as code or data: never answered with index.html.
bool looks_like_asset(std::string_view rel) {
  const auto slash = rel.rfind('/');
  const auto name = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return false;
  const auto ext = name.substr(dot);
  return ext != ".html" && ext != ".htm";
}

// A strong validator from the content (FNV-1a, 64 bit).
std::string etag_of(std::string_view data) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::ostringstream os;
  os << '"' << std::hex << h << '-' << std::dec << data.size() << '"';
  return os.str();
}

bool safe_relative(std::string_view rel) {
  if (rel.find('\0') != std::string_view::npos || rel.find('\\') != std::string_view::npos) return false;
  std::size_t i = 0;
  while (i <= rel.size()) {
    auto j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    const auto seg = rel.substr(i, j - i);
    if (seg == "..") return false;
    i = j + 1;
  }
  return true;
}

http::Response file_response(const http::Request& req, std::string_view rel, std::string body) {
  const auto etag = etag_of(body);
  http::Response res;
  if (const auto inm = req.headers.get("If-None-Match"); inm && *inm == etag) {
    res = http::Response::empty(304);
  } else {
    res = http::Response::text(200, std::move(body), std::string(content_type_for(rel, "application/octet-stream")));
  }
  res.headers.set("ETag", etag);
  // Names are not content-hashed: revalidate every time (cheap with the ETag).
  res.headers.set("Cache-Control", "no-cache");
  res.headers.set("X-Content-Type-Options", "nosniff");
  res.headers.set("Referrer-Policy", "no-referrer");
  if (rel.ends_with(".html")) {
    res.headers.set("Content-Security-Policy", k_csp);
    res.headers.set("X-Frame-Options", "DENY");
  }
  return res;
}

std::optional<std::string> read_disk_file(const stdfs::path& root, std::string_view rel) {
  std::error_code ec;
  const stdfs::path p = root / stdfs::path(std::string(rel));
  if (!stdfs::is_regular_file(p, ec)) return std::nullopt;
  // Symlinks out of the folder are not followed.
  const auto canon = stdfs::weakly_canonical(p, ec);
  const auto canon_root = stdfs::weakly_canonical(root, ec);
  if (ec) return std::nullopt;
  const auto r = canon_root.native(), c = canon.native();
  if (c.size() <= r.size() || c.compare(0, r.size(), r) != 0 || c[r.size()] != '/') return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

}  // namespace

void register_ui_routes(http::Router& router, ApiContext& ctx) {
  const std::string ui_path = ctx.config->get_string("router.ui_path");

  router.add(
      http::Method::Get, "/ui",
      [](http::Request&) {
        http::Response r = http::Response::empty(301);
        r.headers.set("Location", "/ui/");
        return r;
      },
      {.access = http::Access::Public});

  router.add(
      http::Method::Get, "/ui/{path*}",
      [ui_path](http::Request& req) {
        std::string rel = req.param("path");
        while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
        if (rel.empty() || rel.ends_with("/")) rel += "index.html";
        if (!safe_relative(rel)) return http::Response::error(404, "File not found", {"invalid path"});
        if (!ui_path.empty()) {
          // A folder on disk instead of the embedded UI (read per request: it may be replaced live).
          if (auto data = read_disk_file(ui_path, rel)) return file_response(req, rel, std::move(*data));
          if (looks_like_asset(rel)) return http::Response::error(404, "File not found", {"/ui/" + rel});
          if (auto index = read_disk_file(ui_path, "index.html")) return file_response(req, "index.html", *index);
          return http::Response::error(404, "File not found", {"/ui/" + rel});
        }
        if (auto data = assets::find("ui/" + rel)) return file_response(req, rel, std::string(*data));
        // A single-page app: its own paths (/ui/process/x) load index.html, which routes them.
        if (looks_like_asset(rel)) return http::Response::error(404, "File not found", {"/ui/" + rel});
        auto index = assets::find("ui/index.html");
        if (!index) return http::Response::error(404, "File not found", {"the UI is not embedded in this build"});
        return file_response(req, "index.html", std::string(*index));
      },
      {.access = http::Access::Public});
}

}  // namespace dragon::api
