// Memory filesystem: upstream's size-limit rules, purge order, immutable buffers, concurrency.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fs/mem.hpp"

using namespace dragon::fs;

namespace {
struct FakeClock {
  Clock::time_point t = Clock::time_point(std::chrono::seconds(1'700'000'000));
  std::function<Clock::time_point()> fn() {
    return [this] { return t; };
  }
};
}  // namespace

TEST(FsMem, WriteReadStatListRemove) {
  MemFilesystem fs;
  EXPECT_EQ(fs.name(), "mem");
  EXPECT_EQ(fs.type(), "mem");
  auto w = fs.write("/a/b.ts", "hello");
  ASSERT_TRUE(w);
  EXPECT_TRUE(w.created);
  w = fs.write("a/b.ts", "hello!");  // same file, cleaned
  ASSERT_TRUE(w);
  EXPECT_FALSE(w.created);
  const auto st = fs.stat("/a/b.ts");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->size, 6u);
  EXPECT_EQ(*fs.read("/a/../a/b.ts")->data, "hello!");
  ASSERT_TRUE(fs.write("/x.m3u8", "#EXTM3U"));
  EXPECT_EQ(fs.list().size(), 2u);
  EXPECT_EQ(fs.list("/*.m3u8").size(), 1u);
  EXPECT_EQ(fs.list("/**.ts").size(), 1u);
  EXPECT_EQ(fs.list("/[").size(), 0u);  // malformed glob matches nothing
  EXPECT_EQ(fs.usage().files, 2u);
  EXPECT_EQ(fs.usage().bytes, 13u);
  EXPECT_TRUE(fs.remove("/a/b.ts"));
  EXPECT_FALSE(fs.remove("/a/b.ts"));
  EXPECT_FALSE(fs.stat("/a/b.ts"));
  EXPECT_EQ(fs.usage().bytes, 7u);
}

TEST(FsMem, InvalidPathsAreRefused) {
  MemFilesystem fs;
  EXPECT_EQ(fs.write("/", "x").error, WriteError::InvalidPath);
  EXPECT_EQ(fs.write("/..", "x").error, WriteError::InvalidPath);
  EXPECT_EQ(fs.write(std::string("/a\0b", 4), "x").error, WriteError::InvalidPath);
  EXPECT_EQ(fs.write("/" + std::string(300, 'n'), "x").error, WriteError::InvalidPath);
  EXPECT_EQ(fs.usage().files, 0u);
}

TEST(FsMem, TooBigAndNoSpaceLeaveFilesIntact) {
  MemFilesystem fs("mem", {.max_bytes = 10});
  ASSERT_TRUE(fs.write("/a", "12345"));
  ASSERT_TRUE(fs.write("/b", "1234"));
  auto w = fs.write("/c", std::string(11, 'x'));
  EXPECT_EQ(w.error, WriteError::TooBig);
  EXPECT_EQ(w.message, "File is too big");
  w = fs.write("/c", "12");
  EXPECT_EQ(w.error, WriteError::NoSpace);
  EXPECT_EQ(w.message, "not enough space on device");
  // Replacing counts the old size out: 5 -> 6 fits (9 - 5 + 6 = 10).
  EXPECT_TRUE(fs.write("/a", "123456"));
  EXPECT_EQ(fs.write("/a", "1234567").error, WriteError::NoSpace);
  EXPECT_EQ(*fs.read("/a")->data, "123456");
  EXPECT_EQ(*fs.read("/b")->data, "1234");
  EXPECT_FALSE(fs.stat("/c"));
  EXPECT_EQ(fs.usage().bytes, 10u);
  EXPECT_EQ(fs.usage().limit, 10u);
}

TEST(FsMem, PurgeEvictsOldestByMtime) {
  FakeClock clock;
  MemFilesystem fs("mem", {.max_bytes = 10, .purge = true, .clock = clock.fn()});
  ASSERT_TRUE(fs.write("/z-old", "aaa"));
  clock.t += std::chrono::seconds(1);
  ASSERT_TRUE(fs.write("/a-mid", "bbb"));
  clock.t += std::chrono::seconds(1);
  ASSERT_TRUE(fs.write("/m-new", "ccc"));
  clock.t += std::chrono::seconds(1);
  auto w = fs.write("/next", "dddd");  // needs 3 more: only the oldest goes
  ASSERT_TRUE(w) << w.message;
  EXPECT_FALSE(fs.stat("/z-old"));
  EXPECT_TRUE(fs.stat("/a-mid"));
  EXPECT_TRUE(fs.stat("/m-new"));
  EXPECT_EQ(fs.usage().bytes, 10u);
  // The file being replaced is never its own victim.
  clock.t += std::chrono::seconds(1);
  ASSERT_TRUE(fs.write("/a-mid", "bbbbbb"));  // 10 - 3 + 6 = 13: evicts /m-new (3)
  EXPECT_FALSE(fs.stat("/m-new"));
  EXPECT_TRUE(fs.stat("/next"));
  EXPECT_EQ(fs.usage().bytes, 10u);
  // Too big is refused even with purge, and nothing is evicted for it.
  EXPECT_EQ(fs.write("/huge", std::string(11, 'x')).error, WriteError::TooBig);
  EXPECT_EQ(fs.usage().files, 2u);
}

TEST(FsMem, EqualMtimesEvictInWriteOrder) {
  FakeClock clock;
  MemFilesystem fs("mem", {.max_bytes = 4, .purge = true, .clock = clock.fn()});
  ASSERT_TRUE(fs.write("/b", "1"));
  ASSERT_TRUE(fs.write("/a", "1"));
  ASSERT_TRUE(fs.write("/c", "11"));
  ASSERT_TRUE(fs.write("/d", "1"));
  EXPECT_FALSE(fs.stat("/b"));
  EXPECT_TRUE(fs.stat("/a"));
}

TEST(FsMem, ShrinkingTheLimitEvicts) {
  FakeClock clock;
  MemFilesystem fs("mem", {.clock = clock.fn()});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(fs.write("/f" + std::to_string(i), "12345"));
    clock.t += std::chrono::seconds(1);
  }
  fs.set_limits(12, false);
  EXPECT_EQ(fs.usage().files, 2u);
  EXPECT_TRUE(fs.stat("/f4"));
  EXPECT_TRUE(fs.stat("/f3"));
  fs.set_limits(0, false);
  EXPECT_TRUE(fs.write("/big", std::string(1000, 'x')));
}

