#include "session/registry.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "util/atomic_file.hpp"

namespace dragon::session {

// ---- SlidingWindow ---------------------------------------------------------------------------------

std::int64_t SlidingWindow::second_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void SlidingWindow::add(std::uint64_t bytes, Clock::time_point now) {
  const auto s = second_of(now);
  auto& b = buckets_[((s % k_buckets) + k_buckets) % k_buckets];
  if (b.second != s) {
    b.second = s;
    b.bytes = 0;
  }
  b.bytes += bytes;
}

std::uint64_t SlidingWindow::bytes(Clock::time_point now) const {
  const auto s = second_of(now);
  std::uint64_t sum = 0;
  for (const auto& b : buckets_) {
    if (b.second >= 0 && b.second <= s && b.second > s - k_buckets) sum += b.bytes;
  }
  return sum;
}

double SlidingWindow::bitrate(Clock::time_point now, Clock::time_point since) const {
  double span = k_buckets;
  const double age = std::chrono::duration<double>(now - since).count();
  if (age < span) span = std::max(1.0, age);
  return 8.0 * static_cast<double>(bytes(now)) / span;
}

// ---- Collector -------------------------------------------------------------------------------------

std::string_view admission_text(Admission a) {
  switch (a) {
    case Admission::Ok: return "OK";
    case Admission::SessionsExceeded: return "Number of sessions exceeded";
    case Admission::BitrateExceeded: return "Bitrate limit exceeded";
    case Admission::Unknown: return "Unknown session";
  }
  return "";
}

namespace {
ClockFn default_clock(ClockFn fn) {
  if (fn) return fn;
  return [] { return Clock::now(); };
}

std::vector<util::IpNetwork> parse_ignorelist(const std::vector<std::string>& list) {
  std::vector<util::IpNetwork> out;
  for (const auto& s : list) {
    auto n = util::IpNetwork::parse(s);
    if (!n) throw std::invalid_argument("sessions.ip_ignorelist: invalid network '" + s + "'");
    out.push_back(*n);
  }
  return out;
}
}  // namespace

Collector::Collector(std::string name, CollectorConfig config, ClockFn clock, const Registry* owner)
    : name_(std::move(name)), clock_(default_clock(std::move(clock))), owner_(owner), started_(clock_()) {
  set_config(std::move(config));
}

CollectorConfig Collector::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

void Collector::set_config(CollectorConfig config) {
  auto ignore = parse_ignorelist(config.ip_ignorelist);
  std::lock_guard lock(mu_);
  config_ = std::move(config);
  ignore_ = std::move(ignore);
}

bool Collector::collectable(std::string_view ip) const {
  const auto addr = util::IpAddress::parse(ip);
  if (!addr) return true;
  std::lock_guard lock(mu_);
  for (const auto& n : ignore_) {
    if (n.contains(*addr)) return false;
  }
  return true;
}

Admission Collector::admit_locked(double registry_egress) const {
  if (config_.max_sessions > 0 && active_ >= config_.max_sessions) return Admission::SessionsExceeded;
  if (config_.max_tx_bitrate > 0 && registry_egress >= config_.max_tx_bitrate) return Admission::BitrateExceeded;
  return Admission::Ok;
}

Admission Collector::admit() const {
  // The registry-wide figure first: it reads other collectors (their rate_mu_ only).
  const double egress = owner_ ? owner_->limited_egress_bitrate() : egress_bitrate();
  std::lock_guard lock(mu_);
  const_cast<Collector*>(this)->expire_locked(clock_());
  return admit_locked(egress);
}

bool Collector::register_session(const std::string& id, std::string reference, std::string location, std::string peer,
                                 std::string extra) {
  const auto now = clock_();
  std::lock_guard lock(mu_);
  expire_locked(now);
  if (sessions_.count(id)) return false;
  Session s;
  s.info.id = id;
  s.info.reference = std::move(reference);
  s.info.location = std::move(location);
  s.info.peer = std::move(peer);
  s.info.extra = std::move(extra);
  s.info.created_at = std::chrono::system_clock::now();
  s.created = s.last_activity = now;
  sessions_.emplace(id, std::move(s));
  return true;
}

Admission Collector::activate(const std::string& id) {
  const double egress = owner_ ? owner_->limited_egress_bitrate() : egress_bitrate();
  const auto now = clock_();
  std::lock_guard lock(mu_);
  expire_locked(now);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return Admission::Unknown;
  if (it->second.info.active) return Admission::Ok;
  if (const auto a = admit_locked(egress); a != Admission::Ok) {
    sessions_.erase(it);  // pending: nothing to book
    return a;
  }
  it->second.info.active = true;
  it->second.last_activity = now;
  ++active_;
  ++sessions_total_;
  return Admission::Ok;
}

Admission Collector::open(const std::string& id, std::string reference, std::string location, std::string peer,
                          std::string extra) {
  register_session(id, std::move(reference), std::move(location), std::move(peer), std::move(extra));
  return activate(id);
}

void Collector::close_locked(std::unordered_map<std::string, Session>::iterator it) {
  const Session& s = it->second;
  if (s.info.active) {
    --active_;
    const std::string key = s.info.location + ":" + s.info.peer + ":" + s.info.reference;
    auto& h = history_[key];
    if (h.stats.sessions == 0) {
      h.location = s.info.location;
      h.peer = s.info.peer;
      h.reference = s.info.reference;
    }
    ++h.stats.sessions;
    h.stats.rx_bytes += s.info.rx_bytes;
    h.stats.tx_bytes += s.info.tx_bytes;
  }
  sessions_.erase(it);
}

bool Collector::close(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  close_locked(it);
  return true;
}

void Collector::book(const std::string& id, std::uint64_t bytes, bool tx) {
  const auto now = clock_();
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    auto& s = it->second;
    s.last_activity = now;
    if (bytes == 0) return;
    if (tx) {
      s.info.tx_bytes += bytes;
      s.tx.add(bytes, now);
      tx_bytes_ += bytes;
    } else {
      s.info.rx_bytes += bytes;
      s.rx.add(bytes, now);
      rx_bytes_ += bytes;
    }
  }
  std::lock_guard lock(rate_mu_);
  (tx ? tx_rate_ : rx_rate_).add(bytes, now);
}

