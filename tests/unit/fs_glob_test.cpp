// Glob semantics of gobwas/glob with '/' as separator (upstream's cleanup patterns and ?glob=).
#include <gtest/gtest.h>

#include <chrono>

#include "fs/filesystem.hpp"
#include "fs/glob.hpp"

using dragon::fs::Glob;
using dragon::fs::glob_match;

namespace {
struct Case {
  const char* pattern;
  const char* name;
  bool match;
};
}  // namespace

TEST(FsGlob, SemanticsTable) {
  const Case cases[] = {
      {"/a.ts", "/a.ts", true},
      {"/a.ts", "/b.ts", false},
      {"/*.ts", "/seg_001.ts", true},
      {"/*.ts", "/dir/seg_001.ts", false},  // * stays within a segment
      {"/**.ts", "/dir/sub/seg.ts", true},  // ** crosses segments
      {"/**", "/x/y/z", true},
      {"/**", "/", true},
      {"/dir/**", "/dir/a/b", true},
      {"/dir/**", "/other/a", false},
      {"/*", "/", true},  // * matches the empty run
      {"/seg_?.ts", "/seg_1.ts", true},
      {"/seg_?.ts", "/seg_12.ts", false},
      {"/a?b", "/a/b", false},  // ? never matches the separator
      {"/seg_[0-9].ts", "/seg_7.ts", true},
      {"/seg_[0-9].ts", "/seg_x.ts", false},
      {"/seg_[!0-9].ts", "/seg_x.ts", true},
      {"/seg_[!0-9].ts", "/seg_7.ts", false},
      {"/seg_[abc].ts", "/seg_b.ts", true},
      {"/seg_[abc].ts", "/seg_d.ts", false},
      {"/x.{ts,m3u8}", "/x.m3u8", true},
      {"/x.{ts,m3u8}", "/x.ts", true},
      {"/x.{ts,m3u8}", "/x.mp4", false},
      {"/{a,b{c,d}}/f", "/bd/f", true},  // nested alternatives
      {"/{a,b{c,d}}/f", "/b/f", false},
      {"/{,x}y", "/y", true},  // empty alternative
      {"/\\*.ts", "/*.ts", true},  // escaped metacharacter
      {"/\\*.ts", "/a.ts", false},
      {"/p_*_*.ts", "/p_1_2.ts", true},
      {"/p,q", "/p,q", true},  // ',' outside braces is literal
      {"/ü?.ts", "/üx.ts", true},
      {"/?.ts", "/é.ts", true},  // ? is one character, not one byte
      {"/abc_*.ts", "/abc_.ts", true},
      {"/abc*", "/ab", false},
      {"", "", true},
      {"", "/a", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(glob_match(c.pattern, c.name), c.match) << c.pattern << " vs " << c.name;
  }
}

TEST(FsGlob, MalformedPatternsMatchNothing) {
  for (const char* p : {"/[abc", "/{a,b", "/a\\", "/[z-a]", "/{a,{b}"}) {
    EXPECT_FALSE(Glob::compile(p).has_value()) << p;
    EXPECT_FALSE(glob_match(p, "/a")) << p;
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "{a,";
  deep += "b";
  for (int i = 0; i < 40; ++i) deep += "}";
  EXPECT_FALSE(Glob::compile(deep).has_value());
  EXPECT_FALSE(Glob::compile(std::string(5000, 'a')).has_value());
}

TEST(FsGlob, HostilePatternsRunInBoundedTime) {
  // Exponential for a backtracking matcher; linear in pattern × name for the NFA.
  std::string pattern = "/";
  for (int i = 0; i < 200; ++i) pattern += "*a";
  pattern += "b";
  std::string super = "/";
  for (int i = 0; i < 200; ++i) super += "**a";
  super += "b";
  const std::string name = "/" + std::string(2000, 'a');
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(glob_match(pattern, name));
  EXPECT_FALSE(glob_match(super, name));
  EXPECT_TRUE(glob_match(pattern.substr(0, pattern.size() - 1), name));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_LT(ms.count(), 5000);  // generous for sanitizer builds; a backtracker never finishes
}

TEST(FsPath, CleanPathNeutralisesTraversal) {
  using dragon::fs::clean_path;
  EXPECT_EQ(*clean_path("a/b"), "/a/b");
  EXPECT_EQ(*clean_path("/a/./b//c/"), "/a/b/c");
  EXPECT_EQ(*clean_path("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(*clean_path("/a/../../b"), "/b");
  EXPECT_EQ(*clean_path(""), "/");
  EXPECT_EQ(*clean_path(".."), "/");
  EXPECT_EQ(*clean_path("/a/..."), "/a/...");  // "..." is a name, not a parent
  EXPECT_FALSE(clean_path(std::string("/a\0b", 4)).has_value());
  EXPECT_FALSE(clean_path("/" + std::string(256, 'x')).has_value());
  EXPECT_TRUE(clean_path("/" + std::string(255, 'x')).has_value());
  std::string longp;
  for (int i = 0; i < 30; ++i) longp += "/" + std::string(200, 'y');
  EXPECT_FALSE(clean_path(longp).has_value());
}
