// Probe: the pure stderr parse (captured FFmpeg 5.1.9 output → upstream's exact sample body),
// upstream's prober test case, the patched-FFmpeg JSON line, hostile text, and real runs.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "ffmpeg/probe.hpp"

using namespace dragon::ffmpeg;
namespace fs = std::filesystem;
using oj = nlohmann::ordered_json;

namespace {

const fs::path kData = fs::path(DRAGON_SOURCE_DIR) / "tests" / "data" / "ffmpeg" / "skills";
constexpr const char* kFFmpeg = "/usr/bin/ffmpeg";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

oj upstream() { return oj::parse(slurp(kData / "upstream_probe.json")); }

std::string kind(const oj& v) { return v.is_number() ? "number" : v.type_name(); }

// Same keys in the same order and the same JSON types, recursively; array elements are compared
// with the first element of theirs.
bool same_shape(const oj& ours, const oj& theirs, const std::string& where, std::string& why) {
  if (kind(ours) != kind(theirs)) {
    why = where + ": " + kind(ours) + " vs " + kind(theirs);
    return false;
  }
  if (ours.is_object()) {
    std::vector<std::string> ok, tk;
    for (auto it = ours.begin(); it != ours.end(); ++it) ok.push_back(it.key());
    for (auto it = theirs.begin(); it != theirs.end(); ++it) tk.push_back(it.key());
    if (ok != tk) {
      why = where + ": keys differ";
      return false;
    }
    for (const auto& k : ok)
      if (!same_shape(ours[k], theirs[k], where + "." + k, why)) return false;
  }
  if (ours.is_array() && !theirs.empty())
    for (std::size_t i = 0; i < ours.size(); ++i)
      if (!same_shape(ours[i], theirs[0], where + "[" + std::to_string(i) + "]", why)) return false;
  return true;
}

ProcessConfig lavfi_config(std::vector<std::string> sources) {
  ProcessConfig c;
  c.id = "probe-test";
  int n = 0;
  for (auto& s : sources) c.input.push_back({"in" + std::to_string(n++), std::move(s), {"-f", "lavfi"}, {}});
  c.output.push_back({"out", "-", {"-f", "null"}, {}});
  return c;
}

}  // namespace

// ---- pure parse ----

TEST(FFmpegProbe, CapturedOutputGivesUpstreamsExactBody) {
  // Same FFmpeg build and input as upstream's sample (GET /process/oracle-testsrc/probe).
  auto ours = probe_to_json(parse_probe(slurp(kData / "probe_testsrc.txt")));
  auto theirs = upstream();
  EXPECT_EQ(ours["streams"].dump(), theirs["streams"].dump());
  EXPECT_EQ(ours["log"].dump(), theirs["log"].dump());
  EXPECT_EQ(ours.dump(), theirs.dump());
}

TEST(FFmpegProbe, ShapeMatchesUpstream) {
  std::string why;
  auto j = probe_to_json(parse_probe(slurp(kData / "probe_testsrc2_sine.txt")));
  EXPECT_TRUE(same_shape(j, upstream(), "$", why)) << why;
  EXPECT_TRUE(same_shape(probe_to_json(Probe{}), upstream(), "$", why)) << why;
  EXPECT_EQ(probe_to_json(Probe{}).dump(), R"({"streams":[],"log":[]})");
}

TEST(FFmpegProbe, VideoAndAudioInputs) {
  auto p = parse_probe(slurp(kData / "probe_testsrc2_sine.txt"));
  ASSERT_EQ(p.streams.size(), 2u);
  const auto& v = p.streams[0];
  EXPECT_EQ(v.address, "testsrc2=size=320x240:rate=25");
  EXPECT_EQ(v.format, "lavfi");
  EXPECT_EQ(v.type, "video");
  EXPECT_EQ(v.codec, "rawvideo");
  EXPECT_EQ(v.pix_fmt, "yuv420p");
  EXPECT_EQ(v.width, 320u);
  EXPECT_EQ(v.height, 240u);
  EXPECT_EQ(v.fps, 0);  // "25 tbr" is not "fps": upstream reports 0 too
  const auto& a = p.streams[1];
  EXPECT_EQ(a.index, 1u);
  EXPECT_EQ(a.stream, 0u);
  EXPECT_EQ(a.type, "audio");
  EXPECT_EQ(a.codec, "pcm_s16le");
  EXPECT_EQ(a.sampling_hz, 48000u);
  EXPECT_EQ(a.layout, "mono");
  EXPECT_EQ(a.bitrate_kbps, 768);
  EXPECT_EQ(a.channels, 0u);  // not in the text (upstream: same)
  EXPECT_EQ(p.log.back(), "At least one output file must be specified");
}

