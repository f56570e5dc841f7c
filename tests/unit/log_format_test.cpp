#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "log/log.hpp"
#include "util/time.hpp"

namespace dragon::log {
namespace {

using nlohmann::json;

std::chrono::system_clock::time_point at(const std::string& rfc3339) {
  std::chrono::system_clock::time_point t;
  EXPECT_TRUE(util::parse_rfc3339(rfc3339, t)) << rfc3339;
  return t;
}

Entry entry(const std::string& ts, std::string component, std::string message, Fields fields = {},
            Level level = Level::Info) {
  return Entry{at(ts), level, std::move(component), std::move(message), std::move(fields)};
}

// --- Console (upstream's GET /api/v3/log default) ---------------------------------------------

TEST(LogConsole, MatchesUpstreamSampleLines) {
  // Lines from get_log.json (datarhei Core 16.16.0); fields given unsorted on purpose.
  EXPECT_EQ(format_console(entry("2026-11-25T09:07:22Z", "Core", "",
                                 {{"version", "16.16.0"},
                                  {"application", "datarhei-core"},
                                  {"repository", "https://github.com/datarhei/core"},
                                  {"arch", "linux/amd64"},
                                  {"license", "Apache License Version 2.0"},
                                  {"compiler", "go1.19.8"}})),
            R"(ts=2026-11-25T09:07:22Z level=INFO component="Core" application="datarhei-core" arch="linux/amd64" )"
            R"(compiler="go1.19.8" license="Apache License Version 2.0" repository="https://github.com/datarhei/core" )"
            R"(version="16.16.0")");
  EXPECT_EQ(format_console(entry("2026-11-25T09:07:22Z", "Core", "Read config file", {{"path", "/core/config.json"}})),
            R"(ts=2026-11-25T09:07:22Z level=INFO component="Core" msg="Read config file" path="/core/config.json")");
  EXPECT_EQ(format_console(entry("2026-11-25T09:07:23Z", "HTTP", "Server started", {{"address", "127.0.0.1:18680"}})),
            R"(ts=2026-11-25T09:07:23Z level=INFO component="HTTP" msg="Server started" address="127.0.0.1:18680")");
  EXPECT_EQ(format_console(entry("2026-11-25T09:07:51Z", "Session", "Active",
                                 {{"type", "hlsingress"},
                                  {"reference", "oracle-testsrc"},
                                  {"peer", ""},
                                  {"location", "/memfs/oracle-testsrc.m3u8"},
                                  {"id", "/memfs/oracle-testsrc.m3u8"}})),
            R"(ts=2026-11-25T09:07:51Z level=INFO component="Session" msg="Active" id="/memfs/oracle-testsrc.m3u8" )"
            R"(location="/memfs/oracle-testsrc.m3u8" peer="" reference="oracle-testsrc" type="hlsingress")");
  EXPECT_EQ(format_console(entry("2026-11-25T09:07:58Z", "Process", "Failed", {{"id", "oracle-testsrc"}})),
            R"(ts=2026-11-25T09:07:58Z level=INFO component="Process" msg="Failed" id="oracle-testsrc")");
}

TEST(LogConsole, LevelsAndNoFields) {
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "X", "m", {}, Level::Error)),
            R"(ts=2026-01-02T03:04:05Z level=ERROR component="X" msg="m")");
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "X", "m", {}, Level::Warn)),
            R"(ts=2026-01-02T03:04:05Z level=WARN component="X" msg="m")");
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "X", "m", {}, Level::Debug)),
            R"(ts=2026-01-02T03:04:05Z level=DEBUG component="X" msg="m")");
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "", "", {})),
            R"(ts=2026-01-02T03:04:05Z level=INFO component="")");
}

TEST(LogConsole, SubSecondTimestampsTruncateToSeconds) {
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05.999Z", "X", "m")),
            R"(ts=2026-01-02T03:04:05Z level=INFO component="X" msg="m")");
}

