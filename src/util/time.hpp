#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace dragon::util {

using Clock = std::chrono::system_clock;

// "2026-11-25T09:07:22Z"
std::string rfc3339(Clock::time_point t);
// "2026-11-25T09:07:22.983944081Z"
std::string rfc3339_nano(Clock::time_point t);
// Parses both forms above (and "+00:00" offsets); false when malformed.
bool parse_rfc3339(const std::string& s, Clock::time_point& out);
std::int64_t unix_seconds(Clock::time_point t);
std::int64_t now_unix();

}  // namespace dragon::util
