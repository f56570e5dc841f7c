#include "srt/server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <srt/access_control.h>
#include <srt/logging_api.h>
#include <srt/srt.h>
#include <sys/socket.h>
#include <sys/syslog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "log/log.hpp"
#include "metrics/registry.hpp"
#include "session/registry.hpp"
#include "srt/streamid.hpp"
#include "util/strings.hpp"

namespace dragon::srt {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kComponent = "SRT";
constexpr std::size_t kRefusalCount = 7;
constexpr std::array<Refusal, 6> kRefusals{Refusal::Token,    Refusal::Passphrase, Refusal::Conflict,
                                           Refusal::NotFound, Refusal::StreamId,   Refusal::Limit};

std::string last_error() { return srt_getlasterror_str(); }

// ---- libsrt's lifetime and log ----------------------------------------------------------------------

std::atomic<std::int64_t> g_log_second{0};
std::atomic<int> g_log_lines{0};
constexpr int kLogLinesPerSecond = 20;

void libsrt_log(void*, int level, const char*, int, const char* area, const char* message) {
  // libsrt may log a warning per bad packet: keep at most kLogLinesPerSecond lines a second.
  auto sec = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  if (g_log_second.exchange(sec) != sec) g_log_lines = 0;
  if (++g_log_lines > kLogLinesPerSecond) return;
  std::string_view m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r' || m.back() == ' ')) m.remove_suffix(1);
  log::write(level <= LOG_ERR ? log::Level::Error : log::Level::Warn, kComponent, m,
             {{"area", area ? area : ""}});
}

std::mutex g_lib_mu;
int g_lib_refs = 0;

void library_acquire() {
  std::lock_guard lock(g_lib_mu);
  if (g_lib_refs++ > 0) return;
  if (srt_startup() < 0) {
    --g_lib_refs;
    throw std::runtime_error("SRT: srt_startup failed: " + last_error());
  }
  srt_setloglevel(LOG_WARNING);
  srt_setlogflags(SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_THREADNAME | SRT_LOGF_DISABLE_SEVERITY |
                  SRT_LOGF_DISABLE_EOL);
  srt_setloghandler(nullptr, &libsrt_log);
}

void library_release() {
  std::lock_guard lock(g_lib_mu);
  if (--g_lib_refs == 0) srt_cleanup();
}

// ---- addresses ----------------------------------------------------------------------------------------

// "ip:port" ("[v6]:port"); IPv4-mapped IPv6 addresses are shown as IPv4. ip_only gets the bare IP.
std::string format_addr(const sockaddr* sa, std::string* ip_only = nullptr) {
  char host[INET6_ADDRSTRLEN] = {0};
  unsigned port = 0;
  bool v6 = false;
  if (sa == nullptr) return "unknown";
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    port = ntohs(in6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
    } else {
      inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
      v6 = true;
    }
  } else {
    return "unknown";
  }
  if (ip_only) *ip_only = host;
  return v6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

struct ListenAddress {
  sockaddr_storage sa{};
  socklen_t len = 0;
  bool dual_stack = false;  // "::" with IPv6ONLY off
};

// host:port, [v6]:port, :port. An empty host listens on every interface.
std::vector<ListenAddress> resolve_listen(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("SRT: address '" + address + "' has no port");
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
      std::stoul(port) > 65535)
    throw std::runtime_error("SRT: address '" + address + "' has an invalid port");
  std::vector<ListenAddress> out;
  auto p = static_cast<std::uint16_t>(std::stoul(port));
  if (host.empty()) {
    ListenAddress a6;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a6.sa);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(p);
    in6->sin6_addr = in6addr_any;
    a6.len = sizeof(sockaddr_in6);
    a6.dual_stack = true;
    out.push_back(a6);
    ListenAddress a4;  // fallback when IPv6 is disabled
    auto* in = reinterpret_cast<sockaddr_in*>(&a4.sa);
    in->sin_family = AF_INET;
    in->sin_port = htons(p);
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    a4.len = sizeof(sockaddr_in);
    out.push_back(a4);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) throw std::runtime_error("SRT: cannot resolve '" + address + "': " + gai_strerror(rc));
  for (auto* ai = res; ai; ai = ai->ai_next) {
    ListenAddress a;
    std::memcpy(&a.sa, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    out.push_back(a);
  }
  freeaddrinfo(res);
  if (out.empty()) throw std::runtime_error("SRT: no address for '" + address + "'");
  return out;
}

template <class T>
bool set_flag(SRTSOCKET s, SRT_SOCKOPT opt, T value) {
  return srt_setsockflag(s, opt, &value, sizeof value) == 0;
}

std::uint64_t u64(std::int64_t v) { return v < 0 ? 0 : static_cast<std::uint64_t>(v); }

