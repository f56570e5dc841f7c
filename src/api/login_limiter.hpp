#pragma once
// Counts failed logins per client address so password guessing is throttled beyond upstream's
// 5-second delay (which alone does not stop parallel guessing).
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dragon::api {

class LoginLimiter {
 public:
  explicit LoginLimiter(std::size_t max_failures = 10, std::chrono::seconds window = std::chrono::seconds(60))
      : max_failures_(max_failures), window_(window) {}

  // True when this address has used up its failures in the current window.
  bool blocked(const std::string& ip);
  void record_failure(const std::string& ip);
  void record_success(const std::string& ip);

 private:
  struct Slot {
    std::chrono::steady_clock::time_point window_start;
    std::size_t failures = 0;
  };
  void prune(std::chrono::steady_clock::time_point now);

  std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
  std::size_t max_failures_;
  std::chrono::seconds window_;
};

}  // namespace dragon::api
