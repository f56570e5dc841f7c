#include "app/app.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "api/context.hpp"
#include "api/fs_routes.hpp"
#include "api/skills_state.hpp"
#include "fs/registry.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/service.hpp"
#include "log/log.hpp"
#include "net/loop_pool.hpp"
#include "process/child.hpp"
#include "process/reactor.hpp"
#include "ffmpeg/placeholders.hpp"
#include "restream/registry.hpp"
#include "session/registry.hpp"
#include "util/build_info.hpp"
#include "util/random.hpp"
#include "app/monitor_sources.hpp"
#include "metrics/registry.hpp"
#include "rtmp/server.hpp"
#include "srt/server.hpp"
#include "webrtc/server.hpp"
#include "webrtc/server_metrics.hpp"

namespace dragon::app {

// Everything that is rebuilt on a config reload.
struct App::Services {
  std::unique_ptr<net::LoopPool> loops;
  std::unique_ptr<process::Reactor> reactor;      // supervises every FFmpeg child
  std::unique_ptr<webrtc::Server> webrtc;         // WHEP egress; outlives the registry that feeds it
  std::unique_ptr<webrtc::ServerMetrics> webrtc_metrics;
  std::unique_ptr<rtmp::Server> rtmp;  // publishers and players; processes read {rtmp,name=...} from it
  std::unique_ptr<srt::Server> srt;
  std::unique_ptr<restream::Registry> registry;  // before the routes that use it, stopped after them
  api::ApiContext ctx;
  http::Router router;
  std::unique_ptr<http::Service> service;
  std::vector<std::unique_ptr<http::Server>> servers;
  // Last: reads the registry, filesystems and WebRTC server, so it goes first.
  std::unique_ptr<metrics::Monitor> monitor;
  std::uint64_t prometheus_collector = 0;
  metrics::Registry* prometheus = nullptr;
  ~Services() {
    if (prometheus && prometheus_collector) prometheus->remove_collector(prometheus_collector);
  }
};

App::App(AppOptions options) : options_(std::move(options)) {}
App::~App() = default;

namespace {
constexpr std::chrono::seconds k_shutdown_grace{15};

log::Options log_options(const config::Config& c) {
  log::Options o;
  log::Level level = log::Level::Info;
  log::parse_level(c.get_string("log.level"), level);
  o.level = level;
  o.topics = c.get_strings("log.topics");
  o.max_lines = c.get_uint("log.max_lines");
  return o;
}

// The registry's view of the config: where placeholders point, what outputs may write.
restream::RegistryOptions registry_options(const config::Config& c, std::string ffmpeg_binary) {
  restream::RegistryOptions o;
  const auto abs = [](const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); };
  o.db_path = abs(c.get_string("db.dir")) + "/db.json";
  o.ffmpeg_binary = std::move(ffmpeg_binary);
  o.max_processes = c.get_uint("ffmpeg.max_processes");
  o.log_max_lines = c.get_uint("ffmpeg.log.max_lines");
  o.log_max_history = c.get_uint("ffmpeg.log.max_history");
  auto disk = abs(c.get_string("storage.disk.dir"));
  if (disk.size() > 1 && disk.back() == '/') disk.pop_back();
  o.placeholders.diskfs = disk;
  o.placeholders.memfs = ffmpeg::memfs_base_url(c.get_string("address"), c.get_bool("storage.memory.auth.enable"),
                                                c.get_string("storage.memory.auth.username"),
                                                c.get_string("storage.memory.auth.password"));
  // {fs:NAME} of each S3 filesystem: its HTTP mount, with the mount's own credentials.
  for (const auto& item : c.get("storage.s3")) {
    const auto auth = item.value("auth", nlohmann::json::object());
    o.placeholders.filesystems.emplace_back(
        item.value("name", std::string()),
        ffmpeg::mount_base_url(c.get_string("address"), item.value("mountpoint", std::string()),
                               auth.value("enable", false), auth.value("username", std::string()),
                               auth.value("password", std::string())));
  }
  o.placeholders.rtmp_address = c.get_string("rtmp.address");
  o.placeholders.rtmp_app = c.get_string("rtmp.app");
  o.placeholders.rtmp_token = c.get_string("rtmp.token");
  o.placeholders.srt_address = c.get_string("srt.address");
  o.placeholders.srt_token = c.get_string("srt.token");
  o.placeholders.srt_passphrase = c.get_string("srt.passphrase");
  o.validation.disk_dir = disk;
  o.validation.cwd = std::filesystem::current_path().string();
  if (auto err = o.validation.input_access.set(c.get_strings("ffmpeg.access.input.allow"),
                                               c.get_strings("ffmpeg.access.input.block"))) {
    throw std::runtime_error("ffmpeg.access.input: " + *err);
  }
  if (auto err = o.validation.output_access.set(c.get_strings("ffmpeg.access.output.allow"),
                                                c.get_strings("ffmpeg.access.output.block"))) {
    throw std::runtime_error("ffmpeg.access.output: " + *err);
  }
  return o;
}

std::string public_url(const std::string& address) {
  const auto colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return "http://" + host + address.substr(colon);
}
webrtc::ServerOptions webrtc_options(const config::Config& c) {
  webrtc::ServerOptions o;
  o.udp_enable = c.get_bool("webrtc.udp.enable");
  o.udp_address = c.get_string("webrtc.address");
  o.tcp_enable = c.get_bool("webrtc.tcp.enable");
  o.tcp_address = c.get_string("webrtc.tcp.address");
  o.public_ips = c.get_strings("webrtc.public_ips");
  o.public_hosts = c.get_strings("webrtc.public_hosts");
  o.rtp_port_min = static_cast<std::uint16_t>(c.get_uint("webrtc.rtp_port_min"));
  o.rtp_port_max = static_cast<std::uint16_t>(c.get_uint("webrtc.rtp_port_max"));
  o.max_viewers = c.get_uint("webrtc.max_viewers");
  o.ice_timeout = std::chrono::seconds(c.get_uint("webrtc.ice_timeout_seconds"));
  o.gop_cache = c.get_bool("webrtc.gop_cache");
  return o;
}

// ---- sessions (session/registry.hpp) ----
// Collectors as upstream registers them when sessions.enable: "hls" (viewers of /memfs), "hlsingress"
// (FFmpeg's uploads: 30 s, no limits, loopback counted), "http" (all traffic as one session "HTTP");
// "webrtc" while the WebRTC server runs (its viewers, reference = process id); "rtmp" and "srt"
// while those servers run (publishers and players; as upstream, their limits are not enforced on
// them: a session the collector refuses still plays, uncounted). max_bitrate_mbit is checked against
// the summed egress of hls and webrtc (http and hlsingress are not limited).
void configure_sessions(session::Registry& r, const config::Config& c, bool webrtc) {
  std::map<std::string, session::CollectorConfig> want;
  if (c.get_bool("sessions.enable")) {
    session::CollectorConfig viewers;
    viewers.max_sessions = c.get_uint("sessions.max_sessions");
    viewers.max_tx_bitrate = static_cast<double>(c.get_uint("sessions.max_bitrate_mbit")) * 1024.0 * 1024.0;
    viewers.ip_ignorelist = c.get_strings("sessions.ip_ignorelist");
    viewers.session_timeout = std::chrono::seconds(std::max<std::int64_t>(1, c.get_int("sessions.session_timeout_sec")));
    want["hls"] = viewers;
    if (webrtc) want["webrtc"] = viewers;
    if (c.get_bool("rtmp.enable")) want["rtmp"] = viewers;
    if (c.get_bool("srt.enable")) want["srt"] = viewers;
    session::CollectorConfig http = viewers;
    http.max_sessions = 0;
    http.max_tx_bitrate = 0;
    http.limited = false;
    want["http"] = http;
    session::CollectorConfig ingress;
    ingress.limited = false;
    ingress.session_timeout = std::chrono::seconds(30);
    want["hlsingress"] = ingress;
  }
  for (const auto& name : r.names()) {
    if (!want.count(name)) r.remove(name);
  }
  for (auto& [name, cfg] : want) r.add(name, std::move(cfg));
  const auto db_dir = std::filesystem::absolute(c.get_string("db.dir")).lexically_normal().string();
  r.set_persistence(c.get_bool("sessions.persist") ? db_dir + "/sessions.json" : std::string(),
                    std::chrono::seconds(std::max<std::int64_t>(0, c.get_int("sessions.persist_interval_sec"))));
}

// HTTP requests by route group (a fixed set, never the raw path) and status.
class HttpMetrics {
 public:
  explicit HttpMetrics(metrics::Registry& r)
      : requests_(r.counter("dragonfork_http_requests_total", "HTTP requests by route group and status",
                            {"group", "code"})),
        duration_(r.histogram("dragonfork_http_request_duration_seconds", "HTTP request handling time by route group",
                              {"group"}, {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5})) {}

