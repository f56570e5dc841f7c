#include <gtest/gtest.h>

#include "ffmpeg/address_validation.hpp"
#include "ffmpeg/input_limits.hpp"

using namespace dragon::ffmpeg;

namespace {
ProcessConfig base() {
  ProcessConfig c;
  c.id = "p1";
  c.input.push_back({"in", "testsrc2", {"-f", "lavfi"}, {}});
  c.output.push_back({"out", "{memfs}/{processid}.m3u8", {"-f", "hls"}, {{"memfs:/{processid}_*.ts", 4, 0, true}}});
  return c;
}
}  // namespace

TEST(FfmpegInputLimits, AcceptsOrdinaryConfigs) {
  auto c = base();
  EXPECT_FALSE(check_process_input(c));
  c.output[0].address = "-";  // the pipe
  EXPECT_FALSE(check_process_input(c));
  c.output[0].options = {"-vf", "drawtext=text='%{localtime}':fontsize=20"};  // FFmpeg's own expansion
  EXPECT_FALSE(check_process_input(c));
  c.input[0].address = "{rtmp,name=$processid.stream}";
  EXPECT_FALSE(check_process_input(c));
  c.input[0].address = "{fs:disk}/in.mp4";
  EXPECT_FALSE(check_process_input(c));
  c.input[0].address = "{MEMFS}/{ memfs }";  // not placeholder syntax: left literal as upstream
  EXPECT_FALSE(check_process_input(c));
}

TEST(FfmpegInputLimits, NamesTheFieldOfEachProblem) {
  auto c = base();
  c.input[0].address = "{foo}/x";
  EXPECT_EQ(check_process_input(c).value_or(""), "input 'in' address uses the unknown placeholder {foo}");
  c = base();
  c.output[0].options.push_back(std::string(k_max_field_bytes + 1, 'x'));
  EXPECT_NE(check_process_input(c).value_or("").find("output 'out' option 3 is"), std::string::npos);
  c = base();
  c.output[0].address = "-filter_complex";
  EXPECT_NE(check_process_input(c).value_or("").find("would be read as an option"), std::string::npos);
  c = base();
  c.input[0].address = "http://x/`id`";
  EXPECT_NE(check_process_input(c).value_or("").find("shell syntax"), std::string::npos);
  c = base();
  c.id = "a/b";
  EXPECT_EQ(check_process_input(c).value_or(""), "id must not contain '/'");
  c = base();
  c.id = std::string(300, 'a');
  EXPECT_TRUE(check_process_input(c));
  c = base();
  c.options.push_back(std::string("a\0b", 3));
  EXPECT_NE(check_process_input(c).value_or("").find("control characters"), std::string::npos);
  c = base();
  c.output[0].cleanup[0].pattern = "memfs:/{bogus,x=1}";
  EXPECT_NE(check_process_input(c).value_or("").find("{bogus...}"), std::string::npos);
}

TEST(FfmpegInputLimits, UnknownPlaceholderScannerIsLinearOnHostileText) {
  std::string s(1 << 20, '{');
  EXPECT_FALSE(unknown_placeholder(s));
  s = std::string(1 << 19, 'a') + "{";
  EXPECT_FALSE(unknown_placeholder(s));
  EXPECT_EQ(unknown_placeholder("x{abc,def").value_or(""), "");
  EXPECT_EQ(unknown_placeholder("{abc,def}").value_or(""), "{abc...}");
}

// Found by fuzz_placeholders: a tee part starting with "[" but without "]" recursed until the stack ran out.
TEST(FfmpegAddressValidation, TeePartWithoutClosingBracketIsCheckedOnce) {
  ValidationSettings s;
  s.disk_dir = "/data";
  const auto r = check_output_address("[f=hs}/a.m3u8|[f=flv]rtmp://127.0.0.1/a", s);
  EXPECT_TRUE(r.error);
  const auto deep = check_output_address(std::string(100000, '['), s);
  EXPECT_TRUE(deep.error);
}