TEST(FFmpegProbe, UpstreamProberCase) {
  const char* raw = R"(ffmpeg version 4.0.2 Copyright (c) 2000-2018 the FFmpeg developers
  built with Apple LLVM version 9.1.0 (clang-902.0.39.2)
Input #0, lavfi, from 'testsrc=size=1280x720:rate=25':
  Duration: N/A, start: 0.000000, bitrate: N/A
    Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24, 1280x720 [SAR 1:1 DAR 16:9], 25 tbr, 25 tbn, 25 tbc
Input #1, lavfi, from 'anullsrc=r=44100:cl=stereo':
  Duration: N/A, start: 0.000000, bitrate: 705 kb/s
    Stream #1:0: Audio: pcm_u8, 44100 Hz, stereo, u8, 705 kb/s
Input #2, playout, from 'playout:rtmp://l5gn74l5-vpu.livespotting.com/live/0chl6hu7_360?token=m5ZuiCQYRlIon8':
  Duration: N/A, start: 0.000000, bitrate: 265 kb/s
    Stream #2:0: Video: h264 (Constrained Baseline), yuvj420p(pc, progressive), 640x360 [SAR 1:1 DAR 16:9], 265 kb/s, 10 fps, 10 tbr, 1000k tbn, 20 tbc
Input #3, mov,mp4,m4a,3gp,3g2,mj2, from 'movie.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:01:02.28, start: 0.000000, bitrate: 5895 kb/s
    Stream #3:0(eng): Video: h264 (Main) (avc1 / 0x31637661), yuvj420p(pc, bt709), 2560x1440 [SAR 1:1 DAR 16:9], 5894 kb/s, 23.98 fps, 25 tbr, 90k tbn, 50 tbc (default)
    Stream #3:1(por): Subtitle: subrip
Input #4, mpegts, from 'srt://localhost:6000?mode=caller&transtype=live&streamid=#!:m=request,r=ingest/ad045490&passphrase=foobarfoobar':
  Duration: N/A, start: 71.786667, bitrate: N/A
	Program 1
	Stream #4:0[0x100]: Video: h264 (Main) ([27][0][0][0] / 0x001B), yuv420p(tv, smpte170m/bt709/bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 25 tbr, 90k tbn
	Stream #4:1[0x101]: Audio: aac (LC) ([15][0][0][0] / 0x000F), 48000 Hz, stereo, fltp, 162 kb/s
Stream mapping:
  Stream #0:0 -> #0:0 (rawvideo (native) -> h264 (libx264))
Press [q] to stop, [?] for help)";
  auto p = parse_probe(raw);
  ASSERT_EQ(p.streams.size(), 7u);
  EXPECT_EQ(p.streams[0].width, 1280u);
  EXPECT_EQ(p.streams[1].layout, "stereo");
  EXPECT_EQ(p.streams[1].bitrate_kbps, 705);
  EXPECT_EQ(p.streams[2].format, "playout");
  EXPECT_EQ(p.streams[2].fps, 10);
  EXPECT_EQ(p.streams[2].pix_fmt, "yuvj420p");
  EXPECT_EQ(p.streams[3].language, "eng");
  EXPECT_EQ(p.streams[3].format, "mov,mp4,m4a,3gp,3g2,mj2");
  EXPECT_DOUBLE_EQ(p.streams[3].duration_seconds, 62.28);
  EXPECT_DOUBLE_EQ(p.streams[3].fps, 23.98);
  EXPECT_EQ(p.streams[4].type, "subtitle");
  EXPECT_EQ(p.streams[4].language, "por");
  EXPECT_EQ(p.streams[5].address.substr(0, 6), "srt://");
  EXPECT_EQ(p.streams[6].sampling_hz, 48000u);
  EXPECT_EQ(p.log.size(), 25u);  // every non-empty line
  auto j = probe_to_json(p);
  EXPECT_EQ(j["streams"][3]["fps"].dump(), "23.98");
  EXPECT_EQ(j["streams"][3]["duration_sec"].dump(), "62.28");
  EXPECT_TRUE(j["streams"][0]["bitrate_kbps"].is_number_integer());
}

TEST(FFmpegProbe, LevelPrefixAndCarriageReturns) {
  auto p = parse_probe(
      "[info] Input #0, lavfi, from 'sine':\r[info]   Duration: N/A, start: 0.000000, bitrate: 705 kb/s\r\n\n\n"
      "[info]   Stream #0:0: Audio: pcm_s16le, 44100 Hz, mono, s16, 705 kb/s\n[error] At least one output");
  ASSERT_EQ(p.streams.size(), 1u);
  EXPECT_EQ(p.streams[0].sampling_hz, 44100u);
  EXPECT_EQ(p.log.size(), 4u);  // empty lines dropped, prefixes kept in the log
  EXPECT_EQ(p.log[0], "[info] Input #0, lavfi, from 'sine':");
}