// Upstream's SRTStatistics (http/api/srt.go; names as in its swagger) from libsrt's counters. The
// server never clears the statistics, so libsrt's interval figures cover the socket's whole life;
// libsrt 1.5.1 has no received-retransmission total (the interval one is used) and no KM packet counts.
nlohmann::json stats_json(const SRT_TRACEBSTATS& s) {
  return {
      {"timestamp_ms", u64(s.msTimeStamp)},
      {"sent_pkt", u64(s.pktSentTotal)},
      {"recv_pkt", u64(s.pktRecvTotal)},
      {"sent_unique_pkt", u64(s.pktSentUniqueTotal)},
      {"recv_unique_pkt", u64(s.pktRecvUniqueTotal)},
      {"send_loss_pkt", u64(s.pktSndLossTotal)},
      {"recv_loss_pkt", u64(s.pktRcvLossTotal)},
      {"sent_retrans_pkt", u64(s.pktRetransTotal)},
      {"recv_retran_pkts", u64(s.pktRcvRetrans)},
      {"sent_ack_pkt", u64(s.pktSentACKTotal)},
      {"recv_ack_pkt", u64(s.pktRecvACKTotal)},
      {"sent_nak_pkt", u64(s.pktSentNAKTotal)},
      {"recv_nak_pkt", u64(s.pktRecvNAKTotal)},
      {"send_km_pkt", 0},
      {"recv_km_pkt", 0},
      {"send_duration_us", u64(s.usSndDurationTotal)},
      {"send_drop_pkt", u64(s.pktSndDropTotal)},
      {"recv_drop_pkt", u64(s.pktRcvDropTotal)},
      {"recv_undecrypt_pkt", u64(s.pktRcvUndecryptTotal)},
      {"sent_bytes", s.byteSentTotal},
      {"recv_bytes", s.byteRecvTotal},
      {"sent_unique_bytes", s.byteSentUniqueTotal},
      {"recv_unique_bytes", s.byteRecvUniqueTotal},
      {"recv_loss_bytes", s.byteRcvLossTotal},
      {"sent_retrans_bytes", s.byteRetransTotal},
      {"send_drop_bytes", s.byteSndDropTotal},
      {"recv_drop_bytes", s.byteRcvDropTotal},
      {"recv_undecrypt_bytes", s.byteRcvUndecryptTotal},
      {"pkt_send_period_us", s.usPktSndPeriod},
      {"flow_window_pkt", u64(s.pktFlowWindow)},
      {"flight_size_pkt", u64(s.pktFlightSize)},
      {"rtt_ms", s.msRTT},
      {"bandwidth_mbit", s.mbpsBandwidth},
      {"avail_send_buf_bytes", u64(s.byteAvailSndBuf)},
      {"avail_recv_buf_bytes", u64(s.byteAvailRcvBuf)},
      {"max_bandwidth_mbit", s.mbpsMaxBW},
      {"mss_bytes", u64(s.byteMSS)},
      {"send_buf_pkt", u64(s.pktSndBuf)},
      {"send_buf_bytes", u64(s.byteSndBuf)},
      {"send_buf_ms", u64(s.msSndBuf)},
      {"send_tsbpd_delay_ms", u64(s.msSndTsbPdDelay)},
      {"recv_buf_pkt", u64(s.pktRcvBuf)},
      {"recv_buf_bytes", u64(s.byteRcvBuf)},
      {"recv_buf_ms", u64(s.msRcvBuf)},
      {"recv_tsbpd_delay_ms", u64(s.msRcvTsbPdDelay)},
      {"reorder_tolerance_pkt", u64(s.pktReorderTolerance)},
      {"pkt_recv_avg_belated_time_ms", s.pktRcvAvgBelatedTime > 0 ? static_cast<std::uint64_t>(s.pktRcvAvgBelatedTime) : 0},
  };
}

// libsrt's listen callback gets a raw pointer; it reaches the server through this table so that a
// callback running while the server stops never touches a destroyed one.
std::mutex g_servers_mu;
std::unordered_map<std::uintptr_t, std::weak_ptr<Server::Impl>> g_servers;
std::uintptr_t g_next_server = 1;

}  // namespace

std::string_view refusal_label(Refusal r) {
  switch (r) {
    case Refusal::None: return "";
    case Refusal::StreamId: return "streamid";
    case Refusal::Token: return "token";
    case Refusal::Passphrase: return "passphrase";
    case Refusal::Conflict: return "conflict";
    case Refusal::NotFound: return "notfound";
    case Refusal::Limit: return "limit";
  }
  return "";
}