TEST(LogConsole, GoStyleQuoting) {
  const auto line = format_console(entry("2026-01-02T03:04:05Z", "X", "say \"hi\"\\ now\n\tdone\r\x01\x7f\a\b\f\v",
                                         {{"s", "caf\xc3\xa9 \xe2\x82\xac"}}));
  EXPECT_EQ(line, "ts=2026-01-02T03:04:05Z level=INFO component=\"X\" "
                  "msg=\"say \\\"hi\\\"\\\\ now\\n\\tdone\\r\\x01\\x7f\\a\\b\\f\\v\" "
                  "s=\"caf\xc3\xa9 \xe2\x82\xac\"");
  // Invalid UTF-8 bytes become \x.., non-printable runes \u.... (as strconv.Quote).
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "X", "", {{"b", "a\xff\xc3(z"}})),
            R"(ts=2026-01-02T03:04:05Z level=INFO component="X" b="a\xff\xc3(z")");
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "X", "", {{"u", "\xc2\x85|\xc2\xa0|\xe2\x80\xa8|\xef\xbb\xbf"}})),
            R"(ts=2026-01-02T03:04:05Z level=INFO component="X" u="\u0085|\u00a0|\u2028|\ufeff")");
  // Overlong encoding and an encoded surrogate are invalid, byte by byte.
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "X", "", {{"o", "\xc0\xaf\xed\xa0\x80"}})),
            R"(ts=2026-01-02T03:04:05Z level=INFO component="X" o="\xc0\xaf\xed\xa0\x80")");
  // Emoji stays literal.
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "X", "\xf0\x9f\x90\x89")),
            "ts=2026-01-02T03:04:05Z level=INFO component=\"X\" msg=\"\xf0\x9f\x90\x89\"");
}

TEST(LogConsole, NonStringValues) {
  const auto line = format_console(entry("2026-01-02T03:04:05Z", "X", "m",
                                         {{"i", 42},
                                          {"n", -7},
                                          {"f", 1.5},
                                          {"g", 3.0},
                                          {"t", true},
                                          {"z", false},
                                          {"nul", nullptr},
                                          {"arr", json::array({1, "a<b", 2.25})},
                                          {"obj", json{{"k", "v\n"}, {"a", 1}}},
                                          {"big", 1e21},
                                          {"tiny", 1e-7},
                                          {"u", 18446744073709551615ull}}));
  EXPECT_EQ(line, "ts=2026-01-02T03:04:05Z level=INFO component=\"X\" msg=\"m\" "
                  "arr=[1,\"a\\u003cb\",2.25] big=1e+21 f=1.5 g=3 i=42 n=-7 nul=null obj={\"a\":1,\"k\":\"v\\n\"} "
                  "t=true tiny=1e-7 u=18446744073709551615 z=false");
}

TEST(LogConsole, RepeatedKeyLastWins) {
  EXPECT_EQ(format_console(entry("2026-01-02T03:04:05Z", "X", "m", {{"k", "first"}, {"a", 1}, {"k", "second"}})),
            R"(ts=2026-01-02T03:04:05Z level=INFO component="X" msg="m" a=1 k="second")");
}

// --- Raw ----------------------------------------------------------------------------------------

TEST(LogRaw, KeysAndValues) {
  const auto raw = format_raw(entry("2026-11-25T09:07:22Z", "Core", "Read config file",
                                    {{"path", "/core/config.json"}, {"n", 3}}, Level::Warn));
  EXPECT_EQ(raw, json::parse(R"({"component":"Core","message":"Read config file","n":3,"path":"/core/config.json",
                                "ts":"2026-11-25T09:07:22Z"})"));
  EXPECT_FALSE(raw.contains("level"));
}

TEST(LogRaw, NoMessageWhenEmptyAndCoreKeysWin) {
  const auto raw = format_raw(entry("2026-11-25T09:07:22.5Z", "Core", "", {{"component", "fake"}, {"ts", 1}}));
  EXPECT_EQ(raw, json::parse(R"({"component":"Core","ts":"2026-11-25T09:07:22.5Z"})"));
}