TEST(FFmpegProbe, PatchedFFmpegJsonLineWins) {
  auto p = parse_probe(
      "Input #0, lavfi, from 'x':\n  Stream #0:0: Video: rawvideo, rgb24, 1x1\n"
      "avstream.progress:{\"id\":\"x\"}\n"
      "ffmpeg.inputs:[{\"url\":\"rtmp://a/b\",\"format\":\"flv\",\"index\":0,\"stream\":1,\"type\":\"audio\","
      "\"codec\":\"aac\",\"coder\":\"aac\",\"bitrate_kbps\":128.5,\"sampling_hz\":48000,\"layout\":\"stereo\","
      "\"channels\":2,\"width\":\"bad\"},42]\n"
      "ffmpeg.inputs:[]\n");
  ASSERT_EQ(p.streams.size(), 2u);
  EXPECT_EQ(p.streams[0].address, "rtmp://a/b");
  EXPECT_EQ(p.streams[0].stream, 1u);
  EXPECT_EQ(p.streams[0].coder, "aac");
  EXPECT_EQ(p.streams[0].channels, 2u);
  EXPECT_EQ(p.streams[0].width, 0u);        // wrong type: zero, like Go
  EXPECT_EQ(p.streams[0].language, "");     // absent: Go's zero value
  EXPECT_EQ(p.streams[1].type, "");         // not an object: a zero element
  EXPECT_EQ(p.log.size(), 4u);              // avstream.progress is not logged
  auto j = probe_to_json(p);
  EXPECT_EQ(j["streams"][0]["bitrate_kbps"].dump(), "128.5");

  EXPECT_TRUE(parse_probe("ffmpeg.inputs:[{broken\nInput #0, x, from 'y':\n  Stream #0:0: Audio: aac\n").streams.empty());
  EXPECT_TRUE(parse_probe("ffmpeg.inputs:{\"url\":\"x\"}\n").streams.empty());
}

TEST(FFmpegProbe, StreamsBeforeAnyInputAndOutputsIgnored) {
  auto p = parse_probe(
      "  Stream #0:0: Video: h264, yuv420p, 2x2\nInput #0, lavfi, from 'a':\n  Stream #0:0: Video: h264, yuv420p, 4x4\n"
      "Output #0, null, to 'pipe:':\n  Stream #0:0: Video: wrapped_avframe, yuv420p, 4x4\n");
  ASSERT_EQ(p.streams.size(), 1u);
  EXPECT_EQ(p.streams[0].width, 4u);
}

