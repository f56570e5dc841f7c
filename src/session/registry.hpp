#pragma once
// The session registry (DESIGN "Ownership"): viewer and publisher sessions, grouped in collectors
// ("hls", "hlsingress", "http", "rtmp", "srt", "ffmpeg", "webrtc"; only the ones a subsystem
// registers exist), with upstream's model (datarhei Core session/collector.go):
//
// - A session is registered (pending) and then activated; only active sessions count (in the API, in
//   the limits, in the totals). A pending session ends after `pending_timeout` without activity, an
//   active one after `session_timeout`. Activity = any ingress/egress bytes or touch().
// - Limits are checked when a session is opened or activated: the collector's max_sessions (active
//   sessions), and max_tx_bitrate against the summed egress bitrate of every limited collector of the
//   registry (upstream sums the "companion" collectors). A refused activation drops the session.
// - Bitrates are bytes over a sliding window (10 s, 1 s buckets), per session and per collector.
// - When an active session ends, its bytes go into the history, keyed by location:peer:reference
//   (upstream's key); the summary is built from that history only (closed sessions), as upstream.
// - The history can be persisted to one JSON file ({"<collector>": {"sessions": {key: totals}}},
//   upstream's per-collector format inside one document), written atomically.
//
// Thread-safety: every public method may be called from any thread. Each collector has its own
// mutex; the registry's mutex only guards the collector map. Collectors are shared_ptrs: a
// subsystem may keep one; a removed collector keeps working but is no longer listed or persisted.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/ip_network.hpp"

namespace dragon::session {

using Clock = std::chrono::steady_clock;
using ClockFn = std::function<Clock::time_point()>;

// Bytes over a sliding window of whole seconds (upstream: 10 s window, 1 s granularity).
class SlidingWindow {
 public:
  static constexpr int k_buckets = 10;
  void add(std::uint64_t bytes, Clock::time_point now);
  // Bytes in the last k_buckets seconds (the current second included).
  std::uint64_t bytes(Clock::time_point now) const;
  // bit/s: the window's bytes over the window, or over the time since `since` when that is shorter
  // (at least 1 s), so a young session is not reported at a tenth of its rate.
  double bitrate(Clock::time_point now, Clock::time_point since) const;

 private:
  struct Bucket {
    std::int64_t second = -1;
    std::uint64_t bytes = 0;
  };
  static std::int64_t second_of(Clock::time_point t);
  Bucket buckets_[k_buckets];
};

struct CollectorConfig {
  std::uint64_t max_sessions = 0;    // active sessions; 0 = unlimited
  double max_tx_bitrate = 0;         // bit/s, summed over the registry's limited collectors; 0 = unlimited
  bool limited = true;               // contributes its egress to the registry-wide bitrate limit
  std::vector<std::string> ip_ignorelist;  // CIDR; traffic of these peers is not collected
  std::chrono::milliseconds session_timeout{30000};  // idle active session ends
  std::chrono::milliseconds pending_timeout{5000};   // never activated session ends
};

enum class Admission { Ok, SessionsExceeded, BitrateExceeded, Unknown };
// Upstream's 509 details: "Number of sessions exceeded" / "Bitrate limit exceeded".
std::string_view admission_text(Admission a);

struct SessionInfo {
  std::string id, reference, location, peer, extra;
  std::chrono::system_clock::time_point created_at;
  bool active = false;
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
  double rx_bitrate = 0, tx_bitrate = 0;  // bit/s
};

struct Stats {
  std::uint64_t sessions = 0, rx_bytes = 0, tx_bytes = 0;
};

struct Summary {
  std::uint64_t max_sessions = 0;
  double max_rx_bitrate = 0, max_tx_bitrate = 0;  // bit/s
  std::uint64_t current_sessions = 0;
  double current_rx_bitrate = 0, current_tx_bitrate = 0;  // bit/s
  std::vector<SessionInfo> active;  // by creation time
  struct Peer {
    Stats stats;
    std::map<std::string, Stats> locations;
  };
  std::map<std::string, Peer> peers;
  std::map<std::string, Stats> locations;
  std::map<std::string, Stats> references;
  Stats total;  // closed sessions only
};

// Figures for metrics since the collector was created (session_total, session_rxbytes, ...).
struct Totals {
  std::uint64_t sessions_total = 0;  // activations
  std::uint64_t active = 0;
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
  double rx_bitrate = 0, tx_bitrate = 0;
  std::uint64_t max_sessions = 0;
  double max_tx_bitrate = 0;
};

class Registry;

class Collector {
 public:
  Collector(std::string name, CollectorConfig config, ClockFn clock, const Registry* owner);
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  const std::string& name() const { return name_; }
  CollectorConfig config() const;
  // Throws std::invalid_argument naming a bad ip_ignorelist entry.
  void set_config(CollectorConfig config);