TEST(LogRaw, SubSecondTimestampLikeGo) {
  EXPECT_EQ(format_raw(entry("2026-11-25T09:07:22.123456789Z", "C", "m"))["ts"], "2026-11-25T09:07:22.123456789Z");
  EXPECT_EQ(format_raw(entry("2026-11-25T09:07:22.120Z", "C", "m"))["ts"], "2026-11-25T09:07:22.12Z");
}

TEST(LogRaw, InvalidUtf8IsReplacedSoDumpCannotThrow) {
  const auto raw = format_raw(entry("2026-11-25T09:07:22Z", "C\xff", "bad \xc3", {{"k", json::array({"x\xfe"})}}));
  EXPECT_NO_THROW((void)raw.dump());
  EXPECT_EQ(raw["component"], "C\xef\xbf\xbd");
  EXPECT_EQ(raw["message"], "bad \xef\xbf\xbd");
  EXPECT_EQ(raw["k"][0], "x\xef\xbf\xbd");
}

// --- JSON lines and human lines (stderr) -------------------------------------------------------

TEST(LogJsonLine, OrderAndContent) {
  const auto line = format_json_line(entry("2026-11-25T09:07:22Z", "HTTP", "Server started",
                                           {{"address", "127.0.0.1:8080"}, {"level", "fake"}, {"n", 1}}));
  EXPECT_EQ(line, R"({"ts":"2026-11-25T09:07:22Z","level":"INFO","component":"HTTP","msg":"Server started",)"
                  R"("address":"127.0.0.1:8080","n":1})");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NO_THROW((void)format_json_line(entry("2026-11-25T09:07:22Z", "X", "bad \xff\nline")));
  EXPECT_EQ(format_json_line(entry("2026-11-25T09:07:22Z", "X", "two\nlines")).find('\n'), std::string::npos);
}

TEST(LogHuman, Format) {
  EXPECT_EQ(format_human(entry("2026-11-25T09:07:22Z", "Core", "Read config", {{"path", "/x"}})),
            "2026-11-25 09:07:22 INFO  [Core] Read config path=/x");
  EXPECT_EQ(format_human(entry("2026-11-25T09:07:22.7Z", "HTTP", "Failed",
                               {{"error", "no such file"}, {"code", 2}, {"empty", ""}}, Level::Error)),
            R"(2026-11-25 09:07:22 ERROR [HTTP] Failed error="no such file" code=2 empty="")");
  EXPECT_EQ(format_human(entry("2026-11-25T09:07:22Z", "X", "", {{"k", "v"}}, Level::Warn)),
            "2026-11-25 09:07:22 WARN  [X] k=v");
  EXPECT_EQ(format_human(entry("2026-11-25T09:07:22Z", "X", "a\nfake line", {}, Level::Debug)),
            R"(2026-11-25 09:07:22 DEBUG [X] "a\nfake line")");
}

// --- Levels -------------------------------------------------------------------------------------

TEST(LogLevel, NamesAndParsing) {
  EXPECT_EQ(level_name(Level::Error), "ERROR");
  EXPECT_EQ(level_name(Level::Warn), "WARN");
  EXPECT_EQ(level_name(Level::Info), "INFO");
  EXPECT_EQ(level_name(Level::Debug), "DEBUG");
  Level l = Level::Info;
  EXPECT_TRUE(parse_level("DEBUG", l));
  EXPECT_EQ(l, Level::Debug);
  EXPECT_TRUE(parse_level("silent", l));
  EXPECT_EQ(l, Level::Silent);
  EXPECT_TRUE(parse_level("Warn", l));
  EXPECT_EQ(l, Level::Warn);
  EXPECT_TRUE(parse_level("error", l));
  EXPECT_EQ(l, Level::Error);
  EXPECT_TRUE(parse_level("info", l));
  EXPECT_EQ(l, Level::Info);
  EXPECT_FALSE(parse_level("warning", l));
  EXPECT_FALSE(parse_level("", l));
  EXPECT_EQ(l, Level::Info);  // untouched on failure
}

}  // namespace
}  // namespace dragon::log
