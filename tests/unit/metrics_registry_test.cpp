#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/prometheus.hpp"
#include "metrics/registry.hpp"

namespace dragon::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsRegistry, CounterFamilyWithLabels) {
  Registry r;
  auto& fam = r.counter("dragonfork_webrtc_errors_total", "WHEP errors by status code.", {"code"});
  auto c406 = fam.with({"406"});
  auto c503 = fam.with({"503"});
  c406->inc();
  c503->inc(5);
  c406->inc(2);
  EXPECT_EQ(c406->value(), 3u);
  EXPECT_EQ(fam.with({"406"}).get(), c406.get());  // same child for the same values
  EXPECT_EQ(render_prometheus(r),
            "# HELP dragonfork_webrtc_errors_total WHEP errors by status code.\n"
            "# TYPE dragonfork_webrtc_errors_total counter\n"
            "dragonfork_webrtc_errors_total{code=\"406\"} 3\n"
            "dragonfork_webrtc_errors_total{code=\"503\"} 5\n");
}

TEST(MetricsRegistry, LabelLessFamiliesRenderZeroAtOnce) {
  Registry r;
  r.gauge("dragonfork_webrtc_sessions", "Active WHEP sessions.");
  auto& c = r.counter("dragonfork_webrtc_ice_failures_total", "ICE failures.");
  c.with()->inc();
  EXPECT_EQ(render_prometheus(r),
            "# HELP dragonfork_webrtc_sessions Active WHEP sessions.\n"
            "# TYPE dragonfork_webrtc_sessions gauge\n"
            "dragonfork_webrtc_sessions 0\n"
            "# HELP dragonfork_webrtc_ice_failures_total ICE failures.\n"
            "# TYPE dragonfork_webrtc_ice_failures_total counter\n"
            "dragonfork_webrtc_ice_failures_total 1\n");
}

TEST(MetricsRegistry, GaugeAndDoubleCounterValues) {
  Registry r;
  auto g = r.gauge("g", "gauge", {"a"}).with({"x"});
  g->set(2.5);
  g->add(1);
  g->sub(0.25);
  g->inc();
  g->dec();
  g->dec();
  EXPECT_DOUBLE_EQ(g->value(), 2.25);
  auto d = r.double_counter("cpu_seconds_total", "cpu").with();
  d->add(0.5);
  d->add(-3);                                         // ignored: counters only go up
  d->add(std::numeric_limits<double>::quiet_NaN());  // ignored
  d->add(0.25);
  EXPECT_DOUBLE_EQ(d->value(), 0.75);
  std::string text = render_prometheus(r);
  EXPECT_THAT(text, HasSubstr("g{a=\"x\"} 2.25\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE cpu_seconds_total counter\ncpu_seconds_total 0.75\n"));
}

TEST(MetricsRegistry, LabelCountMismatchThrows) {
  Registry r;
  auto& fam = r.counter("x_total", "x", {"a", "b"});
  EXPECT_THROW(fam.with({"1"}), std::invalid_argument);
  EXPECT_THROW(fam.with({"1", "2", "3"}), std::invalid_argument);
  EXPECT_THROW(fam.with(), std::invalid_argument);
  std::vector<std::string> one{"1"};
  EXPECT_THROW(fam.with(one), std::invalid_argument);
  EXPECT_THROW(fam.remove({"1"}), std::invalid_argument);
  std::vector<std::string> two{"1", "2"};
  EXPECT_NO_THROW(fam.with(two)->inc());
  EXPECT_EQ(fam.with({"1", "2"})->value(), 1u);
  EXPECT_THROW(fam.remove_matching("c", "1"), std::invalid_argument);
}

