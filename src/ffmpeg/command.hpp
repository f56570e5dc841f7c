#pragma once
// Command assembly and the whole resolution pipeline of upstream's createTask:
// trim-check id → placeholders → references → validation → argv.
#include <optional>
#include <string>
#include <vector>

#include "ffmpeg/address_validation.hpp"
#include "ffmpeg/placeholders.hpp"
#include "ffmpeg/process_config.hpp"
#include "ffmpeg/references.hpp"

namespace dragon::ffmpeg {

// global options + per input (options, "-i", address) + per output (options, address).
// Nothing is added (no -y, no -progress); every address/option is one argv element.
std::vector<std::string> build_command(const ProcessConfig& resolved);

struct ResolvedProcess {
  ProcessConfig config;               // runtime copy with everything resolved
  std::vector<std::string> command;   // argv without the binary (upstream's state.command)
  std::vector<std::string> argv;      // binary + command
  bool uses_disk = false;             // some output writes under storage.disk.dir
};

struct ResolveOutcome {
  std::optional<ResolvedProcess> process;
  std::string error;  // upstream's detail text when `process` is empty (API: 400 "Invalid process config")
};

struct ResolveContext {
  const Replacer* replacer = nullptr;            // required
  const ValidationSettings* validation = nullptr;  // required
  ProcessLookup lookup;                          // other processes' resolved configs (references)
  std::string binary = "ffmpeg";
};

// `config` is the stored form (io ids already filled, see fill_missing_io_ids); it is not changed.
ResolveOutcome resolve_process(const ProcessConfig& config, const ResolveContext& ctx);

}  // namespace dragon::ffmpeg
