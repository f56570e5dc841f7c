#include "process/proc_stat.hpp"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace dragon::process {
namespace {

bool read_small_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return !f.bad();
}

// The n-th (0-based) space-separated field of s.
std::optional<std::uint64_t> field_u64(std::string_view s, int n) {
  std::size_t pos = 0;
  for (int i = 0;; ++i) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos >= s.size()) return std::nullopt;
    std::size_t end = s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    if (i == n) {
      std::string_view f = s.substr(pos, end - pos);
      while (!f.empty() && (f.back() == '\n' || f.back() == '\r')) f.remove_suffix(1);
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      if (ec != std::errc() || p != f.data() + f.size()) return std::nullopt;
      return v;
    }
    pos = end;
  }
}

}  // namespace

std::optional<std::uint64_t> parse_stat_cpu_ticks(std::string_view stat) {
  auto close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  // After "(comm)": field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
  auto ut = field_u64(rest, 11);
  auto st = field_u64(rest, 12);
  if (!ut || !st) return std::nullopt;
  return *ut + *st;
}

std::optional<std::uint64_t> parse_statm_rss(std::string_view statm, std::uint64_t page_size) {
  auto pages = field_u64(statm, 1);
  if (!pages) return std::nullopt;
  return *pages * page_size;
}

std::optional<ProcSample> sample_process(pid_t pid, const std::string& proc_root) {
  static const std::uint64_t page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::string text;
  if (!read_small_file(fmt::format("{}/{}/stat", proc_root, pid), text)) return std::nullopt;
  auto ticks = parse_stat_cpu_ticks(text);
  if (!read_small_file(fmt::format("{}/{}/statm", proc_root, pid), text)) return std::nullopt;
  auto rss = parse_statm_rss(text, page_size);
  if (!ticks || !rss) return std::nullopt;
  return ProcSample{*ticks, *rss};
}

}  // namespace dragon::process
