// End-to-end tests of the SRT server on 127.0.0.1 with real peers: FFmpeg 5.1 (libsrt 1.5.1) as
// publisher and player, ffprobe, srt-live-transmit, and an in-process libsrt caller for exact reject
// reasons and the slow-subscriber case.
#include "srt/server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "log/log.hpp"
#include "metrics/registry.hpp"
#include "session/registry.hpp"
#include "srt/streamid.hpp"
#include "srt_test_helpers.hpp"

namespace dragon::srt {
namespace {

using namespace testing;
using namespace std::chrono_literals;

void quiet_logs() {
  if (std::getenv("DRAGON_TEST_LOG")) return;  // show the server's log while debugging a test
  log::Options o;
  o.level = log::Level::Error;
  o.output = log::Output::Json;
  o.topics = {"no-such-topic"};
  log::configure(o);
}

std::string url(std::uint16_t port, const std::string& query) {
  return "srt://127.0.0.1:" + std::to_string(port) + "?" + query;
}

// The brief's publisher: x264 test picture, paced, MPEG-TS over SRT.
std::vector<std::string> ffmpeg_publisher(const std::string& srt_url) {
  return {"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-re", "-f", "lavfi", "-i",
          "testsrc2=size=640x360:rate=25", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-f", "mpegts",
          srt_url};
}

// Decodes `seconds` of the stream and reports progress on stderr (frame=N).
std::vector<std::string> ffmpeg_player(const std::string& srt_url, int seconds) {
  std::vector<std::string> a{"ffmpeg", "-hide_banner", "-nostdin", "-stats", "-i", srt_url};
  if (seconds > 0) a.insert(a.end(), {"-t", std::to_string(seconds)});
  a.insert(a.end(), {"-f", "null", "-"});
  return a;
}

// The highest "frame=N" in ffmpeg's progress output.
int frames_decoded(const std::string& err) {
  int best = 0;
  for (std::size_t p = err.find("frame="); p != std::string::npos; p = err.find("frame=", p + 1)) {
    std::size_t q = p + 6;
    while (q < err.size() && err[q] == ' ') ++q;
    best = std::max(best, std::atoi(err.c_str() + q));
  }
  return best;
}

class SrtServerTest : public ::testing::Test {
 protected:
  void SetUp() override { quiet_logs(); }

  std::unique_ptr<Server> start(ServerOptions o = {}) {
    o.address = "127.0.0.1:0";
    auto s = std::make_unique<Server>(std::move(o));
    s->start();
    EXPECT_NE(s->port(), 0);
    return s;
  }