int refusal_code(Refusal r) {
  switch (r) {
    case Refusal::None: return 0;
    case Refusal::StreamId: return SRT_REJX_BAD_REQUEST;
    case Refusal::Token: return SRT_REJX_UNAUTHORIZED;
    case Refusal::Passphrase: return SRT_REJX_FORBIDDEN;
    case Refusal::Conflict: return SRT_REJX_CONFLICT;
    case Refusal::NotFound: return SRT_REJX_NOTFOUND;
    case Refusal::Limit: return SRT_REJX_OVERLOAD;
  }
  return SRT_REJX_FALLBACK;
}

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  explicit Impl(ServerOptions o) : opt_(std::move(o)) {
    if (!opt_.passphrase.empty() && (opt_.passphrase.size() < 10 || opt_.passphrase.size() > 79))
      throw std::invalid_argument("SRT: the passphrase must be 10 to 79 characters long");
    if (opt_.metrics) {
      auto& m = *opt_.metrics;
      m_publishers_ = m.gauge("dragonfork_srt_publishers", "SRT publishers connected now").with();
      m_subscribers_ = m.gauge("dragonfork_srt_subscribers", "SRT subscribers connected now").with();
      m_rx_ = m.counter("dragonfork_srt_rx_bytes_total", "Payload bytes received from SRT publishers").with();
      m_tx_ = m.counter("dragonfork_srt_tx_bytes_total", "Payload bytes sent to SRT subscribers").with();
      m_drops_ = m.counter("dragonfork_srt_subscriber_drops_total",
                           "Messages not sent to an SRT subscriber because its send buffer was full")
                     .with();
      auto& refused = m.counter("dragonfork_srt_connections_refused_total",
                                "SRT connection attempts refused, by reason", {"reason"});
      for (auto r : kRefusals) m_refused_[static_cast<std::size_t>(r)] = refused.with({refusal_label(r)});
    }
  }

  ~Impl() = default;

  void start();
  void stop();
  bool running() const {
    std::lock_guard lock(mu_);
    return accepting_;
  }
  std::uint16_t port() const {
    std::lock_guard lock(mu_);
    return port_;
  }
  nlohmann::json channels_json() const;
  ServerCounters counters() const;

  // Runs on libsrt's receiver thread during the handshake.
  int admit(SRTSOCKET ns, int hsversion, const sockaddr* peer, const char* streamid);

 private:
  struct Conn;
  struct Channel {
    Conn* publisher = nullptr;
    std::vector<Conn*> subscribers;
  };
  struct Conn {
    SRTSOCKET sock = SRT_INVALID_SOCK;
    std::string resource;
    Mode mode = Mode::Request;
    std::string peer, peer_ip;
    std::string session_id;  // "" = not collected
    Channel* channel = nullptr;
    Clock::time_point last_rx;
    std::uint64_t rx_unbooked = 0, tx_unbooked = 0;
    std::uint64_t drops = 0, send_errors = 0;
    bool dead = false;
  };
  struct Pending {
    std::string resource;
    Mode mode = Mode::Request;
    std::string peer;
    Clock::time_point at;
  };
  struct PublisherEntry {
    SRTSOCKET sock = SRT_INVALID_SOCK;
    bool accepted = false;
  };

  void loop();
  void accept_all();
  void on_accepted(SRTSOCKET s);
  void read_publisher(Conn* c);
  void drain_subscriber(Conn* c);
  void close_conn(Conn* c, std::string_view why);
  void tick(Clock::time_point now);
  void book(Conn* c);
  void count_refusal(Refusal r) {
    refused_[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    if (auto& h = m_refused_[static_cast<std::size_t>(r)]) h->inc();
  }
  void refuse_log(Refusal r, std::string_view detail, const std::string& resource, std::string_view mode,
                  const std::string& peer) {
    log::warn(kComponent, "connection refused",
              {{"reason", std::string(refusal_label(r))}, {"detail", std::string(detail)}, {"resource", resource},
               {"mode", std::string(mode)}, {"client", peer}});
  }

  const ServerOptions opt_;

  // Metrics handles (null without a registry) and our own counters.
  std::shared_ptr<metrics::Gauge> m_publishers_, m_subscribers_;
  std::shared_ptr<metrics::Counter> m_rx_, m_tx_, m_drops_;
  std::array<std::shared_ptr<metrics::Counter>, kRefusalCount> m_refused_;
  std::atomic<std::uint64_t> rx_{0}, tx_{0}, drops_{0}, n_publishers_{0}, n_subscribers_{0};
  std::array<std::atomic<std::uint64_t>, kRefusalCount> refused_{};

  std::mutex life_mu_;  // serialises start() and stop()
  bool started_ = false;

  // Shared with the listen callback and the API (mu_). libsrt is never called with mu_ held.
  mutable std::mutex mu_;
  bool accepting_ = false;
  SRTSOCKET lsn_ = SRT_INVALID_SOCK;
  int eid_ = -1;
  std::uint16_t port_ = 0;
  std::uintptr_t reg_id_ = 0;
  std::unordered_map<SRTSOCKET, Pending> pending_;  // admitted, not accepted yet
  std::map<std::string, PublisherEntry> publishers_;  // reserved at admission
  std::map<std::string, std::vector<SRTSOCKET>> subscribers_;
  std::size_t live_ = 0;  // accepted connections

  // The loop's own state (no lock).
  std::thread thread_;
  std::atomic<bool> run_{false};
  std::unordered_map<SRTSOCKET, std::unique_ptr<Conn>> conns_;
  std::unordered_map<std::string, Channel> channels_;
  std::array<char, 1500> buf_{};  // one live-mode message (payload ≤ 1456 bytes)
  std::vector<Conn*> dead_;
};

