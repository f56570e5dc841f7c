#pragma once
// Wires the services from the active config, runs until SIGINT/SIGTERM, restarts them on
// GET /api/v3/config/reload or SIGHUP.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace dragon::metrics {
class Registry;
}
namespace dragon::fs {
class FilesystemRegistry;
}
namespace dragon::session {
class Registry;
}

namespace dragon::app {

struct AppOptions {
  std::optional<std::string> config_path;  // --config
};

class App {
 public:
  explicit App(AppOptions options);
  ~App();
  // Returns the process exit code.
  int run();

  struct Services;

 private:
  bool start_services();
  bool start_relays(Services& s, const config::Config& cfg);
  void stop_services();
  void announce_login() const;

  AppOptions options_;
  std::unique_ptr<config::Store> store_;
  std::unique_ptr<metrics::Registry> metrics_;  // survives reloads: counters keep counting
  // Outlives service restarts: memfs contents survive a config reload, as upstream.
  std::unique_ptr<fs::FilesystemRegistry> filesystems_;
  // Survives reloads too: viewers keep their sessions, the history stays (persisted if configured).
  std::unique_ptr<session::Registry> sessions_;
  bool sessions_loaded_ = false;
  std::unique_ptr<Services> services_;
  std::atomic<bool> reload_requested_{false};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace dragon::app