void Collector::ingress(const std::string& id, std::uint64_t bytes) { book(id, bytes, false); }
void Collector::egress(const std::string& id, std::uint64_t bytes) { book(id, bytes, true); }
void Collector::touch(const std::string& id) { book(id, 0, true); }

void Collector::egress_total(const std::string& id, std::uint64_t total_bytes) {
  std::uint64_t delta = 0;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    if (total_bytes > it->second.info.tx_bytes) delta = total_bytes - it->second.info.tx_bytes;
  }
  book(id, delta, true);
}

bool Collector::exists(const std::string& id) const {
  std::lock_guard lock(mu_);
  return sessions_.count(id) > 0;
}

bool Collector::is_active(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  return it != sessions_.end() && it->second.info.active;
}

std::uint64_t Collector::active_count() const {
  std::lock_guard lock(mu_);
  const_cast<Collector*>(this)->expire_locked(clock_());
  return active_;
}

void Collector::expire_locked(Clock::time_point now) {
  // At most every 100 ms: the per-request paths call this too.
  if (last_expire_ != Clock::time_point{} && now - last_expire_ < std::chrono::milliseconds(100) && now >= last_expire_) {
    return;
  }
  last_expire_ = now;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const auto& s = it->second;
    const auto limit = s.info.active ? config_.session_timeout : config_.pending_timeout;
    if (now - s.last_activity >= limit) {
      auto next = std::next(it);
      close_locked(it);
      it = next;
    } else {
      ++it;
    }
  }
}

void Collector::expire() {
  std::lock_guard lock(mu_);
  last_expire_ = {};
  expire_locked(clock_());
}

SessionInfo Collector::info_of(const Session& s, Clock::time_point now) const {
  SessionInfo i = s.info;
  i.rx_bitrate = s.rx.bitrate(now, s.created);
  i.tx_bitrate = s.tx.bitrate(now, s.created);
  return i;
}

