// The disk/S3 mount cache: TTL, total and per-file bounds, LRU order, extension rules.
#include <gtest/gtest.h>

#include <thread>

#include "fs/lru_cache.hpp"

using namespace dragon::fs;
using namespace std::chrono_literals;

namespace {
std::shared_ptr<const std::string> blob(std::size_t n, char c = 'x') { return std::make_shared<const std::string>(n, c); }
FileInfo info(const std::string& name, std::size_t n) { return FileInfo{name, n, Clock::now()}; }
}  // namespace

TEST(FsLruCache, HitUntilTheTtlExpires) {
  LruCache cache({.max_bytes = 0, .max_file_bytes = 100, .ttl = 10s, .allow = {}, .block = {}});
  const auto t0 = LruCache::SteadyClock::now();
  ASSERT_TRUE(cache.put("/a.ts", info("/a.ts", 10), blob(10), t0));
  auto hit = cache.get("/a.ts", t0 + 4s);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->ttl_left, 6s);
  EXPECT_EQ(hit->data->size(), 10u);
  EXPECT_FALSE(cache.get("/a.ts", t0 + 10s));
  EXPECT_EQ(cache.entries(), 0u);  // expired entries are dropped when seen
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(FsLruCache, EvictsTheLeastRecentlyUsedToStayWithinTheTotal) {
  LruCache cache({.max_bytes = 30, .max_file_bytes = 20, .ttl = 60s, .allow = {}, .block = {}});
  ASSERT_TRUE(cache.put("/a", info("/a", 10), blob(10)));
  ASSERT_TRUE(cache.put("/b", info("/b", 10), blob(10)));
  ASSERT_TRUE(cache.put("/c", info("/c", 10), blob(10)));
  ASSERT_TRUE(cache.get("/a"));  // a is now the most recent; b the least
  ASSERT_TRUE(cache.put("/d", info("/d", 10), blob(10)));
  EXPECT_FALSE(cache.get("/b"));
  EXPECT_TRUE(cache.get("/a"));
  EXPECT_TRUE(cache.get("/c"));
  EXPECT_TRUE(cache.get("/d"));
  EXPECT_EQ(cache.bytes(), 30u);
  EXPECT_FALSE(cache.put("/big", info("/big", 21), blob(21)));  // over max_file_bytes
  EXPECT_EQ(cache.bytes(), 30u);
  // Replacing an entry accounts for the new size only.
  ASSERT_TRUE(cache.put("/a", info("/a", 5), blob(5)));
  EXPECT_EQ(cache.bytes(), 25u);
  cache.invalidate("/a");
  EXPECT_FALSE(cache.get("/a"));
  EXPECT_EQ(cache.bytes(), 20u);
}

TEST(FsLruCache, ExtensionRules) {
  LruCache blocked({.max_bytes = 0, .max_file_bytes = 0, .ttl = 60s, .allow = {}, .block = {".m3u8", "MPD"}});
  EXPECT_FALSE(blocked.type_allowed("/live.m3u8"));
  EXPECT_FALSE(blocked.type_allowed("/x.mpd"));
  EXPECT_TRUE(blocked.type_allowed("/seg.ts"));
  EXPECT_FALSE(blocked.put("/live.m3u8", info("/live.m3u8", 1), blob(1)));
  LruCache allowed({.max_bytes = 0, .max_file_bytes = 0, .ttl = 60s, .allow = {".ts"}, .block = {}});
  EXPECT_TRUE(allowed.type_allowed("/a/seg.TS"));
  EXPECT_FALSE(allowed.type_allowed("/a/index.html"));
  EXPECT_FALSE(allowed.type_allowed("/a/noext"));
}

TEST(FsLruCache, ConcurrentUseStaysConsistent) {
  LruCache cache({.max_bytes = 1000, .max_file_bytes = 100, .ttl = 60s, .allow = {}, .block = {}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const auto key = "/f" + std::to_string((i * 7 + t) % 50);
        if (i % 3 == 0) {
          cache.put(key, info(key, 40), blob(40));
        } else if (i % 7 == 0) {
          cache.invalidate(key);
        } else if (auto hit = cache.get(key)) {
          EXPECT_EQ(hit->data->size(), 40u);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(cache.bytes(), 1000u);
  EXPECT_EQ(cache.bytes(), cache.entries() * 40u);
}
