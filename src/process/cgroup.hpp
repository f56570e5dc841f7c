#pragma once
// The CPU quota and memory limit of the cgroup we run in, for cgroup v1, v2 and hybrid hosts.
// Reads /proc/self/cgroup and /proc/self/mountinfo to find our cgroup directory per controller
// (a controller bound to a v1 hierarchy wins: on hybrid hosts v2 has no controllers), then the
// limit files of that directory and of its ancestors up to the mount point (the effective limit
// is the smallest on the way up). Every path is prefixed with `root`, so tests use fixture trees.
#include <cstdint>
#include <optional>
#include <string>

namespace dragon::process {

struct CgroupLimits {
  int cpu_version = 0;                        // 1 or 2; 0 = no cpu controller found
  int memory_version = 0;                     // 1 or 2; 0 = no memory controller found
  std::optional<double> cpu_quota;            // quota/period in CPUs; nullopt = no quota
  std::optional<std::uint64_t> memory_limit;  // bytes; nullopt = unlimited
  std::string cpu_dir;                        // the directories read (with root), for logs
  std::string memory_dir;
};

// root "" = the real filesystem. Never throws; unreadable files mean "no limit".
CgroupLimits detect_cgroup_limits(const std::string& root = "");

// CPUs this process may run on (sched_getaffinity), at least 1.
unsigned available_cpus();

// min(cpus, quota); what a CPU % is relative to (100 % = all of it).
double effective_cpus(const CgroupLimits& limits, unsigned cpus);

}  // namespace dragon::process
