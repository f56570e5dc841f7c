// End to end against real FFmpeg 5.1 binaries on 127.0.0.1: publish, probe, play, RTMPS, tokens,
// conflicts, publisher loss, and a storm of garbage connections.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "metrics/registry.hpp"
#include "rtmp/amf0.hpp"
#include "rtmp/chunk.hpp"
#include "rtmp/handshake.hpp"
#include "rtmp/server.hpp"
#include "session/registry.hpp"
#include "util/run_command.hpp"

namespace dragon::rtmp {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A background child (FFmpeg) with its stderr in a file; killed with its group when the test ends.
class Child {
 public:
  Child(const std::vector<std::string>& argv, fs::path log) : log_(std::move(log)) {
    const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fd);
  }
  ~Child() {
    if (running()) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  bool running() {
    if (exited_ || pid_ <= 0) return false;
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = st;
      return false;
    }
    return true;
  }
  bool wait_exit(std::chrono::milliseconds deadline) {
    return wait_for([this] { return !running(); }, deadline);
  }
  void kill(int sig) {
    if (running()) ::kill(pid_, sig);
  }
  int exit_code() const { return exited_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }
  std::string log() const { return slurp(log_); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

std::size_t open_fds() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory stream itself
}

std::vector<std::string> publisher_args(const std::string& url) {
  return {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-re", "-f", "lavfi", "-i",
          "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine", "-c:v", "libx264", "-g", "50",
          "-preset", "ultrafast", "-tune", "zerolatency", "-c:a", "aac", "-f", "flv", url};
}

class RtmpE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (util::find_executable("ffmpeg").empty() || util::find_executable("ffprobe").empty())
      GTEST_SKIP() << "ffmpeg/ffprobe not installed";
    dir_ = fs::temp_directory_path() / ("rtmp-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  void start(ServerOptions o) {
    o.address = "127.0.0.1:0";
    o.collector = collector_;
    o.metrics = &metrics_;
    server_ = std::make_unique<Server>(std::move(o));
    server_->start();
    ASSERT_NE(server_->port(), 0);
  }
  std::string url(const std::string& path) const {
    return "rtmp://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  bool published(const std::string& path, std::chrono::milliseconds deadline = 15s) {
    return wait_for(
        [&] {
          const auto c = server_->channels();
          return std::find(c.begin(), c.end(), path) != c.end();
        },
        deadline);
  }
  double metric(const std::string& name, const std::string& label = {}) {
    for (const auto& s : metrics_.collect())
      if (s.name == name && (label.empty() || (!s.labels.empty() && s.labels[0].second == label))) return s.value;
    return -1;
  }
  std::unique_ptr<Child> spawn(const std::vector<std::string>& argv, const std::string& name) {
    return std::make_unique<Child>(argv, dir_ / (name + ".log"));
  }

  fs::path dir_;
  session::Registry sessions_;
  std::shared_ptr<session::Collector> collector_ = sessions_.add("rtmp", session::CollectorConfig{});
  metrics::Registry metrics_;
  std::unique_ptr<Server> server_;
};