  void observe(std::string_view path, int status, std::chrono::steady_clock::duration d) {
    const std::string g = group(path);
    requests_.with({g, std::to_string(status)})->inc();
    duration_.with({g})->observe(std::chrono::duration<double>(d).count());
  }

  static std::string group(std::string_view path) {
    static const char* const api_groups[] = {"process", "whep", "fs", "metrics", "config", "log", "skills",
                                             "metadata", "session", "rtmp", "srt", "widget"};
    if (path.starts_with("/api/v3/")) {
      const auto rest = path.substr(8);
      const auto name = rest.substr(0, rest.find('/'));
      for (const char* g : api_groups) {
        if (name == g) return std::string("api_") + g;
      }
      return "api_other";
    }
    if (path.starts_with("/api/login")) return "login";
    if (path.starts_with("/api/swagger")) return "swagger";
    if (path == "/api" || path == "/api/") return "api_about";
    if (path.starts_with("/memfs/") || path == "/memfs") return "memfs";
    if (path == "/metrics") return "prometheus";
    if (path == "/ping") return "ping";
    if (path.starts_with("/ui")) return "ui";
    if (path == "/whep-player.html") return "player";
    return "other";
  }

 private:
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& duration_;
};

// The registry asks for leg ports through this; restream/ never sees webrtc/.
class WebrtcLegs final : public restream::WebrtcLegProvider {
 public:
  explicit WebrtcLegs(webrtc::Server& server) : server_(server) {}
  std::optional<Ports> open(const std::string& id) override {
    const auto p = server_.open_stream(id);
    if (!p) return std::nullopt;
    return Ports{p->video, p->audio, p->sdp_file};
  }
  void close(const std::string& id) override { server_.close_stream(id); }

