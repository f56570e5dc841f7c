#pragma once
// Checks a process config for input no FFmpeg command should carry, beyond upstream's validation:
// sizes (megabyte options), ids that cannot be addressed in a URL, control characters, addresses
// that would be read as options, shell syntax, and unknown placeholders. The message names the field.
#include <optional>
#include <string>

#include "ffmpeg/process_config.hpp"

namespace dragon::ffmpeg {

inline constexpr std::size_t k_max_field_bytes = 64 * 1024;  // one address or option
inline constexpr std::size_t k_max_list_items = 1024;       // options per list, inputs, outputs
inline constexpr std::size_t k_max_id_bytes = 256;

std::optional<std::string> check_process_input(const ProcessConfig& c);

// The first `{name...}` that looks like a placeholder but names none Dragon Core knows; FFmpeg's own
// `%{...}` expansions (drawtext) are not placeholders. nullopt when there is none.
std::optional<std::string> unknown_placeholder(const std::string& value);

}  // namespace dragon::ffmpeg
