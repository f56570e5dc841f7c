#include "ffmpeg/command.hpp"

#include "util/strings.hpp"

namespace dragon::ffmpeg {

std::vector<std::string> build_command(const ProcessConfig& c) {
  std::size_t n = c.options.size();
  for (const auto& io : c.input) n += io.options.size() + 2;
  for (const auto& io : c.output) n += io.options.size() + 1;
  std::vector<std::string> cmd;
  cmd.reserve(n);
  cmd.insert(cmd.end(), c.options.begin(), c.options.end());
  for (const auto& io : c.input) {
    cmd.insert(cmd.end(), io.options.begin(), io.options.end());
    cmd.emplace_back("-i");
    cmd.push_back(io.address);
  }
  for (const auto& io : c.output) {
    cmd.insert(cmd.end(), io.options.begin(), io.options.end());
    cmd.push_back(io.address);
  }
  return cmd;
}

ResolveOutcome resolve_process(const ProcessConfig& config, const ResolveContext& ctx) {
  ResolveOutcome out;
  if (util::trim(config.id).empty()) {
    out.error = "an empty ID is not allowed";
    return out;
  }
  ResolvedProcess p;
  p.config = config;
  resolve_placeholders(p.config, *ctx.replacer);
  if (auto e = resolve_references(p.config, ctx.lookup)) {
    out.error = std::move(*e);
    return out;
  }
  auto v = validate_config(p.config, *ctx.validation);
  if (v.error) {
    out.error = std::move(*v.error);
    return out;
  }
  p.uses_disk = v.uses_disk;
  p.command = build_command(p.config);
  p.argv.reserve(p.command.size() + 1);
  p.argv.push_back(ctx.binary);
  p.argv.insert(p.argv.end(), p.command.begin(), p.command.end());
  out.process = std::move(p);
  return out;
}

}  // namespace dragon::ffmpeg