  TempDir dir_;
};

TEST_F(SrtServerTest, FfmpegPublishesLegacyIdAndFfmpegPlaysH264) {
  auto server = start();
  auto port = server->port();
  // FFmpeg 5.1 passes the streamid option as written, without URL-decoding it ("%23" stays "%23"):
  // '#', '!', ':', '=' and ',' go through unescaped; only '&' cannot be part of a streamid.
  Child pub(ffmpeg_publisher(url(port, "streamid=#!:m=publish,r=test")), dir_.file("pub.log"));
  ASSERT_TRUE(wait_until([&] { return server->counters().publishers == 1; })) << pub.err();
  EXPECT_EQ(server->channels_json()["publisher"].count("test"), 1u);

  Child play(ffmpeg_player(url(port, "streamid=test"), 4), dir_.file("play.log"));
  EXPECT_EQ(play.wait_exit(), 0) << play.err();
  EXPECT_GE(frames_decoded(play.err()), 25) << play.err();

  auto probe = util::run_command({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                                  url(port, "streamid=#!:r=test")},
                                 {.env = {}, .timeout = 30s});
  EXPECT_TRUE(probe.ok()) << probe.err;
  EXPECT_NE(probe.out.find("h264"), std::string::npos) << probe.out << probe.err;
  EXPECT_GT(server->counters().rx_bytes, 10000u);
  EXPECT_GT(server->counters().tx_bytes, 10000u);
  EXPECT_TRUE(pub.running()) << pub.err();
}

TEST_F(SrtServerTest, ShortFormStreamIdWithTokenAndTwoSubscribers) {
  ServerOptions o;
  o.token = "tok,with,commas";
  auto server = start(o);
  auto port = server->port();
  // The token is the last key: its commas belong to it.
  Child pub(ffmpeg_publisher(url(port, "streamid=cam1,mode:publish,token:tok,with,commas")), dir_.file("pub.log"));
  ASSERT_TRUE(wait_until([&] { return server->counters().publishers == 1; })) << pub.err();

  Child a(ffmpeg_player(url(port, "streamid=cam1,token:tok,with,commas"), 4), dir_.file("a.log"));
  Child b(ffmpeg_player(url(port, "streamid=#!:r=cam1,token=tok,with,commas"), 3), dir_.file("b.log"));
  // b's legacy id splits the token at the commas: refused with "token".
  EXPECT_NE(b.wait_exit(), 0);
  EXPECT_EQ(server->counters().refused["token"], 1u);
  Child c(ffmpeg_player(url(port, "streamid=cam1,token:tok,with,commas"), 4), dir_.file("c.log"));
  ASSERT_TRUE(wait_until([&] { return server->counters().subscribers == 2; })) << a.err() << c.err();
  EXPECT_EQ(server->channels_json()["subscriber"]["cam1"].size(), 2u);
  EXPECT_EQ(a.wait_exit(), 0) << a.err();
  EXPECT_EQ(c.wait_exit(), 0) << c.err();
  EXPECT_GE(frames_decoded(a.err()), 25);
  EXPECT_GE(frames_decoded(c.err()), 25);
  EXPECT_TRUE(wait_until([&] { return server->counters().subscribers == 0; }));
}

TEST_F(SrtServerTest, PublisherKilledEndsTheSubscribers) {
  auto server = start();
  auto port = server->port();
  Child pub(ffmpeg_publisher(url(port, "streamid=live,mode:publish")), dir_.file("pub.log"));
  ASSERT_TRUE(wait_until([&] { return server->counters().publishers == 1; })) << pub.err();
  Child play(ffmpeg_player(url(port, "streamid=live"), 0), dir_.file("play.log"));  // no -t: runs until EOF
  ASSERT_TRUE(wait_until([&] { return frames_decoded(play.err()) >= 10; })) << play.err();
  pub.signal(SIGKILL);
  // The server notices the publisher is gone (libsrt's peer idle timeout, 5 s) and closes the reader.
  int code = play.wait_exit(30s);
  EXPECT_NE(code, -1) << "ffmpeg player still running\n" << play.err();
  EXPECT_EQ(server->counters().publishers, 0u);
  EXPECT_EQ(server->counters().subscribers, 0u);
  EXPECT_TRUE(server->channels_json()["publisher"].empty());
}

TEST_F(SrtServerTest, SrtLiveTransmitInteroperates) {
  auto server = start();
  auto port = server->port();
  // srt-live-transmit publishes what a paced FFmpeg writes to its stdin...
  std::string cmd = "ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=25 "
                    "-c:v libx264 -preset ultrafast -g 50 -f mpegts - | srt-live-transmit -q file://con '" +
                    url(port, "streamid=slt,mode:publish") + "'";
  Child pub({"/bin/sh", "-c", cmd}, dir_.file("pub.log"));
  ASSERT_TRUE(wait_until([&] { return server->counters().publishers == 1; })) << pub.err();
  // ...and another one subscribes, writing a TS file that ffprobe reads back.
  std::string out = dir_.file("out.ts");
  Child sub({"srt-live-transmit", "-q", "-a:no", url(port, "streamid=#!:r=slt"), "file://con"}, dir_.file("sub.log"),
            out);
  ASSERT_TRUE(wait_until([&] { return read_file(out).size() > 300000; })) << sub.err();
  sub.signal(SIGTERM);
  sub.wait_exit();
  auto probe = util::run_command({"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", out});
  EXPECT_TRUE(probe.ok()) << probe.err;
  EXPECT_NE(probe.out.find("h264"), std::string::npos) << probe.out << probe.err;

  // FFmpeg reads what srt-live-transmit publishes.
  Child play(ffmpeg_player(url(port, "streamid=slt"), 4), dir_.file("play.log"));
  EXPECT_EQ(play.wait_exit(), 0) << play.err();
  EXPECT_GE(frames_decoded(play.err()), 25);
}

TEST_F(SrtServerTest, PassphraseRequiredWrongAndAbsent) {
  ServerOptions o;
  o.passphrase = "correct-horse-42";
  auto server = start(o);
  auto port = server->port();

  // FFmpeg with the right passphrase publishes; libsrt callers show the reject reasons.
  Child pub(ffmpeg_publisher(url(port, "streamid=enc,mode:publish&passphrase=correct-horse-42")),
            dir_.file("pub.log"));
  ASSERT_TRUE(wait_until([&] { return server->counters().publishers == 1; })) << pub.err();

  Caller c;
  EXPECT_EQ(c.connect(port, {.streamid = "enc", .passphrase = "wrong-horse-42"}), SRT_REJ_BADSECRET);
  EXPECT_EQ(c.connect(port, {.streamid = "enc"}), SRT_REJ_UNSECURE);
  EXPECT_EQ(c.connect(port, {.streamid = "enc", .passphrase = "correct-horse-42"}), 0);
  EXPECT_TRUE(wait_until([&] { return server->counters().subscribers == 1; }));
  c.close();

  // An FFmpeg player without the passphrase fails.
  Child play(ffmpeg_player(url(port, "streamid=enc"), 2), dir_.file("play.log"));
  EXPECT_NE(play.wait_exit(), 0);
  Child good(ffmpeg_player(url(port, "streamid=enc&passphrase=correct-horse-42"), 4), dir_.file("good.log"));
  EXPECT_EQ(good.wait_exit(), 0) << good.err();
  EXPECT_GE(frames_decoded(good.err()), 25);

  // The failed handshakes are counted once libsrt has dropped them.
  EXPECT_TRUE(wait_until([&] { return server->counters().refused["passphrase"] >= 3; }))
      << server->counters().refused["passphrase"];
  EXPECT_EQ(server->counters().pending, 0u);
}

TEST_F(SrtServerTest, EncryptedCallerRefusedWithoutPassphrase) {
  auto server = start();
  auto port = server->port();
  Caller pub;
  ASSERT_EQ(pub.connect(port, {.streamid = "plain,mode:publish"}), 0);
  Caller c;
  EXPECT_EQ(c.connect(port, {.streamid = "plain", .passphrase = "some-secret-1"}), SRT_REJ_UNSECURE);
  Child play(ffmpeg_player(url(port, "streamid=plain&passphrase=some-secret-1"), 1), dir_.file("play.log"));
  EXPECT_NE(play.wait_exit(), 0);
  EXPECT_EQ(server->counters().subscribers, 0u);
}

TEST_F(SrtServerTest, RejectReasons) {
  ServerOptions o;
  o.token = "s3cret";
  o.max_connections = 3;
  metrics::Registry metrics;
  o.metrics = &metrics;
  auto server = start(o);
  auto port = server->port();

  Caller pub;
  ASSERT_EQ(pub.connect(port, {.streamid = "r1,mode:publish,token:s3cret"}), 0);
  Caller c;
  EXPECT_EQ(c.connect(port, {.streamid = "r1,mode:publish,token:s3cret"}), SRT_REJX_CONFLICT);
  EXPECT_EQ(c.connect(port, {.streamid = "r1,token:wrong"}), SRT_REJX_UNAUTHORIZED);
  EXPECT_EQ(c.connect(port, {.streamid = "r1"}), SRT_REJX_UNAUTHORIZED);
  EXPECT_EQ(c.connect(port, {.streamid = "nobody,token:s3cret"}), SRT_REJX_NOTFOUND);
  EXPECT_EQ(c.connect(port, {.streamid = "r1,mode:play,token:s3cret"}), SRT_REJX_BAD_REQUEST);
  EXPECT_EQ(c.connect(port, {.streamid = ""}), SRT_REJX_BAD_REQUEST);
  EXPECT_EQ(c.connect(port, {.streamid = "#!:m=publish"}), SRT_REJX_BAD_REQUEST);
  Caller s1, s2;
  EXPECT_EQ(s1.connect(port, {.streamid = "r1,token:s3cret"}), 0);
  EXPECT_EQ(s2.connect(port, {.streamid = "#!:r=r1,token=s3cret"}), 0);
  EXPECT_EQ(c.connect(port, {.streamid = "r1,token:s3cret"}), SRT_REJX_OVERLOAD);

  // An FFmpeg publisher with a wrong token is refused too.
  Child bad(ffmpeg_publisher(url(port, "streamid=r2,mode:publish,token:nope")), dir_.file("bad.log"));
  EXPECT_NE(bad.wait_exit(), 0);

  auto n = server->counters();
  EXPECT_EQ(n.refused["conflict"], 1u);
  EXPECT_EQ(n.refused["token"], 3u);
  EXPECT_EQ(n.refused["notfound"], 1u);
  EXPECT_EQ(n.refused["streamid"], 3u);
  EXPECT_EQ(n.refused["limit"], 1u);
  std::map<std::string, double> refused;
  double publishers = -1, subscribers = -1;
  for (auto& s : metrics.collect()) {
    if (s.name == "dragonfork_srt_connections_refused_total") refused[s.labels.at(0).second] = s.value;
    if (s.name == "dragonfork_srt_publishers") publishers = s.value;
    if (s.name == "dragonfork_srt_subscribers") subscribers = s.value;
  }
  EXPECT_EQ(refused, (std::map<std::string, double>{{"conflict", 1}, {"limit", 1}, {"notfound", 1},
                                                     {"passphrase", 0}, {"streamid", 3}, {"token", 3}}));
  EXPECT_EQ(publishers, 1);
  EXPECT_EQ(subscribers, 2);
}

// Packets numbered by the publisher: a subscriber that never reads loses packets (its send buffer in
// the server fills up), the one that reads gets every packet in order, and the publisher is never held
// back.
TEST_F(SrtServerTest, SlowSubscriberDropsOnlyItsOwnPackets) {
  ServerOptions o;
  metrics::Registry metrics;
  o.metrics = &metrics;
  o.send_buffer_bytes = 1024 * 1024;  // ~700 packets per subscriber
  auto server = start(o);
  auto port = server->port();
  Caller pub, fast, slow;
  ASSERT_EQ(pub.connect(port, {.streamid = "burst,mode:publish"}), 0);
  ASSERT_EQ(slow.connect(port, {.streamid = "burst", .rcvbuf = 64 * 1024}), 0);  // flow window 32 packets
  ASSERT_EQ(fast.connect(port, {.streamid = "burst"}), 0);
  ASSERT_TRUE(wait_until([&] { return server->counters().subscribers == 2; }));

  constexpr int kPackets = 6000;  // ~7.9 MB in ~1.2 s, far more than the slow reader's buffers
  std::atomic<int> received{0};
  std::atomic<bool> in_order{true};
  std::thread reader([&] {
    std::array<char, 1500> buf{};
    int expect = 0;
    while (received < kPackets) {
      int n = fast.recv(buf.data(), buf.size(), 10s);
      if (n <= 0) break;
      int seq = 0;
      std::memcpy(&seq, buf.data(), sizeof seq);
      if (seq != expect) in_order = false;
      expect = seq + 1;
      ++received;
    }
  });
  std::array<char, 1316> pkt{};
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kPackets; ++i) {
    std::memcpy(pkt.data(), &i, sizeof i);
    ASSERT_TRUE(pub.send(pkt.data(), pkt.size()));
    if (i % 10 == 9) std::this_thread::sleep_for(2ms);  // ~50 Mbit/s
  }
  auto send_time = std::chrono::steady_clock::now() - t0;
  reader.join();
  EXPECT_EQ(received.load(), kPackets);
  EXPECT_TRUE(in_order.load());
  EXPECT_LT(send_time, 15s);
  auto n = server->counters();
  EXPECT_GT(n.subscriber_drops, 1000u);
  EXPECT_EQ(n.subscribers, 2u);  // the slow one is still connected: it only lost packets
  EXPECT_EQ(n.rx_bytes, kPackets * 1316u);
  double drops_metric = -1;
  for (auto& s : metrics.collect())
    if (s.name == "dragonfork_srt_subscriber_drops_total") drops_metric = s.value;
  EXPECT_EQ(drops_metric, static_cast<double>(n.subscriber_drops));
}

TEST_F(SrtServerTest, IdlePublisherIsClosed) {
  ServerOptions o;
  o.publisher_idle_timeout = 1000ms;
  auto server = start(o);
  Caller pub;
  ASSERT_EQ(pub.connect(server->port(), {.streamid = "quiet,mode:publish"}), 0);
  ASSERT_TRUE(wait_until([&] { return server->counters().publishers == 1; }));
  EXPECT_TRUE(wait_until([&] { return server->counters().publishers == 0; }, 10s));
  // The resource is free again.
  Caller again;
  EXPECT_EQ(again.connect(server->port(), {.streamid = "quiet,mode:publish"}), 0);
}

TEST_F(SrtServerTest, SessionsOfPublisherAndSubscriber) {
  session::Registry registry;
  auto collector = registry.add("srt", {});
  ServerOptions o;
  o.sessions = collector;
  auto server = start(o);
  Caller pub, sub;
  ASSERT_EQ(pub.connect(server->port(), {.streamid = "sess,mode:publish"}), 0);
  ASSERT_EQ(sub.connect(server->port(), {.streamid = "sess"}), 0);
  ASSERT_TRUE(wait_until([&] { return collector->active().size() == 2; }));
  std::array<char, 1316> pkt{};
  std::array<char, 1500> buf{};
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(pub.send(pkt.data(), pkt.size()));
  int got = 0;
  while (got < 200 && sub.recv(buf.data(), buf.size(), 5s) > 0) ++got;
  EXPECT_EQ(got, 200);
  ASSERT_TRUE(wait_until([&] {
    std::uint64_t rx = 0, tx = 0;
    for (auto& s : collector->active()) {
      rx += s.rx_bytes;
      tx += s.tx_bytes;
    }
    return rx >= 200 * 1316 && tx >= 200 * 1316;
  }));
  std::set<std::string> locations;
  for (auto& s : collector->active()) {
    locations.insert(s.location);
    EXPECT_EQ(s.reference, "sess");
    if (s.location == "publish:sess") {
      EXPECT_EQ(s.id, "sess");
      EXPECT_EQ(s.rx_bytes, 200u * 1316);
    } else {
      EXPECT_EQ(s.id, s.peer);
      EXPECT_EQ(s.peer.rfind("127.0.0.1:", 0), 0u) << s.peer;
      EXPECT_EQ(s.tx_bytes, 200u * 1316);
    }
  }
  EXPECT_EQ(locations, (std::set<std::string>{"publish:sess", "play:sess"}));
  pub.close();
  EXPECT_TRUE(wait_until([&] { return collector->active().empty(); }));
}

// Upstream's api.SRTStatistics (datarhei-core-v3-swagger.json, http/api/srt.go), verbatim.
const std::set<std::string> kUpstreamStatsFields{
    "avail_recv_buf_bytes", "avail_send_buf_bytes", "bandwidth_mbit", "flight_size_pkt", "flow_window_pkt",
    "max_bandwidth_mbit", "mss_bytes", "pkt_recv_avg_belated_time_ms", "pkt_send_period_us", "recv_ack_pkt",
    "recv_buf_bytes", "recv_buf_ms", "recv_buf_pkt", "recv_bytes", "recv_drop_bytes", "recv_drop_pkt",
    "recv_km_pkt", "recv_loss_bytes", "recv_loss_pkt", "recv_nak_pkt", "recv_pkt", "recv_retran_pkts",
    "recv_tsbpd_delay_ms", "recv_undecrypt_bytes", "recv_undecrypt_pkt", "recv_unique_bytes", "recv_unique_pkt",
    "reorder_tolerance_pkt", "rtt_ms", "send_buf_bytes", "send_buf_ms", "send_buf_pkt", "send_drop_bytes",
    "send_drop_pkt", "send_duration_us", "send_km_pkt", "send_loss_pkt", "send_tsbpd_delay_ms", "sent_ack_pkt",
    "sent_bytes", "sent_nak_pkt", "sent_pkt", "sent_retrans_bytes", "sent_retrans_pkt", "sent_unique_bytes",
    "sent_unique_pkt", "timestamp_ms"};

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> k;
  for (auto& [key, v] : j.items()) k.insert(key);
  return k;
}