std::vector<SessionInfo> Collector::active() const {
  const auto now = clock_();
  std::vector<SessionInfo> out;
  {
    std::lock_guard lock(mu_);
    const_cast<Collector*>(this)->expire_locked(now);
    out.reserve(active_);
    for (const auto& [id, s] : sessions_) {
      if (s.info.active) out.push_back(info_of(s, now));
    }
  }
  std::sort(out.begin(), out.end(), [](const SessionInfo& a, const SessionInfo& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return out;
}

double Collector::egress_bitrate() const {
  const auto now = clock_();
  std::lock_guard lock(rate_mu_);
  return tx_rate_.bitrate(now, started_);
}

Totals Collector::totals() const {
  const auto now = clock_();
  Totals t;
  {
    std::lock_guard lock(mu_);
    const_cast<Collector*>(this)->expire_locked(now);
    t.sessions_total = sessions_total_;
    t.active = active_;
    t.rx_bytes = rx_bytes_;
    t.tx_bytes = tx_bytes_;
    t.max_sessions = config_.max_sessions;
    t.max_tx_bitrate = config_.max_tx_bitrate;
  }
  std::lock_guard lock(rate_mu_);
  t.rx_bitrate = rx_rate_.bitrate(now, started_);
  t.tx_bitrate = tx_rate_.bitrate(now, started_);
  return t;
}

Summary Collector::summary() const {
  Summary sum;
  sum.active = active();
  const auto now = clock_();
  {
    std::lock_guard lock(rate_mu_);
    sum.current_rx_bitrate = rx_rate_.bitrate(now, started_);
    sum.current_tx_bitrate = tx_rate_.bitrate(now, started_);
  }
  std::lock_guard lock(mu_);
  sum.max_sessions = config_.max_sessions;
  sum.max_tx_bitrate = config_.max_tx_bitrate;
  sum.current_sessions = active_;
  const auto add = [](Stats& to, const Stats& s) {
    to.sessions += s.sessions;
    to.rx_bytes += s.rx_bytes;
    to.tx_bytes += s.tx_bytes;
  };
  for (const auto& [key, h] : history_) {
    auto& p = sum.peers[h.peer];
    add(p.stats, h.stats);
    add(p.locations[h.location], h.stats);
    add(sum.locations[h.location], h.stats);
    add(sum.references[h.reference], h.stats);
    add(sum.total, h.stats);
  }
  return sum;
}

nlohmann::json Collector::history_json() const {
  std::lock_guard lock(mu_);
  auto sessions = nlohmann::json::object();
  for (const auto& [key, h] : history_) {
    sessions[key] = {{"location", h.location},          {"peer", h.peer},
                     {"reference", h.reference},        {"total_sessions", h.stats.sessions},
                     {"total_rxbytes", h.stats.rx_bytes}, {"total_txbytes", h.stats.tx_bytes}};
  }
  return {{"sessions", std::move(sessions)}};
}

void Collector::restore_history(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("session history of '" + name_ + "' is not an object");
  std::map<std::string, HistoryEntry> h;
  const auto sessions = j.find("sessions");
  if (sessions != j.end() && !sessions->is_null()) {
    if (!sessions->is_object()) throw std::invalid_argument("session history of '" + name_ + "': sessions is not an object");
    for (const auto& [key, v] : sessions->items()) {
      try {
        HistoryEntry e;
        e.location = v.value("location", "");
        e.peer = v.value("peer", "");
        e.reference = v.value("reference", "");
        e.stats.sessions = v.value("total_sessions", std::uint64_t{0});
        e.stats.rx_bytes = v.value("total_rxbytes", std::uint64_t{0});
        e.stats.tx_bytes = v.value("total_txbytes", std::uint64_t{0});
        h[key] = std::move(e);
      } catch (const nlohmann::json::exception& ex) {
        throw std::invalid_argument("session history of '" + name_ + "', entry '" + key + "': " + ex.what());
      }
    }
  }
  std::lock_guard lock(mu_);
  history_ = std::move(h);
}

// ---- Registry --------------------------------------------------------------------------------------

Registry::Registry(RegistryOptions options) : options_(std::move(options)), clock_(default_clock(options_.clock)) {
  last_save_ = clock_();
}

Registry::~Registry() {
  try {
    stop();
  } catch (...) {
    // a failed final save must not throw from a destructor
  }
}

void Registry::set_persistence(std::string path, std::chrono::seconds interval) {
  std::lock_guard lock(mu_);
  options_.persist_path = std::move(path);
  options_.persist_interval = interval;
}

std::shared_ptr<Collector> Registry::add(const std::string& name, CollectorConfig config) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c); })) {
    throw std::invalid_argument("session collector name must be alphanumeric: '" + name + "'");
  }
  std::lock_guard lock(mu_);
  if (auto it = collectors_.find(name); it != collectors_.end()) {
    it->second->set_config(std::move(config));
    return it->second;
  }
  auto c = std::make_shared<Collector>(name, std::move(config), clock_, this);
  if (auto r = restored_.find(name); r != restored_.end()) {
    c->restore_history(r->second);
    restored_.erase(r);
  }
  collectors_.emplace(name, c);
  return c;
}

