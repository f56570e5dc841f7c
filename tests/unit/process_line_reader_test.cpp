#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "process/line_reader.hpp"

namespace dragon::process {
namespace {

std::vector<std::string> split_all(LineReader& r, const std::vector<std::string>& chunks, bool finish = true) {
  std::vector<std::string> out;
  auto on = [&](std::string_view l) { out.emplace_back(l); };
  for (const auto& c : chunks) r.feed(c, on);
  if (finish) r.finish(on);
  return out;
}

TEST(ProcessLineReader, SplitsOnCrAndLfSkippingEmpty) {
  LineReader r;
  auto lines = split_all(r, {"a\nb\rc\r\nd\n\n\r\re"});
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

TEST(ProcessLineReader, JoinsAcrossChunks) {
  LineReader r;
  auto lines = split_all(r, {"fra", "me=1", "\r", "\nfps", "=25\n"});
  EXPECT_EQ(lines, (std::vector<std::string>{"frame=1", "fps=25"}));
}

TEST(ProcessLineReader, UnterminatedRestOnlyAtFinish) {
  LineReader r;
  std::vector<std::string> out;
  r.feed("x\ntail", [&](std::string_view l) { out.emplace_back(l); });
  EXPECT_EQ(out, (std::vector<std::string>{"x"}));
  EXPECT_EQ(r.buffered(), 4u);
  r.finish([&](std::string_view l) { out.emplace_back(l); });
  EXPECT_EQ(out, (std::vector<std::string>{"x", "tail"}));
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(ProcessLineReader, KeepsNulBytes) {
  LineReader r;
  auto lines = split_all(r, {std::string("a\0b\n\0\n", 6)});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], std::string("a\0b", 3));
  EXPECT_EQ(lines[1], std::string("\0", 1));
}

TEST(ProcessLineReader, HugeLineIsCutAndDoesNotGrowTheBuffer) {
  LineReader r(16);
  std::vector<std::string> out;
  auto on = [&](std::string_view l) { out.emplace_back(l); };
  std::string chunk(1000, 'x');
  for (int i = 0; i < 1000; ++i) {
    r.feed(chunk, on);
    ASSERT_LE(r.buffered(), 16u);
  }
  r.feed("yyy\nnext\n", on);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], std::string(16, 'x'));
  EXPECT_EQ(out[1], "next");
}

TEST(ProcessLineReader, HugeLineInOneChunkIsCut) {
  LineReader r(8);
  auto lines = split_all(r, {std::string(100, 'a') + "\nshort\n" + std::string(9, 'b') + "\r"});
  EXPECT_EQ(lines, (std::vector<std::string>{std::string(8, 'a'), "short", std::string(8, 'b')}));
}

TEST(ProcessLineReader, DefaultCapIs64KiB) {
  LineReader r;
  auto lines = split_all(r, {std::string(200 * 1024, 'z') + "\n"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), 64u * 1024);
}

TEST(ProcessLineReader, OnlyTerminators) {
  LineReader r;
  EXPECT_TRUE(split_all(r, {"\r\n\r\n", "\n", ""}).empty());
}

}  // namespace
}  // namespace dragon::process