TEST_F(SrtServerTest, ChannelsJsonHasUpstreamShape) {
  auto server = start();
  auto port = server->port();
  // Upstream's empty answer (reference/upstream-samples/get_srt.json).
  EXPECT_EQ(server->channels_json(),
            nlohmann::json::parse(R"({"publisher":{},"subscriber":{},"connections":{},"log":{}})"));

  Child pub(ffmpeg_publisher(url(port, "streamid=shape,mode:publish")), dir_.file("pub.log"));
  ASSERT_TRUE(wait_until([&] { return server->counters().publishers == 1; })) << pub.err();
  Child play(ffmpeg_player(url(port, "streamid=shape"), 0), dir_.file("play.log"));
  ASSERT_TRUE(wait_until([&] { return frames_decoded(play.err()) >= 25; })) << play.err();

  auto j = server->channels_json();
  EXPECT_EQ(keys(j), (std::set<std::string>{"publisher", "subscriber", "connections", "log"}));
  ASSERT_TRUE(j["publisher"]["shape"].is_number_integer()) << j.dump();
  ASSERT_TRUE(j["subscriber"]["shape"].is_array());
  ASSERT_EQ(j["subscriber"]["shape"].size(), 1u);
  auto pub_id = std::to_string(j["publisher"]["shape"].get<int>());
  auto sub_id = std::to_string(j["subscriber"]["shape"][0].get<int>());
  EXPECT_EQ(keys(j["connections"]), (std::set<std::string>{pub_id, sub_id}));
  for (auto& id : {pub_id, sub_id}) {
    auto& c = j["connections"][id];
    EXPECT_EQ(keys(c), (std::set<std::string>{"log", "stats"}));
    EXPECT_TRUE(c["log"].is_object());
    EXPECT_EQ(keys(c["stats"]), kUpstreamStatsFields);
    for (auto& [k, v] : c["stats"].items()) EXPECT_TRUE(v.is_number()) << k;
  }
  auto& ps = j["connections"][pub_id]["stats"];
  auto& ss = j["connections"][sub_id]["stats"];
  EXPECT_GT(ps["recv_pkt"].get<std::uint64_t>(), 50u);
  EXPECT_GT(ps["recv_bytes"].get<std::uint64_t>(), 50000u);
  EXPECT_GT(ps["sent_ack_pkt"].get<std::uint64_t>(), 0u);
  EXPECT_GT(ss["sent_pkt"].get<std::uint64_t>(), 50u);
  EXPECT_GT(ss["sent_unique_bytes"].get<std::uint64_t>(), 50000u);
  EXPECT_EQ(ss["mss_bytes"].get<std::uint64_t>(), 1500u);
  EXPECT_EQ(ps["recv_tsbpd_delay_ms"].get<std::uint64_t>(), 120u);
  EXPECT_GT(ps["timestamp_ms"].get<std::uint64_t>(), 0u);
}

