// Disk filesystem: confinement against hostile paths and symlinks, atomic replace, listing.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fs/disk.hpp"
#include "util/random.hpp"

using namespace dragon::fs;
namespace stdfs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct DiskFixture : ::testing::TestWithParam<bool> {
  stdfs::path base, root, outside;
  std::unique_ptr<DiskFilesystem> fs;

  void SetUp() override {
    base = stdfs::temp_directory_path() / ("dragon-fs-" + dragon::util::random_alnum(8));
    root = base / "root";
    outside = base / "outside";
    stdfs::create_directories(outside);
    std::ofstream(outside / "secret.txt") << "secret";
    fs = std::make_unique<DiskFilesystem>("disk", root.string());
    if (!GetParam()) fs->disable_openat2_for_tests();
  }
  void TearDown() override { stdfs::remove_all(base); }
};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Resolve, DiskFixture, ::testing::Values(true, false),
                         [](const auto& p) { return p.param ? "openat2" : "nofollow_walk"; });

TEST(FsDisk, Openat2IsUsedOnThisKernel) {
  const auto dir = stdfs::temp_directory_path() / ("dragon-fs-" + dragon::util::random_alnum(8));
  DiskFilesystem fs("disk", dir.string());
  EXPECT_TRUE(fs.uses_openat2()) << "kernel or seccomp refuses openat2; the O_NOFOLLOW walk is in use";
  stdfs::remove_all(dir);
}

TEST_P(DiskFixture, WriteCreatesParentsAndReplacesAtomically) {
  auto w = fs->write("/a/b/c.ts", "one");
  ASSERT_TRUE(w) << w.message;
  EXPECT_TRUE(w.created);
  EXPECT_EQ(slurp((root / "a/b/c.ts").string()), "one");
  const auto before = slurp((root / "a/b/c.ts").string());
  w = fs->write("a/b/c.ts", "two");
  ASSERT_TRUE(w);
  EXPECT_FALSE(w.created);
  EXPECT_EQ(slurp((root / "a/b/c.ts").string()), "two");
  // No temp files left behind; listing hides them anyway.
  for (const auto& e : stdfs::recursive_directory_iterator(root)) {
    EXPECT_EQ(e.path().filename().string().find(".dragon-tmp-"), std::string::npos) << e.path();
  }
  const auto c = fs->read("/a/b/c.ts");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->info.size, 3u);
  EXPECT_EQ(c->host_path, (root / "a/b/c.ts").string());
  EXPECT_FALSE(c->data);
  EXPECT_EQ(fs->write("/a/b", "x").error, WriteError::InvalidPath);  // a directory
  EXPECT_EQ(fs->write("/.dragon-tmp-x", "x").error, WriteError::InvalidPath);
}

TEST_P(DiskFixture, ListStatRemove) {
  ASSERT_TRUE(fs->write("/x.m3u8", "12"));
  ASSERT_TRUE(fs->write("/seg/1.ts", "123"));
  ASSERT_TRUE(fs->write("/seg/2.ts", "1234"));
  stdfs::create_directories(root / "empty");
  auto all = fs->list();
  EXPECT_EQ(all.size(), 3u);
  EXPECT_EQ(fs->list("/seg/*.ts").size(), 2u);
  EXPECT_EQ(fs->list("/*.ts").size(), 0u);
  EXPECT_EQ(fs->usage().bytes, 9u);
  EXPECT_EQ(fs->usage().files, 3u);
  EXPECT_EQ(fs->usage().limit, 0u);
  ASSERT_TRUE(fs->stat("/seg/2.ts"));
  EXPECT_EQ(fs->stat("/seg/2.ts")->size, 4u);
  EXPECT_FALSE(fs->stat("/seg"));  // directories are not files
  EXPECT_TRUE(fs->remove("/seg/2.ts"));
  EXPECT_FALSE(fs->remove("/seg/2.ts"));
  EXPECT_FALSE(fs->remove("/seg"));
  EXPECT_FALSE(fs->remove("/"));
  EXPECT_TRUE(stdfs::exists(root / "seg"));
}

TEST_P(DiskFixture, DirectoryReadsAsIndexHtml) {
  ASSERT_TRUE(fs->write("/index.html", "<html>"));
  ASSERT_TRUE(fs->write("/sub/index.html", "<sub>"));
  auto c = fs->read("/");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->info.name, "/index.html");
  c = fs->read("/sub/");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->info.name, "/sub/index.html");
  EXPECT_FALSE(fs->read("/nothing/"));
}

