#include "api/login_limiter.hpp"

namespace dragon::api {

void LoginLimiter::prune(std::chrono::steady_clock::time_point now) {
  // Bounded memory under address-spraying attacks.
  if (slots_.size() < 10000) return;
  std::erase_if(slots_, [&](const auto& kv) { return now - kv.second.window_start > window_; });
}

bool LoginLimiter::blocked(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(ip);
  if (it == slots_.end()) return false;
  if (std::chrono::steady_clock::now() - it->second.window_start > window_) {
    slots_.erase(it);
    return false;
  }
  return it->second.failures >= max_failures_;
}

void LoginLimiter::record_failure(const std::string& ip) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  prune(now);
  auto& slot = slots_[ip];
  if (slot.failures == 0 || now - slot.window_start > window_) {
    slot.window_start = now;
    slot.failures = 0;
  }
  ++slot.failures;
}

void LoginLimiter::record_success(const std::string& ip) {
  std::lock_guard lock(mu_);
  slots_.erase(ip);
}

}  // namespace dragon::api