TEST_F(RtmpE2E, PublishProbePlayConflictAndPublisherLoss) {
  start({});
  auto pub = spawn(publisher_args(url("/live/test")), "publisher");
  ASSERT_TRUE(published("/live/test")) << pub->log();

  // The publisher is a session of the "rtmp" collector, as upstream books it.
  ASSERT_TRUE(wait_for([&] { return collector_->is_active("/live/test"); }, 5s));
  {
    const auto active = collector_->active();
    ASSERT_EQ(active.size(), 1u);
    EXPECT_EQ(active[0].reference, "live/test");
    EXPECT_EQ(active[0].location, "publish:/live/test");
    EXPECT_EQ(active[0].peer.rfind("127.0.0.1:", 0), 0u);
  }
  EXPECT_EQ(metric("dragonfork_rtmp_publishers"), 1);

  // ffprobe sees H.264 + AAC.
  const auto probe = util::run_command({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of",
                                        "csv=p=0", url("/live/test")},
                                       {.timeout = 20s});
  ASSERT_TRUE(probe.ok()) << probe.err;
  EXPECT_NE(probe.out.find("h264"), std::string::npos) << probe.out;
  EXPECT_NE(probe.out.find("aac"), std::string::npos) << probe.out;

  // A player decodes frames for 3 s.
  const auto play = util::run_command({"ffmpeg", "-nostdin", "-hide_banner", "-i", url("/live/test"), "-t", "3",
                                       "-f", "null", "-"},
                                      {.timeout = 30s});
  ASSERT_TRUE(play.ok()) << play.err;
  const auto frame = play.err.rfind("frame=");
  ASSERT_NE(frame, std::string::npos) << play.err;
  EXPECT_GT(std::atoi(play.err.c_str() + frame + 6), 25) << play.err.substr(frame);

  // A second publisher on the same name is refused; the first keeps going.
  const auto rx_before = server_->stats().at(0).rx_bytes;
  const auto second = util::run_command(
      {"ffmpeg", "-nostdin", "-hide_banner", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "5",
       "-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", url("/live/test")},
      {.timeout = 30s});
  EXPECT_NE(second.exit_code, 0) << second.err;
  EXPECT_EQ(metric("dragonfork_rtmp_connections_refused_total", "conflict"), 1);
  EXPECT_TRUE(pub->running());
  ASSERT_TRUE(wait_for([&] { return server_->stats().at(0).rx_bytes > rx_before; }, 5s));
  EXPECT_EQ(server_->stats().at(0).publisher.rfind("127.0.0.1:", 0), 0u);

  // Playing a name nobody publishes: refused.
  const auto missing = util::run_command({"ffprobe", "-v", "error", url("/live/nothing")}, {.timeout = 20s});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(metric("dragonfork_rtmp_connections_refused_total", "notfound"), 1);

  // A long-running player exits by itself soon after the publisher is killed.
  auto player = spawn({"ffmpeg", "-nostdin", "-hide_banner", "-i", url("/live/test"), "-f", "null", "-"}, "player");
  ASSERT_TRUE(wait_for([&] { return !server_->stats().empty() && server_->stats()[0].players == 1; }, 15s))
      << player->log();
  ASSERT_TRUE(wait_for([&] { return player->log().find("frame=") != std::string::npos; }, 15s)) << player->log();
  EXPECT_EQ(metric("dragonfork_rtmp_players"), 1);
  pub->kill(SIGKILL);
  EXPECT_TRUE(player->wait_exit(5s)) << player->log();
  EXPECT_TRUE(server_->channels().empty());
  EXPECT_TRUE(wait_for([&] { return server_->counters().connections == 0; }, 5s));
  EXPECT_EQ(metric("dragonfork_rtmp_publishers"), 0);
  EXPECT_EQ(metric("dragonfork_rtmp_players"), 0);
  EXPECT_GT(metric("dragonfork_rtmp_rx_bytes_total"), 100000);
  EXPECT_GT(metric("dragonfork_rtmp_tx_bytes_total"), 100000);
  EXPECT_FALSE(collector_->is_active("/live/test"));
  server_->stop();
}

