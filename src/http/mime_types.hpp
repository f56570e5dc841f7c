#pragma once
// Content types by file extension: a built-in table for what media servers serve, optionally
// extended or overridden by a mime.types file (storage.mimetypes_file; "type ext ext ..." lines as
// in Apache's and nginx's files, '#' comments, extensions with or without a leading dot).
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dragon::http {

class MimeTypes {
 public:
  MimeTypes();  // the built-in table

  // Adds the file's entries over the built-in ones. Returns an error message ("line 3: ...") for a
  // file that cannot be read; malformed lines are skipped (as Go's and nginx's loaders do).
  std::optional<std::string> load_file(const std::string& path);
  // Parses the text of a mime.types file (what load_file reads); returns the number of extensions added.
  std::size_t load_text(std::string_view text);

  // "video/MP2T" for "/a/b.ts"; `fallback` for unknown or missing extensions.
  std::string_view lookup(std::string_view path, std::string_view fallback) const;

 private:
  std::unordered_map<std::string, std::string> by_ext_;  // ".ts" -> "video/MP2T"
};

}  // namespace dragon::http
