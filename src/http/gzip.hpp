#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace dragon::http {

// gzip at zlib's fastest level (upstream uses BestSpeed); nullopt on a zlib error.
std::optional<std::string> gzip_compress(std::string_view data);
// For tests and request bodies; fails beyond max_output bytes (zip bombs).
std::optional<std::string> gzip_decompress(std::string_view data, std::size_t max_output);

}  // namespace dragon::http