TEST_F(RtmpE2E, TokenInQueryOrLastPathElement) {
  start({.app = "/live", .token = "s3cret"});
  // Wrong token: refused, nothing published.
  const auto wrong = util::run_command(
      {"ffmpeg", "-nostdin", "-hide_banner", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3",
       "-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", url("/live/test?token=nope")},
      {.timeout = 30s});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_EQ(metric("dragonfork_rtmp_connections_refused_total", "token"), 1);
  EXPECT_TRUE(server_->channels().empty());

  // Outside the app prefix (right token): refused.
  const auto app = util::run_command(
      {"ffmpeg", "-nostdin", "-hide_banner", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3",
       "-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", url("/other/test?token=s3cret")},
      {.timeout = 30s});
  EXPECT_NE(app.exit_code, 0);
  EXPECT_EQ(metric("dragonfork_rtmp_connections_refused_total", "app"), 1);

  // Token in the query: the channel is the path without it.
  auto pub = spawn(publisher_args(url("/live/test?token=s3cret")), "publisher");
  ASSERT_TRUE(published("/live/test")) << pub->log();
  // Token as the last path element, for playing.
  const auto probe = util::run_command({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of",
                                        "csv=p=0", url("/live/test/s3cret")},
                                       {.timeout = 20s});
  EXPECT_TRUE(probe.ok()) << probe.err;
  EXPECT_NE(probe.out.find("h264"), std::string::npos);
  // Playing without a token is refused too.
  const auto none = util::run_command({"ffprobe", "-v", "error", url("/live/test")}, {.timeout = 20s});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_EQ(metric("dragonfork_rtmp_connections_refused_total", "token"), 2);
  EXPECT_TRUE(pub->running());
  server_->stop();
  EXPECT_TRUE(pub->wait_exit(10s));
}

TEST_F(RtmpE2E, Rtmps) {
  if (util::find_executable("openssl").empty()) GTEST_SKIP() << "openssl CLI not installed";
  const auto cert = dir_ / "cert.pem", key = dir_ / "key.pem";
  const auto gen = util::run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                                      "/CN=localhost", "-days", "1", "-keyout", key.string(), "-out", cert.string()},
                                     {.timeout = 30s});
  ASSERT_TRUE(gen.ok()) << gen.err;
  start({.tls_address = "127.0.0.1:0", .tls_cert_file = cert.string(), .tls_key_file = key.string()});
  ASSERT_NE(server_->tls_port(), 0);
  const std::string tls_url = "rtmps://127.0.0.1:" + std::to_string(server_->tls_port()) + "/live/tls";
  auto pub = spawn(publisher_args(tls_url), "publisher");
  ASSERT_TRUE(published("/live/tls")) << pub->log();
  const auto probe = util::run_command({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of",
                                        "csv=p=0", tls_url},
                                       {.timeout = 20s});
  ASSERT_TRUE(probe.ok()) << probe.err;
  EXPECT_NE(probe.out.find("h264"), std::string::npos);
  EXPECT_NE(probe.out.find("aac"), std::string::npos);
  // The plain listener serves the same channel.
  const auto plain = util::run_command({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of",
                                        "csv=p=0", url("/live/tls")},
                                       {.timeout = 20s});
  EXPECT_TRUE(plain.ok()) << plain.err;
  server_->stop();
}

TEST_F(RtmpE2E, GarbageConnectionsLeaveNoDescriptorsBehind) {
  start({.idle_timeout = 2s, .max_connections = 2000});
  const std::size_t baseline = open_fds();
  std::mt19937 rng(1234);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  constexpr int k_total = 1000, k_batch = 100;
  for (int done = 0; done < k_total; done += k_batch) {
    std::vector<int> socks;
    for (int i = 0; i < k_batch; ++i) {
      const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      ASSERT_GE(s, 0);
      ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      // Random bytes; every third connection starts like RTMP (version 3) and garbles what follows, so the
      // handshake and the chunk reader both see junk.
      std::vector<std::uint8_t> junk(1 + rng() % 5000);
      for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
      if (i % 3 == 0) junk[0] = 3;
      (void)!::send(s, junk.data(), junk.size(), MSG_NOSIGNAL);
      socks.push_back(s);
    }
    for (int s : socks) ::close(s);
  }
  // The server survives and releases every descriptor.
  EXPECT_TRUE(wait_for([&] { return open_fds() <= baseline; }, 20s)) << open_fds() << " vs " << baseline;
  EXPECT_TRUE(wait_for([&] { return server_->counters().connections == 0; }, 10s));
  EXPECT_EQ(server_->counters().accepted, static_cast<std::uint64_t>(k_total));
  auto pub = spawn(publisher_args(url("/live/after")), "publisher");
  EXPECT_TRUE(published("/live/after")) << pub->log();
  server_->stop();
  EXPECT_TRUE(wait_for([&] { return open_fds() <= baseline - 1; }, 5s));  // the listener is gone too
}

