#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ffmpeg/line_splitter.hpp"
#include "ffmpeg/progress_parser.hpp"

using namespace dragon::ffmpeg;
namespace fs = std::filesystem;

std::string fmt_line(int s);

namespace {

std::string read_capture(const char* name) {
  std::ifstream in(fs::path(DRAGON_SOURCE_DIR) / "tests" / "data" / "ffmpeg" / name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Feeds a capture one line per second of fake time; returns the summed progress signal.
std::uint64_t feed(ProgressParser& p, const std::string& bytes, std::int64_t t0 = 1000) {
  LineSplitter split;
  std::uint64_t signal = 0;
  std::int64_t t = t0;
  auto on = [&](std::string_view l) { signal += p.parse(l, t++); };
  split.feed(bytes, on);
  split.finish(on);
  return signal;
}

}  // namespace

TEST(FfmpegProgressParser, LevelInfoHls) {
  ProgressParser p({}, 1000);
  auto signal = feed(p, read_capture("level_info_hls.txt"));
  ASSERT_TRUE(p.prelude_done());
  EXPECT_EQ(signal, 75u);
  const auto& pr = p.progress();
  EXPECT_EQ(pr.frame, 75u);
  EXPECT_DOUBLE_EQ(pr.time_seconds, 3.01);
  EXPECT_DOUBLE_EQ(pr.speed, 1.0);
  EXPECT_GT(pr.fps, 0);
  ASSERT_EQ(pr.inputs.size(), 2u);
  ASSERT_EQ(pr.outputs.size(), 2u);
  EXPECT_EQ(pr.inputs[0].info.format, "lavfi");
  EXPECT_EQ(pr.inputs[0].info.address, "testsrc2=size=320x240:rate=25");
  EXPECT_EQ(pr.inputs[0].info.codec, "rawvideo");
  EXPECT_EQ(pr.inputs[0].info.pix_fmt, "yuv420p");
  EXPECT_EQ(pr.inputs[0].info.width, 320u);
  EXPECT_EQ(pr.inputs[1].info.index, 1u);
  EXPECT_EQ(pr.inputs[1].info.type, "audio");
  EXPECT_EQ(pr.inputs[1].info.sampling_hz, 44100u);
  EXPECT_EQ(pr.inputs[1].info.layout, "mono");
  EXPECT_EQ(pr.inputs[1].info.bitrate_kbps, 705);
  EXPECT_EQ(pr.outputs[0].info.format, "hls");
  EXPECT_EQ(pr.outputs[0].info.codec, "h264");
  EXPECT_EQ(pr.outputs[0].info.fps, 25);
  EXPECT_EQ(pr.outputs[1].info.codec, "aac");
  // Raw lines keep their prefix in the prelude and the log.
  auto prelude = p.prelude();
  ASSERT_FALSE(prelude.empty());
  EXPECT_EQ(prelude[0], "[info] Input #0, lavfi, from 'testsrc2=size=320x240:rate=25':");
  EXPECT_EQ(p.last_line(), "[aac @ 0x55925a32ca80] [info] Qavg: 609.788");

  auto j = progress_to_json(pr, {"in0", "in1"}, {"out"});
  EXPECT_EQ(j["inputs"][0]["id"], "in0");
  EXPECT_EQ(j["outputs"][0]["id"], "out");
  EXPECT_EQ(j["outputs"][1]["id"], "out");  // index 0 too: both streams belong to output #0
  EXPECT_EQ(j["outputs"][1]["sampling_hz"], 44100);
  EXPECT_FALSE(j["outputs"][1].contains("width"));
  EXPECT_TRUE(j["outputs"][1]["avstream"].is_null());
  EXPECT_TRUE(j["frame"].is_number_unsigned());
  EXPECT_TRUE(j["inputs"][0]["fps"].is_number_float());
  EXPECT_EQ(j["time"], 3.01);
  EXPECT_EQ(j["speed"], 1);
  EXPECT_TRUE(j["speed"].is_number_integer());
}

TEST(FfmpegProgressParser, PlainInfoHls) {
  ProgressParser p({}, 1000);
  auto signal = feed(p, read_capture("info_hls.txt"));
  ASSERT_TRUE(p.prelude_done());
  EXPECT_EQ(signal, 75u);
  EXPECT_EQ(p.progress().inputs.size(), 2u);
  EXPECT_EQ(p.progress().outputs.size(), 2u);
  EXPECT_EQ(p.prelude()[0].rfind("ffmpeg version 5.1", 0), 0u);
}

TEST(FfmpegProgressParser, MultiOutput) {
  ProgressParser p({}, 1000);
  feed(p, read_capture("level_info_multi_output.txt"));
  ASSERT_TRUE(p.prelude_done());
  const auto& pr = p.progress();
  ASSERT_EQ(pr.outputs.size(), 3u);
  // FFmpeg prints Output #1 before Output #0 here; entries keep FFmpeg's order and their index.
  EXPECT_EQ(pr.outputs[0].info.index, 1u);
  EXPECT_EQ(pr.outputs[0].info.format, "flv");
  EXPECT_EQ(pr.outputs[0].info.width, 160u);
  EXPECT_EQ(pr.outputs[1].info.index, 0u);
  EXPECT_EQ(pr.outputs[1].info.address, "/tmp/ffx/a.ts");
  EXPECT_GT(pr.size_bytes, 0u);
  auto j = progress_to_json(pr, {"v", "a"}, {"ts", "flv"});
  EXPECT_EQ(j["outputs"][0]["id"], "flv");
  EXPECT_EQ(j["outputs"][1]["id"], "ts");
  EXPECT_GT(j["bitrate_kbit"].get<double>(), 0);
}

TEST(FfmpegProgressParser, SlidingAverages) {
  ProgressParser p({}, 0);
  p.parse("Input #0, lavfi, from 'x':", 0);
  p.parse("  Stream #0:0: Video: rawvideo, rgb24, 320x240, 25 tbr", 0);
  p.parse("Output #0, null, to 'pipe:':", 0);
  p.parse("  Stream #0:0: Video: wrapped_avframe, rgb24, 320x240, q=2-31, 25 fps", 0);
  p.parse("Stream mapping:", 0);
  p.parse("  Stream #0:0 -> #0:0 (rawvideo (native) -> wrapped_avframe (native))", 0);
  std::uint64_t frame = 0;
  for (int s = 0; s < 40; ++s) {
    frame += 25;
    auto sig = p.parse("frame=" + std::to_string(frame) + " fps=25 q=-0.0 size=" + std::to_string(frame) +
                           "kB time=00:00:01.00 bitrate=1.0kbits/s speed=1x",
                       s);
    EXPECT_EQ(sig, 25u);
  }
  EXPECT_DOUBLE_EQ(p.progress().fps, 25);
  EXPECT_DOUBLE_EQ(p.progress().bitrate_bps, 25 * 1024 * 8);
  // A gap of 15 s: half the window is empty.
  p.parse("frame=" + std::to_string(frame + 25) + " size=0kB", 55);
  EXPECT_NEAR(p.progress().fps, 25.0 * 15 / 30, 1e-9);
  // Stalled: same frame ⇒ signal 0.
  EXPECT_EQ(p.parse("frame=" + std::to_string(frame + 25), 56), 0u);
}

TEST(FfmpegProgressParser, JsonMode) {
  ProgressParser p({}, 0);
  p.parse(R"(ffmpeg.inputs:[{"url":"rtmp://x","format":"flv","index":0,"stream":0,"type":"video","codec":"h264","coder":"h264","pix_fmt":"yuv420p","width":640,"height":360}])", 0);
  p.parse(R"(ffmpeg.outputs:[{"url":"-","format":"null","index":0,"stream":0,"type":"audio","codec":"aac","coder":"aac","sampling_hz":48000,"layout":"stereo","channels":2}])", 0);
  ASSERT_TRUE(p.prelude_done());
  for (int s = 1; s <= 3; ++s) {
    auto sig = p.parse(fmt_line(s), s);
    EXPECT_EQ(sig, 10u);
  }
  EXPECT_EQ(p.parse(R"(ffmpeg.progress:{"inputs":[],"outputs":[]})", 4), 0u);  // length mismatch: dropped
  const auto& pr = p.progress();
  EXPECT_EQ(pr.outputs[0].frame, 30u);
  EXPECT_DOUBLE_EQ(pr.time_seconds, 1.8);
  EXPECT_EQ(pr.inputs[0].size_bytes, 3u * 1024);
  auto j = progress_to_json(pr, {"in"}, {"out"});
  EXPECT_EQ(j["outputs"][0]["channels"], 2);
  EXPECT_EQ(j["inputs"][0]["coder"], "h264");
}

TEST(FfmpegProgressParser, PreludeTruncationLogRingHistory) {
  ParserConfig cfg;
  cfg.log_lines = 5;
  cfg.max_history = 2;
  cfg.prelude_head = 3;
  cfg.prelude_tail = 2;
  ProgressParser p(cfg, 100);
  for (int i = 0; i < 10; ++i) p.parse("line " + std::to_string(i), 100 + i);
  auto prelude = p.prelude();
  EXPECT_EQ(prelude, (std::vector<std::string>{"line 0", "line 1", "line 2", "... truncated 5 lines ...", "line 8",
                                               "line 9"}));
  auto log = p.log();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[0].data, "line 5");
  EXPECT_EQ(log[0].timestamp, 105);
  EXPECT_EQ(p.last_line(), "line 9");
  for (int run = 0; run < 3; ++run) {
    p.reset_stats();
    p.reset_log(200 + run);
    p.parse("run " + std::to_string(run), 200 + run);
  }
  p.reset_log(300);  // empty prelude? no: "run 2" is there
  auto h = p.history();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].prelude, std::vector<std::string>{"run 1"});
  EXPECT_EQ(h[1].created_at, 202);
  p.reset_log(301);  // nothing logged since: not kept
  EXPECT_EQ(p.history().size(), 2u);
  auto j = report_to_json(p.report(), p.history());
  EXPECT_EQ(j["created_at"], 301);
  EXPECT_EQ(j["history"][1]["log"][0][0], "202");
  EXPECT_EQ(j["history"][1]["log"][0][1], "run 2");
  ProgressParser q(cfg, 0);
  p.transfer_history_to(q);
  EXPECT_EQ(q.history().size(), 2u);
}