TEST(MetricsRegistry, RegistrationValidation) {
  Registry r;
  EXPECT_THROW(r.counter("requests", "no _total"), std::invalid_argument);
  EXPECT_THROW(r.gauge("bytes_total", "gauge named like a counter"), std::invalid_argument);
  EXPECT_THROW(r.gauge("1abc", "bad name"), std::invalid_argument);
  EXPECT_THROW(r.gauge("a-b", "bad name"), std::invalid_argument);
  EXPECT_THROW(r.gauge("", "bad name"), std::invalid_argument);
  EXPECT_THROW(r.gauge("g", "bad label", {"0a"}), std::invalid_argument);
  EXPECT_THROW(r.gauge("g", "reserved label", {"__name"}), std::invalid_argument);
  EXPECT_THROW(r.gauge("g", "twice", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "le", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_count", "suffix", {}, {1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "order", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "order", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "nan", {}, {std::nan("")}), std::invalid_argument);
  EXPECT_NO_THROW(r.gauge("ns:sub_name", "colons are allowed"));

  // Upstream's legacy names are the only counters without _total.
  EXPECT_NO_THROW(r.counter("uptime_seconds", "Uptime."));
  EXPECT_NO_THROW(r.counter("session_rx_bytes", "rx", {"collector"}));
  EXPECT_NO_THROW(r.double_counter("session_tx_bytes", "tx", {"collector"}));

  // Get-or-create: identical description returns the same family; anything else throws.
  auto& a = r.counter("a_total", "help", {"x"});
  EXPECT_EQ(&r.counter("a_total", "help", {"x"}), &a);
  EXPECT_THROW(r.counter("a_total", "other help", {"x"}), std::invalid_argument);
  EXPECT_THROW(r.counter("a_total", "help", {"y"}), std::invalid_argument);
  EXPECT_THROW(r.double_counter("a_total", "help", {"x"}), std::invalid_argument);
  auto& h = r.histogram("lat_seconds", "latency", {}, {0.1, 1});
  EXPECT_EQ(&r.histogram("lat_seconds", "latency", {}, {0.1, 1}), &h);
  EXPECT_THROW(r.histogram("lat_seconds", "latency", {}, {0.1, 2}), std::invalid_argument);
  // A histogram's series names are taken.
  EXPECT_THROW(r.gauge("lat_seconds_count", "collides"), std::invalid_argument);
  EXPECT_THROW(r.gauge("lat_seconds_bucket", "collides"), std::invalid_argument);
  r.gauge("z_sum", "a gauge");
  EXPECT_THROW(r.histogram("z", "collides with z_sum", {}, {1}), std::invalid_argument);
  // A callback family cannot take a family's name, nor be a histogram.
  EXPECT_THROW(r.add_collector({{"a_total", "help", Type::Counter, {"x"}}}, [](Sink&) {}), std::invalid_argument);
  EXPECT_THROW(r.add_collector({{"cb_hist", "h", Type::Histogram, {}}}, [](Sink&) {}), std::invalid_argument);
  EXPECT_THROW(r.add_collector({{"cb", "h", Type::Gauge, {}}, {"cb", "h", Type::Gauge, {}}}, [](Sink&) {}),
               std::invalid_argument);
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
  Registry r;
  r.gauge("g", "line one\nline two \\ backslash", {"path"}).with({"C:\\dir \"quoted\"\nnext"})->set(1);
  EXPECT_EQ(render_prometheus(r),
            "# HELP g line one\\nline two \\\\ backslash\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1\n");
}

TEST(MetricsRegistry, InvalidUtf8InLabelValuesIsReplaced) {
  EXPECT_EQ(sanitize_utf8("plain"), "plain");
  EXPECT_EQ(sanitize_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8("x\xE2\x82"), "x\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
  Registry r;
  auto& fam = r.gauge("g", "g", {"id"});
  fam.with({"bad\xFF"})->set(1);
  EXPECT_EQ(fam.with({"bad\xEF\xBF\xBD"})->value(), 1);  // the same child
}

TEST(MetricsRegistry, FormatsValues) {
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(-3.5), "-3.5");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  Registry r;
  r.counter("big_total", "exact").with()->inc(18446744073709551615ull);
  EXPECT_THAT(render_prometheus(r), HasSubstr("big_total 18446744073709551615\n"));
}

TEST(MetricsRegistry, HistogramCumulativeBuckets) {
  Registry r;
  auto& fam = r.histogram("dragonfork_webrtc_setup_seconds", "WHEP setup latency.", {"transport"},
                          {0.1, 0.5, 1, std::numeric_limits<double>::infinity()});  // trailing +Inf dropped
  EXPECT_EQ(fam.buckets(), (std::vector<double>{0.1, 0.5, 1}));
  auto h = fam.with({"udp"});
  for (double v : {0.05, 0.1, 0.3, 0.5, 0.75, 2.0}) h->observe(v);
  h->observe(std::nan(""));  // ignored
  auto snap = h->snapshot();
  EXPECT_EQ(snap.cumulative, (std::vector<std::uint64_t>{2, 4, 5, 6}));
  EXPECT_EQ(snap.count, 6u);
  EXPECT_DOUBLE_EQ(snap.sum, 3.7);
  EXPECT_EQ(render_prometheus(r),
            "# HELP dragonfork_webrtc_setup_seconds WHEP setup latency.\n"
            "# TYPE dragonfork_webrtc_setup_seconds histogram\n"
            "dragonfork_webrtc_setup_seconds_bucket{transport=\"udp\",le=\"0.1\"} 2\n"
            "dragonfork_webrtc_setup_seconds_bucket{transport=\"udp\",le=\"0.5\"} 4\n"
            "dragonfork_webrtc_setup_seconds_bucket{transport=\"udp\",le=\"1\"} 5\n"
            "dragonfork_webrtc_setup_seconds_bucket{transport=\"udp\",le=\"+Inf\"} 6\n"
            "dragonfork_webrtc_setup_seconds_sum{transport=\"udp\"} 3.7\n"
            "dragonfork_webrtc_setup_seconds_count{transport=\"udp\"} 6\n");
}

TEST(MetricsRegistry, HistogramWithoutLabelsAndBucketHelpers) {
  EXPECT_EQ(linear_buckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(exponential_buckets(0.5, 2, 4), (std::vector<double>{0.5, 1, 2, 4}));
  EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
  EXPECT_THROW(linear_buckets(0, 0, 3), std::invalid_argument);
  Registry r;
  auto h = r.histogram("h", "h", {}, {1}).with();
  h->observe(-5);  // below every bound: first bucket
  EXPECT_EQ(render_prometheus(r),
            "# HELP h h\n# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum -5\nh_count 1\n");
}

TEST(MetricsRegistry, DeterministicOrder) {
  Registry r;
  auto& b = r.gauge("b", "registered first", {"x", "y"});
  auto& a = r.gauge("a", "registered second", {"x"});
  b.with({"2", "a"})->set(1);
  b.with({"10", "z"})->set(2);
  b.with({"10", "b"})->set(3);
  a.with({"k"})->set(4);
  EXPECT_EQ(render_prometheus(r),
            "# HELP b registered first\n# TYPE b gauge\n"
            "b{x=\"10\",y=\"b\"} 3\n"
            "b{x=\"10\",y=\"z\"} 2\n"
            "b{x=\"2\",y=\"a\"} 1\n"
            "# HELP a registered second\n# TYPE a gauge\n"
            "a{x=\"k\"} 4\n");
  EXPECT_EQ(render_prometheus(r), render_prometheus(r));
}

TEST(MetricsRegistry, FamiliesWithoutChildrenAreNotRendered) {
  Registry r;
  r.counter("unused_total", "no children yet", {"code"});
  EXPECT_EQ(render_prometheus(r), "");
  auto desc = r.describe();
  ASSERT_EQ(desc.size(), 1u);
  EXPECT_EQ(desc[0].name, "unused_total");
  EXPECT_EQ(desc[0].type, Type::Counter);
  EXPECT_EQ(desc[0].label_names, std::vector<std::string>{"code"});
}

TEST(MetricsRegistry, ConstantLabels) {
  Registry r;
  r.counter("uptime_seconds", "Uptime.").with()->inc(7);
  r.gauge("session_active", "Active sessions.", {"collector"}).with({"hls"})->set(2);
  r.histogram("h", "h", {}, {1}).with()->observe(0.5);
  RenderOptions opt;
  opt.constant_labels = {{"core", "a\"b"}};
  EXPECT_EQ(render_prometheus(r, opt),
            "# HELP uptime_seconds Uptime.\n# TYPE uptime_seconds counter\n"
            "uptime_seconds{core=\"a\\\"b\"} 7\n"
            "# HELP session_active Active sessions.\n# TYPE session_active gauge\n"
            "session_active{core=\"a\\\"b\",collector=\"hls\"} 2\n"
            "# HELP h h\n# TYPE h histogram\n"
            "h_bucket{core=\"a\\\"b\",le=\"1\"} 1\n"
            "h_bucket{core=\"a\\\"b\",le=\"+Inf\"} 1\n"
            "h_sum{core=\"a\\\"b\"} 0.5\n"
            "h_count{core=\"a\\\"b\"} 1\n");
  opt.constant_labels = {{"collector", "x"}};
  EXPECT_THROW(render_prometheus(r, opt), std::invalid_argument);
  opt.constant_labels = {{"le", "x"}};
  EXPECT_THROW(render_prometheus(r, opt), std::invalid_argument);
  opt.constant_labels = {{"bad-name", "x"}};
  EXPECT_THROW(render_prometheus(r, opt), std::invalid_argument);
}

TEST(MetricsRegistry, Collectors) {
  Registry r;
  r.gauge("first", "a regular family before the callbacks").with()->set(1);
  double idle = 42.5;
  auto id = r.add_collector({{"cpu_idle_time_percent", "CPU idle.", Type::Gauge, {}},
                             {"ffmpeg_states", "Processes per state.", Type::Gauge, {"state"}}},
                            [&](Sink& s) {
                              s.add("cpu_idle_time_percent", idle);
                              s.add("ffmpeg_states", {"running"}, 3);
                              s.add("ffmpeg_states", {"failed"}, 1);
                              s.add("ffmpeg_states", {"failed"}, 2);  // the last value wins
                            });
  std::uint64_t uptime = 10;
  r.add_callback({"uptime_seconds", "Uptime.", Type::Counter, {}}, [&] { return static_cast<double>(uptime); });
  std::string expected =
      "# HELP first a regular family before the callbacks\n# TYPE first gauge\nfirst 1\n"
      "# HELP cpu_idle_time_percent CPU idle.\n# TYPE cpu_idle_time_percent gauge\n"
      "cpu_idle_time_percent 42.5\n"
      "# HELP ffmpeg_states Processes per state.\n# TYPE ffmpeg_states gauge\n"
      "ffmpeg_states{state=\"failed\"} 2\n"
      "ffmpeg_states{state=\"running\"} 3\n"
      "# HELP uptime_seconds Uptime.\n# TYPE uptime_seconds counter\n"
      "uptime_seconds 10\n";
  EXPECT_EQ(render_prometheus(r), expected);
  idle = 12;  // evaluated at every collection
  uptime = 11;
  EXPECT_THAT(render_prometheus(r), HasSubstr("cpu_idle_time_percent 12\n"));
  EXPECT_THAT(render_prometheus(r), HasSubstr("uptime_seconds 11\n"));

  r.remove_collector(id);
  r.remove_collector(id);      // twice is harmless
  r.remove_collector(999999);  // unknown is ignored
  EXPECT_EQ(render_prometheus(r),
            "# HELP first a regular family before the callbacks\n# TYPE first gauge\nfirst 1\n"
            "# HELP uptime_seconds Uptime.\n# TYPE uptime_seconds counter\nuptime_seconds 11\n");
  // Re-declaring the same callback family is allowed (e.g. after a reload).
  EXPECT_NO_THROW(r.add_collector({{"cpu_idle_time_percent", "CPU idle.", Type::Gauge, {}}},
                                  [](Sink& s) { s.add("cpu_idle_time_percent", 1); }));
  EXPECT_THAT(render_prometheus(r), HasSubstr("cpu_idle_time_percent 1\n"));
}

TEST(MetricsRegistry, CollectorsShareAFamily) {
  Registry r;
  FamilyInfo active{"session_active", "Active sessions.", Type::Gauge, {"collector"}};
  r.add_collector({active}, [](Sink& s) { s.add("session_active", {"rtmp"}, 1); });
  r.add_collector({active}, [](Sink& s) { s.add("session_active", {"hls"}, 5); });
  EXPECT_EQ(render_prometheus(r),
            "# HELP session_active Active sessions.\n# TYPE session_active gauge\n"
            "session_active{collector=\"hls\"} 5\n"
            "session_active{collector=\"rtmp\"} 1\n");
  FamilyInfo different = active;
  different.help = "something else";
  EXPECT_THROW(r.add_collector({different}, [](Sink&) {}), std::invalid_argument);
}

TEST(MetricsRegistry, CollectorMisuseThrows) {
  Registry r;
  r.add_collector({{"declared", "d", Type::Gauge, {"a"}}}, [](Sink& s) { s.add("undeclared", 1); });
  EXPECT_THROW(render_prometheus(r), std::invalid_argument);
  Registry r2;
  r2.add_collector({{"declared", "d", Type::Gauge, {"a"}}}, [](Sink& s) { s.add("declared", {"1", "2"}, 1); });
  EXPECT_THROW(r2.collect(), std::invalid_argument);
  Registry r3;
  EXPECT_THROW(r3.add_callback({"with_labels", "d", Type::Gauge, {"a"}}, [] { return 1.0; }), std::invalid_argument);
  EXPECT_THROW(r3.add_collector({}, nullptr), std::invalid_argument);
}

TEST(MetricsRegistry, CollectorMayRegisterMetrics) {
  Registry r;
  r.add_collector({{"lazy", "l", Type::Gauge, {}}}, [&r](Sink& s) {
    r.counter("registered_in_collector_total", "from inside a collector").with()->inc();
    s.add("lazy", 1);
  });
  EXPECT_NO_THROW(render_prometheus(r));
  EXPECT_THAT(render_prometheus(r), HasSubstr("registered_in_collector_total 2\n"));
}

TEST(MetricsRegistry, OverflowChild) {
  Registry r;
  auto& fam = r.counter("by_process_total", "bounded", {"processid", "kind"}, FamilyOptions{.max_children = 2});
  fam.with({"p1", "a"})->inc();
  fam.with({"p2", "a"})->inc();
  auto o1 = fam.with({"p3", "a"});
  auto o2 = fam.with({"p4", "b"});
  EXPECT_EQ(o1.get(), o2.get());
  o1->inc(10);
  o2->inc(5);
  fam.with({"p1", "a"})->inc();  // existing children are still found
  EXPECT_EQ(fam.overflow_count(), 2u);
  EXPECT_EQ(fam.size(), 3u);
  EXPECT_EQ(render_prometheus(r),
            "# HELP by_process_total bounded\n# TYPE by_process_total counter\n"
            "by_process_total{processid=\"other\",kind=\"other\"} 15\n"
            "by_process_total{processid=\"p1\",kind=\"a\"} 2\n"
            "by_process_total{processid=\"p2\",kind=\"a\"} 1\n");
  // The overflow child does not take a slot; removing a child frees one.
  EXPECT_TRUE(fam.remove({"p2", "a"}));
  auto p5 = fam.with({"p5", "a"});
  EXPECT_NE(p5.get(), o1.get());
  EXPECT_EQ(fam.overflow_count(), 2u);
  EXPECT_EQ(fam.with({"p6", "a"}).get(), o1.get());
  EXPECT_EQ(fam.overflow_count(), 3u);
}

TEST(MetricsRegistry, RemovalKeepsHandlesSafe) {
  Registry r;
  auto& fam = r.gauge("ffmpeg_process", "per process", {"process", "name"});
  auto fps = fam.with({"p1", "fps"});
  auto bitrate = fam.with({"p1", "bitrate"});
  auto other = fam.with({"p2", "fps"});
  fps->set(25);
  bitrate->set(1000);
  other->set(30);
  EXPECT_TRUE(fam.remove({"p1", "fps"}));
  EXPECT_FALSE(fam.remove({"p1", "fps"}));
  fps->set(99);  // a holder still writes: a detached child, not rendered
  EXPECT_EQ(fps->value(), 99);
  EXPECT_THAT(render_prometheus(r), Not(HasSubstr("process=\"p1\",name=\"fps\"")));
  EXPECT_EQ(fam.with({"p1", "fps"})->value(), 0);  // a fresh child
  EXPECT_EQ(fam.remove_matching("process", "p1"), 2u);
  EXPECT_EQ(render_prometheus(r),
            "# HELP ffmpeg_process per process\n# TYPE ffmpeg_process gauge\n"
            "ffmpeg_process{process=\"p2\",name=\"fps\"} 30\n");
  bitrate->set(1);
  // Handles also outlive the registry.
  std::shared_ptr<Histogram> h;
  {
    Registry tmp;
    h = tmp.histogram("h", "h", {}, {1, 2}).with();
  }
  h->observe(1.5);
  EXPECT_EQ(h->snapshot().cumulative, (std::vector<std::uint64_t>{0, 1, 1}));
}

TEST(MetricsRegistry, CollectGivesPrometheusSeries) {
  Registry r;
  r.counter("c_total", "c", {"k"}).with({"v"})->inc(3);
  r.histogram("h", "h", {"k"}, {1}).with({"v"})->observe(0.5);
  r.add_callback({"cb", "cb", Type::Gauge, {}}, [] { return 2.5; });
  auto samples = r.collect();
  ASSERT_EQ(samples.size(), 6u);
  EXPECT_EQ(samples[0].name, "c_total");
  EXPECT_EQ(samples[0].labels, (Labels{{"k", "v"}}));
  EXPECT_EQ(samples[0].value, 3);
  EXPECT_EQ(samples[1].name, "h_bucket");
  EXPECT_EQ(samples[1].labels, (Labels{{"k", "v"}, {"le", "1"}}));
  EXPECT_EQ(samples[1].value, 1);
  EXPECT_EQ(samples[2].labels, (Labels{{"k", "v"}, {"le", "+Inf"}}));
  EXPECT_EQ(samples[3].name, "h_sum");
  EXPECT_EQ(samples[3].value, 0.5);
  EXPECT_EQ(samples[4].name, "h_count");
  EXPECT_EQ(samples[4].labels, (Labels{{"k", "v"}}));
  EXPECT_EQ(samples[5].name, "cb");
  EXPECT_TRUE(samples[5].labels.empty());
  EXPECT_EQ(samples[5].value, 2.5);
}

// Four writers update (and create and remove) children while a reader renders; totals are exact.
// Run under TSan (build-*-tsan) to check the lock-free paths.
TEST(MetricsRegistry, ConcurrentUpdatesWhileRendering) {
  Registry r;
  auto& packets = r.counter("packets_total", "packets", {"worker"});
  auto& shared = r.counter("shared_total", "one child, four writers");
  auto& hist = r.histogram("lat_seconds", "lat", {}, {0.001, 0.01, 0.1});
  auto& gauge = r.gauge("level", "level", {"worker"});
  auto& churn = r.gauge("churn", "created and removed", {"worker", "n"}, FamilyOptions{.max_children = 16});
  std::atomic<int> collector_calls{0};
  r.add_callback({"collector_value", "cb", Type::Gauge, {}}, [&] { return ++collector_calls * 1.0; });

  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  std::atomic<bool> done{false};
  RenderOptions opt;
  opt.constant_labels = {{"core", "test"}};
  std::thread reader([&] {
    std::size_t renders = 0;
    while (!done.load()) {
      std::string text = render_prometheus(r, opt);
      EXPECT_THAT(text, HasSubstr("# TYPE shared_total counter"));
      (void)r.collect();
      ++renders;
    }
    EXPECT_GT(renders, 0u);
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      std::string w = std::to_string(t);
      auto p = packets.with({w});
      auto s = shared.with();
      auto h = hist.with();
      auto g = gauge.with({w});
      for (int i = 0; i < kIterations; ++i) {
        p->inc();
        s->inc(2);
        h->observe((i % 4) * 0.005);
        g->add(1);
        if (i % 500 == 0) {
          auto c = churn.with({w, std::to_string(i)});
          c->set(i);
          if (i % 1000 == 0) churn.remove_matching("worker", w);
        }
      }
    });
  }
  for (auto& th : writers) th.join();
  done = true;
  reader.join();

  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(packets.with({std::to_string(t)})->value(), static_cast<std::uint64_t>(kIterations));
    EXPECT_EQ(gauge.with({std::to_string(t)})->value(), kIterations);
  }
  EXPECT_EQ(shared.with()->value(), 2u * kThreads * kIterations);
  auto snap = hist.with()->snapshot();
  EXPECT_EQ(snap.count, static_cast<std::uint64_t>(kThreads) * kIterations);
  EXPECT_EQ(snap.cumulative[0], snap.count / 4);  // 0 only
  EXPECT_EQ(snap.cumulative[1], snap.count / 4 * 3);  // 0, 0.005 and 0.01 (le is inclusive)
  EXPECT_LE(churn.size(), 17u);
  EXPECT_GT(collector_calls.load(), 0);
}

TEST(MetricsRegistry, RemoveCollectorWhileRendering) {
  Registry r;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) (void)render_prometheus(r);
  });
  for (int i = 0; i < 200; ++i) {
    auto state = std::make_shared<int>(i);
    int* raw = state.get();
    auto id = r.add_collector({{"cb_value", "cb", Type::Gauge, {}}},
                              [raw](Sink& s) { s.add("cb_value", static_cast<double>(*raw)); });
    std::this_thread::yield();
    r.remove_collector(id);
    state.reset();  // after remove_collector returns, the callback never runs again
  }
  done = true;
  reader.join();
  EXPECT_EQ(render_prometheus(r), "");
}

}  // namespace
}  // namespace dragon::metrics
