#include "http/server.hpp"

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <limits>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "log/log.hpp"
#include "util/strings.hpp"

namespace dragon::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

bool split_host_port(std::string_view address, std::string& host, std::uint16_t& port) {
  std::string_view port_text;
  if (address.empty()) return false;
  if (address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') return false;
    host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
  } else if (const auto colon = address.rfind(':'); colon != std::string_view::npos) {
    host = std::string(address.substr(0, colon));
    if (host.find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
    port_text = address.substr(colon + 1);
  } else {
    host.clear();
    port_text = address;
  }
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

namespace {

std::string peer_ip(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return {};
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
  }
  return addr.to_string();
}

std::uint16_t peer_port(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? 0 : ep.port();
}

// A coroutine's parameters live in its frame; a lambda coroutine's captures would not outlive the
// closure object, which is gone before the work runs on the pool.
awaitable<Response> run_blocking(std::function<Response()> work) { co_return work(); }

// Answers a request that failed before it reached the pipeline (bad framing, oversized header).
template <class Stream>
awaitable<void> write_plain_error(Stream& stream, int status, std::string detail) {
  Response r = Response::error(status, {}, {std::move(detail)});
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::connection, "close");
  res.body() = std::move(r.body);
  res.prepare_payload();
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  net::LoopPool& loops;
  const Service& service;
  ServerOptions opt;
  std::unique_ptr<asio::ssl::context> ssl;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> connections{0};
  std::atomic<std::uint64_t> next_id{1};

  std::mutex mu;
  std::condition_variable cv;
  // Per connection: a function that closes it (force) or only when idle (!force), posted to its loop.
  std::unordered_map<std::uint64_t, std::function<void(bool)>> closers;

  Impl(net::LoopPool& l, const Service& s, ServerOptions o) : loops(l), service(s), opt(std::move(o)) {}

  void register_conn(std::uint64_t id, std::function<void(bool)> closer) {
    std::lock_guard lock(mu);
    closers.emplace(id, std::move(closer));
  }
  void unregister_conn(std::uint64_t id) {
    {
      std::lock_guard lock(mu);
      closers.erase(id);
    }
    connections.fetch_sub(1);
    cv.notify_all();
  }

  awaitable<void> accept_loop();
  template <class Stream>
  awaitable<void> session(Stream stream, std::uint64_t id);
  template <class Stream>
  awaitable<bool> serve_one(Stream& stream, beast::flat_buffer& buffer, const std::string& ip, std::uint16_t port);
};

// Shared between a connection's coroutine and the shutdown closers; only touched on its loop.
struct ConnState {
  bool alive = true;
  bool idle = true;
  std::function<void()> cancel;
};

awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  std::chrono::steady_clock::time_point last_full_warning{};
  for (;;) {
    auto& loop = loops.next();
    boost::system::error_code ec;
    tcp::socket sock = co_await acceptor->async_accept(loop, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      // Out of descriptors or memory: back off instead of spinning on the failing accept.
      log::warn(opt.name, "Accept failed", {{"error", ec.message()}});
      asio::steady_timer t(co_await asio::this_coro::executor);
      t.expires_after(std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (draining.load()) {
      sock.close(ec);
      continue;
    }
    if (connections.load() >= opt.max_connections) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_full_warning > std::chrono::seconds(10)) {
        last_full_warning = now;
        log::warn(opt.name, "Connection limit reached, refusing new connections", {{"limit", opt.max_connections}});
      }
      sock.close(ec);
      continue;
    }
    connections.fetch_add(1);
    sock.set_option(tcp::no_delay(true), ec);
    const auto id = next_id.fetch_add(1);
    if (ssl) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(sock)), *ssl);
      asio::co_spawn(loop, session(std::move(stream), id), asio::detached);
    } else {
      asio::co_spawn(loop, session(beast::tcp_stream(std::move(sock)), id), asio::detached);
    }
  }
}

