#include <gtest/gtest.h>

#include "ffmpeg/command.hpp"
#include "ffmpeg/path.hpp"
#include "ffmpeg/url.hpp"

using namespace dragon::ffmpeg;

namespace {

PlaceholderSettings settings() {
  PlaceholderSettings s;
  s.diskfs = "/core/data";
  s.memfs = memfs_base_url("127.0.0.1:8080", true, "admin", "pw");
  s.filesystems = {{"s3a", "http://127.0.0.1:8080/s3a"}};
  s.rtmp_address = ":1935";
  s.srt_address = "127.0.0.1:6000";
  return s;
}

std::string input_address(const std::string& address, const std::string& id = "p1", const std::string& ref = "r") {
  ProcessConfig c;
  c.id = id;
  c.reference = ref;
  c.input.push_back({"in", address, {}, {}});
  resolve_placeholders(c, make_replacer(settings()));
  return c.input[0].address;
}

}  // namespace

TEST(FfmpegPlaceholders, Basic) {
  EXPECT_EQ(input_address("{memfs}/{processid}.m3u8"), "http://admin:pw@127.0.0.1:8080/memfs/p1.m3u8");
  EXPECT_EQ(input_address("{diskfs}/{reference}/{inputid}"), "/core/data/r/in");
  EXPECT_EQ(input_address("{fs:s3a}/x"), "http://127.0.0.1:8080/s3a/x");
  EXPECT_EQ(input_address("{fs:nope}/x"), "/x");
  EXPECT_EQ(input_address("{rtmp,name=a}"), "rtmp://localhost:1935/a");
  EXPECT_EQ(input_address("{srt,name=a,latency=5}"),
            "srt://127.0.0.1:6000?mode=caller&transtype=live&latency=5&streamid=a,mode:request");
  EXPECT_EQ(input_address("{foo}{bar,x=1}{MEMFS}"), "{foo}{bar,x=1}{MEMFS}");
}

TEST(FfmpegPlaceholders, EscapeAndParams) {
  EXPECT_EQ(input_address("{memfs^:}"), "http\\\\://admin\\\\:pw@127.0.0.1\\\\:8080/memfs");
  EXPECT_EQ(input_address("{rtmp^:,name=a\\b}"), "rtmp\\\\://localhost\\\\:1935/a\\\\\\b");
  EXPECT_EQ(input_address("{rtmp,name=a%2Cb+c}"), "rtmp://localhost:1935/a,b c");
  EXPECT_EQ(input_address("{rtmp,name=%zz}"), "rtmp://localhost:1935/{name}");  // bad escape: param ignored
  EXPECT_EQ(input_address("{rtmp,name=$processid-$inputid-$outputid}"), "rtmp://localhost:1935/p1-in-$outputid");
  EXPECT_EQ(input_address("{rtmp,name={processid}.stream}"), "rtmp://localhost:1935/{processid.stream}");
  // UTF-8 escape character is one rune.
  EXPECT_EQ(input_address("{processid^é}", "aéb"), "a\\\\éb");
}

TEST(FfmpegPlaceholders, CompileTemplate) {
  EXPECT_EQ(compile_template("a{x}b{y}c{z:q}", "x=1,,y=2,x=3", nullptr, {{"z:q", "D"}}), "a3b2cD");
  EXPECT_EQ(compile_template("{x}", "", nullptr, {}), "{x}");
}

TEST(FfmpegPlaceholders, MemfsBaseUrl) {
  EXPECT_EQ(memfs_base_url(":8080", false, "", ""), "http://localhost:8080/memfs");
  EXPECT_EQ(memfs_base_url("host:80", true, "a b", "p@ss:/"), "http://a%20b:p%40ss%3A%2F@host:80/memfs");
}

TEST(FfmpegPlaceholders, Hostile) {
  // Unterminated, deeply nested, NUL bytes, newlines inside params, very long input.
  EXPECT_EQ(input_address("{memfs"), "{memfs");
  EXPECT_EQ(input_address("{memfs^"), "{memfs^");
  EXPECT_EQ(input_address("{memfs,"), "{memfs,");
  EXPECT_EQ(input_address("{rtmp,name=a\n}"), "{rtmp,name=a\n}");
  std::string nested(10000, '{');
  nested += "processid";
  nested += std::string(10000, '}');
  EXPECT_EQ(input_address(nested), std::string(9999, '{') + "p1" + std::string(9999, '}'));
  std::string nul("{processid}\0{memfs}", 19);
  static constexpr char kWant[] = "p1\0http://admin:pw@127.0.0.1:8080/memfs";
  EXPECT_EQ(input_address(nul), std::string(kWant, sizeof(kWant) - 1));
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "{processid}{x";
  auto r = input_address(big);
  EXPECT_EQ(r.size(), big.size() - 20000 * 9);
  std::string braces(1 << 20, '{');
  EXPECT_EQ(input_address(braces), braces);
}