 private:
  webrtc::Server& server_;
};
}  // namespace

// The RTMP(S) and SRT servers (rtmp.*, srt.*). RTMPS shares the HTTPS certificate (tls.cert_file,
// tls.key_file) and runs only when tls.enable and rtmp.enable_tls, as upstream.
bool App::start_relays(Services& s, const config::Config& cfg) {
  if (cfg.get_bool("rtmp.enable")) {
    rtmp::ServerOptions o;
    o.address = cfg.get_string("rtmp.address");
    o.app = cfg.get_string("rtmp.app");
    o.token = cfg.get_string("rtmp.token");
    if (cfg.get_bool("tls.enable") && cfg.get_bool("rtmp.enable_tls")) {
      o.tls_address = cfg.get_string("rtmp.address_tls");
      o.tls_cert_file = cfg.get_string("tls.cert_file");
      o.tls_key_file = cfg.get_string("tls.key_file");
    }
    o.collector = sessions_->get("rtmp");
    o.metrics = metrics_.get();
    try {
      s.rtmp = std::make_unique<rtmp::Server>(std::move(o));
      s.rtmp->start();
    } catch (const std::exception& e) {
      log::error("RTMP", "Cannot start", {{"error", e.what()}});
      return false;
    }
    log::info("RTMP", "Listening", {{"address", cfg.get_string("rtmp.address")}, {"port", s.rtmp->port()}});
    if (s.rtmp->tls_port()) log::info("RTMP", "Listening (RTMPS)", {{"port", s.rtmp->tls_port()}});
    auto* server = s.rtmp.get();
    s.ctx.rtmp_channels = [server] {
      auto out = nlohmann::json::array();
      for (const auto& path : server->channels()) out.push_back({{"name", path}});
      return out;
    };
  }
  if (cfg.get_bool("srt.enable")) {
    srt::ServerOptions o;
    o.address = cfg.get_string("srt.address");
    o.passphrase = cfg.get_string("srt.passphrase");
    o.token = cfg.get_string("srt.token");
    o.sessions = sessions_->get("srt");
    o.metrics = metrics_.get();
    try {
      s.srt = std::make_unique<srt::Server>(std::move(o));
      s.srt->start();
    } catch (const std::exception& e) {
      log::error("SRT", "Cannot start", {{"error", e.what()}});
      return false;
    }
    log::info("SRT", "Listening", {{"address", cfg.get_string("srt.address")}, {"port", s.srt->port()}});
    auto* server = s.srt.get();
    s.ctx.srt_channels = [server] { return server->channels_json(); };
  }
  return true;
}

