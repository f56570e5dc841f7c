#include "metrics/monitor.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>

namespace dragon::metrics {

namespace {

struct Pattern {
  std::string label;
  bool valid = true;
  std::regex re;
};

bool matches(const MonitorSample& s, const std::vector<Pattern>& patterns) {
  for (const auto& p : patterns) {
    if (!p.valid) return false;  // upstream: an invalid regex matches nothing
    auto it = std::find_if(s.labels.begin(), s.labels.end(), [&](const auto& kv) { return kv.first == p.label; });
    const std::string value = it == s.labels.end() ? std::string() : it->second;
    if (!std::regex_search(value, p.re)) return false;
  }
  return true;
}

nlohmann::json labels_json(const Labels& labels) {
  if (labels.empty()) return nullptr;
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

// Upstream renders values as JSON numbers with at most three decimals.
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

Monitor::Monitor(Options options) : options_(std::move(options)) {
  if (options_.interval.count() <= 0) options_.interval = std::chrono::seconds(2);
  if (options_.range < options_.interval) options_.range = options_.interval;
}

Monitor::~Monitor() { stop(); }

std::int64_t Monitor::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Monitor::add(std::vector<MonitorDescription> descriptions, MonitorSource source) {
  for (auto& d : descriptions) descriptions_.push_back(std::move(d));
  sources_.push_back(std::move(source));
}

std::vector<MonitorDescription> Monitor::describe() const {
  auto out = descriptions_;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::vector<MonitorSample> Monitor::current() const {
  std::vector<MonitorSample> out;
  for (const auto& s : sources_) s(out);
  return out;
}

void Monitor::sample(std::int64_t at) {
  Snapshot snap{at, current()};
  std::lock_guard lock(history_mu_);
  history_.push_back(std::move(snap));
  const auto keep = static_cast<std::size_t>(options_.range / options_.interval);
  while (history_.size() > keep) history_.pop_front();
}

void Monitor::start() {
  if (!options_.history || running_) return;
  running_ = true;
  sampler_ = std::thread([this] {
    std::unique_lock lock(run_mu_);
    while (running_) {
      lock.unlock();
      sample(now());
      lock.lock();
      run_cv_.wait_for(lock, options_.interval, [this] { return !running_; });
    }
  });
}

void Monitor::stop() {
  {
    std::lock_guard lock(run_mu_);
    if (!running_) return;
    running_ = false;
  }
  run_cv_.notify_all();
  if (sampler_.joinable()) sampler_.join();
}

nlohmann::json Monitor::query(const nlohmann::json& request, std::string& error) const {
  if (!request.is_object()) {
    error = "expected a JSON object";
    return nullptr;
  }
  std::int64_t timerange = 0;
  if (auto it = request.find("timerange_sec"); it != request.end() && !it->is_null()) {
    if (!it->is_number()) {
      error = "timerange_sec: expected a number";
      return nullptr;
    }
    timerange = it->get<std::int64_t>();
  }
  struct Wanted {
    std::string name;
    std::vector<Pattern> patterns;
  };
  std::vector<Wanted> wanted;
  if (auto it = request.find("metrics"); it != request.end() && !it->is_null()) {
    if (!it->is_array()) {
      error = "metrics: expected an array";
      return nullptr;
    }
    for (const auto& m : *it) {
      if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) {
        error = "metrics: each entry needs a \"name\" string";
        return nullptr;
      }
      Wanted w{m["name"].get<std::string>(), {}};
      if (m.contains("labels") && m["labels"].is_object()) {
        for (const auto& [k, v] : m["labels"].items()) {
          Pattern p;
          p.label = k;
          if (!v.is_string()) {
            p.valid = false;
          } else {
            try {
              p.re = std::regex(v.get<std::string>(), std::regex::ECMAScript);
            } catch (const std::regex_error&) {
              p.valid = false;
            }
          }
          w.patterns.push_back(std::move(p));
        }
      }
      wanted.push_back(std::move(w));
    }
  }

  nlohmann::json out = {{"timerange_sec", options_.range.count()}, {"interval_sec", options_.interval.count()}};
  // Series by (name, labels), sorted like upstream's answer.
  std::map<std::pair<std::string, Labels>, std::vector<std::pair<std::int64_t, double>>> series;
  auto collect = [&](const std::vector<MonitorSample>& samples, std::int64_t at) {
    for (const auto& w : wanted) {
      for (const auto& s : samples) {
        if (s.name == w.name && matches(s, w.patterns)) series[{s.name, s.labels}].emplace_back(at, s.value);
      }
    }
  };
  if (timerange <= 0) {
    collect(current(), now());
  } else {
    // Resample the history onto timerange/interval steps ending now: each step takes the last
    // snapshot at or before it; steps before the first snapshot are left out.
    std::vector<Snapshot> history;
    {
      std::lock_guard lock(history_mu_);
      history.assign(history_.begin(), history_.end());
    }
    const std::int64_t interval = options_.interval.count();
    const std::int64_t steps = std::max<std::int64_t>(1, timerange / interval);
    const std::int64_t end = now();
    for (std::int64_t i = steps - 1; i >= 0; --i) {
      const std::int64_t t = end - i * interval;
      const Snapshot* at = nullptr;
      for (const auto& snap : history) {
        if (snap.at <= t) at = &snap;
      }
      if (!at) continue;
      collect(at->samples, t);
    }
  }
  auto metrics = nlohmann::json::array();
  for (const auto& [key, values] : series) {
    auto v = nlohmann::json::array();
    for (const auto& [t, x] : values) v.push_back({t, round3(x)});
    metrics.push_back({{"name", key.first}, {"labels", labels_json(key.second)}, {"values", std::move(v)}});
  }
  out["metrics"] = std::move(metrics);
  return out;
}

}  // namespace dragon::metrics