  // False for peers in the ignore list (and for unparsable addresses, e.g. "any", true).
  bool collectable(std::string_view ip) const;

  // Would a new session be admitted now?
  Admission admit() const;
  // Pending session; no limit check (upstream checks before registering). False if the id exists.
  bool register_session(const std::string& id, std::string reference, std::string location, std::string peer,
                        std::string extra = {});
  // Pending → active, with the limit check; a refused session is dropped. Ok when already active;
  // Unknown when there is no such session.
  Admission activate(const std::string& id);
  // register + activate; Ok when the id is already active.
  Admission open(const std::string& id, std::string reference, std::string location, std::string peer,
                 std::string extra = {});
  // Ends the session now (into the history if it was active). False if unknown.
  bool close(const std::string& id);

  // Bytes of a session (unknown ids are ignored); both count as activity.
  void ingress(const std::string& id, std::uint64_t bytes);
  void egress(const std::string& id, std::uint64_t bytes);
  // For sources that keep a cumulative counter (a WebRTC viewer's bytes_sent): books the growth
  // since the last report.
  void egress_total(const std::string& id, std::uint64_t total_bytes);
  void touch(const std::string& id);

  bool exists(const std::string& id) const;
  bool is_active(const std::string& id) const;
  std::uint64_t active_count() const;

  std::vector<SessionInfo> active() const;  // by creation time
  Summary summary() const;
  Totals totals() const;
  double egress_bitrate() const;  // bit/s over the window, this collector only

  // Ends sessions past their timeouts. Queries do this too; the registry's ticker does it each second.
  void expire();

  // History persistence: upstream's {"sessions": {"<location>:<peer>:<reference>": {...}}}.
  nlohmann::json history_json() const;
  // Replaces the history; throws std::invalid_argument on a malformed document.
  void restore_history(const nlohmann::json& j);

 private:
  struct Session {
    SessionInfo info;
    Clock::time_point created, last_activity;
    SlidingWindow rx, tx;
  };
  struct HistoryEntry {
    std::string location, peer, reference;
    Stats stats;
  };
  Admission admit_locked(double registry_egress) const;
  void expire_locked(Clock::time_point now);
  void close_locked(std::unordered_map<std::string, Session>::iterator it);
  void book(const std::string& id, std::uint64_t bytes, bool tx);
  SessionInfo info_of(const Session& s, Clock::time_point now) const;

  const std::string name_;
  const ClockFn clock_;
  const Registry* owner_;
  const Clock::time_point started_;

  mutable std::mutex mu_;
  CollectorConfig config_;
  std::vector<util::IpNetwork> ignore_;
  std::unordered_map<std::string, Session> sessions_;
  std::uint64_t active_ = 0;
  std::uint64_t sessions_total_ = 0;
  std::uint64_t rx_bytes_ = 0, tx_bytes_ = 0;
  std::map<std::string, HistoryEntry> history_;
  Clock::time_point last_expire_{};

  // Collector-wide windows under their own mutex: the registry-wide bitrate is read while another
  // collector's mu_ may be held by the caller's thread.
  mutable std::mutex rate_mu_;
  SlidingWindow rx_rate_, tx_rate_;
};

struct RegistryOptions {
  std::string persist_path;                          // "" = the history is not persisted
  std::chrono::seconds persist_interval{300};        // 0 = only at stop()
  ClockFn clock;                                     // defaults to steady_clock::now
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});
  ~Registry();  // stops the ticker (and saves, when persisting)
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Changes where and how often the history is persisted (e.g. at a config reload).
  void set_persistence(std::string path, std::chrono::seconds interval);

  // Get-or-create; an existing collector takes the new config. Names are alphanumeric (upstream):
  // anything else throws std::invalid_argument. A history restored by load() for this name is applied.
  std::shared_ptr<Collector> add(const std::string& name, CollectorConfig config);
  bool remove(const std::string& name);  // its history is kept for the next save()
  std::shared_ptr<Collector> get(std::string_view name) const;
  std::vector<std::string> names() const;

  // Summed egress bitrate (bit/s) of the limited collectors: what max_tx_bitrate is checked against.
  double limited_egress_bitrate() const;

  // Reads the persisted history (nothing when the file does not exist). Throws on a malformed file.
  void load();
  // Writes the history now (atomically). Throws std::system_error on failure. No-op without a path.
  void save() const;

  // Expires sessions and saves when persist_interval has passed. start() runs it every second.
  void tick();
  void start();
  void stop();  // joins the ticker and saves (when persisting)

 private:
  RegistryOptions options_;
  ClockFn clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Collector>, std::less<>> collectors_;
  std::map<std::string, nlohmann::json> restored_;  // histories of collectors not (yet) registered
  Clock::time_point last_save_;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  std::thread ticker_;
};

}  // namespace dragon::session