template <class Stream>
awaitable<void> Server::Impl::session(Stream stream, std::uint64_t id) {
  auto self = shared_from_this();
  auto& lowest = beast::get_lowest_layer(stream);
  const auto ip = peer_ip(lowest.socket());
  const auto port = peer_port(lowest.socket());
  auto executor = co_await asio::this_coro::executor;
  auto st = std::make_shared<ConnState>();
  st->cancel = [&lowest] { lowest.cancel(); };
  // The closer runs on this connection's loop, so the state and the socket are only touched there.
  register_conn(id, [executor, st](bool force) {
    asio::post(executor, [st, force] {
      if (st->alive && (force || st->idle)) st->cancel();
    });
  });
  try {
    boost::system::error_code ec;
    bool ok = true;
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      lowest.expires_after(opt.read_header_timeout);
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
      if (ec) ok = false;
    }
    beast::flat_buffer buffer;
    bool first = true;
    while (ok && !draining.load()) {
      st->idle = true;
      if (buffer.size() == 0) {
        // Wait for the first byte of the next request under the idle timeout; the header then
        // has read_header_timeout to arrive (slow-header clients cannot hold a connection).
        lowest.expires_after(first ? opt.read_header_timeout : opt.idle_timeout);
        const auto n = co_await stream.async_read_some(buffer.prepare(4096), asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        buffer.commit(n);
      }
      st->idle = false;
      first = false;
      ok = co_await serve_one(stream, buffer, ip, port);
    }
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      lowest.expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
    } else {
      lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  } catch (const std::exception& e) {
    log::debug(opt.name, "Connection ended with an error", {{"error", e.what()}});
  }
  st->alive = false;
  st->cancel = nullptr;
  unregister_conn(id);
}

