#pragma once
// `#<processid>:output=<outputid>` input addresses (restream.go resolveAddresses): replaced by the
// referenced process's resolved output address, word for word, at resolution time only.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ffmpeg/process_config.hpp"

namespace dragon::ffmpeg {

// Returns the *resolved* config of another process, or nullptr when unknown.
using ProcessLookup = std::function<const ProcessConfig*(std::string_view id)>;

// Resolves one address; error texts as upstream ("unknown process 'x' (#x:output=y)", ...).
std::optional<std::string> resolve_reference(std::string_view process_id, std::string_view address,
                                             const ProcessLookup& lookup, std::string& out);

// All inputs of `config` (placeholders already resolved). Error: "reference error for '#p:in': ...".
std::optional<std::string> resolve_references(ProcessConfig& config, const ProcessLookup& lookup);

}  // namespace dragon::ffmpeg
