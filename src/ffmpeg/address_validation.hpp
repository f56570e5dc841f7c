#pragma once
// Upstream's validateConfig (restream/restream.go): ids and addresses of a *resolved* config.
// The normalised forms ("file:/abs", "pipe:") exist only for the checks; the command line keeps the
// resolved address verbatim.
#include <optional>
#include <string>
#include <string_view>

#include "ffmpeg/access.hpp"
#include "ffmpeg/process_config.hpp"

namespace dragon::ffmpeg {

struct ValidationSettings {
  std::string disk_dir;  // storage.disk.dir as an absolute path; empty = "/" (no disk filesystem)
  std::string cwd = "/";  // where relative output paths are anchored (the core's working directory)
  AccessList input_access;
  AccessList output_access;
};

struct AddressCheck {
  std::string normalized;  // what the access lists saw
  bool is_file = false;    // writes into disk_dir
  std::optional<std::string> error;
};

// With a URL scheme the address must parse; then the input access lists. Local paths are not confined.
AddressCheck check_input_address(std::string_view address, const ValidationSettings& s);
// Tee (`|` or leading `[`): each part without its `[opts]` prefix. `file:` stripped; with scheme:
// parse + output access lists; `-` is `pipe:`; else absolute: `/dev/...` or inside disk_dir
// (a plain prefix test, as upstream), checked as `file:/abs/path`.
AddressCheck check_output_address(std::string_view address, const ValidationSettings& s);

struct ValidationResult {
  std::optional<std::string> error;  // upstream's wording, e.g. "the address for input '#p:in' must not be empty"
  bool uses_disk = false;
};

ValidationResult validate_config(const ProcessConfig& resolved, const ValidationSettings& s);

}  // namespace dragon::ffmpeg