// ---- start / stop -------------------------------------------------------------------------------------

static int listen_hook(void* opaque, SRTSOCKET ns, int hsversion, const sockaddr* peer, const char* streamid) {
  std::shared_ptr<Server::Impl> self;
  {
    std::lock_guard lock(g_servers_mu);
    auto it = g_servers.find(reinterpret_cast<std::uintptr_t>(opaque));
    if (it != g_servers.end()) self = it->second.lock();
  }
  if (!self) {
    srt_setrejectreason(ns, SRT_REJX_DOWN);
    return -1;
  }
  return self->admit(ns, hsversion, peer, streamid);
}

void Server::Impl::start() {
  // Rule for this file: libsrt is never called while mu_ is held. libsrt's receiver thread runs the
  // listen callback (which takes mu_) with libsrt's own locks held, so the other order could deadlock.
  std::lock_guard life(life_mu_);
  if (started_) return;
  library_acquire();
  SRTSOCKET s = SRT_INVALID_SOCK;
  int eid = -1;
  std::uint16_t port = 0;
  try {
    auto addrs = resolve_listen(opt_.address);
    std::string error;
    for (auto& a : addrs) {
      s = srt_create_socket();
      if (s == SRT_INVALID_SOCK) throw std::runtime_error("SRT: cannot create a socket: " + last_error());
      // Payload size 1456 (live mode's maximum) on the accepted sockets, so that a publisher's larger
      // messages (srt-live-transmit sends 1456 bytes by default) can be relayed, not only 1316-byte TS.
      bool ok = set_flag(s, SRTO_TRANSTYPE, SRTT_LIVE) && set_flag(s, SRTO_RCVSYN, false) &&
                set_flag(s, SRTO_PAYLOADSIZE, static_cast<int>(SRT_LIVE_MAX_PLSIZE)) &&
                (opt_.send_buffer_bytes == 0 || set_flag(s, SRTO_SNDBUF, static_cast<int>(opt_.send_buffer_bytes))) &&
                set_flag(s, SRTO_SNDSYN, false) &&
                set_flag(s, SRTO_LATENCY, static_cast<int>(opt_.latency.count())) &&
                set_flag(s, SRTO_ENFORCEDENCRYPTION, true);
      if (ok && a.dual_stack) ok = set_flag(s, SRTO_IPV6ONLY, 0);
      if (!ok) throw std::runtime_error("SRT: cannot configure the listener: " + last_error());
      if (srt_bind(s, reinterpret_cast<const sockaddr*>(&a.sa), static_cast<int>(a.len)) == 0) break;
      error = last_error();
      srt_close(s);
      s = SRT_INVALID_SOCK;
    }
    if (s == SRT_INVALID_SOCK) throw std::runtime_error("SRT: cannot bind " + opt_.address + ": " + error);
    sockaddr_storage bound{};
    int blen = sizeof bound;
    if (srt_getsockname(s, reinterpret_cast<sockaddr*>(&bound), &blen) == 0) {
      port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }
    eid = srt_epoll_create();
    if (eid < 0) throw std::runtime_error("SRT: cannot create an epoll: " + last_error());
    srt_epoll_set(eid, SRT_EPOLL_ENABLE_EMPTY);
    int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    if (srt_epoll_add_usock(eid, s, &events) != 0)
      throw std::runtime_error("SRT: cannot watch the listener: " + last_error());
    {
      std::lock_guard glock(g_servers_mu);
      reg_id_ = g_next_server++;
      g_servers[reg_id_] = weak_from_this();
    }
    {
      std::lock_guard lock(mu_);
      accepting_ = true;
      port_ = port;
    }
    if (srt_listen_callback(s, &listen_hook, reinterpret_cast<void*>(reg_id_)) != 0 || srt_listen(s, 128) != 0)
      throw std::runtime_error("SRT: cannot listen on " + opt_.address + ": " + last_error());
  } catch (...) {
    {
      std::lock_guard lock(mu_);
      accepting_ = false;
      port_ = 0;
      pending_.clear();
      publishers_.clear();
    }
    if (reg_id_) {
      std::lock_guard glock(g_servers_mu);
      g_servers.erase(reg_id_);
      reg_id_ = 0;
    }
    if (eid >= 0) srt_epoll_release(eid);
    if (s != SRT_INVALID_SOCK) srt_close(s);
    library_release();
    throw;
  }
  lsn_ = s;
  eid_ = eid;
  run_ = true;
  thread_ = std::thread([this] { loop(); });
  started_ = true;
  log::info(kComponent, "server listening",
            {{"address", opt_.address}, {"port", port}, {"encrypted", !opt_.passphrase.empty()},
             {"token", !opt_.token.empty()}});
}

