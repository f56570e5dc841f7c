#include "api/file_serving.hpp"

#include <ctime>

#include "http/range.hpp"
#include "util/strings.hpp"

namespace dragon::api {

namespace {

// Playlists change every segment: always revalidate. Segments are written once per name while a
// stream runs, but names restart with the process, so caches may keep them only briefly.
void cache_headers(http::Response& res, std::string_view content_type) {
  if (content_type == "application/vnd.apple.mpegurl" || content_type == "application/dash+xml") {
    res.headers.set("Cache-Control", "no-cache");
  } else if (content_type == "video/MP2T" || content_type == "video/iso.segment" || content_type == "video/mp4" ||
             content_type == "audio/aac" || content_type == "audio/mp4" || content_type == "text/vtt") {
    res.headers.set("Cache-Control", "max-age=10");
  }
}

std::optional<std::time_t> parse_http_date(std::string_view s) {
  if (s.size() > 64) return std::nullopt;
  const std::string text(s);
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return ::timegm(&tm);
}

// If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110 §13.1.2).
bool etag_matches(std::string_view header, std::string_view etag) {
  const auto strip = [](std::string_view t) {
    t = util::trim(t);
    if (t.starts_with("W/")) t.remove_prefix(2);
    return t;
  };
  const auto mine = strip(etag);
  std::size_t pos = 0;
  while (pos <= header.size()) {
    auto comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    const auto tag = strip(header.substr(pos, comma - pos));
    if (tag == "*" || tag == mine) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

std::string etag_for(const fs::FileInfo& info) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(info.mtime.time_since_epoch()).count();
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(ns),
                              static_cast<unsigned long long>(info.size));
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string http_date(fs::Clock::time_point t) {
  const std::time_t secs = fs::Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

http::Response file_response(const http::Request& req, const fs::FileContent& c, std::string_view content_type) {
  const auto etag = etag_for(c.info);
  const auto last_modified = http_date(c.info.mtime);
  http::Response res;
  res.headers.set("ETag", etag);
  res.headers.set("Last-Modified", last_modified);
  res.headers.set("Accept-Ranges", "bytes");
  cache_headers(res, content_type);

  // Conditional GET: If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
  bool not_modified = false;
  if (const auto inm = req.headers.get("If-None-Match")) {
    not_modified = etag_matches(*inm, etag);
  } else if (const auto ims = req.headers.get("If-Modified-Since")) {
    const auto since = parse_http_date(*ims);
    not_modified = since && fs::Clock::to_time_t(c.info.mtime) <= *since;
  }
  if (not_modified) {
    res.status = 304;
    return res;
  }

  res.headers.set("Content-Type", std::string(content_type));
  const std::uint64_t size = c.data ? c.data->size() : c.info.size;
  std::uint64_t first = 0, length = size;
  res.status = 200;
  if (req.method == http::Method::Get) {
    if (const auto range_header = req.headers.get("Range")) {
      bool use_range = true;
      if (const auto if_range = req.headers.get("If-Range")) {
        const auto v = util::trim(*if_range);
        use_range = v.starts_with("\"") ? v == etag : v == last_modified;
      }
      const auto r = use_range ? http::parse_range(*range_header, size) : http::ByteRange{};
      if (r.kind == http::ByteRange::Kind::Unsatisfiable) {
        res = http::Response::error(416, {}, {"range outside the file's " + std::to_string(size) + " bytes"});
        res.headers.set("Content-Range", "bytes */" + std::to_string(size));
        return res;
      }
      if (r.kind == http::ByteRange::Kind::Satisfiable) {
        res.status = 206;
        first = r.first;
        length = r.length();
        res.headers.set("Content-Range",
                        "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(size));
      }
    }
  }
  if (c.data) {
    res.shared = http::SharedBody{c.data, static_cast<std::size_t>(first), static_cast<std::size_t>(length)};
  } else {
    res.file = http::FileBody{c.host_path, first, length};
  }
  return res;
}

const http::MimeTypes& builtin_mime_types() {
  static const http::MimeTypes k_types;
  return k_types;
}

}  // namespace dragon::api
