// Server hop latency of the WebRTC egress: RTP in (IngestTrack::on_rtp) → SRTP out (the viewer's
// sendto() returning), per packet and per viewer, with 1, 10 and 100 connected viewers.
//
//   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DDRAGON_BENCH=ON -DDRAGON_TESTS=OFF &&
//     ninja -C build-bench -j1 webrtc_hop_latency && build-bench/bench/webrtc_hop_latency
//
// Options: --viewers 1,10,100  --packets N (as fast as possible, per viewer count)  --paced-packets N
//          (at ~2 Mbps)  --rtp FILE.hex (one RTP packet per line; default: a 640x360 25 fps 2 Mbps
//          H.264 constrained-baseline capture made once with ffmpeg and kept next to the binary)
//          --out DIR (default bench/reports).
// Writes bench/reports/webrtc_hop_latency.{md,json}. Figures are reported, not asserted
// (the goal: p95 ≤ 1 ms at 100 viewers).
//
// What is real: the DTLS certificate, each viewer's ICE-lite check (a STUN Binding request with
// USERNAME, MESSAGE-INTEGRITY and USE-CANDIDATE), a full DTLS 1.2 handshake with an in-memory client
// transport, the negotiated SRTP profile, and one non-blocking sendto() per outgoing packet to a
// loopback UDP socket per viewer (drained outside the timed region). What is not: the server's epoll
// loop and its receive of FFmpeg's datagram (recvmmsg), which come before on_rtp().
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "webrtc/dtls.hpp"
#include "webrtc/ingest_track.hpp"
#include "webrtc/packet_pool.hpp"
#include "webrtc/stun.hpp"
#include "webrtc/viewer.hpp"

extern char** environ;

namespace {

using namespace dragon::webrtc;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------------
// The RTP source.

std::vector<Bytes> read_hex(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<Bytes> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Bytes b;
    for (std::size_t i = 0; i + 1 < line.size(); i += 2) b.push_back(static_cast<std::uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
    if (b.size() >= 12) out.push_back(std::move(b));
  }
  return out;
}

// Runs ffmpeg once (-re, 4 s) and records its RTP datagrams from a loopback socket.
std::vector<Bytes> capture_with_ffmpeg(const std::string& save_as) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind capture socket");
  int rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  socklen_t al = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &al);
  const std::string url = "rtp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  std::vector<std::string> args = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                                   "testsrc2=size=640x360:rate=25", "-t", "4", "-c:v", "libx264", "-profile:v",
                                   "baseline", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0", "-g", "25",
                                   "-b:v", "2M", "-maxrate", "2M", "-bufsize", "1M", "-pix_fmt", "yuv420p",
                                   "-payload_type", "96", "-ssrc", "305419896", "-pkt_size", "1200", "-f", "rtp", url};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  std::cerr << "capturing 4 s of RTP from ffmpeg (640x360 25 fps 2 Mbps baseline, GOP 25) ...\n";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);  // the SDP it prints
  const int spawned = posix_spawnp(&pid, "ffmpeg", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (spawned != 0) throw std::runtime_error("spawn ffmpeg");
  std::vector<Bytes> out;
  std::uint8_t buf[2048];
  bool exited = false;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, exited ? 300 : 100);
    if (r > 0) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n >= 12 && (buf[1] & 0x7f) == 96) out.emplace_back(buf, buf + n);
      continue;
    }
    if (exited) break;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("ffmpeg failed");
    }
  }
  close(fd);
  if (out.size() < 100) throw std::runtime_error("ffmpeg capture too short");
  std::ofstream f(save_as);
  f << "# RTP captured from: " ;
  for (std::size_t i = 0; i < args.size(); ++i) f << (i ? " " : "") << (i + 1 == args.size() ? "rtp://127.0.0.1:PORT" : args[i]);
  f << "\n";
  for (const auto& b : out) {
    for (auto c : b) {
      char h[3];
      std::snprintf(h, sizeof h, "%02x", c);
      f << h;
    }
    f << "\n";
  }
  return out;
}

