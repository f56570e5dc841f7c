#pragma once
// The host part of upstream's catalogue: uptime, CPU (percent of all CPUs since the previous
// sample), memory, network and the disk holding storage.disk.dir. CPU count and memory honour a
// cgroup limit (v2, or v1 on hybrid hosts like this one) when the server runs inside one.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/monitor.hpp"

namespace dragon::metrics {

class SystemSource {
 public:
  // proc_root/sys_root: "/proc" and "/sys/fs/cgroup" (fixture trees in tests).
  SystemSource(std::string disk_path, std::chrono::steady_clock::time_point started, std::string proc_root = "/proc",
               std::string cgroup_root = "/sys/fs/cgroup");

  static std::vector<MonitorDescription> descriptions();
  void collect(std::vector<MonitorSample>& out);

  double cpu_count() const;
  // Total and available memory in bytes (the cgroup's limit when there is one).
  std::pair<std::uint64_t, std::uint64_t> memory() const;

 private:
  std::string disk_path_;
  std::chrono::steady_clock::time_point started_;
  std::string proc_, cgroup_;
  std::mutex mu_;
  std::vector<std::uint64_t> prev_cpu_;  // user nice system idle iowait irq softirq steal
};

}  // namespace dragon::metrics