TEST(FfmpegReferences, Format) {
  ProcessConfig other;
  other.id = "A";
  other.output.push_back({"out:put=x", "addr1", {}, {}});
  other.output.push_back({"o", "addr2", {}, {}});
  ProcessLookup lookup = [&](std::string_view id) -> const ProcessConfig* { return id == "A" ? &other : nullptr; };
  std::string out;
  EXPECT_FALSE(resolve_reference("B", "#A:output=o", lookup, out));
  EXPECT_EQ(out, "addr2");
  // Greedy group 1: the last ":output=" wins.
  EXPECT_EQ(*resolve_reference("B", "#A:output=x:output=o", lookup, out),
            "unknown process 'A:output=x' (#A:output=x:output=o)");
  EXPECT_EQ(*resolve_reference("B", "#A:output=", lookup, out), "invalid format (#A:output=)");
  EXPECT_EQ(*resolve_reference("B", "#", lookup, out), "invalid format (#)");
  EXPECT_EQ(*resolve_reference("B", "", lookup, out), "empty address");
  EXPECT_FALSE(resolve_reference("B", "plain", lookup, out));
}

TEST(FfmpegUrl, SchemeAndParse) {
  EXPECT_TRUE(url::has_scheme("rtmp://x"));
  EXPECT_TRUE(url::has_scheme("HTTP:/x"));
  EXPECT_FALSE(url::has_scheme("http\\\\://x"));
  EXPECT_FALSE(url::has_scheme("/abs/path"));
  EXPECT_FALSE(url::has_scheme("file:x"));
  EXPECT_EQ(*url::parse("http://[::1/x"), "parse \"//[::1\": missing ']' in host");
  EXPECT_EQ(*url::parse("http://host:12a/x"), "parse \"//host:12a\": invalid port \":12a\" after host");
  EXPECT_EQ(*url::parse("http://ho st/x"), "parse \"//ho st\": invalid character \" \" in host name");
  EXPECT_EQ(*url::parse("http://a\x01/x"), "parse \"//a\\x01\": net/url: invalid control character in URL");
  EXPECT_EQ(*url::parse("http://%zz/x"), "parse \"//%zz\": invalid URL escape \"%zz\"");
  EXPECT_FALSE(url::parse("http://user:pass@host:80/x?y#z"));
  url::Parsed p;
  EXPECT_FALSE(url::parse("srt://127.0.0.1:6000?mode=caller", &p));
  EXPECT_EQ(p.scheme, "srt");
  EXPECT_EQ(p.host, "127.0.0.1:6000");
  EXPECT_EQ(p.query, "mode=caller");
}

TEST(FfmpegPath, CleanAbs) {
  EXPECT_EQ(path::clean(""), ".");
  EXPECT_EQ(path::clean("/../a//b/./c/.."), "/a/b");
  EXPECT_EQ(path::clean("a/../../b"), "../b");
  EXPECT_EQ(path::absolute("", "/cwd"), "/cwd");
  EXPECT_EQ(path::absolute("x/../y", "/cwd"), "/cwd/y");
  EXPECT_EQ(path::absolute("/core/data/../e", "/cwd"), "/core/e");
}

TEST(FfmpegValidation, Outputs) {
  ValidationSettings s;
  s.disk_dir = "/core/data";
  s.cwd = "/cwd";
  EXPECT_FALSE(check_output_address("/core/data/x.ts", s).error);
  EXPECT_TRUE(check_output_address("/core/data/x.ts", s).is_file);
  EXPECT_EQ(check_output_address("/core/data/x.ts", s).normalized, "file:/core/data/x.ts");
  EXPECT_EQ(check_output_address("-", s).normalized, "pipe:");
  EXPECT_EQ(check_output_address("/dev/null", s).normalized, "file:/dev/null");
  EXPECT_EQ(*check_output_address("/tmp/x", s).error, "/tmp/x is not inside of /core/data");
  // Upstream's plain prefix test: a sibling sharing the prefix passes.
  EXPECT_FALSE(check_output_address("/core/database/x", s).error);
  auto tee = check_output_address("[f=mpegts]/core/data/a.ts|[f=flv]rtmp://h/x|-", s);
  EXPECT_FALSE(tee.error);
  EXPECT_EQ(tee.normalized, "[f=mpegts]file:/core/data/a.ts|[f=flv]rtmp://h/x|pipe:");
  ASSERT_FALSE(s.output_access.set({}, {"^rtmp://h/blocked"}));
  EXPECT_EQ(*check_output_address("[f=flv]rtmp://h/blocked", s).error, "address is not allowed");
  ASSERT_FALSE(s.input_access.set({"(?i)^RTMP://"}, {}));
  EXPECT_FALSE(check_input_address("rtmp://x", s).error);
  EXPECT_TRUE(check_input_address("/x", s).error);
  AccessList bad;
  EXPECT_TRUE(bad.set({"("}, {}));
  // Long hostile address through the regex engine must not crash.
  std::string huge = "rtmp://h/" + std::string(20000, 'a');
  EXPECT_FALSE(check_input_address(huge, s).error);
}

