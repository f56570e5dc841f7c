#include "ffmpeg/references.hpp"

#include <fmt/format.h>

namespace dragon::ffmpeg {
namespace {

constexpr std::string_view kOutput = ":output=";

// `^#(.+):output=(.+)` with RE2's leftmost-first greedy semantics ('.' excludes '\n').
bool match_reference(std::string_view a, std::string_view& pid, std::string_view& oid) {
  auto nl = a.find('\n');
  std::string_view line = a.substr(0, nl);  // group 1 cannot cross a newline, nor reach past it
  for (auto k = line.rfind(kOutput); k != std::string_view::npos && k >= 2;
       k = k == 0 ? std::string_view::npos : line.rfind(kOutput, k - 1)) {
    auto after = k + kOutput.size();
    if (after < line.size()) {
      pid = line.substr(1, k - 1);
      oid = line.substr(after);
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> resolve_reference(std::string_view process_id, std::string_view address,
                                             const ProcessLookup& lookup, std::string& out) {
  out = std::string(address);
  if (address.empty()) return std::string("empty address");
  if (address[0] != '#') return std::nullopt;
  std::string_view pid, oid;
  if (!match_reference(address, pid, oid)) return fmt::format("invalid format ({})", address);
  if (pid == process_id) return fmt::format("self-reference not possible ({})", address);
  const ProcessConfig* other = lookup ? lookup(pid) : nullptr;
  if (!other) return fmt::format("unknown process '{}' ({})", pid, address);
  for (const auto& o : other->output) {
    if (o.id == oid) {
      out = o.address;
      return std::nullopt;
    }
  }
  return fmt::format("the process '{}' has no outputs with the ID '{}' ({})", pid, oid, address);
}

std::optional<std::string> resolve_references(ProcessConfig& c, const ProcessLookup& lookup) {
  for (auto& in : c.input) {
    std::string resolved;
    if (auto e = resolve_reference(c.id, in.address, lookup, resolved))
      return fmt::format("reference error for '#{}:{}': {}", c.id, in.id, *e);
    in.address = std::move(resolved);
  }
  return std::nullopt;
}

}  // namespace dragon::ffmpeg