void Server::Impl::stop() {
  std::lock_guard life(life_mu_);
  if (!started_) return;
  {
    std::lock_guard lock(mu_);
    accepting_ = false;  // callbacks from now on refuse
  }
  {
    std::lock_guard glock(g_servers_mu);
    g_servers.erase(reg_id_);
    reg_id_ = 0;
  }
  run_ = false;
  if (thread_.joinable()) thread_.join();
  // The loop is gone: its state is ours now.
  std::vector<Conn*> all;
  for (auto& [sock, c] : conns_) all.push_back(c.get());
  for (auto* c : all) {
    if (conns_.count(c->sock)) close_conn(c, "server stopping");
  }
  channels_.clear();
  std::vector<SRTSOCKET> pending;
  {
    std::lock_guard lock(mu_);
    for (auto& [sock, p] : pending_) pending.push_back(sock);
    pending_.clear();
    publishers_.clear();
    subscribers_.clear();
    live_ = 0;
    port_ = 0;
  }
  for (auto sock : pending) srt_close(sock);  // may already be gone
  srt_close(lsn_);
  srt_epoll_release(eid_);
  lsn_ = SRT_INVALID_SOCK;
  eid_ = -1;
  started_ = false;
  library_release();
  log::info(kComponent, "server stopped", {{"address", opt_.address}});
}

// ---- admission (libsrt's thread) ---------------------------------------------------------------------

int Server::Impl::admit(SRTSOCKET ns, int hsversion, const sockaddr* peer_addr, const char* streamid) {
  std::string peer = format_addr(peer_addr);
  StreamId id;
  Refusal why = Refusal::None;
  std::string detail;
  if (hsversion < 5) {
    // HSv4 callers carry no stream id: upstream takes them as publishers of their own address.
    id.resource = peer;
    id.mode = Mode::Publish;
  } else {
    auto r = parse_stream_id(streamid ? std::string_view(streamid) : std::string_view());
    if (!r.ok()) {
      why = Refusal::StreamId;
      detail = r.error;
    } else {
      id = std::move(r.id);
    }
  }
  if (why == Refusal::None && !opt_.token.empty() && !util::secure_equals(id.token, opt_.token)) {
    why = Refusal::Token;
    detail = id.token.empty() ? "token missing" : "wrong token";
  }

  std::lock_guard lock(mu_);
  if (!accepting_) {
    srt_setrejectreason(ns, SRT_REJX_DOWN);
    return -1;
  }
  if (why == Refusal::None && opt_.max_connections > 0 && live_ + pending_.size() >= opt_.max_connections) {
    why = Refusal::Limit;
    detail = fmt::format("{} connections (max_connections)", opt_.max_connections);
  }
  if (why == Refusal::None && id.mode == Mode::Publish && publishers_.count(id.resource)) {
    why = Refusal::Conflict;
    detail = "already publishing";
  }
  if (why == Refusal::None && id.mode == Mode::Request && !publishers_.count(id.resource)) {
    why = Refusal::NotFound;
    detail = "no publisher for this resource";
  }
  if (why == Refusal::None && !opt_.passphrase.empty() &&
      srt_setsockflag(ns, SRTO_PASSPHRASE, opt_.passphrase.data(), static_cast<int>(opt_.passphrase.size())) != 0) {
    why = Refusal::Passphrase;
    detail = "cannot set the passphrase: " + last_error();
  }
  if (why != Refusal::None) {
    srt_setrejectreason(ns, refusal_code(why));
    count_refusal(why);
    refuse_log(why, detail, id.resource, why == Refusal::StreamId ? "" : mode_name(id.mode), peer);
    return -1;
  }
  if (id.mode == Mode::Publish) publishers_[id.resource] = PublisherEntry{ns, false};
  pending_[ns] = Pending{id.resource, id.mode, peer, Clock::now()};
  return 0;
}

// ---- the loop -----------------------------------------------------------------------------------------

void Server::Impl::loop() {
  std::array<SRT_EPOLL_EVENT, 64> events;
  auto next_tick = Clock::now() + 250ms;
  while (run_) {
    int n = srt_epoll_uwait(eid_, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0) {
      std::this_thread::sleep_for(10ms);
      n = 0;
    }
    n = std::min<int>(n, static_cast<int>(events.size()));
    for (int i = 0; i < n; ++i) {
      const auto& ev = events[static_cast<std::size_t>(i)];
      if (ev.fd == lsn_) {
        accept_all();
        continue;
      }
      auto it = conns_.find(ev.fd);
      if (it == conns_.end()) {
        srt_epoll_remove_usock(eid_, ev.fd);
        continue;
      }
      Conn* c = it->second.get();
      if (ev.events & SRT_EPOLL_IN) {
        if (c->mode == Mode::Publish) {
          read_publisher(c);
        } else {
          drain_subscriber(c);
        }
      }
      if (conns_.count(ev.fd) && (ev.events & SRT_EPOLL_ERR)) close_conn(conns_[ev.fd].get(), "connection closed");
    }
    auto now = Clock::now();
    if (now >= next_tick) {
      tick(now);
      next_tick = now + 250ms;
    }
  }
}

