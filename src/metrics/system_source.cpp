#include "metrics/system_source.hpp"

#include <sys/statvfs.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace dragon::metrics {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::optional<std::uint64_t> read_number(const std::string& path) {
  const auto text = read_file(path);
  if (text.empty() || text.rfind("max", 0) == 0) return std::nullopt;
  try {
    return std::stoull(text);
  } catch (...) {
    return std::nullopt;
  }
}

std::uint64_t meminfo(const std::string& text, const std::string& key) {
  const auto at = text.find(key + ":");
  if (at == std::string::npos) return 0;
  std::istringstream in(text.substr(at + key.size() + 1));
  std::uint64_t kb = 0;
  in >> kb;
  return kb * 1024;
}

}  // namespace

SystemSource::SystemSource(std::string disk_path, std::chrono::steady_clock::time_point started,
                           std::string proc_root, std::string cgroup_root)
    : disk_path_(std::move(disk_path)), started_(started), proc_(std::move(proc_root)), cgroup_(std::move(cgroup_root)) {}

std::vector<MonitorDescription> SystemSource::descriptions() {
  return {
      {"uptime_uptime", "Seconds since the server started", {}},
      {"cpu_ncpu", "Logical CPUs available (cgroup limit honoured)", {}},
      {"cpu_system", "Percent of CPU time spent in the kernel", {}},
      {"cpu_user", "Percent of CPU time spent in user space", {}},
      {"cpu_idle", "Percent of CPU time idle", {}},
      {"cpu_other", "Percent of CPU time in interrupts and steal", {}},
      {"mem_total", "Memory available to the server in bytes (cgroup limit honoured)", {}},
      {"mem_free", "Memory still free for the server in bytes", {}},
      {"net_rx", "Bytes received per network interface", {"interface"}},
      {"net_tx", "Bytes sent per network interface", {"interface"}},
      {"disk_total", "Size of the volume holding the disk filesystem in bytes", {"path"}},
      {"disk_usage", "Used bytes on the volume holding the disk filesystem", {"path"}},
  };
}

double SystemSource::cpu_count() const {
  // cgroup v2 cpu.max "quota period", or v1 cfs quota/period.
  const auto max = read_file(cgroup_ + "/cpu.max");
  if (!max.empty() && max.rfind("max", 0) != 0) {
    std::istringstream in(max);
    double quota = 0, period = 0;
    if (in >> quota >> period && quota > 0 && period > 0) return quota / period;
  }
  const auto quota = read_file(cgroup_ + "/cpu/cpu.cfs_quota_us");
  const auto period = read_number(cgroup_ + "/cpu/cpu.cfs_period_us");
  if (!quota.empty() && quota[0] != '-' && period && *period > 0) {
    try {
      return std::stod(quota) / static_cast<double>(*period);
    } catch (...) {
    }
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::pair<std::uint64_t, std::uint64_t> SystemSource::memory() const {
  const auto info = read_file(proc_ + "/meminfo");
  std::uint64_t total = meminfo(info, "MemTotal");
  std::uint64_t free = meminfo(info, "MemAvailable");
  // v2 memory.max/memory.current, else v1 limit/usage; only a limit below the host's counts.
  auto limit = read_number(cgroup_ + "/memory.max");
  auto used = read_number(cgroup_ + "/memory.current");
  if (!limit) {
    limit = read_number(cgroup_ + "/memory/memory.limit_in_bytes");
    used = read_number(cgroup_ + "/memory/memory.usage_in_bytes");
  }
  if (limit && used && *limit < total) {
    total = *limit;
    free = *used < *limit ? *limit - *used : 0;
  }
  return {total, free};
}

void SystemSource::collect(std::vector<MonitorSample>& out) {
  out.push_back({"uptime_uptime", {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()});
  out.push_back({"cpu_ncpu", {}, cpu_count()});

  std::istringstream stat(read_file(proc_ + "/stat"));
  std::string cpu;
  std::vector<std::uint64_t> now(8, 0);
  stat >> cpu;
  for (auto& v : now) stat >> v;
  {
    std::lock_guard lock(mu_);
    std::vector<double> d(8, 0);
    double total = 0;
    if (prev_cpu_.size() == now.size()) {
      for (std::size_t i = 0; i < now.size(); ++i) {
        d[i] = now[i] >= prev_cpu_[i] ? static_cast<double>(now[i] - prev_cpu_[i]) : 0;
        total += d[i];
      }
    }
    prev_cpu_ = now;
    const auto pct = [total](double x) { return total > 0 ? 100.0 * x / total : 0.0; };
    out.push_back({"cpu_user", {}, pct(d[0] + d[1])});
    out.push_back({"cpu_system", {}, pct(d[2])});
    out.push_back({"cpu_idle", {}, total > 0 ? pct(d[3] + d[4]) : 100.0});
    out.push_back({"cpu_other", {}, pct(d[5] + d[6] + d[7])});
  }

  const auto [total, free] = memory();
  out.push_back({"mem_total", {}, static_cast<double>(total)});
  out.push_back({"mem_free", {}, static_cast<double>(free)});

  std::istringstream dev(read_file(proc_ + "/net/dev"));
  std::string line;
  while (std::getline(dev, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    std::istringstream fields(line.substr(colon + 1));
    std::uint64_t v[9] = {};
    for (auto& x : v) fields >> x;
    out.push_back({"net_rx", {{"interface", name}}, static_cast<double>(v[0])});
    out.push_back({"net_tx", {{"interface", name}}, static_cast<double>(v[8])});
  }

  struct statvfs vfs {};
  if (!disk_path_.empty() && ::statvfs(disk_path_.c_str(), &vfs) == 0) {
    const double size = static_cast<double>(vfs.f_blocks) * static_cast<double>(vfs.f_frsize);
    const double avail = static_cast<double>(vfs.f_bfree) * static_cast<double>(vfs.f_frsize);
    out.push_back({"disk_total", {{"path", disk_path_}}, size});
    out.push_back({"disk_usage", {{"path", disk_path_}}, size - avail});
  }
}

}  // namespace dragon::metrics