TEST(FsMem, ReaderKeepsItsBufferAcrossWrites) {
  MemFilesystem fs;
  ASSERT_TRUE(fs.write("/live.m3u8", "v1"));
  const auto held = fs.read("/live.m3u8");
  ASSERT_TRUE(fs.write("/live.m3u8", "v2-longer"));
  ASSERT_TRUE(fs.remove("/live.m3u8"));
  EXPECT_EQ(*held->data, "v1");
}

TEST(FsMem, ConcurrentReadersAndWriters) {
  MemFilesystem fs("mem", {.max_bytes = 64 * 1024, .purge = true});
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 3000; ++i) {
        // Every version of a file is one repeated byte: a torn read would mix bytes.
        const char c = static_cast<char>('a' + (i % 26));
        fs.write("/w" + std::to_string(w) + "_" + std::to_string(i % 8) + ".ts", std::string(1000 + i % 500, c));
        if (i % 7 == 0) fs.remove("/w" + std::to_string(w) + "_" + std::to_string((i + 3) % 8) + ".ts");
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      while (!stop) {
        for (const auto& f : fs.list("/**.ts")) {
          if (auto c = fs.read(f.name)) {
            const auto& d = *c->data;
            if (!d.empty() && d.find_first_not_of(d[0]) != std::string::npos) ++torn;
          }
        }
        (void)fs.usage();
      }
    });
  }
  for (int w = 0; w < 3; ++w) threads[static_cast<std::size_t>(w)].join();
  stop = true;
  for (std::size_t i = 3; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(torn, 0);
  std::uint64_t sum = 0;
  for (const auto& f : fs.list()) sum += f.size;
  EXPECT_EQ(sum, fs.usage().bytes);
  EXPECT_LE(sum, 64u * 1024u);
}