TEST(FfmpegProgressParser, PreludeMismatchKeepsWaiting) {
  ProgressParser p({}, 0);
  p.parse("Output #0, null, to 'pipe:':", 0);
  p.parse("Stream mapping:", 0);
  p.parse("  Stream #0:0 -> #0:0 (copy)", 0);
  EXPECT_EQ(p.parse("frame=1", 0), 0u);  // 0 output streams vs 1 mapping line
  EXPECT_FALSE(p.prelude_done());
}

TEST(FfmpegProgressParser, Hostile) {
  ParserConfig cfg;
  cfg.max_line_bytes = 1000;
  ProgressParser p(cfg, 0);
  std::string huge(5 << 20, 'x');
  p.parse(huge, 0);
  EXPECT_EQ(p.log().back().data.size(), 1000u);
  std::string nul("Input #0, a\0b, from 'x\0y':", 27);
  p.parse(nul, 0);
  p.parse("  Stream #0:0: Video:", 0);
  p.parse("  Stream #99999999999999999999999:0: Audio: , 999999999999999999999999 Hz, ", 0);
  p.parse("Stream #", 0);
  p.parse("[info] ", 0);
  p.parse("[", 0);
  p.parse("ffmpeg.inputs:[[[[[[[[[[[[[[[[", 0);
  p.parse("ffmpeg.inputs:" + std::string(100000, '['), 0);
  p.parse("ffmpeg.outputs:{\"a\":1}", 0);
  p.parse("frame=", 0);
  p.parse("frame=99999999999999999999999999 q=1.2.3 size=-5kB time=99:99:99.99 speed=x", 1);
  p.parse("frame=10 time=00:00", 2);
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "frame= q= size= time= ";
  p.parse(many, 3);
  p.parse("ffmpeg.progress:" + std::string(1 << 16, '{'), 4);
  SUCCEED();
  double d = 0;
  EXPECT_TRUE(parse_go_duration("0h0m1.8s", d));
  EXPECT_DOUBLE_EQ(d, 1.8);
  EXPECT_TRUE(parse_go_duration("300ms", d));
  EXPECT_FALSE(parse_go_duration("1x", d));
  EXPECT_FALSE(parse_go_duration("", d));
}

