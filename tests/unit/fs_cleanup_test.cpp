// Cleanup rules (upstream restream/fs) driven by a fake clock through tick(now).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "fs/disk.hpp"
#include "fs/mem.hpp"
#include "fs/registry.hpp"
#include "util/random.hpp"

using namespace dragon::fs;

namespace {

struct CleanupFixture : ::testing::Test {
  Clock::time_point now = Clock::time_point(std::chrono::seconds(1'700'000'000));
  std::shared_ptr<MemFilesystem> mem;
  std::filesystem::path dir;
  std::shared_ptr<DiskFilesystem> disk;
  FilesystemRegistry reg{[this] { return now; }};

  void SetUp() override {
    mem = std::make_shared<MemFilesystem>("mem", MemOptions{.clock = [this] { return now; }});
    dir = std::filesystem::temp_directory_path() / ("dragon-fs-" + dragon::util::random_alnum(8));
    disk = std::make_shared<DiskFilesystem>("disk", dir.string());
    reg.add(mem, "/memfs");
    reg.add(disk, "/");
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  // Writes seg_0..seg_{n-1}, one second apart (seg_0 oldest).
  void segments(Filesystem& fs, const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(fs.write(prefix + "_" + std::to_string(i) + ".ts", "x"));
      now += std::chrono::seconds(1);
    }
  }
};

}  // namespace

TEST_F(CleanupFixture, RegistryListsMountsInOrder) {
  const auto l = reg.list();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name, "mem");
  EXPECT_EQ(l[0].type, "mem");
  EXPECT_EQ(l[0].mount, "/memfs");
  EXPECT_EQ(l[1].name, "disk");
  EXPECT_EQ(l[1].type, "disk");
  EXPECT_EQ(l[1].mount, "/");
  EXPECT_EQ(reg.get("mem"), mem);
  EXPECT_FALSE(reg.get("s3"));
  // Replacing keeps the position.
  auto mem2 = std::make_shared<MemFilesystem>("mem");
  reg.add(mem2, "/memfs");
  EXPECT_EQ(reg.list()[0].name, "mem");
  EXPECT_EQ(reg.get("mem"), mem2);
}

TEST_F(CleanupFixture, PatternPrefixSelectsTheFilesystem) {
  EXPECT_EQ(reg.resolve_pattern("memfs:/a/*.ts")->first, "mem");
  EXPECT_EQ(reg.resolve_pattern("mem:/a/*.ts")->second, "/a/*.ts");
  EXPECT_EQ(reg.resolve_pattern("diskfs:/x/**")->first, "disk");
  EXPECT_EQ(reg.resolve_pattern("disk:/x")->first, "disk");
  EXPECT_FALSE(reg.resolve_pattern("s3:/x"));      // no such filesystem
  EXPECT_FALSE(reg.resolve_pattern("/a/*.ts"));    // no prefix
  EXPECT_FALSE(reg.resolve_pattern("Memfs:/a"));   // no filesystem of that name (names are case-sensitive)
  EXPECT_FALSE(reg.resolve_pattern("mem2:/a"));
  EXPECT_FALSE(reg.resolve_pattern(":/a"));
  // S3 filesystem names may carry digits, '-' and '_' (upstream's ^[a-z]+: never matched "s3media").
  reg.add(std::make_shared<MemFilesystem>("s3-media_2"), "/s3");
  EXPECT_EQ(reg.resolve_pattern("s3-media_2:/x/*.ts")->first, "s3-media_2");
  EXPECT_EQ(reg.resolve_pattern("s3-media_2:/x/*.ts")->second, "/x/*.ts");
}

TEST_F(CleanupFixture, MaxFilesKeepsTheNewest) {
  segments(*mem, "/p1", 10);
  ASSERT_TRUE(mem->write("/p1.m3u8", "m"));
  ASSERT_TRUE(mem->write("/other_0.ts", "x"));
  reg.set_cleanup("p1", {{.pattern = "memfs:/p1_*.ts", .max_files = 3}});
  EXPECT_EQ(reg.tick(now), 7u);
  const auto left = mem->list("/p1_*.ts");
  ASSERT_EQ(left.size(), 3u);
  for (const auto& f : left) EXPECT_TRUE(f.name == "/p1_7.ts" || f.name == "/p1_8.ts" || f.name == "/p1_9.ts") << f.name;
  EXPECT_TRUE(mem->stat("/p1.m3u8"));
  EXPECT_TRUE(mem->stat("/other_0.ts"));
  EXPECT_EQ(reg.tick(now), 0u);
}

TEST_F(CleanupFixture, MaxAgeDeletesOlderFiles) {
  segments(*mem, "/p1", 5);  // mtimes t0..t0+4, now = t0+5
  reg.set_cleanup("p1", {{.pattern = "mem:/p1_*.ts", .max_file_age_seconds = 3}});
  // best before = now - 3 = t0+2: t0 and t0+1 are older.
  EXPECT_EQ(reg.tick(now), 2u);
  EXPECT_FALSE(mem->stat("/p1_1.ts"));
  EXPECT_TRUE(mem->stat("/p1_2.ts"));
  now += std::chrono::seconds(100);
  EXPECT_EQ(reg.tick(now), 3u);
  EXPECT_TRUE(mem->list().empty());
}

TEST_F(CleanupFixture, MaxFilesAndAgeTogetherOnDisk) {
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(disk->write("/hls/s_" + std::to_string(i) + ".ts", "x"));
  // Backdate the disk mtimes: s_0 oldest.
  for (int i = 0; i < 6; ++i) {
    const auto p = dir / "hls" / ("s_" + std::to_string(i) + ".ts");
    std::filesystem::last_write_time(
        p, std::filesystem::file_time_type::clock::now() - std::chrono::hours(1) + std::chrono::seconds(i * 60));
  }
  reg.set_cleanup("p", {{.pattern = "diskfs:/hls/*.ts", .max_files = 4, .max_file_age_seconds = 30 * 60}});
  // max_files drops s_0, s_1; age (30 min) drops the rest older than 30 min: all of them (≤ 55 min old).
  EXPECT_EQ(reg.tick(Clock::now()), 6u);
  EXPECT_TRUE(disk->list().empty());
}

TEST_F(CleanupFixture, PurgeOnDeleteRunsOnRemoveAndUpdateOnly) {
  segments(*mem, "/p1", 3);
  segments(*mem, "/keep", 2);
  ASSERT_TRUE(disk->write("/p1/rec.mp4", "x"));
  reg.set_cleanup("p1", {{.pattern = "memfs:/p1_*.ts", .purge_on_delete = true},
                         {.pattern = "memfs:/keep_*.ts", .purge_on_delete = false},
                         {.pattern = "diskfs:/p1/**", .purge_on_delete = true},
                         {.pattern = "unknown:/p1_*.ts", .purge_on_delete = true}});
  EXPECT_EQ(reg.tick(now), 0u);  // no limits: nothing to do per tick
  EXPECT_EQ(reg.cleanup_rules("p1").size(), 4u);

  // Stopping the ticker is not a purge (deliberately unlike upstream's shutdown).
  reg.start();
  reg.stop();
  EXPECT_EQ(mem->list("/p1_*.ts").size(), 3u);

  // Update: old rules purge, new ones take over.
  reg.set_cleanup("p1", {{.pattern = "memfs:/keep_*.ts", .purge_on_delete = true}});
  EXPECT_TRUE(mem->list("/p1_*.ts").empty());
  EXPECT_FALSE(disk->stat("/p1/rec.mp4"));
  EXPECT_EQ(mem->list("/keep_*.ts").size(), 2u);  // the old rule for these had no purge

  reg.remove_cleanup("p1");
  EXPECT_TRUE(mem->list().empty());
  EXPECT_TRUE(reg.cleanup_rules("p1").empty());
  reg.remove_cleanup("p1");  // idempotent
}

TEST_F(CleanupFixture, RulesOfSeveralProcessesAreIndependent) {
  segments(*mem, "/a", 5);
  segments(*mem, "/b", 5);
  reg.set_cleanup("a", {{.pattern = "memfs:/a_*.ts", .max_files = 1, .purge_on_delete = true}});
  reg.set_cleanup("b", {{.pattern = "memfs:/b_*.ts", .max_files = 2}});
  EXPECT_EQ(reg.tick(now), 7u);
  reg.remove_cleanup("a");
  EXPECT_TRUE(mem->list("/a_*").empty());
  EXPECT_EQ(mem->list("/b_*").size(), 2u);
}

TEST_F(CleanupFixture, TickerThreadEnforcesRules) {
  FilesystemRegistry live;  // real clock
  auto fs = std::make_shared<MemFilesystem>("mem");
  live.add(fs, "/memfs");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(fs->write("/t_" + std::to_string(i) + ".ts", "x"));
  live.set_cleanup("t", {{.pattern = "memfs:/t_*.ts", .max_files = 2}});
  live.start();
  for (int i = 0; i < 50 && fs->usage().files > 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  live.stop();
  EXPECT_EQ(fs->usage().files, 2u);
}