void App::announce_login() const {
  const auto cfg = store_->active();
  if (!cfg->get_bool("api.auth.enable")) {
    log::warn("Core", "API authentication is DISABLED by configuration (api.auth.enable=false): anyone who can "
                      "reach the API controls this server");
    return;
  }
  if (auto pw = store_->generated_password()) {
    // Printed once, straight to the terminal: never into the log ring or JSON logs.
    std::fprintf(stderr,
                 "\n"
                 "  Dragon Core is ready. Open the web UI at %s/ or log in via POST %s/api/login (API documentation: "
                 "%s/api/swagger/)\n"
                 "    username: %s\n"
                 "    password: %s\n"
                 "  This password was generated on first start and stored in %s (api.auth.password).\n\n",
                 public_url(cfg->get_string("address")).c_str(), public_url(cfg->get_string("address")).c_str(),
                 public_url(cfg->get_string("address")).c_str(),
                 cfg->get_string("api.auth.username").c_str(), pw->c_str(), store_->path().c_str());
  } else {
    log::info("Core", "API login required", {{"username", cfg->get_string("api.auth.username")},
                                              {"password", "see api.auth.password in the config file"},
                                              {"config", store_->path()}});
  }
}

bool App::start_services() {
  auto s = std::make_unique<Services>();
  const auto cfg = store_->active();
  log::configure(log_options(*cfg));

  const auto cores = std::max(1u, std::thread::hardware_concurrency());
  s->loops = std::make_unique<net::LoopPool>(cores);
  s->ctx.store = store_.get();
  s->ctx.config = cfg;
  s->ctx.request_reload = [this] { reload_requested_ = true; };
  std::string resolve_error;
  const auto ffmpeg_binary = process::resolve_executable(cfg->get_string("ffmpeg.binary"), resolve_error);
  if (ffmpeg_binary.empty()) {
    log::error("Core", "FFmpeg not found", {{"ffmpeg.binary", cfg->get_string("ffmpeg.binary")}, {"error", resolve_error}});
    return false;
  }
  // Upstream refuses to start when FFmpeg's version cannot be read; so do we.
  s->ctx.skills = std::make_shared<api::SkillsState>(ffmpeg_binary);
  if (std::string error; !s->ctx.skills->detect(error)) {
    log::error("Core", "Cannot detect FFmpeg's capabilities", {{"ffmpeg.binary", ffmpeg_binary}, {"error", error}});
    return false;
  }
  log::info("FFmpeg", "Found", {{"binary", ffmpeg_binary}, {"version", s->ctx.skills->version()}});
  try {
    api::configure_filesystems(*filesystems_, *cfg);
  } catch (const std::exception& e) {
    log::error("Core", "Cannot set up the filesystems", {{"error", e.what()}});
    return false;
  }
  s->reactor = std::make_unique<process::Reactor>();
  if (cfg->get_bool("webrtc.enable")) {
    auto wo = webrtc_options(*cfg);
    auto* sessions = sessions_.get();  // "webrtc" is registered by configure_sessions before any viewer arrives
    wo.session_open = [sessions](const std::string& rid, const std::string& pid) {
      auto c = sessions->get("webrtc");
      return !c || c->open(rid, pid, "whep:" + pid, "") == session::Admission::Ok;
    };
    wo.session_bytes = [sessions](const std::string& rid, std::uint64_t total) {
      if (auto c = sessions->get("webrtc")) c->egress_total(rid, total);
    };
    wo.session_close = [sessions](const std::string& rid) {
      if (auto c = sessions->get("webrtc")) c->close(rid);
    };
    s->webrtc = std::make_unique<webrtc::Server>(std::move(wo));
    try {
      s->webrtc->start();
    } catch (const std::exception& e) {
      log::error("WebRTC", "Cannot start", {{"error", e.what()}});
      return false;
    }
    s->ctx.webrtc = s->webrtc.get();
    s->webrtc_metrics = std::make_unique<webrtc::ServerMetrics>(*metrics_, *s->webrtc);
  }
  s->ctx.metrics = metrics_.get();
  try {
    configure_sessions(*sessions_, *cfg, s->webrtc != nullptr);
  } catch (const std::exception& e) {
    log::error("Sessions", "Invalid session settings", {{"error", e.what()}});
    return false;
  }
  if (!sessions_loaded_) {
    sessions_loaded_ = true;
    try {
      sessions_->load();
    } catch (const std::exception& e) {
      // Never overwrite a history we could not read: persistence stays off for this run.
      log::error("Sessions", "Cannot read the session history; not persisting it", {{"error", e.what()}});
      sessions_->set_persistence({}, std::chrono::seconds(0));
    }
  }
  s->ctx.sessions = sessions_.get();
  s->ctx.filesystems = filesystems_.get();
  if (!start_relays(*s, *cfg)) return false;
  try {
    auto ro = registry_options(*cfg, ffmpeg_binary);
    if (s->webrtc) {
      ro.webrtc_legs = std::make_shared<WebrtcLegs>(*s->webrtc);
      auto* server = s->webrtc.get();
      ro.webrtc_state = [server](const std::string& id) { return server->stream_json(id); };
    }
    auto* filesystems = filesystems_.get();
    ro.set_cleanup = [filesystems](const std::string& id, const std::vector<ffmpeg::CleanupRule>& rules) {
      std::vector<fs::CleanupRule> out;
      for (const auto& r : rules) out.push_back({r.pattern, r.max_files, r.max_file_age_seconds, r.purge_on_delete});
      filesystems->set_cleanup(id, std::move(out));
    };
    ro.unset_cleanup = [filesystems](const std::string& id) { filesystems->remove_cleanup(id); };
    // Stored with every process as upstream: the FFmpeg version it was made for.
    const auto v = s->ctx.skills->version();
    ro.ffversion = "^" + v.substr(0, v.rfind('.')) + ".0";
    s->registry = std::make_unique<restream::Registry>(std::move(ro), *s->reactor);
  } catch (const std::exception& e) {
    log::error("Core", "Invalid FFmpeg settings", {{"error", e.what()}});
    return false;
  }
  s->ctx.registry = s->registry.get();
  s->monitor = make_monitor(*cfg, started_, *s->registry, *filesystems_, sessions_.get());
  s->ctx.monitor = s->monitor.get();
  s->prometheus = metrics_.get();
  s->prometheus_collector = add_upstream_prometheus(*metrics_, *s->monitor, *s->registry);
  s->monitor->start();
  if (s->webrtc) {
    auto* registry = s->registry.get();
    s->webrtc->on_b_frames = [registry](const std::string& id) { registry->webrtc_needs_transcode(id); };
  }
  api::prepare_context(s->ctx);
  api::register_routes(s->router, s->ctx);
  api::register_fs_routes(s->router, s->ctx, filesystems_.get());

  http::ServiceOptions so;
  try {
    so.http_access = util::IpAccessList(cfg->get_strings("api.access.http.allow"), cfg->get_strings("api.access.http.block"));
    so.https_access =
        util::IpAccessList(cfg->get_strings("api.access.https.allow"), cfg->get_strings("api.access.https.block"));
  } catch (const std::exception& e) {
    log::error("Core", "Invalid access list", {{"error", e.what()}});
    return false;
  }
  so.cors.push_back({"/api", {"*"}});
  so.cors.push_back({"/memfs", cfg->get_strings("storage.cors.origins")});
  so.cors.push_back({"/", cfg->get_strings("storage.cors.origins")});
  auto http_metrics = std::make_shared<HttpMetrics>(*metrics_);
  auto http_sessions = sessions_->get("http");  // upstream's one aggregate session "HTTP"
  s->service = std::make_unique<http::Service>(
      s->router, std::move(so), api::make_authorizer(s->ctx),
      [http_metrics, http_sessions](const http::Request& req, const http::Response& res,
                                    std::chrono::steady_clock::duration d) {
        http_metrics->observe(req.path, res.status, d);
        if (http_sessions && http_sessions->collectable(req.remote_ip)) {
          if (!http_sessions->is_active("HTTP")) http_sessions->open("HTTP", "", "any", "any");
          http_sessions->ingress("HTTP", req.body.size());
          http_sessions->egress("HTTP", res.body_size());
        }
        if (!log::enabled(log::Level::Debug)) return;
        log::debug("HTTP", "Request", {{"method", std::string(http::method_name(req.method))},
                                       {"path", req.path},
                                       {"status", res.status},
                                       {"client", req.remote_ip},
                                       {"duration_ms", std::chrono::duration<double, std::milli>(d).count()}});
      });

  std::vector<http::ServerOptions> listeners;
  http::ServerOptions plain;
  plain.name = "HTTP";
  plain.address = cfg->get_string("address");
  listeners.push_back(plain);
  if (cfg->get_bool("tls.enable")) {
    http::ServerOptions tls;
    tls.name = "HTTPS";
    tls.address = cfg->get_string("tls.address");
    tls.tls = http::TlsFiles{cfg->get_string("tls.cert_file"), cfg->get_string("tls.key_file")};
    listeners.push_back(tls);
  }
  s->loops->start();
  for (auto& o : listeners) {
    auto server = std::make_unique<http::Server>(*s->loops, *s->service, o);
    try {
      server->start();
    } catch (const std::exception& e) {
      log::error(o.name, "Server failed to start", {{"error", e.what()}});
      for (auto& started : s->servers) started->shutdown(std::chrono::milliseconds(0));
      s->loops->stop();
      return false;
    }
    log::info(o.name, "Server started", {{"address", server->local_address()}});
    s->servers.push_back(std::move(server));
  }
  // Processes start once the servers they write to (memfs) are listening.
  try {
    s->registry->load();
  } catch (const std::exception& e) {
    log::error("Restream", "Cannot load the process database", {{"error", e.what()}});
    for (auto& started : s->servers) started->shutdown(std::chrono::milliseconds(0));
    s->loops->stop();
    return false;
  }
  services_ = std::move(s);
  return true;
}

