#include "process/cgroup.hpp"

#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <string_view>
#include <vector>

#include "util/strings.hpp"

namespace dragon::process {
namespace {

struct Mount {
  std::string root;        // the cgroup path mounted there
  std::string mountpoint;
  std::string fstype;      // "cgroup" (v1) or "cgroup2"
  std::vector<std::string> options;  // super options: v1 controllers live here
};

struct Membership {
  int hierarchy = -1;
  std::vector<std::string> controllers;
  std::string path;
};

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && s.size() - i >= 4 &&
        std::all_of(s.begin() + static_cast<long>(i) + 1, s.begin() + static_cast<long>(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<Mount> read_mounts(const std::string& root) {
  std::vector<Mount> mounts;
  std::string text;
  if (!read_file(root + "/proc/self/mountinfo", text)) return mounts;
  for (const auto& line : util::split(text, '\n')) {
    auto f = util::split(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 7 || dash == f.end() || f.end() - dash < 4) continue;
    Mount m{unescape(f[3]), unescape(f[4]), *(dash + 1), util::split(*(dash + 3), ',')};
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") mounts.push_back(std::move(m));
  }
  return mounts;
}

std::vector<Membership> read_memberships(const std::string& root) {
  std::vector<Membership> out;
  std::string text;
  if (!read_file(root + "/proc/self/cgroup", text)) return out;
  for (const auto& line : util::split(text, '\n')) {
    auto c1 = line.find(':');
    auto c2 = c1 == std::string::npos ? std::string::npos : line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    Membership m;
    std::string_view id(line.data(), c1);
    if (std::from_chars(id.data(), id.data() + id.size(), m.hierarchy).ec != std::errc()) continue;
    m.controllers = util::split(line.substr(c1 + 1, c2 - c1 - 1), ',');
    m.path = line.substr(c2 + 1);
    out.push_back(std::move(m));
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Our directory for a controller: "<root><mountpoint><path below the mount's root>".
struct Location {
  int version = 0;
  std::string mount_dir;  // with root
  std::string dir;        // with root
};

Location locate(const std::string& root, const std::vector<Mount>& mounts,
                const std::vector<Membership>& members, std::string_view controller) {
  auto place = [&](const Mount& m, const std::string& path, int version) {
    Location loc{version, root + m.mountpoint, {}};
    std::string rel;
    if (m.root == "/") {
      rel = path;
    } else if (path.compare(0, m.root.size(), m.root) == 0 &&
               (path.size() == m.root.size() || path[m.root.size()] == '/')) {
      rel = path.substr(m.root.size());
    }  // else: a cgroup namespace shows another root; the mount itself is our cgroup
    if (rel == "/") rel.clear();
    loc.dir = loc.mount_dir + rel;
    if (!is_dir(loc.dir)) loc.dir = loc.mount_dir;
    return loc;
  };
  for (const auto& m : mounts) {
    if (m.fstype != "cgroup" || !contains(m.options, controller)) continue;
    for (const auto& c : members)
      if (c.hierarchy != 0 && contains(c.controllers, controller)) return place(m, c.path, 1);
  }
  for (const auto& m : mounts) {
    if (m.fstype != "cgroup2") continue;
    for (const auto& c : members)
      if (c.hierarchy == 0 && c.controllers.empty()) return place(m, c.path, 2);
  }
  return {};
}

std::optional<std::int64_t> parse_i64(std::string_view s) {
  s = util::trim(s);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Calls fn(dir) for dir and each parent up to and including mount_dir.
template <typename Fn>
void walk_up(const Location& loc, Fn&& fn) {
  std::string dir = loc.dir;
  while (true) {
    fn(dir);
    if (dir.size() <= loc.mount_dir.size()) break;
    auto slash = dir.rfind('/');
    if (slash == std::string::npos || slash < loc.mount_dir.size()) break;
    dir.resize(slash);
  }
}

void keep_min(std::optional<double>& cur, double v) {
  if (!cur || v < *cur) cur = v;
}
void keep_min(std::optional<std::uint64_t>& cur, std::uint64_t v) {
  if (!cur || v < *cur) cur = v;
}

// v1 writes "no limit" as a page-aligned LLONG_MAX.
constexpr std::uint64_t k_unlimited = std::uint64_t{1} << 62;

}  // namespace

CgroupLimits detect_cgroup_limits(const std::string& root) {
  CgroupLimits out;
  auto mounts = read_mounts(root);
  auto members = read_memberships(root);
  std::string text;

  Location cpu = locate(root, mounts, members, "cpu");
  out.cpu_version = cpu.version;
  out.cpu_dir = cpu.dir;
  if (cpu.version == 1) {
    walk_up(cpu, [&](const std::string& dir) {
      std::string q, p;
      if (!read_file(dir + "/cpu.cfs_quota_us", q) || !read_file(dir + "/cpu.cfs_period_us", p)) return;
      auto quota = parse_i64(q);
      auto period = parse_i64(p);
      if (quota && period && *quota > 0 && *period > 0)
        keep_min(out.cpu_quota, static_cast<double>(*quota) / static_cast<double>(*period));
    });
  } else if (cpu.version == 2) {
    walk_up(cpu, [&](const std::string& dir) {
      if (!read_file(dir + "/cpu.max", text)) return;  // the root cgroup has none
      auto f = util::split(util::trim(text), ' ');
      if (f.size() != 2 || f[0] == "max") return;
      auto quota = parse_i64(f[0]);
      auto period = parse_i64(f[1]);
      if (quota && period && *quota > 0 && *period > 0)
        keep_min(out.cpu_quota, static_cast<double>(*quota) / static_cast<double>(*period));
    });
  }

  Location mem = locate(root, mounts, members, "memory");
  out.memory_version = mem.version;
  out.memory_dir = mem.dir;
  if (mem.version != 0) {
    const char* file = mem.version == 1 ? "/memory.limit_in_bytes" : "/memory.max";
    walk_up(mem, [&](const std::string& dir) {
      if (!read_file(dir + file, text)) return;
      auto v = parse_i64(text);  // "max" fails to parse: unlimited
      if (v && *v > 0 && static_cast<std::uint64_t>(*v) < k_unlimited)
        keep_min(out.memory_limit, static_cast<std::uint64_t>(*v));
    });
  }
  return out;
}

unsigned available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  return 1;
}

double effective_cpus(const CgroupLimits& limits, unsigned cpus) {
  double n = cpus == 0 ? 1.0 : static_cast<double>(cpus);
  if (limits.cpu_quota && *limits.cpu_quota > 0) n = std::min(n, *limits.cpu_quota);
  return n;
}

}  // namespace dragon::process
