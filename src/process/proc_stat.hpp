#pragma once
// Reads one process's CPU time and resident memory from procfs (the process only, not its
// children, as upstream's psutil sampling does).
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dragon::process {

struct ProcSample {
  std::uint64_t cpu_ticks = 0;  // utime + stime, in clock ticks (sysconf(_SC_CLK_TCK))
  std::uint64_t rss_bytes = 0;
};

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses).
std::optional<std::uint64_t> parse_stat_cpu_ticks(std::string_view stat);
// Parses /proc/<pid>/statm: resident pages × page_size.
std::optional<std::uint64_t> parse_statm_rss(std::string_view statm, std::uint64_t page_size);

// nullopt when the process is gone or procfs is unreadable. proc_root is for tests.
std::optional<ProcSample> sample_process(pid_t pid, const std::string& proc_root = "/proc");

}  // namespace dragon::process
