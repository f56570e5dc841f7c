// Content types: the built-in table and mime.types files (storage.mimetypes_file).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "http/mime_types.hpp"

using dragon::http::MimeTypes;

TEST(HttpMimeTypes, BuiltInTableForMedia) {
  MimeTypes m;
  EXPECT_EQ(m.lookup("/a/live.m3u8", "x"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(m.lookup("/a/SEG.TS", "x"), "video/MP2T");
  EXPECT_EQ(m.lookup("/dir.d/noext", "fallback"), "fallback");
  EXPECT_EQ(m.lookup("/noext", "fallback"), "fallback");
  EXPECT_EQ(m.lookup("/trailing.", "fallback"), "fallback");
}

TEST(HttpMimeTypes, FileEntriesExtendAndOverride) {
  MimeTypes m;
  const auto added = m.load_text(
      "# comment line\n"
      "application/x-test   tst  .tst2\r\n"
      "video/vnd.dlna.mpeg-tts ts # trailing comment\n"
      "types {\n"            // nginx's block syntax: no slash, skipped
      "  text/x-nginx   ngx;\n"  // nginx entry with a semicolon
      "}\n"
      "garbage-without-slash ext\n"
      "\n"
      "image/x-only-type\n");
  EXPECT_EQ(added, 4u);
  EXPECT_EQ(m.lookup("/a.tst", "x"), "application/x-test");
  EXPECT_EQ(m.lookup("/a.TST2", "x"), "application/x-test");
  EXPECT_EQ(m.lookup("/a.ts", "x"), "video/vnd.dlna.mpeg-tts");
  EXPECT_EQ(m.lookup("/a.ngx", "x"), "text/x-nginx");
  EXPECT_EQ(m.lookup("/a.ext", "x"), "x");
  EXPECT_EQ(m.lookup("/a.m3u8", "x"), "application/vnd.apple.mpegurl");  // built-in kept
}

TEST(HttpMimeTypes, LoadsAFileAndReportsAMissingOne) {
  const auto path = std::filesystem::temp_directory_path() / "dragon-mime-test.types";
  {
    std::ofstream(path) << "audio/x-flac flac\n";
  }
  MimeTypes m;
  EXPECT_FALSE(m.load_file(path.string()));
  EXPECT_EQ(m.lookup("/song.flac", "x"), "audio/x-flac");
  std::filesystem::remove(path);
  const auto err = m.load_file(path.string());
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("dragon-mime-test.types"), std::string::npos);
}