void Server::Impl::accept_all() {
  // One accept per readiness event: the epoll is level-triggered and reports the listener again while
  // connections wait, and libsrt logs an error for every accept on an empty queue.
  sockaddr_storage sa{};
  int len = sizeof sa;
  SRTSOCKET s = srt_accept(lsn_, reinterpret_cast<sockaddr*>(&sa), &len);
  if (s != SRT_INVALID_SOCK) on_accepted(s);
}

void Server::Impl::on_accepted(SRTSOCKET s) {
  Pending p;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(s);
    if (it == pending_.end()) {
      srt_close(s);
      return;
    }
    p = std::move(it->second);
    pending_.erase(it);
  }
  auto release_reservation = [&] {
    std::lock_guard lock(mu_);
    auto it = publishers_.find(p.resource);
    if (p.mode == Mode::Publish && it != publishers_.end() && it->second.sock == s) publishers_.erase(it);
  };
  // Upstream's rule, checked again on the connected socket: encrypted iff we have a passphrase.
  int km = -1;
  int len = sizeof km;
  srt_getsockflag(s, SRTO_KMSTATE, &km, &len);
  bool encrypted_ok = opt_.passphrase.empty() ? km == SRT_KM_S_UNSECURED : km == SRT_KM_S_SECURED;
  if (!encrypted_ok) {
    srt_close(s);
    release_reservation();
    count_refusal(Refusal::Passphrase);
    refuse_log(Refusal::Passphrase,
               opt_.passphrase.empty() ? "connection must not be encrypted" : "connection has to be encrypted",
               p.resource, mode_name(p.mode), p.peer);
    return;
  }
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  if (srt_epoll_add_usock(eid_, s, &events) != 0) {
    log::error(kComponent, "cannot watch a connection", {{"error", last_error()}, {"client", p.peer}});
    srt_close(s);
    release_reservation();
    return;
  }
  auto conn = std::make_unique<Conn>();
  Conn* c = conn.get();
  c->sock = s;
  c->resource = p.resource;
  c->mode = p.mode;
  c->peer = p.peer;
  c->last_rx = Clock::now();
  sockaddr_storage sa{};
  int salen = sizeof sa;
  if (srt_getpeername(s, reinterpret_cast<sockaddr*>(&sa), &salen) == 0)
    c->peer = format_addr(reinterpret_cast<sockaddr*>(&sa), &c->peer_ip);
  bool publisher_gone = false;
  {
    std::lock_guard lock(mu_);
    if (c->mode == Mode::Publish) {
      publishers_[c->resource] = PublisherEntry{s, true};
    } else if (!publishers_.count(c->resource)) {
      publisher_gone = true;  // the publisher left between the handshake and now
    } else {
      subscribers_[c->resource].push_back(s);
    }
    if (!publisher_gone) ++live_;
  }
  if (publisher_gone) {
    srt_epoll_remove_usock(eid_, s);
    srt_close(s);
    count_refusal(Refusal::NotFound);
    refuse_log(Refusal::NotFound, "publisher left", c->resource, "request", c->peer);
    return;
  }
  Channel& ch = channels_[c->resource];
  c->channel = &ch;
  if (c->mode == Mode::Publish) {
    ch.publisher = c;
    n_publishers_.fetch_add(1, std::memory_order_relaxed);
    if (m_publishers_) m_publishers_->inc();
  } else {
    ch.subscribers.push_back(c);
    n_subscribers_.fetch_add(1, std::memory_order_relaxed);
    if (m_subscribers_) m_subscribers_->inc();
  }
  if (opt_.sessions && opt_.sessions->collectable(c->peer_ip)) {
    c->session_id = c->mode == Mode::Publish ? c->resource : c->peer;
    auto location = std::string(c->mode == Mode::Publish ? "publish:" : "play:") + c->resource;
    // Upstream does not enforce session limits on SRT: the admission result is not used.
    (void)opt_.sessions->open(c->session_id, c->resource, location, c->peer);
  }
  log::info(kComponent, c->mode == Mode::Publish ? "publish start" : "play start",
            {{"resource", c->resource}, {"client", c->peer}, {"socket", s}});
  conns_.emplace(s, std::move(conn));
}