TEST_P(DiskFixture, HostilePathsStayInsideTheRoot) {
  // What clients send after the HTTP layer percent-decoded it ("..%2f" arrives as "../").
  const std::string hostile[] = {"../outside/secret.txt", "/../outside/secret.txt", "../../../../../etc/passwd",
                                 "/etc/passwd", "a/../../outside/secret.txt", "./../outside/secret.txt",
                                 "//..//..//outside/secret.txt"};
  for (const auto& p : hostile) {
    SCOPED_TRACE(p);
    const auto w = fs->write(p, "pwned");
    // ".." is neutralised at the root, so the write lands inside it (or is refused), never outside.
    if (w) {
      const auto inside = root / stdfs::path(*clean_path(p)).relative_path();
      EXPECT_EQ(slurp(inside.string()), "pwned");
    }
    if (auto c = fs->read(p)) {
      EXPECT_TRUE(c->host_path.starts_with(root.string() + "/")) << c->host_path;
    }
  }
  EXPECT_EQ(slurp((outside / "secret.txt").string()), "secret");
  EXPECT_NE(slurp("/etc/passwd"), "pwned");
  EXPECT_TRUE(stdfs::exists(root / "etc/passwd"));  // "/etc/passwd" means <root>/etc/passwd

  EXPECT_EQ(fs->write(std::string("/a\0/../../x", 11), "x").error, WriteError::InvalidPath);
  EXPECT_FALSE(fs->read(std::string("/index\0.html", 12)));
  EXPECT_EQ(fs->write("/" + std::string(256, 'n'), "x").error, WriteError::InvalidPath);
  std::string deep;
  for (int i = 0; i < 21; ++i) deep += "/" + std::string(200, 'd');
  EXPECT_EQ(fs->write(deep, "x").error, WriteError::InvalidPath);
  EXPECT_EQ(fs->write("", "x").error, WriteError::InvalidPath);
  EXPECT_EQ(fs->write("/..", "x").error, WriteError::InvalidPath);
}

TEST_P(DiskFixture, SymlinksPointingOutsideAreNotFollowed) {
  stdfs::create_directories(root);
  stdfs::create_directory_symlink("/etc", root / "etc-link");
  stdfs::create_directory_symlink("../outside", root / "rel-link");
  stdfs::create_symlink(outside / "secret.txt", root / "secret-link");
  stdfs::create_symlink("../outside/secret.txt", root / "rel-secret");

  for (const char* p : {"/etc-link/passwd", "/rel-link/secret.txt", "/secret-link", "/rel-secret"}) {
    SCOPED_TRACE(p);
    EXPECT_FALSE(fs->read(p));
    EXPECT_FALSE(fs->stat(p));
  }
  EXPECT_FALSE(fs->write("/etc-link/dragon-test", "x"));
  EXPECT_FALSE(fs->write("/rel-link/new.txt", "x"));
  EXPECT_FALSE(fs->write("/rel-link/sub/new.txt", "x"));
  EXPECT_FALSE(stdfs::exists(outside / "new.txt"));
  EXPECT_FALSE(stdfs::exists(outside / "sub"));
  EXPECT_FALSE(fs->remove("/rel-link/secret.txt"));
  EXPECT_TRUE(stdfs::exists(outside / "secret.txt"));

  // Writing over a symlink leaf replaces the link, never its target.
  ASSERT_TRUE(fs->write("/secret-link", "replaced"));
  EXPECT_EQ(slurp((outside / "secret.txt").string()), "secret");
  EXPECT_FALSE(stdfs::is_symlink(root / "secret-link"));
  // Removing a symlink removes the link only.
  ASSERT_TRUE(fs->remove("/rel-secret"));
  EXPECT_TRUE(stdfs::exists(outside / "secret.txt"));

  // Listing does not descend into symlinked directories.
  for (const auto& f : fs->list()) EXPECT_EQ(f.name.find("link/"), std::string::npos) << f.name;
}

TEST_P(DiskFixture, SymlinksInsideTheRoot) {
  ASSERT_TRUE(fs->write("/real/a.ts", "a"));
  stdfs::create_directory_symlink("real", root / "alias");
  const auto c = fs->read("/alias/a.ts");
  // openat2 allows links that stay beneath the root; the fallback walk refuses every link.
  EXPECT_EQ(c.has_value(), GetParam());
}

TEST_P(DiskFixture, FifoIsNotAFileAndDoesNotBlock) {
  stdfs::create_directories(root);
  ASSERT_EQ(::mkfifo((root / "pipe").c_str(), 0600), 0);
  EXPECT_FALSE(fs->read("/pipe"));
  EXPECT_FALSE(fs->stat("/pipe"));
  EXPECT_TRUE(fs->list().empty());
}
