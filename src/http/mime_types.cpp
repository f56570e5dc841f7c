#include "http/mime_types.hpp"

#include <fstream>
#include <sstream>

#include "util/strings.hpp"

namespace dragon::http {

MimeTypes::MimeTypes() {
  static constexpr std::pair<std::string_view, std::string_view> k_builtin[] = {
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
  for (const auto& [ext, type] : k_builtin) by_ext_.emplace(ext, type);
}

std::size_t MimeTypes::load_text(std::string_view text) {
  std::size_t added = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::string_view type;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == ';')) ++i;
      const auto start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != ';') ++i;
      if (i == start) break;
      const auto word = line.substr(start, i - start);
      if (type.empty()) {
        // "type/subtype": anything else is not a mime.types line.
        if (word.find('/') == std::string_view::npos || word.size() > 255) break;
        type = word;
        continue;
      }
      if (word.size() > 64) continue;
      std::string ext = util::to_lower(word);
      if (ext.front() != '.') ext.insert(ext.begin(), '.');
      by_ext_[std::move(ext)] = std::string(type);
      ++added;
    }
  }
  return added;
}

std::optional<std::string> MimeTypes::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read " + path;
  std::ostringstream ss;
  ss << in.rdbuf();
  load_text(ss.str());
  return std::nullopt;
}

std::string_view MimeTypes::lookup(std::string_view path, std::string_view fallback) const {
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return fallback;
  const auto ext = util::to_lower(path.substr(dot));
  const auto it = by_ext_.find(ext);
  return it == by_ext_.end() ? fallback : std::string_view(it->second);
}

}  // namespace dragon::http
