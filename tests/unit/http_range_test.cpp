// The Range header parser (RFC 9110 §14.1.2): what is served as 206, 416 or the whole file.
#include <gtest/gtest.h>

#include "http/range.hpp"

using dragon::http::ByteRange;
using dragon::http::parse_range;

namespace {
void expect_range(std::string_view h, std::uint64_t size, std::uint64_t first, std::uint64_t last) {
  SCOPED_TRACE(std::string(h));
  const auto r = parse_range(h, size);
  ASSERT_EQ(r.kind, ByteRange::Kind::Satisfiable);
  EXPECT_EQ(r.first, first);
  EXPECT_EQ(r.last, last);
  EXPECT_EQ(r.length(), last - first + 1);
}
void expect_kind(std::string_view h, std::uint64_t size, ByteRange::Kind kind) {
  SCOPED_TRACE(std::string(h));
  EXPECT_EQ(parse_range(h, size).kind, kind);
}
}  // namespace

TEST(HttpRange, ClosedOpenAndSuffixRanges) {
  expect_range("bytes=0-99", 1000, 0, 99);
  expect_range("bytes=100-", 1000, 100, 999);
  expect_range("bytes=-500", 1000, 500, 999);
  expect_range("bytes=-5000", 1000, 0, 999);    // suffix longer than the file: all of it
  expect_range("bytes=900-5000", 1000, 900, 999);  // end clamped to the file
  expect_range("bytes=999-999", 1000, 999, 999);
  expect_range("Bytes=1-2 ", 1000, 1, 2);  // the unit is case-insensitive
}

TEST(HttpRange, OutsideTheFileIsUnsatisfiable) {
  expect_kind("bytes=1000-", 1000, ByteRange::Kind::Unsatisfiable);
  expect_kind("bytes=5000-6000", 1000, ByteRange::Kind::Unsatisfiable);
  expect_kind("bytes=-0", 1000, ByteRange::Kind::Unsatisfiable);
  expect_kind("bytes=0-", 0, ByteRange::Kind::Unsatisfiable);
}

TEST(HttpRange, MalformedOrMultipleRangesServeTheWholeFile) {
  for (const char* h : {"", "bytes", "bytes=", "bytes=-", "items=0-1", "bytes=a-b", "bytes=5-3", "bytes=0-1,5-6",
                        "bytes=1-2-3", "bytes=99999999999999999999-", "bytes=--1", "bytes=+1-2", "bytes= -"}) {
    expect_kind(h, 1000, ByteRange::Kind::None);
  }
}
