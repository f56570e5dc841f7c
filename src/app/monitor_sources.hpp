#pragma once
// Wires upstream's metric catalogue (GET/POST /api/v3/metrics) to the services that own the values,
// and exposes the same values under upstream's Prometheus names on /metrics.
#include <chrono>
#include <memory>

#include "config/config.hpp"
#include "metrics/monitor.hpp"

namespace dragon::fs {
class FilesystemRegistry;
}
namespace dragon::restream {
class Registry;
}
namespace dragon::session {
class Registry;
}

namespace dragon::app {

std::unique_ptr<metrics::Monitor> make_monitor(const config::Config& c, std::chrono::steady_clock::time_point started,
                                               restream::Registry& processes, fs::FilesystemRegistry& filesystems,
                                               session::Registry* sessions = nullptr);

// Registers the upstream-named Prometheus families (uptime_seconds, cpu_*_time_percent, ffmpeg_*,
// filesystem_*, session_*) and dragonfork_process_restarts_total{reason} as a collector reading the
// monitor and the process registry; returns its id for removal.
std::uint64_t add_upstream_prometheus(metrics::Registry& registry, metrics::Monitor& monitor,
                                      restream::Registry& processes);

}  // namespace dragon::app