void Server::Impl::read_publisher(Conn* c) {
  std::uint64_t rx = 0, tx = 0, drops = 0;
  bool broken = false;
  Channel* ch = c->channel;
  for (int k = 0; k < 512; ++k) {
    int n = srt_recvmsg2(c->sock, buf_.data(), static_cast<int>(buf_.size()), nullptr);
    if (n == SRT_ERROR) {
      if (srt_getlasterror(nullptr) != SRT_EASYNCRCV) broken = true;
      break;
    }
    if (n <= 0) break;
    rx += static_cast<std::uint64_t>(n);
    for (Conn* sub : ch->subscribers) {
      if (sub->dead) continue;
      int r = srt_sendmsg2(sub->sock, buf_.data(), n, nullptr);
      if (r == SRT_ERROR) {
        if (srt_getlasterror(nullptr) == SRT_EASYNCSND) {
          ++sub->drops;
          ++drops;
        } else if (srt_getsockstate(sub->sock) == SRTS_CONNECTED) {
          // Refused message (e.g. larger than the socket's payload size): dropped, connection kept.
          if (sub->send_errors++ == 0)
            log::warn(kComponent, "message not sent to subscriber",
                      {{"resource", sub->resource}, {"client", sub->peer}, {"size", n}, {"error", last_error()}});
          ++sub->drops;
          ++drops;
        } else {
          sub->dead = true;
          dead_.push_back(sub);
        }
      } else {
        sub->tx_unbooked += static_cast<std::uint64_t>(n);
        tx += static_cast<std::uint64_t>(n);
      }
    }
  }
  if (rx) {
    c->last_rx = Clock::now();
    c->rx_unbooked += rx;
    rx_.fetch_add(rx, std::memory_order_relaxed);
    if (m_rx_) m_rx_->inc(rx);
  }
  if (tx) {
    tx_.fetch_add(tx, std::memory_order_relaxed);
    if (m_tx_) m_tx_->inc(tx);
  }
  if (drops) {
    drops_.fetch_add(drops, std::memory_order_relaxed);
    if (m_drops_) m_drops_->inc(drops);
  }
  for (Conn* d : dead_) close_conn(d, "send failed");
  dead_.clear();
  if (broken) close_conn(c, "connection closed");
}

void Server::Impl::drain_subscriber(Conn* c) {
  // Subscribers do not send data; whatever arrives is read and dropped.
  for (int k = 0; k < 64; ++k) {
    int n = srt_recvmsg2(c->sock, buf_.data(), static_cast<int>(buf_.size()), nullptr);
    if (n == SRT_ERROR) {
      if (srt_getlasterror(nullptr) != SRT_EASYNCRCV) close_conn(c, "connection closed");
      return;
    }
  }
}

void Server::Impl::book(Conn* c) {
  if (c->session_id.empty() || !opt_.sessions) {
    c->rx_unbooked = c->tx_unbooked = 0;
    return;
  }
  if (c->rx_unbooked) opt_.sessions->ingress(c->session_id, c->rx_unbooked);
  if (c->tx_unbooked) opt_.sessions->egress(c->session_id, c->tx_unbooked);
  c->rx_unbooked = c->tx_unbooked = 0;
}

void Server::Impl::close_conn(Conn* c, std::string_view why) {
  SRTSOCKET s = c->sock;
  srt_epoll_remove_usock(eid_, s);
  srt_close(s);
  book(c);
  if (!c->session_id.empty() && opt_.sessions) opt_.sessions->close(c->session_id);
  std::vector<Conn*> orphans;
  {
    std::lock_guard lock(mu_);
    if (live_) --live_;
    if (c->mode == Mode::Publish) {
      auto it = publishers_.find(c->resource);
      if (it != publishers_.end() && it->second.sock == s) publishers_.erase(it);
    } else {
      auto it = subscribers_.find(c->resource);
      if (it != subscribers_.end()) {
        std::erase(it->second, s);
        if (it->second.empty()) subscribers_.erase(it);
      }
    }
  }
  Channel* ch = c->channel;
  if (c->mode == Mode::Publish) {
    n_publishers_.fetch_sub(1, std::memory_order_relaxed);
    if (m_publishers_) m_publishers_->dec();
    if (ch) {
      ch->publisher = nullptr;
      orphans = ch->subscribers;
    }
    log::info(kComponent, "publish stop",
              {{"resource", c->resource}, {"client", c->peer}, {"socket", s}, {"reason", std::string(why)}});
  } else {
    n_subscribers_.fetch_sub(1, std::memory_order_relaxed);
    if (m_subscribers_) m_subscribers_->dec();
    if (ch) std::erase(ch->subscribers, c);
    log::info(kComponent, "play stop",
              {{"resource", c->resource}, {"client", c->peer}, {"socket", s}, {"reason", std::string(why)},
               {"dropped", c->drops}});
  }
  std::string resource = c->resource;
  conns_.erase(s);  // c is gone
  // Readers of a stream whose publisher left get the end of the stream.
  for (Conn* o : orphans) {
    if (conns_.count(o->sock)) close_conn(o, "publisher left");
  }
  auto it = channels_.find(resource);
  if (it != channels_.end() && !it->second.publisher && it->second.subscribers.empty()) channels_.erase(it);
}