bool Registry::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = collectors_.find(name);
  if (it == collectors_.end()) return false;
  restored_[name] = it->second->history_json();
  collectors_.erase(it);
  return true;
}

std::shared_ptr<Collector> Registry::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = collectors_.find(name);
  return it == collectors_.end() ? nullptr : it->second;
}

std::vector<std::string> Registry::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [n, c] : collectors_) out.push_back(n);
  return out;
}

double Registry::limited_egress_bitrate() const {
  std::vector<std::shared_ptr<Collector>> list;
  {
    std::lock_guard lock(mu_);
    for (const auto& [n, c] : collectors_) list.push_back(c);
  }
  double sum = 0;
  for (const auto& c : list) {
    // config() takes the collector's mu_: read `limited` without it would race; the caller of
    // admit()/activate() takes mu_ only after this returns.
    if (c->config().limited) sum += c->egress_bitrate();
  }
  return sum;
}

void Registry::load() {
  std::string path;
  {
    std::lock_guard lock(mu_);
    path = options_.persist_path;
  }
  if (path.empty()) return;
  const auto text = util::read_file(path);
  if (!text) return;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
  if (!doc.is_object()) throw std::invalid_argument(path + ": not a JSON object");
  std::lock_guard lock(mu_);
  for (const auto& [name, history] : doc.items()) {
    if (auto it = collectors_.find(name); it != collectors_.end()) {
      it->second->restore_history(history);
    } else {
      restored_[name] = history;
    }
  }
}

void Registry::save() const {
  std::string path;
  nlohmann::json doc = nlohmann::json::object();
  {
    std::lock_guard lock(mu_);
    path = options_.persist_path;
    if (path.empty()) return;
    for (const auto& [name, h] : restored_) doc[name] = h;
    for (const auto& [name, c] : collectors_) doc[name] = c->history_json();
  }
  util::write_file_atomic(path, doc.dump(2) + "\n", 0644);
}

void Registry::tick() {
  std::vector<std::shared_ptr<Collector>> list;
  bool due = false;
  const auto now = clock_();
  {
    std::lock_guard lock(mu_);
    for (const auto& [n, c] : collectors_) list.push_back(c);
    if (!options_.persist_path.empty() && options_.persist_interval.count() > 0 &&
        now - last_save_ >= options_.persist_interval) {
      due = true;
      last_save_ = now;
    }
  }
  for (const auto& c : list) c->expire();
  if (due) save();
}

void Registry::start() {
  std::lock_guard guard(run_mu_);
  if (running_) return;
  running_ = true;
  ticker_ = std::thread([this] {
    std::unique_lock lock(run_mu_);
    while (running_) {
      run_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return !running_; });
      if (!running_) break;
      lock.unlock();
      try {
        tick();
      } catch (...) {
        // a failed periodic save is retried at the next interval
      }
      lock.lock();
    }
  });
}

void Registry::stop() {
  {
    std::lock_guard lock(run_mu_);
    running_ = false;
  }
  run_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  save();
}

}  // namespace dragon::session