template <class Stream>
awaitable<bool> Server::Impl::serve_one(Stream& stream, beast::flat_buffer& buffer, const std::string& ip,
                                        std::uint16_t port) {
  auto& lowest = beast::get_lowest_layer(stream);
  boost::system::error_code ec;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
  // The route decides the limit once the header is known (a Content-Length over it gets 413).
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  lowest.expires_after(opt.read_header_timeout);
  co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    if (ec == bhttp::error::header_limit) {
      co_await write_plain_error(stream, 431, "request header exceeds " + std::to_string(opt.header_limit) + " bytes");
    } else if (ec != asio::error::operation_aborted && ec != beast::error::timeout && ec != asio::error::eof &&
               ec != bhttp::error::end_of_stream && ec.category() == make_error_code(bhttp::error::bad_target).category()) {
      co_await write_plain_error(stream, 400, "malformed HTTP request: " + ec.message());
    }
    co_return false;
  }
  const auto started = std::chrono::steady_clock::now();
  auto& head = parser.get();

  Request req;
  req.method = parse_method(std::string_view(head.method_string().data(), head.method_string().size()));
  req.target = std::string(head.target());
  req.version = static_cast<int>(head.version());
  req.remote_ip = ip;
  req.remote_port = port;
  req.tls = !std::is_same_v<Stream, beast::tcp_stream>;
  for (const auto& f : head) {
    req.headers.add(std::string(f.name_string()), std::string(f.value()));
  }
  const auto qpos = req.target.find('?');
  const std::string_view raw_path = std::string_view(req.target).substr(0, qpos);
  if (qpos != std::string::npos) req.query = req.target.substr(qpos + 1);
  Response res;
  const bool has_body = head.has_content_length() ? (head[bhttp::field::content_length] != "0") : head.chunked();
  bool body_ok = true;
  if (raw_path.empty() || raw_path.front() != '/' || !util::url_decode(raw_path, req.path) ||
      req.path.find('\0') != std::string::npos) {
    res = Response::error(400, {}, {"invalid request path"});
    res.close = true;
    body_ok = false;
  } else {
    auto decision = service.before_body(req);
    if (decision.reject) {
      res = std::move(*decision.reject);
      // The body was not read: the connection cannot carry another request.
      if (has_body) res.close = true;
      body_ok = false;
    } else {
      if (const auto expect = head[bhttp::field::expect];
          util::iequals(std::string_view(expect.data(), expect.size()), "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        lowest.expires_after(opt.write_timeout);
        co_await bhttp::async_write(stream, cont, asio::redirect_error(use_awaitable, ec));
        if (ec) co_return false;
      }
      parser.body_limit(decision.max_body);
      while (!parser.is_done()) {
        lowest.expires_after(opt.body_timeout);
        co_await bhttp::async_read_some(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
        if (ec) break;
      }
      if (ec == bhttp::error::body_limit) {
        res = Response::error(413, {}, {"request body exceeds the limit of " + std::to_string(decision.max_body) +
                                            " bytes for this route"});
        res.close = true;
        body_ok = false;
      } else if (ec) {
        co_return false;  // peer went away or timed out mid-body
      }
    }
  }
  if (body_ok) {
    req.body = std::move(parser.get().body());
    res = service.handle(req);
  }
  if (res.offload) {
    auto work = std::move(res.offload);
    try {
      res = co_await asio::co_spawn(loops.blocking(), run_blocking(std::move(work)), use_awaitable);
    } catch (const std::exception& e) {
      log::error(opt.name, "Request failed", {{"path", req.path}, {"error", e.what()}});
      res = Response::error(500, {}, {e.what()});
    }
  }
  if (res.delay.count() > 0) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(res.delay);
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  service.finish(req, res, started);

  const bool keep_alive = parser.get().keep_alive() && !res.close && !draining.load();
  const bool head_only = req.method == Method::Head;
  const bool no_body = res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200);
  lowest.expires_after(opt.write_timeout);
  if ((res.file || res.shared) && !head_only && !no_body) {
    // Header first, then the body slice by slice through a buffer_body: shared buffers go out
    // without a copy, files are read with pread from their offset (Range requests).
    bhttp::response<bhttp::buffer_body> out{static_cast<bhttp::status>(res.status), req.version == 10 ? 10u : 11u};
    for (const auto& [k, v] : res.headers.items()) out.insert(k, v);
    out.keep_alive(keep_alive);
    out.content_length(res.body_size());
    out.body().data = nullptr;
    out.body().more = true;
    bhttp::response_serializer<bhttp::buffer_body> sr{out};
    int fd = -1;
    if (res.file) {
      fd = ::open(res.file->path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        co_await write_plain_error(stream, 500, "cannot open file");
        co_return false;
      }
    }
    struct FdCloser {
      int fd;
      ~FdCloser() {
        if (fd >= 0) ::close(fd);
      }
    } closer{fd};
    co_await bhttp::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
    std::uint64_t offset = res.file ? res.file->offset : res.shared->offset;
    std::uint64_t remaining = res.body_size();
    std::vector<char> chunk(res.file ? std::min<std::uint64_t>(remaining, 256 * 1024) : 0);
    while (!ec && remaining > 0) {
      std::size_t n = 0;
      if (res.file) {
        const auto r = ::pread(fd, chunk.data(), std::min<std::uint64_t>(remaining, chunk.size()),
                               static_cast<off_t>(offset));
        if (r <= 0) co_return false;  // the file shrank or failed under us: the length is promised
        n = static_cast<std::size_t>(r);
        out.body().data = chunk.data();
      } else {
        n = static_cast<std::size_t>(remaining);
        out.body().data = const_cast<char*>(res.shared->data->data() + offset);
      }
      out.body().size = n;
      offset += n;
      remaining -= n;
      out.body().more = remaining > 0;
      lowest.expires_after(opt.write_timeout);
      co_await bhttp::async_write(stream, sr, asio::redirect_error(use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
    }
    if (!ec && !sr.is_done()) {
      out.body().data = nullptr;
      out.body().size = 0;
      out.body().more = false;
      co_await bhttp::async_write(stream, sr, asio::redirect_error(use_awaitable, ec));
    }
  } else {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), req.version == 10 ? 10u : 11u};
    for (const auto& [k, v] : res.headers.items()) out.insert(k, v);
    out.keep_alive(keep_alive);
    if (no_body) {
      out.erase(bhttp::field::content_length);
    } else {
      out.content_length(res.body_size());
      if (!head_only) out.body() = std::move(res.body);
    }
    bhttp::response_serializer<bhttp::string_body> sr{out};
    if (head_only || no_body) sr.split(true);
    if (head_only || no_body) {
      co_await bhttp::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
    } else {
      co_await bhttp::async_write(stream, sr, asio::redirect_error(use_awaitable, ec));
    }
  }
  if (ec) co_return false;
  co_return keep_alive;
}

