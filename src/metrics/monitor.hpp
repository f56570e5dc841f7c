#pragma once
// Upstream's internal metric catalogue (GET/POST /api/v3/metrics): named values with string labels,
// produced by sources at sampling time, kept as history in a ring when enabled, and queried by exact
// name plus label regexes with upstream's resampling. The Prometheus registry is separate; values that
// both show are read from the same sources.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <condition_variable>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/registry.hpp"

namespace dragon::metrics {

struct MonitorDescription {
  std::string name;
  std::string description;
  std::vector<std::string> labels;
};

struct MonitorSample {
  std::string name;
  Labels labels;  // in the description's label order
  double value = 0;
};

using MonitorSource = std::function<void(std::vector<MonitorSample>& out)>;

class Monitor {
 public:
  struct Options {
    bool history = false;                     // metrics.enable
    std::chrono::seconds range{300};          // metrics.range_seconds
    std::chrono::seconds interval{2};         // metrics.interval_seconds
    std::function<std::int64_t()> clock;      // unix seconds; defaults to the system clock
  };

  explicit Monitor(Options options);
  ~Monitor();  // stops the sampler
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Before start(). Sources run on the sampler thread and on query threads: they must be thread-safe.
  void add(std::vector<MonitorDescription> descriptions, MonitorSource source);

  // Starts the history sampler (when history is on).
  void start();
  void stop();

  std::vector<MonitorDescription> describe() const;  // sorted by name
  std::vector<MonitorSample> current() const;        // runs the sources
  // Takes one history snapshot now (the sampler calls it every interval; tests call it directly).
  void sample(std::int64_t at);

  // POST /api/v3/metrics: {"timerange_sec","interval_sec","metrics":[{"name","labels":{k: regex}}]}.
  // Returns the response body, or sets `error` for a malformed request.
  nlohmann::json query(const nlohmann::json& request, std::string& error) const;

 private:
  struct Snapshot {
    std::int64_t at = 0;
    std::vector<MonitorSample> samples;
  };
  std::int64_t now() const;

  Options options_;
  std::vector<MonitorDescription> descriptions_;
  std::vector<MonitorSource> sources_;
  mutable std::mutex history_mu_;
  std::deque<Snapshot> history_;
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  std::thread sampler_;
};

}  // namespace dragon::metrics