TEST(FfmpegValidation, Config) {
  ValidationSettings s;
  s.disk_dir = "/d";
  ProcessConfig c;
  c.id = "p";
  EXPECT_EQ(*validate_config(c, s).error, "at least one input must be defined for the process 'p'");
  c.input.push_back({"in", "x", {}, {}});
  EXPECT_EQ(*validate_config(c, s).error, "at least one output must be defined for the process '#p'");
  c.output.push_back({"o", "-", {}, {}});
  c.output.push_back({" o ", "-", {}, {}});
  EXPECT_EQ(*validate_config(c, s).error, "the output ID 'o' is already in use for the process `p`");
  c.output.pop_back();
  c.input.push_back({"", "x", {}, {}});
  EXPECT_EQ(*validate_config(c, s).error, "empty input IDs are not allowed (process 'p')");
}

TEST(FfmpegCommand, BuildAndJson) {
  ProcessConfig c;
  nlohmann::json j = nlohmann::json::parse(R"({"id":"p","input":[{"address":"a","options":["-re"],"cleanup":[{"pattern":"x"}]}],
    "output":[{"id":"o","address":"b","cleanup":[{"pattern":"mem:/x","max_files":3,"purge_on_delete":true}]}],
    "limits":{"cpu_usage":12.5},"webrtc":{"enabled":true,"video_map":"0:v"}})");
  ASSERT_FALSE(process_config_from_json(j, c));
  EXPECT_TRUE(c.input[0].cleanup.empty());
  int n = 0;
  fill_missing_io_ids(c, [&] { return "id" + std::to_string(n++); });
  EXPECT_EQ(c.input[0].id, "id0");
  auto out = process_config_to_json(c);
  EXPECT_EQ(out["limits"]["cpu_usage"], 12.5);
  EXPECT_EQ(out["output"][0]["cleanup"][0]["max_files"], 3);
  EXPECT_EQ(out["webrtc"]["video_map"], "0:v");
  EXPECT_FALSE(out["input"][0].contains("cleanup"));
  EXPECT_EQ(out.dump().find("\"id\":\"p\",\"type\":\"ffmpeg\""), 1u);
  EXPECT_EQ(build_command(c), (std::vector<std::string>{"-re", "-i", "a", "b"}));

  ProcessConfig bad;
  EXPECT_TRUE(process_config_from_json(nlohmann::json::parse(R"({"reconnect":"yes"})"), bad));
  EXPECT_TRUE(process_config_from_json(nlohmann::json::parse(R"({"stale_timeout_seconds":-1})"), bad));
  EXPECT_TRUE(process_config_from_json(nlohmann::json::parse(R"({"type":"docker"})"), bad));
  EXPECT_TRUE(process_config_from_json(nlohmann::json::parse(R"({"input":[1]})"), bad));
  EXPECT_FALSE(process_config_from_json(nlohmann::json::parse(R"({"input":null,"unknown":1})"), bad));
}

TEST(FfmpegCommand, ResolveProcessErrors) {
  auto r = make_replacer(settings());
  ValidationSettings v;
  v.disk_dir = "/core/data";
  ResolveContext ctx{&r, &v, {}, "ffmpeg"};
  ProcessConfig c;
  c.id = "   ";
  EXPECT_EQ(resolve_process(c, ctx).error, "an empty ID is not allowed");
  c.id = "p";
  c.input.push_back({"in", "#x:output=y", {}, {}});
  c.output.push_back({"out", "-", {}, {}});
  EXPECT_EQ(resolve_process(c, ctx).error, "reference error for '#p:in': unknown process 'x' (#x:output=y)");
  c.input[0].address = "{diskfs}/in.ts";
  auto ok = resolve_process(c, ctx);
  ASSERT_TRUE(ok.process);
  EXPECT_EQ(ok.process->argv, (std::vector<std::string>{"ffmpeg", "-i", "/core/data/in.ts", "-"}));
  EXPECT_EQ(c.input[0].address, "{diskfs}/in.ts");  // stored form untouched
}