// A raw client that plays and then never reads: its queue overflows and it drops, while an FFmpeg player
// on the same channel keeps decoding in real time.
int stalled_player(std::uint16_t port, const std::string& name) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int small = 4096;
  ::setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);  // before connect: a tiny window
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  std::vector<std::uint8_t> c0c1(1 + k_handshake_size, 0);
  c0c1[0] = 3;
  if (::send(s, c0c1.data(), c0c1.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(c0c1.size())) return -1;
  std::vector<std::uint8_t> s0s1s2(1 + 2 * k_handshake_size);
  std::size_t got = 0;
  while (got < s0s1s2.size()) {
    const ssize_t n = ::recv(s, s0s1s2.data() + got, s0s1s2.size() - got, 0);
    if (n <= 0) return -1;
    got += static_cast<std::size_t>(n);
  }
  std::vector<std::uint8_t> out(s0s1s2.begin() + 1, s0s1s2.begin() + 1 + k_handshake_size);  // C2 = S1
  using amf0::Value;
  ChunkWriter w;
  w.write(3, k_command_amf0, 0, 0,
          amf0::encode_all({Value::str("connect"), Value::num(1), Value::object({{"app", Value::str("live")}})}), out);
  w.write(3, k_command_amf0, 0, 0, amf0::encode_all({Value::str("createStream"), Value::num(2), Value::null()}), out);
  w.write(8, k_command_amf0, 1, 0,
          amf0::encode_all({Value::str("play"), Value::num(0), Value::null(), Value::str(name)}), out);
  if (::send(s, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return -1;
  return s;  // never read from again
}

TEST_F(RtmpE2E, StalledPlayerDropsAloneWhileAnotherPlaysOn) {
  ServerOptions o;
  o.channel.player_queue_bytes = 64 * 1024;
  o.idle_timeout = 30s;  // the stalled player must stay for the whole test
  start(o);
  auto pub = spawn(publisher_args(url("/live/test")), "publisher");
  ASSERT_TRUE(published("/live/test")) << pub->log();
  const int stalled = stalled_player(server_->port(), "test");
  ASSERT_GE(stalled, 0);
  ASSERT_TRUE(wait_for([&] { return server_->stats().at(0).players == 1; }, 10s));
  ASSERT_TRUE(wait_for([&] { return server_->stats().at(0).drops > 0; }, 15s));
  const auto play = util::run_command({"ffmpeg", "-nostdin", "-hide_banner", "-i", url("/live/test"), "-t", "3",
                                       "-f", "null", "-"},
                                      {.timeout = 30s});
  ASSERT_TRUE(play.ok()) << play.err;
  const auto frame = play.err.rfind("frame=");
  ASSERT_NE(frame, std::string::npos);
  EXPECT_GT(std::atoi(play.err.c_str() + frame + 6), 50) << play.err.substr(frame);
  // Only the stalled player dropped: its drops keep growing, and the metric counts them.
  const auto drops = server_->stats().at(0).drops;
  EXPECT_TRUE(wait_for([&] { return server_->stats().at(0).drops > drops; }, 10s));
  EXPECT_GT(metric("dragonfork_rtmp_player_drops_total"), 0);
  EXPECT_EQ(server_->stats().at(0).players, 1u);  // still connected, never read
  ::close(stalled);
  server_->stop();
}

}  // namespace
}  // namespace dragon::rtmp