// Loops the capture with continuous sequence numbers and timestamps (one SSRC: one epoch).
class Source {
 public:
  explicit Source(std::vector<Bytes> packets) : packets_(std::move(packets)) {
    first_seq_ = static_cast<std::uint16_t>(packets_[0][2] << 8 | packets_[0][3]);
    first_ts_ = ts_of(packets_[0]);
    std::uint32_t last = first_ts_;
    for (const auto& p : packets_) last = ts_of(p);
    loop_ticks_ = last - first_ts_ + 3600;  // one frame at 25 fps after the last one
    bytes_ = 0;
    for (const auto& p : packets_) bytes_ += p.size();
  }
  const Bytes& next() {
    const Bytes& src = packets_[index_ % packets_.size()];
    const std::uint32_t loop = static_cast<std::uint32_t>(index_ / packets_.size());
    scratch_ = src;
    const std::uint16_t seq = static_cast<std::uint16_t>(first_seq_ + index_);
    const std::uint32_t ts = ts_of(src) + loop * loop_ticks_;
    scratch_[2] = static_cast<std::uint8_t>(seq >> 8);
    scratch_[3] = static_cast<std::uint8_t>(seq);
    for (int i = 0; i < 4; ++i) scratch_[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
    ++index_;
    return scratch_;
  }
  std::size_t size() const { return packets_.size(); }
  double seconds_per_loop() const { return loop_ticks_ / 90000.0; }
  double mean_bitrate() const { return bytes_ * 8 / seconds_per_loop(); }
  std::size_t mean_packet_size() const { return bytes_ / packets_.size(); }

 private:
  static std::uint32_t ts_of(const Bytes& p) {
    return static_cast<std::uint32_t>(p[4]) << 24 | static_cast<std::uint32_t>(p[5]) << 16 |
           static_cast<std::uint32_t>(p[6]) << 8 | p[7];
  }
  std::vector<Bytes> packets_;
  Bytes scratch_;
  std::size_t index_ = 0;
  std::uint16_t first_seq_ = 0;
  std::uint32_t first_ts_ = 0;
  std::uint32_t loop_ticks_ = 0;
  std::size_t bytes_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Viewers, their loopback sinks and their in-memory DTLS clients.

struct Client final : DtlsTransport::Listener {
  std::deque<Bytes> to_server;
  bool connected = false;
  bool failed = false;
  std::string profile;
  void on_dtls_send(std::span<const std::uint8_t> d) override { to_server.emplace_back(d.begin(), d.end()); }
  void on_dtls_connected(const SrtpKeys& keys) override {
    connected = true;
    profile = std::string(srtp_profile_name(keys.profile));
  }
  void on_dtls_failed(std::string_view) override { failed = true; }
  void on_dtls_closed() override {}
};

struct Peer {
  int sink_fd = -1;
  Endpoint endpoint;  // the sink's address: where the viewer sends
  std::unique_ptr<Viewer> viewer;
  std::unique_ptr<Client> client;
  std::unique_ptr<DtlsTransport> dtls;
  std::deque<Bytes> to_client;  // server → client datagrams while handshaking
  bool handshaking = true;
  std::uint64_t sent = 0;
};

class Host final : public ViewerHost {
 public:
  Host() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind send socket");
    int sndbuf = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    port_to_peer_.assign(65536, -1);
  }
  ~Host() override { close(fd_); }

  bool viewer_send(const Endpoint& to, std::span<const std::uint8_t> d) override {
    const ssize_t r = sendto(fd_, d.data(), d.size(), MSG_DONTWAIT, to.sa(), to.len);
    const auto t = Clock::now();
    const int idx = port_to_peer_[ntohs(reinterpret_cast<const sockaddr_in&>(to.addr).sin_port)];
    Peer& p = *peers[static_cast<std::size_t>(idx)];
    ++p.sent;
    if (p.handshaking) {
      p.to_client.emplace_back(d.begin(), d.end());
    } else if (measuring) {
      if (samples.size() < samples.capacity()) samples.push_back(t - t0);
    }
    if (r < 0) ++send_errors;
    return r >= 0;
  }
  void viewer_address(Viewer&, const Endpoint&) override {}
  void viewer_needs_pacing() override {}  // the warm-up loop calls pace() itself
  void viewer_closed(Viewer&, std::string_view reason) override {
    std::cerr << "viewer closed: " << reason << "\n";
    ++closed;
  }

  void add_peer(Peer* p) {
    port_to_peer_[ntohs(reinterpret_cast<const sockaddr_in&>(p->endpoint.addr).sin_port)] = static_cast<int>(peers.size());
    peers.push_back(p);
  }

  std::vector<Peer*> peers;
  bool measuring = false;
  Clock::time_point t0{};
  std::vector<Clock::duration> samples;
  std::uint64_t send_errors = 0;
  int closed = 0;

 private:
  int fd_ = -1;
  std::vector<int> port_to_peer_;
};

std::uint64_t drain(int fd) {
  static std::uint8_t buf[2048];
  std::uint64_t n = 0;
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++n;
  return n;
}

std::unique_ptr<Peer> connect_viewer(Host& host, int index, const DtlsCertificate& server_cert,
                                     const DtlsCertificate& client_cert, IngestTrack& video) {
  auto p = std::make_unique<Peer>();
  p->sink_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(p->sink_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind sink");
  int rcvbuf = 1 << 20;
  setsockopt(p->sink_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  socklen_t al = sizeof a;
  getsockname(p->sink_fd, reinterpret_cast<sockaddr*>(&a), &al);
  std::memcpy(&p->endpoint.addr, &a, sizeof a);
  p->endpoint.len = sizeof a;
  host.add_peer(p.get());

  ViewerConfig cfg;
  cfg.resource_id = "bench-" + std::to_string(index);
  cfg.process_id = "bench";
  cfg.local_ufrag = "srv" + std::to_string(index);
  cfg.local_pwd = "server-password-" + std::to_string(index) + "-0123456789";
  cfg.remote_ufrag = "cli" + std::to_string(index);
  cfg.remote_pwd = "client-password-" + std::to_string(index) + "-0123456789";
  cfg.fingerprint_algorithm = "sha-256";
  cfg.fingerprint = client_cert.fingerprint_sha256();
  cfg.video = OutboundTrackConfig{.payload_type = 102, .ssrc = 0x10000u + static_cast<std::uint32_t>(index), .nack = true, .pli = true};
  cfg.cname = "bench";
  cfg.gop_cache = true;
  p->viewer = std::make_unique<Viewer>(cfg, server_cert, host, &video, nullptr, Clock::now());

  // ICE-lite: one nominating connectivity check.
  std::uint8_t stun[512];
  StunTransactionId tid{};
  for (std::size_t i = 0; i < tid.size(); ++i) tid[i] = static_cast<std::uint8_t>(index * 13 + static_cast<int>(i));
  const std::string username = cfg.local_ufrag + ":" + cfg.remote_ufrag;
  const auto n = write_binding_request(stun, tid, username, cfg.local_pwd, 0x6e7f1eff, true, 0x1234567890abcdefull, true);
  const auto msg = parse_stun({stun, n});
  if (!n || !msg) throw std::runtime_error("STUN request");
  p->viewer->on_stun(*msg, {stun, n}, p->endpoint, Clock::now());
  if (!p->viewer->ice_connected()) throw std::runtime_error("viewer did not accept the STUN check");
  p->to_client.clear();  // the Binding success

  // DTLS, client role, in memory.
  p->client = std::make_unique<Client>();
  p->dtls = std::make_unique<DtlsTransport>(client_cert, DtlsTransport::Role::Client, *p->client, "sha-256",
                                            server_cert.fingerprint_sha256());
  p->dtls->start();
  for (int rounds = 0; rounds < 100 && !(p->client->connected && p->viewer->state() == Viewer::State::Playing); ++rounds) {
    while (!p->client->to_server.empty()) {
      Bytes d = std::move(p->client->to_server.front());
      p->client->to_server.pop_front();
      p->viewer->on_datagram(d, p->endpoint, Clock::now());
    }
    while (!p->to_client.empty()) {
      Bytes d = std::move(p->to_client.front());
      p->to_client.pop_front();
      p->dtls->on_datagram(d);
    }
  }
  if (!p->client->connected || p->viewer->state() != Viewer::State::Playing)
    throw std::runtime_error("DTLS handshake did not complete for viewer " + std::to_string(index));
  p->handshaking = false;
  drain(p->sink_fd);
  return p;
}

// ---------------------------------------------------------------------------------------------

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct Result {
  int viewers = 0;
  std::string mode;
  std::size_t packets = 0;
  std::size_t samples = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0, mean = 0;                // µs, per packet per viewer
  double fanout_p50 = 0, fanout_p95 = 0, fanout_p99 = 0, fanout_max = 0;  // µs, on_rtp() call
  double packets_per_s = 0;        // 1 / mean on_rtp() wall time
  double cpu_us_per_packet_viewer = 0;
  std::uint64_t send_errors = 0;
  bool complete = true;
};

double pct(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

Result run(int viewers, std::size_t packets, bool paced, const std::vector<Bytes>& capture,
           const DtlsCertificate& server_cert, const DtlsCertificate& client_cert, std::string& srtp_profile) {
  PacketPool pool;
  IngestTrack video(TrackKind::Video, pool);
  Host host;
  std::vector<std::unique_ptr<Peer>> peers;
  for (int i = 0; i < viewers; ++i) peers.push_back(connect_viewer(host, i, server_cert, client_cert, video));
  srtp_profile = std::string(peers[0]->viewer->srtp_profile());

  Source src(capture);
  // Warm-up: one pass of the capture; viewers start at the first keyframe (GOP-cache burst, paced
  // by pace()) and are live afterwards. The pool and the cache reach their steady size.
  for (std::size_t i = 0; i < capture.size() * 2; ++i) {
    const auto& d = src.next();
    const auto now = Clock::now();
    video.on_rtp(d, now);
    for (auto& p : peers) {
      if (p->viewer->catching_up()) p->viewer->pace(now);
      drain(p->sink_fd);
    }
  }
  for (auto& p : peers) {
    if (p->viewer->catching_up()) throw std::runtime_error("viewer still catching up after warm-up");
  }

  host.samples.clear();
  host.samples.reserve(packets * static_cast<std::size_t>(viewers));
  std::vector<double> fanout;
  fanout.reserve(packets);
  double cpu = 0;
  double wall_us = 0;
  const double bits_per_s = 2e6;
  auto next_send = Clock::now();
  for (std::size_t i = 0; i < packets; ++i) {
    const auto& d = src.next();
    if (paced) {
      std::this_thread::sleep_until(next_send);
      next_send += std::chrono::nanoseconds(static_cast<long long>(d.size() * 8 / bits_per_s * 1e9));
    }
    host.measuring = true;
    const double c0 = thread_cpu_us();
    host.t0 = Clock::now();
    video.on_rtp(d, host.t0);
    const auto t1 = Clock::now();
    const double c1 = thread_cpu_us();
    host.measuring = false;
    cpu += c1 - c0;
    const double us = std::chrono::duration<double, std::micro>(t1 - host.t0).count();
    wall_us += us;
    fanout.push_back(us);
    for (auto& p : peers) drain(p->sink_fd);
  }

  Result r;
  r.viewers = viewers;
  r.mode = paced ? "paced ~2 Mbps" : "as fast as possible";
  r.packets = packets;
  r.samples = host.samples.size();
  r.complete = host.samples.size() == packets * static_cast<std::size_t>(viewers);
  std::vector<double> v;
  v.reserve(host.samples.size());
  double sum = 0;
  for (auto s : host.samples) {
    v.push_back(std::chrono::duration<double, std::micro>(s).count());
    sum += v.back();
  }
  std::sort(v.begin(), v.end());
  r.p50 = pct(v, 0.50);
  r.p95 = pct(v, 0.95);
  r.p99 = pct(v, 0.99);
  r.max = v.empty() ? 0 : v.back();
  r.mean = v.empty() ? 0 : sum / static_cast<double>(v.size());
  std::sort(fanout.begin(), fanout.end());
  r.fanout_p50 = pct(fanout, 0.50);
  r.fanout_p95 = pct(fanout, 0.95);
  r.fanout_p99 = pct(fanout, 0.99);
  r.fanout_max = fanout.empty() ? 0 : fanout.back();
  r.packets_per_s = wall_us > 0 ? static_cast<double>(packets) / (wall_us / 1e6) : 0;
  r.cpu_us_per_packet_viewer = cpu / static_cast<double>(packets) / viewers;
  r.send_errors = host.send_errors;
  for (auto& p : peers) close(p->sink_fd);
  peers.clear();
  return r;
}

std::string fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> counts = {1, 10, 100};
  std::size_t packets = 5000;
  std::size_t paced_packets = 1500;
  std::string rtp_file;
  std::string out_dir = std::string(DRAGON_SOURCE_DIR) + "/bench/reports";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--viewers") {
      counts.clear();
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) counts.push_back(std::stoi(item));
    } else if (k == "--packets") {
      packets = std::stoul(v);
    } else if (k == "--paced-packets") {
      paced_packets = std::stoul(v);
    } else if (k == "--rtp") {
      rtp_file = v;
    } else if (k == "--out") {
      out_dir = v;
    } else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  try {
    std::vector<Bytes> capture;
    if (rtp_file.empty()) {
      const auto cached = std::filesystem::canonical("/proc/self/exe").parent_path() / "webrtc_hop_rtp_640x360.hex";
      rtp_file = cached.string();
      capture = std::filesystem::exists(cached) ? read_hex(rtp_file) : capture_with_ffmpeg(rtp_file);
    } else {
      capture = read_hex(rtp_file);
    }
    Source info(capture);
    std::cerr << capture.size() << " RTP packets from " << rtp_file << ", " << fmt(info.mean_bitrate() / 1e6, 2)
              << " Mbps, mean " << info.mean_packet_size() << " bytes\n";

    const auto server_cert = DtlsCertificate::generate("dragon-core");
    const auto client_cert = DtlsCertificate::generate("bench-client");
    std::vector<Result> results;
    std::string profile;
    for (bool paced : {false, true}) {
      for (int n : counts) {
        const auto r = run(n, paced ? paced_packets : packets, paced, capture, *server_cert, *client_cert, profile);
        std::cerr << n << " viewers, " << r.mode << ": p50 " << fmt(r.p50) << " µs, p95 " << fmt(r.p95) << " µs, p99 "
                  << fmt(r.p99) << " µs, max " << fmt(r.max) << " µs; " << fmt(r.packets_per_s, 0) << " packets/s; "
                  << fmt(r.cpu_us_per_packet_viewer, 2) << " CPU µs per packet per viewer\n";
        results.push_back(r);
      }
    }

    nlohmann::json j;
    j["benchmark"] = "webrtc_hop_latency";
    j["what"] = "time from just before IngestTrack::on_rtp() to each viewer's sendto() returning (per packet, per viewer)";
    j["rtp_source"] = rtp_file;
    j["rtp_packets_in_capture"] = capture.size();
    j["rtp_mean_bitrate_bps"] = info.mean_bitrate();
    j["rtp_mean_packet_bytes"] = info.mean_packet_size();
    j["srtp_profile"] = profile;
    j["goal"] = "p95 <= 1000 us at 100 viewers";
    for (const auto& r : results) {
      j["results"].push_back({{"viewers", r.viewers},
                              {"mode", r.mode},
                              {"packets", r.packets},
                              {"samples", r.samples},
                              {"all_viewers_got_every_packet", r.complete},
                              {"p50_us", r.p50},
                              {"p95_us", r.p95},
                              {"p99_us", r.p99},
                              {"max_us", r.max},
                              {"mean_us", r.mean},
                              {"fanout_p50_us", r.fanout_p50},
                              {"fanout_p95_us", r.fanout_p95},
                              {"fanout_p99_us", r.fanout_p99},
                              {"fanout_max_us", r.fanout_max},
                              {"packets_per_s", r.packets_per_s},
                              {"cpu_us_per_packet_per_viewer", r.cpu_us_per_packet_viewer},
                              {"send_errors", r.send_errors}});
    }
    std::filesystem::create_directories(out_dir);
    std::ofstream(out_dir + "/webrtc_hop_latency.json") << j.dump(2) << "\n";

    std::ostringstream md;
    md << "# WebRTC hop latency: RTP in → SRTP out\n\n"
       << "Command: `cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DDRAGON_BENCH=ON "
          "-DDRAGON_TESTS=OFF && ninja -C build-bench -j1 webrtc_hop_latency && build-bench/bench/webrtc_hop_latency`\n\n"
       << "Per packet and per viewer: the time from just before `IngestTrack::on_rtp()` to that viewer's non-blocking "
          "`sendto()` (to a loopback UDP socket per viewer) returning. Viewers are connected for real (STUN check, DTLS "
          "handshake with an in-memory client, SRTP profile `"
       << profile << "`) and live (past the GOP-cache burst). Source: " << capture.size() << " RTP packets ("
       << fmt(info.mean_bitrate() / 1e6, 2) << " Mbps, mean " << info.mean_packet_size()
       << " bytes) looped with continuous sequence numbers and timestamps. The fan-out is sequential, so viewer k's "
          "figure includes the k−1 viewers served before it; *fan-out* is the whole `on_rtp()` call. *packets/s* is "
          "1 / mean `on_rtp()` time (the hop's ceiling on one core); *CPU* is thread CPU time over the `on_rtp()` calls "
          "(includes two `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` calls per packet). Goal from the issue: p95 ≤ 1 ms at "
          "100 viewers. Reported, not asserted; this machine has 2 cores shared with other work.\n\n"
       << "| viewers | mode | packets | p50 µs | p95 µs | p99 µs | max µs | fan-out p95 µs | packets/s | CPU µs / packet / viewer |\n"
       << "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : results) {
      md << "| " << r.viewers << " | " << r.mode << " | " << r.packets << " | " << fmt(r.p50) << " | " << fmt(r.p95)
         << " | " << fmt(r.p99) << " | " << fmt(r.max) << " | " << fmt(r.fanout_p95) << " | " << fmt(r.packets_per_s, 0)
         << " | " << fmt(r.cpu_us_per_packet_viewer, 2) << " |\n";
    }
    bool all_complete = true;
    std::uint64_t errors = 0;
    for (const auto& r : results) {
      all_complete = all_complete && r.complete;
      errors += r.send_errors;
    }
    md << "\nEvery viewer sent every measured packet: " << (all_complete ? "yes" : "NO") << "; sendto() errors: " << errors
       << ".\n";
    std::ofstream(out_dir + "/webrtc_hop_latency.md") << md.str();
    std::cout << md.str();
  } catch (const std::exception& e) {
    std::cerr << "webrtc_hop_latency: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
