// Replays every case upstream 16.16 recorded (shared/reference/upstream-samples/placeholders): same
// stored config, same resolved command, or the same rejection with the same words.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "ffmpeg/command.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace dragon::ffmpeg;

namespace {

const fs::path kDir = fs::path(DRAGON_SOURCE_DIR) / ".." / "shared" / "reference" / "upstream-samples" / "placeholders";
constexpr const char* kCwd = "/core-cwd";  // stands for upstream's "<core-cwd>"

std::vector<std::string> strings(const json& j) {
  std::vector<std::string> v;
  if (j.is_array())
    for (const auto& s : j) v.push_back(s.get<std::string>());
  return v;
}

struct Env {
  Replacer replacer;
  ValidationSettings validation;
};

Env make_env(const json& s) {
  PlaceholderSettings ps;
  ps.diskfs = s.at("storage.disk.dir").get<std::string>();
  const auto& auth = s.at("storage.memory.auth");
  ps.memfs = memfs_base_url(s.at("address").get<std::string>(), auth.at("enable").get<bool>(),
                            auth.at("username").get<std::string>(), auth.at("password").get<std::string>());
  ps.rtmp_address = s.at("rtmp").at("address").get<std::string>();
  ps.rtmp_app = s.at("rtmp").at("app").get<std::string>();
  ps.rtmp_token = s.at("rtmp").at("token").get<std::string>();
  ps.srt_address = s.at("srt").at("address").get<std::string>();
  ps.srt_token = s.at("srt").at("token").get<std::string>();
  ps.srt_passphrase = s.at("srt").at("passphrase").get<std::string>();
  Env env{make_replacer(ps), {}};
  env.validation.disk_dir = ps.diskfs;
  env.validation.cwd = kCwd;
  const auto& acc = s.at("ffmpeg.access");
  EXPECT_FALSE(env.validation.input_access.set(strings(acc.at("input").at("allow")), strings(acc.at("input").at("block"))));
  EXPECT_FALSE(
      env.validation.output_access.set(strings(acc.at("output").at("allow")), strings(acc.at("output").at("block"))));
  return env;
}

// Parses a request body; missing ids take the ones upstream generated (from its stored config).
ProcessConfig config_from_request(const json& body, const json* stored) {
  ProcessConfig c;
  auto err = process_config_from_json(body, c);
  EXPECT_FALSE(err) << *err;
  if (!body.contains("id") && stored) c.id = stored->at("id").get<std::string>();
  std::vector<std::string> ids;
  if (stored) {
    for (const char* side : {"input", "output"})
      for (const auto& io : stored->at(side)) ids.push_back(io.at("id").get<std::string>());
  }
  // Generator walks the stored ids in order and picks the first unused by the request.
  std::size_t n = 0;
  fill_missing_io_ids(c, [&]() -> std::string {
    while (n < ids.size()) {
      const auto& cand = ids[n++];
      bool used = false;
      for (const auto* side : {&c.input, &c.output})
        for (const auto& io : *side) used |= io.id == cand;
      if (!used) return cand;
    }
    return "generated-" + std::to_string(n++);
  });
  return c;
}

std::string replace_cwd(std::string s) {
  for (auto p = s.find(kCwd); p != std::string::npos; p = s.find(kCwd, p)) s.replace(p, std::string(kCwd).size(), "<core-cwd>");
  return s;
}

struct Outcome {
  int total = 0, matched = 0;
  std::vector<std::string> mismatches;
};

}  // namespace

TEST(FfmpegUpstreamCases, AllRecordedCasesMatch) {
  if (!fs::exists(kDir)) GTEST_SKIP() << "no recorded cases at " << kDir;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 77u);

  Outcome out;
  for (const auto& f : files) {
    std::ifstream in(f);
    json d = json::parse(in);
    const std::string name = d.at("case").get<std::string>();
    SCOPED_TRACE(name);
    ++out.total;
    Env env = make_env(d.at("server_settings"));

    std::map<std::string, ProcessConfig, std::less<>> resolved;
    for (const auto& setup : d.value("setup_processes", json::array())) {
      const json* stored = setup.contains("stored_config") ? &setup.at("stored_config") : nullptr;
      ProcessConfig c = config_from_request(setup.at("request_body"), stored);
      ResolveContext ctx{&env.replacer, &env.validation, {}, "ffmpeg"};
      auto r = resolve_process(c, ctx);
      ASSERT_TRUE(r.process) << r.error;
      resolved.emplace(c.id, r.process->config);
    }

    const json* stored = d.contains("stored_config") && !d.at("stored_config").is_null() ? &d.at("stored_config") : nullptr;
    ProcessConfig c = config_from_request(d.at("request").at("body"), stored);
    bool ok = true;
    if (stored) {
      json ours = process_config_to_json(c);
      EXPECT_EQ(ours, *stored) << "stored form differs";
      ok &= ours == *stored;
    }
    ResolveContext ctx{&env.replacer, &env.validation,
                       [&](std::string_view id) -> const ProcessConfig* {
                         auto it = resolved.find(id);
                         return it == resolved.end() ? nullptr : &it->second;
                       },
                       "/usr/bin/ffmpeg"};
    auto r = resolve_process(c, ctx);
    const int status = d.at("post_status").get<int>();
    if (status == 200) {
      EXPECT_TRUE(r.process) << r.error;
      if (r.process) {
        auto want = strings(d.at("resolved_command"));
        EXPECT_EQ(r.process->command, want);
        ok &= r.process->command == want;
        if (d.contains("actual_child_argv_from_proc")) {
          EXPECT_EQ(r.process->argv, strings(d.at("actual_child_argv_from_proc")));
          ok &= r.process->argv == strings(d.at("actual_child_argv_from_proc"));
        }
      } else {
        ok = false;
      }
    } else {
      EXPECT_EQ(status, 400);
      EXPECT_FALSE(r.process) << "accepted, upstream rejected";
      const auto want = d.at("post_response").at("details").at(0).get<std::string>();
      EXPECT_EQ(replace_cwd(r.error), want);
      ok &= !r.process && replace_cwd(r.error) == want;
    }
    if (ok) ++out.matched;
    else out.mismatches.push_back(name);
  }
  std::string list;
  for (const auto& m : out.mismatches) list += " " + m;
  std::cout << "[ upstream ] " << out.matched << " of " << out.total << " recorded cases match" << list << "\n";
  EXPECT_EQ(out.matched, out.total);
}
