#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace dragon::util {

// Writes `data` so that a crash at any moment leaves either the old or the new file, never a mix:
// temp file in the same directory, fsync, rename over the target, fsync the directory.
// Throws std::system_error naming the path on failure. `mode` applies to the new file.
void write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0600);

// Whole file, or nullopt when it does not exist. Throws on other errors.
std::optional<std::string> read_file(const std::string& path);

}  // namespace dragon::util
