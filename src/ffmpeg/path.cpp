#include "ffmpeg/path.hpp"

#include <vector>

namespace dragon::ffmpeg::path {

std::string clean(std::string_view p) {
  if (p.empty()) return ".";
  const bool rooted = p[0] == '/';
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < p.size()) {
    auto j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    auto seg = p.substr(i, j - i);
    i = j + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!rooted) parts.push_back(seg);  // "/.." stays "/"
      continue;
    }
    parts.push_back(seg);
  }
  std::string out;
  out.reserve(p.size());
  if (rooted) out += '/';
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out.append(parts[k]);
  }
  if (out.empty()) return ".";
  return out;
}

std::string absolute(std::string_view p, std::string_view cwd) {
  if (!p.empty() && p[0] == '/') return clean(p);
  std::string joined(cwd);
  if (!p.empty()) {
    joined += '/';
    joined.append(p);
  }
  return clean(joined);
}

}  // namespace dragon::ffmpeg::path
