#pragma once
// Files compiled into the binary (see cmake/EmbedFiles.cmake): Swagger UI, the OpenAPI document, the web UI.
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace dragon::assets {

struct EmbeddedFile {
  std::string_view path;  // relative to assets/, e.g. "swagger/index.html"
  std::string_view data;
};

// Registers a generated table at static-initialisation time.
struct Registrar {
  Registrar(const EmbeddedFile* files, std::size_t count);
};

std::optional<std::string_view> find(std::string_view path);
std::vector<EmbeddedFile> all();

}  // namespace dragon::assets
