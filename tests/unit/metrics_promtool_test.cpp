// Runs Prometheus' own linter (`promtool check metrics`, Debian package "prometheus") over our exposition.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/prometheus.hpp"
#include "metrics/registry.hpp"
#include "util/run_command.hpp"
#include "util/strings.hpp"

namespace dragon::metrics {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";

// promtool reads the exposition from stdin; run_command gives children /dev/null, so go through a file.
util::RunResult promtool_check(const std::string& exposition) {
  auto path = std::filesystem::temp_directory_path() / ("dragon-metrics-" + std::to_string(::getpid()) + ".prom");
  {
    std::ofstream f(path, std::ios::binary);
    f << exposition;
  }
  auto res = util::run_command({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < '" + path.string() + "'"});
  std::filesystem::remove(path);
  return res;
}

// A registry with every kind of family, label escaping, constant labels and upstream-style callbacks.
void populate(Registry& r, bool with_legacy_names) {
  auto& errors = r.counter("dragonfork_webrtc_errors_total", "WHEP errors by HTTP status code.", {"code"});
  errors.with({"406"})->inc(2);
  errors.with({"503"})->inc();
  r.double_counter("dragonfork_webrtc_cpu_seconds_total", "CPU seconds \\ spent\nin WebRTC.").with()->add(1.25);
  r.gauge("dragonfork_webrtc_sessions", "Active WHEP sessions.", {"process"})
      .with({"weird \"id\"\\\nwith newline"})
      ->set(3);
  auto& setup = r.histogram("dragonfork_webrtc_setup_seconds", "WHEP setup latency.", {"transport"},
                            exponential_buckets(0.005, 2, 10));
  for (double v : {0.001, 0.02, 0.3, 7.0}) setup.with({"udp"})->observe(v);
  setup.with({"tcp"});
  r.gauge("dragonfork_nan_value", "Not a number.").with()->set(std::numeric_limits<double>::quiet_NaN());
  r.add_collector({{"ffmpeg_states", "Processes per state.", Type::Gauge, {"state"}},
                   {"ffmpeg_states_total", "State changes.", Type::Counter, {"state"}}},
                  [](Sink& s) {
                    s.add("ffmpeg_states", {"running"}, 2);
                    s.add("ffmpeg_states_total", {"running"}, 5);
                  });
  if (with_legacy_names) {
    r.add_callback({"uptime_seconds", "Uptime in seconds.", Type::Counter, {}}, [] { return 12.0; });
    auto& rx = r.counter("session_rx_bytes", "Received bytes.", {"collector"});
    rx.with({"hls"})->inc(100);
    r.counter("session_tx_bytes", "Sent bytes.", {"collector"}).with({"hls"})->inc(200);
  }
}

class Promtool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kPromtool, X_OK) != 0) {
      GTEST_SKIP() << kPromtool << " is missing: install Debian's 'prometheus' package to lint the exposition";
    }
  }
};

TEST_F(Promtool, AcceptsOurExposition) {
  Registry r;
  populate(r, false);
  RenderOptions opt;
  opt.constant_labels = {{"core", "0a1b2c3d-instance"}};
  std::string text = render_prometheus(r, opt);
  auto res = promtool_check(text);
  ASSERT_TRUE(res.started) << res.error;
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err << "\n--- exposition ---\n" << text;
  EXPECT_EQ(res.out + res.err, "") << text;
}

// Upstream's names without _total are kept on purpose: promtool's only complaints are about them.
TEST_F(Promtool, OnlyFlagsUpstreamLegacyNames) {
  Registry r;
  populate(r, true);
  RenderOptions opt;
  opt.constant_labels = {{"core", "id"}};
  std::string text = render_prometheus(r, opt);
  auto res = promtool_check(text);
  ASSERT_TRUE(res.started) << res.error;
  EXPECT_EQ(res.exit_code, 3) << "3 = lint problems only (no parse error)\n" << res.out << res.err;
  auto lines = util::split(res.out + res.err, '\n');
  EXPECT_EQ(lines.size(), kLegacyCounterNames.size()) << res.out << res.err;
  for (const auto& line : lines) {
    bool legacy = false;
    for (auto name : kLegacyCounterNames) legacy = legacy || line.starts_with(std::string(name) + " ");
    EXPECT_TRUE(legacy) << line;
    EXPECT_THAT(line, ::testing::HasSubstr("should have \"_total\" suffix"));
  }
}

}  // namespace
}  // namespace dragon::metrics
