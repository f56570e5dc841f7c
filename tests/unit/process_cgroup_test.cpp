#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "process/cgroup.hpp"

namespace dragon::process {
namespace {

std::string fixture(const char* name) { return std::string(DRAGON_SOURCE_DIR) + "/tests/data/cgroup/" + name; }

TEST(ProcessCgroup, V1HybridTakesTheSmallestQuotaOnTheWayUp) {
  auto root = fixture("v1");
  auto l = detect_cgroup_limits(root);
  EXPECT_EQ(l.cpu_version, 1);
  EXPECT_EQ(l.memory_version, 1);
  ASSERT_TRUE(l.cpu_quota.has_value());
  EXPECT_DOUBLE_EQ(*l.cpu_quota, 1.5);  // docker/abc 1.5 < docker 3 < root unlimited
  EXPECT_EQ(l.cpu_dir, root + "/sys/fs/cgroup/cpu,cpuacct/docker/abc");
  ASSERT_TRUE(l.memory_limit.has_value());
  EXPECT_EQ(*l.memory_limit, 536870912u);
  // The memory hierarchy is mounted at our cgroup (mount root /docker/abc).
  EXPECT_EQ(l.memory_dir, root + "/sys/fs/cgroup/memory");
}

TEST(ProcessCgroup, V1UnlimitedValuesMeanNoLimit) {
  auto root = fixture("v1-unlimited");
  auto l = detect_cgroup_limits(root);
  EXPECT_EQ(l.cpu_version, 1);
  EXPECT_EQ(l.memory_version, 1);
  EXPECT_FALSE(l.cpu_quota.has_value());
  EXPECT_FALSE(l.memory_limit.has_value());
  EXPECT_EQ(l.memory_dir, root + "/sys/fs/cgroup/memory/process_api/a1c7");
}

TEST(ProcessCgroup, V2ReadsCpuMaxAndTheSmallestMemoryMax) {
  auto root = fixture("v2");
  auto l = detect_cgroup_limits(root);
  EXPECT_EQ(l.cpu_version, 2);
  EXPECT_EQ(l.memory_version, 2);
  ASSERT_TRUE(l.cpu_quota.has_value());
  EXPECT_DOUBLE_EQ(*l.cpu_quota, 1.5);
  ASSERT_TRUE(l.memory_limit.has_value());
  EXPECT_EQ(*l.memory_limit, 268435456u);  // the slice's limit binds the service
  EXPECT_EQ(l.cpu_dir, root + "/sys/fs/cgroup/system.slice/dragon.service");
}

TEST(ProcessCgroup, V2MaxMeansNoLimit) {
  auto l = detect_cgroup_limits(fixture("v2-max"));
  EXPECT_EQ(l.cpu_version, 2);
  EXPECT_FALSE(l.cpu_quota.has_value());
  EXPECT_FALSE(l.memory_limit.has_value());
}

TEST(ProcessCgroup, V2NamespacedMountIsOurCgroup) {
  auto root = fixture("v2-ns");
  auto l = detect_cgroup_limits(root);
  EXPECT_EQ(l.cpu_dir, root + "/sys/fs/cgroup");
  ASSERT_TRUE(l.cpu_quota.has_value());
  EXPECT_DOUBLE_EQ(*l.cpu_quota, 0.5);
  ASSERT_TRUE(l.memory_limit.has_value());
  EXPECT_EQ(*l.memory_limit, 104857600u);
}

TEST(ProcessCgroup, MissingTreeMeansNothingFound) {
  auto l = detect_cgroup_limits(fixture("does-not-exist"));
  EXPECT_EQ(l.cpu_version, 0);
  EXPECT_EQ(l.memory_version, 0);
  EXPECT_FALSE(l.cpu_quota.has_value());
  EXPECT_FALSE(l.memory_limit.has_value());
}

TEST(ProcessCgroup, EffectiveCpusIsTheSmallerOfCpusAndQuota) {
  CgroupLimits l;
  EXPECT_DOUBLE_EQ(effective_cpus(l, 4), 4.0);
  l.cpu_quota = 1.5;
  EXPECT_DOUBLE_EQ(effective_cpus(l, 4), 1.5);
  EXPECT_DOUBLE_EQ(effective_cpus(l, 1), 1.0);
  EXPECT_DOUBLE_EQ(effective_cpus(l, 0), 1.0);
}

TEST(ProcessCgroup, RealMachineDoesNotThrow) {
  auto l = detect_cgroup_limits();
  EXPECT_GE(available_cpus(), 1u);
  EXPECT_GT(effective_cpus(l, available_cpus()), 0.0);
}

}  // namespace
}  // namespace dragon::process
