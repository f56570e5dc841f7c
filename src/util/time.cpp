#include "util/time.hpp"

#include <ctime>

#include <fmt/format.h>

namespace dragon::util {

namespace {
std::tm utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
}  // namespace

std::string rfc3339(Clock::time_point t) {
  const auto tm = utc(Clock::to_time_t(t));
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string rfc3339_nano(Clock::time_point t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
  const auto tm = utc(Clock::to_time_t(secs));
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ns);
}

bool parse_rfc3339(const std::string& s, Clock::time_point& out) {
  std::tm tm{};
  int year, mon, day, hour, min, sec;
  char tail[64] = {0};
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%63s", &year, &mon, &day, &hour, &min, &sec, tail) < 6) {
    return false;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return false;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  std::string rest = tail;
  std::int64_t nanos = 0;
  std::size_t i = 0;
  if (i < rest.size() && rest[i] == '.') {
    ++i;
    int digits = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (rest[i] - '0');
        ++digits;
      }
      ++i;
    }
    while (digits++ < 9) nanos *= 10;
  }
  long offset = 0;
  if (i < rest.size() && (rest[i] == 'Z' || rest[i] == 'z')) {
    ++i;
  } else if (i < rest.size() && (rest[i] == '+' || rest[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(rest.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return false;
    offset = (oh * 3600L + om * 60L) * (rest[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return false;
  }
  if (i != rest.size()) return false;
  const std::time_t t = timegm(&tm) - offset;
  out = Clock::from_time_t(t) + std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(nanos));
  return true;
}

std::int64_t unix_seconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::int64_t now_unix() { return unix_seconds(Clock::now()); }

}  // namespace dragon::util