Server::Server(net::LoopPool& loops, const Service& service, ServerOptions options)
    : impl_(std::make_shared<Impl>(loops, service, std::move(options))) {}

Server::~Server() {
  if (impl_ && impl_->acceptor) shutdown(std::chrono::milliseconds(0));
}

void Server::start() {
  auto& o = impl_->opt;
  std::string host;
  std::uint16_t port = 0;
  if (!split_host_port(o.address, host, port)) throw std::runtime_error("invalid listen address \"" + o.address + "\"");
  if (o.tls) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                     asio::ssl::context::single_dh_use);
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(o.tls->cert_file, ec);
    if (ec) throw std::runtime_error("tls.cert_file \"" + o.tls->cert_file + "\": " + ec.message());
    ctx->use_private_key_file(o.tls->key_file, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("tls.key_file \"" + o.tls->key_file + "\": " + ec.message());
    impl_->ssl = std::move(ctx);
  }
  auto& loop = impl_->loops.loop(0);
  auto acceptor = std::make_unique<tcp::acceptor>(loop);
  boost::system::error_code ec;
  tcp::endpoint ep;
  if (host.empty()) {
    ep = tcp::endpoint(tcp::v6(), port);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::ip::v6_only(false), ec);
    if (ec) {  // no IPv6 on this host: all IPv4 interfaces
      acceptor = std::make_unique<tcp::acceptor>(loop);
      ep = tcp::endpoint(tcp::v4(), port);
      ec.clear();
      acceptor->open(ep.protocol(), ec);
    }
  } else {
    auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) throw std::runtime_error("invalid listen host \"" + host + "\" in \"" + o.address + "\"");
    ep = tcp::endpoint(addr, port);
    acceptor->open(ep.protocol(), ec);
  }
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + o.address + ": " + ec.message());
  impl_->acceptor = std::move(acceptor);
  asio::co_spawn(loop, impl_->accept_loop(), asio::detached);
}

void Server::shutdown(std::chrono::milliseconds grace) {
  auto impl = impl_;
  if (!impl->acceptor) return;
  impl->draining = true;
  {
    std::mutex m;
    std::condition_variable done;
    bool closed = false;
    asio::post(impl->acceptor->get_executor(), [&] {
      boost::system::error_code ec;
      impl->acceptor->close(ec);
      std::lock_guard lock(m);
      closed = true;
      done.notify_all();
    });
    std::unique_lock lock(m);
    done.wait_for(lock, std::chrono::seconds(2), [&] { return closed; });
  }
  auto close_all = [&](bool force) {
    std::lock_guard lock(impl->mu);
    for (auto& [id, closer] : impl->closers) closer(force);
  };
  close_all(false);
  std::unique_lock lock(impl->mu);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl->connections.load() > 0) {
    if (impl->cv.wait_until(lock, deadline) == std::cv_status::timeout) break;
    // Connections that finished their request and went idle are closed on the next round.
    lock.unlock();
    close_all(false);
    lock.lock();
  }
  if (impl->connections.load() > 0) {
    lock.unlock();
    close_all(true);
    lock.lock();
    impl->cv.wait_for(lock, std::chrono::seconds(2), [&] { return impl->connections.load() == 0; });
  }
  lock.unlock();
  impl->acceptor.reset();
}

std::string Server::local_address() const {
  boost::system::error_code ec;
  if (!impl_->acceptor) return {};
  auto ep = impl_->acceptor->local_endpoint(ec);
  if (ec) return {};
  if (ep.address().is_v6()) return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::uint16_t Server::local_port() const {
  boost::system::error_code ec;
  if (!impl_->acceptor) return 0;
  auto ep = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t Server::connection_count() const { return impl_->connections.load(); }

}  // namespace dragon::http
