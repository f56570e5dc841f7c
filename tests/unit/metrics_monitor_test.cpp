// Upstream's metric queries: exact names, unanchored label regexes (invalid ones match nothing),
// the current sample for timerange 0, and history resampled onto timerange/interval steps.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "metrics/monitor.hpp"
#include "metrics/system_source.hpp"
#include "util/random.hpp"

using namespace dragon::metrics;

namespace {

struct Clock {
  std::int64_t now = 1'000'000;
};

std::unique_ptr<Monitor> make(Clock& clock, double* value, bool history = true) {
  Monitor::Options o;
  o.history = history;
  o.range = std::chrono::seconds(300);
  o.interval = std::chrono::seconds(2);
  o.clock = [&clock] { return clock.now; };
  auto m = std::make_unique<Monitor>(o);
  m->add({{"cpu_idle", "idle", {}}, {"ffmpeg_process", "states", {"state"}}},
         [value](std::vector<MonitorSample>& out) {
           out.push_back({"cpu_idle", {}, *value});
           out.push_back({"ffmpeg_process", {{"state", "running"}}, 2});
           out.push_back({"ffmpeg_process", {{"state", "failed"}}, 1});
         });
  return m;
}

nlohmann::json q(const Monitor& m, const std::string& body) {
  std::string error;
  auto r = m.query(nlohmann::json::parse(body), error);
  EXPECT_TRUE(error.empty()) << error;
  return r;
}

}  // namespace

TEST(MetricsMonitor, CurrentSampleAndLabelRegexes) {
  Clock clock;
  double idle = 42.1234;
  auto m = make(clock, &idle, false);
  auto r = q(*m, R"({"timerange_sec":0,"metrics":[{"name":"cpu_idle"},{"name":"ffmpeg_process","labels":{"state":"run"}}]})");
  ASSERT_EQ(r["metrics"].size(), 2u);
  EXPECT_EQ(r["metrics"][0]["name"], "cpu_idle");
  EXPECT_TRUE(r["metrics"][0]["labels"].is_null());
  EXPECT_EQ(r["metrics"][0]["values"][0][0], clock.now);
  EXPECT_DOUBLE_EQ(r["metrics"][0]["values"][0][1].get<double>(), 42.123);  // three decimals, as upstream
  EXPECT_EQ(r["metrics"][1]["labels"]["state"], "running");  // unanchored: "run" matches "running"
  // An invalid regex matches nothing (and is not an error); an unknown name neither.
  r = q(*m, R"({"metrics":[{"name":"ffmpeg_process","labels":{"state":"(("}},{"name":"nope"}]})");
  EXPECT_TRUE(r["metrics"].empty());
  // Names match exactly.
  r = q(*m, R"({"metrics":[{"name":"cpu_idl"}]})");
  EXPECT_TRUE(r["metrics"].empty());
  EXPECT_EQ(m->describe().front().name, "cpu_idle");
}

TEST(MetricsMonitor, HistoryIsResampledOntoSteps) {
  Clock clock;
  double idle = 0;
  auto m = make(clock, &idle);
  // 40 s of history, one snapshot every 2 s.
  for (int i = 0; i < 20; ++i) {
    idle = i;
    m->sample(clock.now);
    clock.now += 2;
  }
  clock.now -= 2;  // "now" is the last snapshot
  auto r = q(*m, R"({"timerange_sec":60,"interval_sec":2,"metrics":[{"name":"cpu_idle"}]})");
  const auto& values = r["metrics"][0]["values"];
  ASSERT_LE(values.size(), 30u);
  EXPECT_EQ(values.size(), 20u);  // steps before the first snapshot are left out
  for (std::size_t i = 1; i < values.size(); ++i) EXPECT_GT(values[i][0], values[i - 1][0]);  // oldest first
  EXPECT_EQ(values.back()[0], clock.now);
  EXPECT_EQ(values.back()[1], 19);
  EXPECT_EQ(values.front()[1], 0);
  EXPECT_EQ(r["timerange_sec"], 300);
  EXPECT_EQ(r["interval_sec"], 2);
  // A step between snapshots takes the one before it.
  clock.now += 1;
  r = q(*m, R"({"timerange_sec":2,"metrics":[{"name":"cpu_idle"}]})");
  EXPECT_EQ(r["metrics"][0]["values"].back()[1], 19);
}

TEST(MetricsMonitor, MalformedQueriesAreRefused) {
  Clock clock;
  double idle = 0;
  auto m = make(clock, &idle);
  for (const char* body : {R"([])", R"({"metrics":{}})", R"({"metrics":[{"labels":{}}]})", R"({"timerange_sec":"x"})"}) {
    std::string error;
    m->query(nlohmann::json::parse(body), error);
    EXPECT_FALSE(error.empty()) << body;
  }
}

TEST(MetricsSystemSource, ReadsProcAndCgroupV2Fixtures) {
  const auto dir = std::filesystem::temp_directory_path() / ("dragon-sys-" + dragon::util::random_alnum(8));
  std::filesystem::create_directories(dir / "proc" / "net");
  std::filesystem::create_directories(dir / "cg");
  auto write = [](const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(dir / "proc" / "meminfo", "MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n");
  write(dir / "proc" / "stat", "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n");
  write(dir / "proc" / "net" / "dev",
        "Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n    lo: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n");
  write(dir / "cg" / "cpu.max", "150000 100000\n");
  write(dir / "cg" / "memory.max", "2147483648\n");
  write(dir / "cg" / "memory.current", "1073741824\n");
  SystemSource src(dir.string(), std::chrono::steady_clock::now(), (dir / "proc").string(), (dir / "cg").string());
  EXPECT_DOUBLE_EQ(src.cpu_count(), 1.5);
  const auto [total, free] = src.memory();
  EXPECT_EQ(total, 2147483648u);
  EXPECT_EQ(free, 1073741824u);
  std::vector<MonitorSample> out;
  src.collect(out);
  write(dir / "proc" / "stat", "cpu  200 0 100 1500 100 0 0 0 0 0\n");  // +100 user +50 sys +750 idle
  out.clear();
  src.collect(out);
  auto value = [&out](const std::string& name) {
    for (const auto& s : out) {
      if (s.name == name) return s.value;
    }
    return -1.0;
  };
  EXPECT_NEAR(value("cpu_user"), 100.0 * 100 / 900, 1e-9);
  EXPECT_NEAR(value("cpu_system"), 100.0 * 50 / 900, 1e-9);
  EXPECT_NEAR(value("cpu_idle"), 100.0 * 750 / 900, 1e-9);
  EXPECT_EQ(value("net_rx"), 1000);
  EXPECT_EQ(value("net_tx"), 2000);
  EXPECT_GT(value("disk_total"), 0);
  std::filesystem::remove_all(dir);
}
