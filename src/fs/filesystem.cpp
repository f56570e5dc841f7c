#include "fs/filesystem.hpp"

#include <vector>

namespace dragon::fs {

std::optional<std::string> clean_path(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) return std::nullopt;
  // Bounded before splitting: a hostile path cannot make us allocate much.
  if (path.size() > 4 * k_max_path) return std::nullopt;
  std::vector<std::string_view> segs;
  std::size_t i = 0;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const auto seg = path.substr(i, j - i);
    i = j + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    if (seg.size() > k_max_segment) return std::nullopt;
    segs.push_back(seg);
  }
  std::string out;
  for (auto s : segs) {
    out += '/';
    out += s;
  }
  if (out.empty()) out = "/";
  if (out.size() > k_max_path) return std::nullopt;
  return out;
}

}  // namespace dragon::fs
