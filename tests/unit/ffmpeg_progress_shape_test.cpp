// Feeds upstream's own recorded prelude (get_process_report.json) and checks our state.progress
// against upstream's recorded state (get_process_state_running.json): same keys, order, JSON types,
// and the same static stream info.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ffmpeg/progress_parser.hpp"

using namespace dragon::ffmpeg;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kSamples = fs::path(DRAGON_SOURCE_DIR) / ".." / "shared" / "reference" / "upstream-samples";

json load(const char* name) {
  std::ifstream in(kSamples / name);
  return json::parse(in);
}

std::string kind(const nlohmann::ordered_json& v) {
  if (v.is_number()) return "number";
  return v.type_name();
}
std::string kind(const json& v) {
  if (v.is_number()) return "number";
  return v.type_name();
}

void same_shape(const nlohmann::ordered_json& ours, const json& theirs, const std::string& where) {
  ASSERT_EQ(ours.is_object(), theirs.is_object()) << where;
  std::vector<std::string> ok, tk;
  for (auto it = ours.begin(); it != ours.end(); ++it) ok.push_back(it.key());
  for (auto it = theirs.begin(); it != theirs.end(); ++it) tk.push_back(it.key());
  auto sorted_ok = ok, sorted_tk = tk;
  std::sort(sorted_ok.begin(), sorted_ok.end());
  std::sort(sorted_tk.begin(), sorted_tk.end());
  EXPECT_EQ(sorted_ok, sorted_tk) << where;
  for (const auto& k : tk) {
    if (!ours.contains(k)) continue;
    EXPECT_EQ(kind(ours[k]), kind(theirs[k])) << where << "." << k;
  }
}

}  // namespace

TEST(FfmpegProgressShape, MatchesUpstreamState) {
  if (!fs::exists(kSamples / "get_process_report.json")) GTEST_SKIP() << "no upstream samples";
  json report = load("get_process_report.json").at("response");
  json state = load("get_process_state_running.json").at("response");

  ProgressParser p({}, report.at("created_at").get<std::int64_t>());
  std::int64_t t = report.at("created_at").get<std::int64_t>();
  for (const auto& l : report.at("prelude")) p.parse(l.get<std::string>(), t);
  for (int i = 1; i <= 8; ++i)
    p.parse("frame=  " + std::to_string(i * 25) + " fps= 25 q=16.0 size=N/A time=00:00:0" + std::to_string(i) +
                ".00 bitrate=N/A speed=   1x",
            ++t);
  ASSERT_TRUE(p.prelude_done());
  EXPECT_EQ(p.prelude(), report.at("prelude").get<std::vector<std::string>>());

  auto ours = progress_to_json(p.progress(), {"in"}, {"out"});
  const json& theirs = state.at("progress");
  same_shape(ours, theirs, "progress");
  ASSERT_EQ(ours["inputs"].size(), theirs["inputs"].size());
  ASSERT_EQ(ours["outputs"].size(), theirs["outputs"].size());
  for (const char* side : {"inputs", "outputs"}) {
    same_shape(ours[side][0], theirs[side][0], side);
    same_shape(ours[side][0]["framerate"], theirs[side][0]["framerate"], std::string(side) + ".framerate");
    for (const char* k : {"id", "address", "index", "stream", "format", "type", "codec", "coder", "pix_fmt", "width",
                          "height"})
      EXPECT_EQ(json(ours[side][0][k]), theirs[side][0][k]) << side << "." << k;
  }
  EXPECT_EQ(ours["q"], 16);
  EXPECT_EQ(ours["size_kb"], 0);
  EXPECT_EQ(ours["fps"], 25);

  // Key order as upstream's structs declare them.
  std::vector<std::string> order;
  for (auto it = ours["outputs"][0].begin(); it != ours["outputs"][0].end(); ++it) order.push_back(it.key());
  // nlohmann::json sorts the sample's keys, so compare with upstream's declared struct order.
  EXPECT_EQ(order, (std::vector<std::string>{"id", "address", "index", "stream", "format", "type", "codec", "coder",
                                             "frame", "keyframe", "framerate", "fps", "packet", "pps", "size_kb",
                                             "bitrate_kbit", "extradata_size_bytes", "pix_fmt", "q", "width",
                                             "height", "avstream"}));

  auto rep = report_to_json(p.report(), p.history());
  same_shape(rep, report, "report");
  EXPECT_EQ(json(rep["log"][0]), report["log"][0]);
}
