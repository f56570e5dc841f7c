#include "util/embedded_assets.hpp"

namespace dragon::assets {
namespace {
struct Table {
  const EmbeddedFile* files = nullptr;
  std::size_t count = 0;
};
// Filled during static initialisation (one table per embedded group), read-only afterwards.
std::vector<Table>& tables() {
  static std::vector<Table> t;
  return t;
}
}  // namespace

Registrar::Registrar(const EmbeddedFile* files, std::size_t count) { tables().push_back({files, count}); }

std::optional<std::string_view> find(std::string_view path) {
  for (const auto& t : tables()) {
    for (std::size_t i = 0; i < t.count; ++i) {
      if (t.files[i].path == path) return t.files[i].data;
    }
  }
  return std::nullopt;
}

std::vector<EmbeddedFile> all() {
  std::vector<EmbeddedFile> out;
  for (const auto& t : tables()) out.insert(out.end(), t.files, t.files + t.count);
  return out;
}

}  // namespace dragon::assets