TEST_F(SrtServerTest, UdpGarbageFromAThousandSocketsIsSurvived) {
  auto server = start();
  auto port = server->port();
  Caller pub;
  ASSERT_EQ(pub.connect(port, {.streamid = "g,mode:publish"}), 0);
  int baseline = open_fd_count();

  std::mt19937 rng(42);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> socks;
  for (int i = 0; i < 1000; ++i) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    socks.push_back(fd);
    std::array<std::uint8_t, 1500> buf{};
    std::size_t len = 1 + rng() % buf.size();
    for (std::size_t k = 0; k < len; ++k) buf[k] = static_cast<std::uint8_t>(rng());
    if (i % 4 == 0 && len >= 64) {
      // Control packet of type handshake (0x8000), version 4/5 fields: reaches the handshake code.
      buf[0] = 0x80;
      buf[1] = 0x00;
      buf[16] = 0;
      buf[17] = 0;
      buf[18] = 0;
      buf[19] = static_cast<std::uint8_t>(i % 8 < 4 ? 4 : 5);
    }
    for (int rep = 0; rep < 3; ++rep)
      sendto(fd, buf.data(), len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  for (int fd : socks) ::close(fd);
  // Still serving: a subscriber gets what the publisher sends.
  Caller sub;
  ASSERT_EQ(sub.connect(port, {.streamid = "g"}), 0);
  std::array<char, 1316> pkt{};
  std::array<char, 1500> buf{};
  bool got = false;
  for (int i = 0; i < 100 && !got; ++i) {
    pub.send(pkt.data(), pkt.size());
    got = sub.recv(buf.data(), buf.size(), 100ms) > 0;
  }
  EXPECT_TRUE(got);
  sub.close();
  EXPECT_TRUE(wait_until([&] { return server->counters().subscribers == 0; }));
  EXPECT_TRUE(wait_until([&] { return open_fd_count() <= baseline; })) << open_fd_count() << " vs " << baseline;
  EXPECT_EQ(server->counters().pending, 0u);
  EXPECT_TRUE(server->running());
}

TEST_F(SrtServerTest, StartStopLeavesNoDescriptors) {
  int baseline = open_fd_count();
  for (int i = 0; i < 3; ++i) {
    ServerOptions o;
    o.address = "127.0.0.1:0";
    Server server(o);
    server.start();
    Caller pub, sub;
    ASSERT_EQ(pub.connect(server.port(), {.streamid = "x,mode:publish"}), 0);
    ASSERT_EQ(sub.connect(server.port(), {.streamid = "x"}), 0);
    ASSERT_TRUE(wait_until([&] { return server.counters().subscribers == 1; }));
    server.stop();
    EXPECT_FALSE(server.running());
    EXPECT_EQ(server.port(), 0);
    EXPECT_EQ(server.channels_json()["publisher"].size(), 0u);
    server.stop();  // idempotent
  }
  EXPECT_TRUE(wait_until([&] { return open_fd_count() <= baseline; })) << open_fd_count() << " vs " << baseline;
}

TEST_F(SrtServerTest, EmptyHostListensOnAllInterfaces) {
  session::Registry registry;
  auto collector = registry.add("srt", {});
  ServerOptions o;
  o.address = ":0";  // IPv6 "::" dual stack (IPv4 0.0.0.0 where IPv6 is off)
  o.sessions = collector;
  Server server(o);
  server.start();
  ASSERT_NE(server.port(), 0);
  Caller pub;
  ASSERT_EQ(pub.connect(server.port(), {.streamid = "any,mode:publish"}), 0);
  ASSERT_TRUE(wait_until([&] { return collector->active().size() == 1; }));
  // IPv4 peers of a dual-stack socket are shown as IPv4, not as ::ffff:127.0.0.1.
  EXPECT_EQ(collector->active().at(0).peer.rfind("127.0.0.1:", 0), 0u) << collector->active().at(0).peer;
}

TEST_F(SrtServerTest, BadOptions) {
  ServerOptions o;
  o.passphrase = "short";
  EXPECT_THROW(Server{o}, std::invalid_argument);
  ServerOptions taken;
  auto first = start();
  taken.address = "127.0.0.1:" + std::to_string(first->port());
  Server second(taken);
  try {
    second.start();
    ADD_FAILURE() << "bound a port in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:"), std::string::npos) << e.what();
  }
  ServerOptions bad;
  bad.address = "127.0.0.1:99999";
  Server third(bad);
  EXPECT_THROW(third.start(), std::runtime_error);
}

}  // namespace
}  // namespace dragon::srt