void App::stop_services() {
  if (!services_) return;
  for (auto& server : services_->servers) server->shutdown(k_shutdown_grace);
  if (services_->monitor) services_->monitor->stop();
  if (services_->prometheus_collector) {
    services_->prometheus->remove_collector(std::exchange(services_->prometheus_collector, 0));
  }
  services_->webrtc_metrics.reset();
  if (services_->webrtc) services_->webrtc->stop();  // viewers get BYE; no callback reaches the registry after this
  services_->registry.reset();  // stops the children; their orders stay in db.json
  // After the children: FFmpeg publishing to or reading from them would otherwise restart in a loop.
  if (services_->rtmp) services_->rtmp->stop();  // players get StreamEOF first
  if (services_->srt) services_->srt->stop();
  services_->reactor.reset();
  services_->loops->stop();
  services_.reset();
}

int App::run() {
  // Signals are taken synchronously by this thread only; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // Every viewer, upload and child pipe is a descriptor: use all the hard limit allows.
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  const auto env = config::process_environment();
  const auto path = config::locate_config_file(options_.config_path, env);
  store_ = std::make_unique<config::Store>(path, env);
  const auto errors = store_->load();
  if (!errors.empty()) {
    std::fprintf(stderr, "dragon-core: invalid configuration (%s):\n", path.c_str());
    for (const auto& e : errors) std::fprintf(stderr, "  %s: %s\n", e.var.empty() ? "file" : e.var.c_str(), e.message.c_str());
    return 1;
  }
  log::configure(log_options(*store_->active()));
  log::info("Core", "Starting", {{"application", "dragon-core"}, {"version", build::k_version},
                                 {"commit", build::k_commit}, {"config", path}});
  if (store_->created_file()) log::info("Core", "Created config file with defaults", {{"path", path}});

  metrics_ = std::make_unique<metrics::Registry>();
  sessions_ = std::make_unique<session::Registry>();
  sessions_->start();  // expires idle sessions, saves the history every sessions.persist_interval_sec
  filesystems_ = std::make_unique<fs::FilesystemRegistry>();
  filesystems_->start();
  if (!start_services()) return 1;
  announce_login();

  int exit_code = 0;
  for (;;) {
    timespec timeout{0, 200 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) {
      log::info("Core", "Shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
      break;
    }
    if (sig == SIGHUP || reload_requested_.exchange(false)) {
      log::info("Core", "Reloading configuration", {{"path", path}});
      if (auto errs = store_->reload(); !errs.empty()) {
        log::error("Core", "Reload failed, keeping the running configuration",
                   {{"error", config::errors_to_string(errs)}});
        continue;
      }
      stop_services();
      if (!start_services()) {
        log::error("Core", "Services failed to start with the new configuration");
        exit_code = 1;
        break;
      }
    }
  }
  stop_services();
  filesystems_->stop();
  try {
    sessions_->stop();  // final save of the history (sessions.persist)
  } catch (const std::exception& e) {
    log::error("Sessions", "Cannot save the session history", {{"error", e.what()}});
  }
  log::info("Core", "Stopped");
  return exit_code;
}

}  // namespace dragon::app