TEST(FFmpegProbe, HostileTextNeverCrashes) {
  std::mt19937 rng(99);
  const std::string alphabet = " \t\r\n#:,.'()[]xfpsHzkb/0123456789StreamInputVideoAudio";
  for (int k = 0; k < 300; ++k) {
    std::string s(rng() % 3000, ' ');
    for (auto& ch : s) ch = alphabet[rng() % alphabet.size()];
    if (k % 3 == 0) s = "Input #0, f, from 'u':\n" + s;
    if (k % 5 == 0) s = "ffmpeg.inputs:" + s;
    auto j = probe_to_json(parse_probe(s));
    EXPECT_NO_THROW((void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  std::string bin(8192, '\0');
  for (auto& ch : bin) ch = static_cast<char>(rng());
  EXPECT_NO_THROW((void)probe_to_json(parse_probe(bin)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  // Huge lines are cut by the splitter (64 KiB), not stored whole.
  auto p = parse_probe("Input #0, f, from '" + std::string(1 << 20, 'a') + "':\n  Stream #0:0: Video: " +
                       std::string(1 << 20, '9') + "x9\n");
  for (const auto& l : p.log) EXPECT_LE(l.size(), 64u * 1024);
  auto deep = parse_probe("ffmpeg.inputs:" + std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_TRUE(deep.streams.empty());
}

TEST(FFmpegProbe, ArgumentsFollowUpstream) {
  ProcessConfig c;
  c.options = {"-loglevel", "info", "-err_detect", "ignore_err"};
  c.input = {{"a", "rtmp://x/y", {"-re"}, {}}, {"b", "anullsrc", {"-f", "lavfi"}, {}}};
  c.output = {{"o", "out.m3u8", {"-f", "hls"}, {}}};
  EXPECT_EQ(probe_arguments(c), (std::vector<std::string>{"-loglevel", "info", "-err_detect", "ignore_err", "-re",
                                                          "-i", "rtmp://x/y", "-f", "lavfi", "-i", "anullsrc"}));
  EXPECT_TRUE(probe_arguments(ProcessConfig{}).empty());
}

// ---- real runs ----

TEST(FFmpegProbe, RealTestsrc2AndSine) {
  if (!fs::exists(kFFmpeg)) GTEST_SKIP() << "no " << kFFmpeg;
  auto p = run_probe(kFFmpeg, lavfi_config({"testsrc2=size=320x240:rate=25", "sine=frequency=440"}));
  ASSERT_EQ(p.streams.size(), 2u) << probe_to_json(p).dump(1);
  EXPECT_EQ(p.streams[0].type, "video");
  EXPECT_EQ(p.streams[0].format, "lavfi");
  EXPECT_EQ(p.streams[0].width, 320u);
  EXPECT_EQ(p.streams[0].height, 240u);
  EXPECT_FALSE(p.streams[0].pix_fmt.empty());
  EXPECT_EQ(p.streams[1].type, "audio");
  EXPECT_EQ(p.streams[1].index, 1u);
  EXPECT_EQ(p.streams[1].sampling_hz, 44100u);
  EXPECT_EQ(p.streams[1].layout, "mono");
  ASSERT_FALSE(p.log.empty());
  EXPECT_TRUE(p.log.front().starts_with("ffmpeg version"));
  EXPECT_EQ(p.log.back(), "At least one output file must be specified");
  std::string why;
  EXPECT_TRUE(same_shape(probe_to_json(p), upstream(), "$", why)) << why;
}

TEST(FFmpegProbe, RealSampleInputMatchesUpstreamStreams) {
  if (!fs::exists(kFFmpeg)) GTEST_SKIP() << "no " << kFFmpeg;
  auto p = run_probe(kFFmpeg, lavfi_config({"testsrc=size=320x240:rate=25"}));
  EXPECT_EQ(probe_to_json(p)["streams"].dump(), upstream()["streams"].dump());
}

TEST(FFmpegProbe, RealLevelPrefixedSine) {
  if (!fs::exists(kFFmpeg)) GTEST_SKIP() << "no " << kFFmpeg;
  auto c = lavfi_config({"sine=sample_rate=48000"});
  c.options = {"-hide_banner", "-loglevel", "level+info"};
  auto p = run_probe(kFFmpeg, c);
  ASSERT_EQ(p.streams.size(), 1u) << probe_to_json(p).dump(1);
  EXPECT_EQ(p.streams[0].codec, "pcm_s16le");
  EXPECT_EQ(p.streams[0].sampling_hz, 48000u);
  EXPECT_TRUE(p.log.front().starts_with("[info] ")) << p.log.front();
}

TEST(FFmpegProbe, RealBadInputLogsTheError) {
  if (!fs::exists(kFFmpeg)) GTEST_SKIP() << "no " << kFFmpeg;
  ProcessConfig c;
  c.input = {{"in", "/nonexistent/file.mp4", {}, {}}};
  auto p = run_probe(kFFmpeg, c);
  EXPECT_TRUE(p.streams.empty());
  ASSERT_FALSE(p.log.empty());
  EXPECT_NE(p.log.back().find("No such file or directory"), std::string::npos) << p.log.back();
}

TEST(FFmpegProbe, MissingBinaryGivesOneLogLine) {
  auto p = run_probe("/nonexistent/ffmpeg", lavfi_config({"testsrc"}));
  EXPECT_TRUE(p.streams.empty());
  ASSERT_EQ(p.log.size(), 1u);
  EXPECT_NE(p.log[0].find("/nonexistent/ffmpeg"), std::string::npos) << p.log[0];
}

TEST(FFmpegProbe, HangingInputIsKilledAtTheTimeout) {
  if (!fs::exists(kFFmpeg)) GTEST_SKIP() << "no " << kFFmpeg;
  auto fifo = fs::temp_directory_path() / ("dragon-probe-fifo-" + std::to_string(::getpid()));
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ProcessConfig c;
  c.input = {{"in", fifo.string(), {}, {}}};  // opening a FIFO without writer blocks forever
  auto t0 = std::chrono::steady_clock::now();
  auto p = run_probe(kFFmpeg, c, std::chrono::milliseconds(700));
  auto took = std::chrono::steady_clock::now() - t0;
  fs::remove(fifo);
  EXPECT_GE(took, std::chrono::milliseconds(650));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_TRUE(p.streams.empty());
  ASSERT_FALSE(p.log.empty());
  EXPECT_TRUE(p.log.front().starts_with("ffmpeg version"));  // what it printed before hanging
}
