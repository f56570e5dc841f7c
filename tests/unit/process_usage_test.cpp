// /proc parsing and the limit logic, without children.
#include <unistd.h>

#include <gtest/gtest.h>

#include "process/limits.hpp"
#include "process/proc_stat.hpp"

namespace dragon::process {
namespace {

using namespace std::chrono_literals;
using Verdict = LimitWatch::Verdict;

TEST(ProcessProcStat, ParsesStatWithHostileCommandName) {
  // comm "a) (b c" contains spaces and a ')'; utime 300 and stime 45 are fields 14 and 15.
  std::string stat = "1234 (a) (b c) S 1 1234 1234 0 -1 4194304 100 0 0 0 300 45 0 0 20 0 1 0 5 1000 200\n";
  auto t = parse_stat_cpu_ticks(stat);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 345u);
  EXPECT_FALSE(parse_stat_cpu_ticks("garbage").has_value());
  EXPECT_FALSE(parse_stat_cpu_ticks("1 (x) S 1 2").has_value());
}

TEST(ProcessProcStat, ParsesStatm) {
  auto r = parse_statm_rss("2000 300 100 10 0 150 0\n", 4096);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 300u * 4096);
  EXPECT_FALSE(parse_statm_rss("", 4096).has_value());
}

TEST(ProcessProcStat, SamplesOurselves) {
  auto s = sample_process(::getpid());
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->rss_bytes, 0u);
  EXPECT_FALSE(sample_process(0x7ffffff0).has_value());
}

TEST(ProcessLimits, CpuPercentIsRelativeToAllEffectiveCpus) {
  LimitWatch w({}, 2.0, 100);
  auto t0 = LimitWatch::Clock::time_point{} + 100s;
  w.reset(t0, 1000);
  // 100 ticks = 1 s of CPU in 1 s of wall on 2 CPUs = 50 %.
  EXPECT_EQ(w.update(t0 + 1s, 1100, 5), Verdict::Ok);
  EXPECT_DOUBLE_EQ(w.cpu_percent(), 50.0);
  EXPECT_EQ(w.memory_bytes(), 5u);
}

TEST(ProcessLimits, CpuMustStayOverForWaitfor) {
  LimitWatch w({.cpu_percent = 10, .waitfor = 2s}, 1.0, 100);
  auto t = LimitWatch::Clock::time_point{} + 100s;
  std::uint64_t ticks = 0;
  w.reset(t, ticks);
  auto step = [&](std::uint64_t used) {
    t += 1s;
    ticks += used;
    return w.update(t, ticks, 0);
  };
  EXPECT_EQ(step(50), Verdict::Ok);   // over since now
  EXPECT_EQ(step(50), Verdict::Ok);   // 1 s over
  EXPECT_EQ(step(5), Verdict::Ok);    // below: the clock resets
  EXPECT_EQ(step(50), Verdict::Ok);   // over since now
  EXPECT_EQ(step(50), Verdict::Ok);   // 1 s
  EXPECT_EQ(step(50), Verdict::Cpu);  // 2 s
}

TEST(ProcessLimits, ZeroWaitforTriggersAtTheFirstSampleOver) {
  LimitWatch w({.memory_bytes = 1000}, 1.0, 100);
  auto t = LimitWatch::Clock::time_point{} + 100s;
  w.reset(t, 0);
  EXPECT_EQ(w.update(t + 1s, 0, 1000), Verdict::Ok);  // equal is not over
  EXPECT_EQ(w.update(t + 2s, 0, 1001), Verdict::Memory);
}

TEST(ProcessLimits, ZeroMeansNoLimit) {
  LimitWatch w({}, 1.0, 100);
  auto t = LimitWatch::Clock::time_point{} + 100s;
  w.reset(t, 0);
  EXPECT_EQ(w.update(t + 1s, 100000, ~0ULL), Verdict::Ok);
}

}  // namespace
}  // namespace dragon::process
