#pragma once
// Serving one stored file over HTTP, the same for every mount and /api/v3/fs: validators (ETag,
// Last-Modified) with conditional requests (304), single byte ranges (206/416), content type and
// cache headers. Bodies are never copied: mem/S3/cache buffers are shared, disk files streamed.
#include <string>
#include <string_view>

#include "fs/filesystem.hpp"
#include "http/message.hpp"
#include "http/mime_types.hpp"

namespace dragon::api {

// Strong validator from modification time and size (as nginx does): no hashing of the content.
std::string etag_for(const fs::FileInfo& info);
// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string http_date(fs::Clock::time_point t);

// 200 with the whole file, 206 with the requested range, 304 when the client's copy is current,
// 416 for a range outside the file. Range is honoured for GET only (and If-Range checked).
http::Response file_response(const http::Request& req, const fs::FileContent& content, std::string_view content_type);

// The built-in MIME table (routes without a config, e.g. the embedded UI).
const http::MimeTypes& builtin_mime_types();

}  // namespace dragon::api
