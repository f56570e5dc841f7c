#include "app/monitor_sources.hpp"

#include <map>

#include "fs/registry.hpp"
#include "metrics/system_source.hpp"
#include "restream/registry.hpp"
#include "session/registry.hpp"

namespace dragon::app {

using metrics::Labels;
using metrics::MonitorDescription;
using metrics::MonitorSample;

namespace {

// Upstream's filesystem names in metrics (the API calls them "mem" and "disk").
std::string metric_fs_name(const std::string& name) {
  if (name == "mem") return "memfs";
  if (name == "disk") return "diskfs";
  return name;
}

const char* const k_states[] = {"finished", "starting", "running", "finishing", "failed", "killed"};

}  // namespace

std::unique_ptr<metrics::Monitor> make_monitor(const config::Config& c, std::chrono::steady_clock::time_point started,
                                               restream::Registry& processes, fs::FilesystemRegistry& filesystems,
                                               session::Registry* sessions) {
  metrics::Monitor::Options o;
  o.history = c.get_bool("metrics.enable");
  o.range = std::chrono::seconds(std::max<std::int64_t>(1, c.get_int("metrics.range_sec")));
  o.interval = std::chrono::seconds(std::max<std::int64_t>(1, c.get_int("metrics.interval_sec")));
  auto monitor = std::make_unique<metrics::Monitor>(o);

  auto system = std::make_shared<metrics::SystemSource>(c.get_string("storage.disk.dir"), started);
  monitor->add(metrics::SystemSource::descriptions(), [system](std::vector<MonitorSample>& out) { system->collect(out); });

  monitor->add(
      {{"filesystem_limit", "Size limit of the filesystem in bytes, negative when unlimited", {"name"}},
       {"filesystem_usage", "Bytes used on the filesystem", {"name"}},
       {"filesystem_files", "Files on the filesystem (directories excluded)", {"name"}}},
      [&filesystems](std::vector<MonitorSample>& out) {
        for (const auto& m : filesystems.list()) {
          auto fs = filesystems.get(m.name);
          if (!fs) continue;
          const auto u = fs->usage();
          const Labels l = {{"name", metric_fs_name(m.name)}};
          out.push_back({"filesystem_limit", l, u.limit == 0 ? -1.0 : static_cast<double>(u.limit)});
          out.push_back({"filesystem_usage", l, static_cast<double>(u.bytes)});
          out.push_back({"filesystem_files", l, static_cast<double>(u.files)});
        }
      });

  monitor->add(
      {{"restream_process", "Figures of each process (frame, fps, speed, q, size, time, drop, dup, packet, bitrate, "
                            "cpu, memory, uptime, cpu_limit, memory_limit)",
        {"processid", "state", "order", "name"}},
       {"restream_process_states", "How often each process entered each state", {"processid", "state"}},
       {"restream_state", "Processes per current state", {"state"}},
       {"ffmpeg_process", "State changes of all processes together", {"state"}}},
      [&processes](std::vector<MonitorSample>& out) {
        std::map<std::string, double> current;
        std::map<std::string, double> cumulative;
        for (const char* s : k_states) current[s] = cumulative[s] = 0;
        for (const auto& p : processes.stats()) {
          const auto& g = p.progress;
          const std::pair<const char*, double> figures[] = {
              {"frame", static_cast<double>(g.frame)}, {"fps", g.fps}, {"speed", g.speed}, {"q", g.q},
              {"size", static_cast<double>(g.size_bytes) / 1024.0}, {"time", g.time_seconds},
              {"drop", static_cast<double>(g.drop)}, {"dup", static_cast<double>(g.dup)},
              {"packet", static_cast<double>(g.packet)}, {"bitrate", g.bitrate_bps / 1024.0},
              {"cpu", p.cpu_percent}, {"memory", p.memory_bytes}, {"uptime", p.runtime_seconds},
              {"cpu_limit", p.cpu_limit}, {"memory_limit", p.memory_limit_bytes}};
          for (const auto& [name, value] : figures) {
            out.push_back({"restream_process", {{"processid", p.id}, {"state", p.state}, {"order", p.order}, {"name", name}},
                           value});
          }
          for (std::size_t i = 0; i < p.counters.size(); ++i) {
            out.push_back({"restream_process_states", {{"processid", p.id}, {"state", k_states[i]}},
                           static_cast<double>(p.counters[i])});
            cumulative[k_states[i]] += static_cast<double>(p.counters[i]);
          }
          current[p.state] += 1;
        }
        for (const char* s : k_states) {
          out.push_back({"restream_state", {{"state", s}}, current[s]});
          out.push_back({"ffmpeg_process", {{"state", s}}, cumulative[s]});
        }
      });

  // Sessions: every collector of the session registry (hls, hlsingress, http, webrtc; rtmp and srt
  // come with their servers).
  monitor->add(
      {{"session_total", "Sessions since start", {"collector"}},
       {"session_limit", "Maximum concurrent sessions, 0 for unlimited", {"collector"}},
       {"session_active", "Sessions now", {"collector"}},
       {"session_rxbytes", "Bytes received from sessions", {"collector"}},
       {"session_txbytes", "Bytes sent to sessions", {"collector"}},
       {"session_rxbitrate", "Receive bitrate of all sessions in bit/s", {"collector"}},
       {"session_txbitrate", "Send bitrate of all sessions in bit/s", {"collector"}},
       {"session_maxrxbitrate", "Receive bitrate limit in bit/s, 0 for none", {"collector"}},
       {"session_maxtxbitrate", "Send bitrate limit in bit/s, 0 for none", {"collector"}}},
      [sessions](std::vector<MonitorSample>& out) {
        // The session registry's collectors (hls, hlsingress, http, webrtc, ...).
        if (sessions) {
          for (const auto& name : sessions->names()) {
            const auto collector = sessions->get(name);
            if (!collector) continue;
            const auto t = collector->totals();
            const Labels l = {{"collector", name}};
            out.push_back({"session_total", l, static_cast<double>(t.sessions_total)});
            out.push_back({"session_limit", l, static_cast<double>(t.max_sessions)});
            out.push_back({"session_active", l, static_cast<double>(t.active)});
            out.push_back({"session_rxbytes", l, static_cast<double>(t.rx_bytes)});
            out.push_back({"session_txbytes", l, static_cast<double>(t.tx_bytes)});
            out.push_back({"session_rxbitrate", l, t.rx_bitrate});
            out.push_back({"session_txbitrate", l, t.tx_bitrate});
            out.push_back({"session_maxrxbitrate", l, 0});
            out.push_back({"session_maxtxbitrate", l, t.max_tx_bitrate});
          }
        }
      });
  return monitor;
}

std::uint64_t add_upstream_prometheus(metrics::Registry& registry, metrics::Monitor& monitor,
                                      restream::Registry& processes) {
  using metrics::FamilyInfo;
  using metrics::Type;
  // catalogue name → (Prometheus name, type, label renames)
  struct Map {
    const char* from;
    const char* to;
    Type type;
    std::vector<std::string> labels;
  };
  static const std::vector<Map> maps = {
      {"uptime_uptime", "uptime_seconds", Type::Counter, {}},
      {"cpu_system", "cpu_system_time_percent", Type::Gauge, {}},
      {"cpu_user", "cpu_user_time_percent", Type::Gauge, {}},
      {"cpu_idle", "cpu_idle_time_percent", Type::Gauge, {}},
      {"cpu_other", "cpu_other_time_percent", Type::Gauge, {}},
      {"mem_total", "mem_total_bytes", Type::Gauge, {}},
      {"mem_free", "mem_free_bytes", Type::Gauge, {}},
      {"net_rx", "net_rx_bytes", Type::Gauge, {"interface"}},
      {"net_tx", "net_tx_bytes", Type::Gauge, {"interface"}},
      {"disk_total", "disk_total_bytes", Type::Gauge, {"path"}},
      {"disk_usage", "disk_usage_bytes", Type::Gauge, {"path"}},
      {"filesystem_limit", "filesystem_limit_bytes", Type::Gauge, {"name"}},
      {"filesystem_usage", "filesystem_usage_bytes", Type::Gauge, {"name"}},
      {"filesystem_files", "filesystem_files", Type::Gauge, {"name"}},
      {"restream_process", "ffmpeg_process", Type::Gauge, {"process", "state", "order", "name"}},
      {"restream_process_states", "ffmpeg_process_states", Type::Gauge, {"process", "state"}},
      {"restream_state", "ffmpeg_states", Type::Gauge, {"state"}},
      {"ffmpeg_process", "ffmpeg_states_total", Type::Counter, {"state"}},
      {"session_total", "session_total", Type::Counter, {"collector"}},
      {"session_active", "session_active", Type::Gauge, {"collector"}},
      {"session_rxbytes", "session_rx_bytes", Type::Counter, {"collector"}},
      {"session_txbytes", "session_tx_bytes", Type::Counter, {"collector"}},
  };
  const auto descriptions = monitor.describe();
  std::vector<FamilyInfo> families;
  for (const auto& m : maps) {
    std::string help = m.from;
    for (const auto& d : descriptions) {
      if (d.name == m.from) help = d.description;
    }
    families.push_back({m.to, help, m.type, m.labels});
  }
  families.push_back({"dragonfork_process_restarts_total",
                      "FFmpeg runs started again after the previous run ended, by why it ended", Type::Counter,
                      {"reason"}});
  return registry.add_collector(families, [&monitor, &processes](metrics::Sink& sink) {
    for (const char* reason : {"failed", "finished", "killed", "stale", "cpu_limit", "memory_limit", "restart"}) {
      sink.add("dragonfork_process_restarts_total", {reason}, 0);
    }
    for (const auto& [reason, count] : processes.restart_counts()) {
      sink.add("dragonfork_process_restarts_total", {reason}, static_cast<double>(count));
    }
    for (const auto& s : monitor.current()) {
      for (const auto& m : maps) {
        if (s.name != m.from) continue;
        std::vector<std::string> values;
        for (const auto& [k, v] : s.labels) values.push_back(v);
        sink.add(m.to, values, s.value);
      }
    }
  });
}

}  // namespace dragon::app