void Server::Impl::tick(Clock::time_point now) {
  // Handshakes that were admitted but never accepted (a wrong passphrase fails after our callback,
  // inside libsrt) give their reservation back.
  std::vector<std::pair<SRTSOCKET, Clock::time_point>> pending;
  {
    std::lock_guard lock(mu_);
    for (auto& [sock, p] : pending_) pending.emplace_back(sock, p.at);
  }
  for (auto& [sock, at] : pending) {
    SRT_SOCKSTATUS st = srt_getsockstate(sock);
    bool gone = st == SRTS_BROKEN || st == SRTS_CLOSED || st == SRTS_CLOSING || st == SRTS_NONEXIST;
    if (!gone && now - at < opt_.handshake_timeout) continue;
    Pending p;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(sock);
      if (it == pending_.end()) continue;
      p = std::move(it->second);
      pending_.erase(it);
      auto pub = publishers_.find(p.resource);
      if (p.mode == Mode::Publish && pub != publishers_.end() && pub->second.sock == sock) publishers_.erase(pub);
    }
    if (gone) {
      // libsrt refused the handshake after our callback admitted it. With our fixed live-mode options
      // that is its encryption check (wrong passphrase, or encrypted on one side only); its API
      // cannot tell us which (the socket is already gone; its log says it at warning level).
      count_refusal(Refusal::Passphrase);
      refuse_log(Refusal::Passphrase,
                 opt_.passphrase.empty() ? "refused by libsrt: caller is encrypted"
                                         : "refused by libsrt: wrong or missing passphrase",
                 p.resource, mode_name(p.mode), p.peer);
    } else {
      srt_close(sock);
      log::warn(kComponent, "handshake not completed",
                {{"resource", p.resource}, {"mode", std::string(mode_name(p.mode))}, {"client", p.peer}});
    }
  }

  // Subscribers admitted while a publisher was handshaking, whose publisher never arrived.
  std::vector<Conn*> stale;
  {
    std::lock_guard lock(mu_);
    for (auto& [res, ch] : channels_) {
      if (!ch.publisher && !publishers_.count(res)) stale.insert(stale.end(), ch.subscribers.begin(), ch.subscribers.end());
    }
  }
  for (auto* c : stale) {
    if (conns_.count(c->sock)) close_conn(c, "publisher never arrived");
  }

  std::vector<Conn*> idle;
  for (auto& [s, c] : conns_) {
    book(c.get());
    if (c->mode == Mode::Publish && opt_.publisher_idle_timeout.count() > 0 &&
        now - c->last_rx > opt_.publisher_idle_timeout)
      idle.push_back(c.get());
  }
  for (auto* c : idle) {
    if (conns_.count(c->sock)) close_conn(c, "idle");
  }
}

// ---- queries ------------------------------------------------------------------------------------------

nlohmann::json Server::Impl::channels_json() const {
  std::map<std::string, SRTSOCKET> pubs;
  std::map<std::string, std::vector<SRTSOCKET>> subs;
  {
    std::lock_guard lock(mu_);
    for (auto& [res, p] : publishers_)
      if (p.accepted) pubs[res] = p.sock;
    subs = subscribers_;
  }
  nlohmann::json j = {{"publisher", nlohmann::json::object()},
                      {"subscriber", nlohmann::json::object()},
                      {"connections", nlohmann::json::object()},
                      {"log", nlohmann::json::object()}};
  auto add = [&](SRTSOCKET s) {
    SRT_TRACEBSTATS st{};
    if (srt_bstats(s, &st, 0) != 0) return;  // closed meanwhile
    j["connections"][std::to_string(s)] = {{"log", nlohmann::json::object()}, {"stats", stats_json(st)}};
  };
  for (auto& [res, s] : pubs) {
    j["publisher"][res] = s;
    add(s);
  }
  for (auto& [res, list] : subs) {
    auto& arr = j["subscriber"][res] = nlohmann::json::array();
    for (auto s : list) {
      arr.push_back(s);
      add(s);
    }
  }
  return j;
}

ServerCounters Server::Impl::counters() const {
  ServerCounters c;
  c.publishers = n_publishers_.load();
  c.subscribers = n_subscribers_.load();
  {
    std::lock_guard lock(mu_);
    c.pending = pending_.size();
  }
  c.rx_bytes = rx_.load();
  c.tx_bytes = tx_.load();
  c.subscriber_drops = drops_.load();
  for (auto r : kRefusals) c.refused[std::string(refusal_label(r))] = refused_[static_cast<std::size_t>(r)].load();
  return c;
}

// ---- Server -------------------------------------------------------------------------------------------

Server::Server(ServerOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}
Server::~Server() { stop(); }
void Server::start() { impl_->start(); }
void Server::stop() { impl_->stop(); }
bool Server::running() const { return impl_->running(); }
std::uint16_t Server::port() const { return impl_->port(); }
nlohmann::json Server::channels_json() const { return impl_->channels_json(); }
ServerCounters Server::counters() const { return impl_->counters(); }

}  // namespace dragon::srt