TEST(FfmpegLineSplitter, SplitsOnCrLfAndCaps) {
  LineSplitter s(4);
  std::vector<std::string> lines;
  auto on = [&](std::string_view l) { lines.emplace_back(l); };
  s.feed("ab\r\rcd\nefghij\r\n", on);
  s.feed("k", on);
  s.finish(on);
  EXPECT_EQ(lines, (std::vector<std::string>{"ab", "cd", "efgh", "k"}));
}

std::string fmt_line(int s) {
  return "ffmpeg.progress:{\"inputs\":[{\"index\":0,\"stream\":0,\"frame\":" + std::to_string(s * 10) +
         ",\"packet\":" + std::to_string(s * 10) + ",\"size_kb\":" + std::to_string(s) +
         "}],\"outputs\":[{\"index\":0,\"stream\":0,\"frame\":" + std::to_string(s * 10) +
         ",\"packet\":1,\"size_bytes\":100}],\"frame\":" + std::to_string(s * 10) +
         ",\"packet\":5,\"q\":1.5,\"size_kb\":2,\"time\":\"0h0m1.8s\",\"speed\":1.01,\"drop\":0,\"dup\":0}";
}

// MP4, RTP (the WebRTC leg's muxer) and RTMP outputs of Debian's FFmpeg 5.1, -loglevel level+info.
TEST(FfmpegProgressParser, Mp4RtpRtmpOutputs) {
  struct Case {
    const char* file;
    const char* format;
    std::size_t inputs;
    const char* address_prefix;
  };
  for (const auto& c : {Case{"level_info_mp4.txt", "mp4", 2, "/tmp/ffx/out.mp4"},
                        Case{"level_info_rtp.txt", "rtp", 1, "rtp://127.0.0.1:25004"},
                        Case{"level_info_rtmp.txt", "flv", 2, "rtmp://127.0.0.1:19350/live/x"}}) {
    SCOPED_TRACE(c.file);
    ProgressParser p({}, 1000);
    const auto signal = feed(p, read_capture(c.file));
    ASSERT_TRUE(p.prelude_done());
    EXPECT_EQ(signal, 75u);
    const auto& pr = p.progress();
    EXPECT_EQ(pr.frame, 75u);
    EXPECT_GT(pr.time_seconds, 2.9);
    ASSERT_EQ(pr.inputs.size(), c.inputs);
    ASSERT_FALSE(pr.outputs.empty());
    EXPECT_EQ(pr.outputs[0].info.format, c.format);
    EXPECT_EQ(pr.outputs[0].info.address.rfind(c.address_prefix, 0), 0u) << pr.outputs[0].info.address;
    EXPECT_EQ(pr.outputs[0].info.codec, "h264");
    EXPECT_EQ(pr.outputs[0].info.width, 320u);
    const auto j = progress_to_json(pr, std::vector<std::string>(c.inputs, "in"),
                                    std::vector<std::string>(pr.outputs.size(), "out"));
    EXPECT_EQ(j["outputs"][0]["format"], c.format);
    EXPECT_FALSE(p.last_line().empty());
  }
}
