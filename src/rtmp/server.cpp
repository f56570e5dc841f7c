#include "rtmp/server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <atomic>
#include <deque>
#include <span>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <utility>  // Boost 1.74's asio headers need std::exchange declared first

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "log/log.hpp"
#include "metrics/registry.hpp"
#include "rtmp/amf0.hpp"
#include "rtmp/handshake.hpp"
#include "rtmp/path.hpp"
#include "session/registry.hpp"

namespace dragon::rtmp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Strand = asio::strand<asio::io_context::executor_type>;
using amf0::Value;

namespace {

constexpr std::string_view k_component = "RTMP";
constexpr std::size_t k_read_buffer = 64 * 1024;
constexpr std::size_t k_max_gather_buffers = 64;  // what one writev takes through Asio
constexpr auto k_tick = std::chrono::seconds(1);

// Chunk streams we write on (media: k_csid_audio, k_csid_video).
constexpr std::uint32_t k_csid_control = 2, k_csid_command = 3, k_csid_stream = 5;

enum class Refusal { Token, Conflict, NotFound, App, Protocol, Limit, Count };
constexpr std::array<std::string_view, static_cast<std::size_t>(Refusal::Count)> k_refusal_names{
    "token", "conflict", "notfound", "app", "protocol", "limit"};

std::string_view refusal_name(Refusal r) { return k_refusal_names[static_cast<std::size_t>(r)]; }

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

Endpoint parse_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("RTMP address \"" + address + "\" lacks a port");
  Endpoint e;
  e.host = address.substr(0, colon);
  if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  const std::string port = address.substr(colon + 1);
  unsigned long p = 0;
  try {
    std::size_t used = 0;
    p = std::stoul(port, &used);
    if (used != port.size() || p > 65535) throw std::invalid_argument("port");
  } catch (const std::exception&) {
    throw std::runtime_error("RTMP address \"" + address + "\" has an invalid port");
  }
  e.port = static_cast<std::uint16_t>(p);
  return e;
}

Value status_info(std::string level, std::string code, std::string description) {
  return Value::object({{"level", Value::str(std::move(level))},
                        {"code", Value::str(std::move(code))},
                        {"description", Value::str(std::move(description))}});
}

}  // namespace

// Handles obtained once; updating them is a relaxed atomic operation.
struct MetricHandles {
  std::shared_ptr<metrics::Gauge> publishers, players, connections;
  std::shared_ptr<metrics::Counter> rx_bytes, tx_bytes, drops;
  std::array<std::shared_ptr<metrics::Counter>, static_cast<std::size_t>(Refusal::Count)> refused;

  explicit MetricHandles(metrics::Registry* r) {
    if (!r) return;
    publishers = r->gauge("dragonfork_rtmp_publishers", "RTMP publishers connected now").with();
    players = r->gauge("dragonfork_rtmp_players", "RTMP players connected now").with();
    connections = r->gauge("dragonfork_rtmp_connections", "RTMP(S) connections open now").with();
    rx_bytes = r->counter("dragonfork_rtmp_rx_bytes_total", "Bytes received from RTMP clients").with();
    tx_bytes = r->counter("dragonfork_rtmp_tx_bytes_total", "Bytes sent to RTMP clients").with();
    drops = r->counter("dragonfork_rtmp_player_drops_total",
                       "Media messages dropped for RTMP players that could not keep up")
                .with();
    auto& fam = r->counter("dragonfork_rtmp_connections_refused_total",
                           "RTMP connections or requests refused, by reason", {"reason"});
    for (std::size_t i = 0; i < refused.size(); ++i) refused[i] = fam.with({k_refusal_names[i]});
  }
  static void add(const std::shared_ptr<metrics::Gauge>& g, double d) {
    if (g) g->add(d);
  }
  static void inc(const std::shared_ptr<metrics::Counter>& c, std::uint64_t n = 1) {
    if (c) c->inc(n);
  }
};

class Connection;

class Server::Impl {
 public:
  explicit Impl(ServerOptions o) : options(std::move(o)), strand(asio::make_strand(ioc)), m(options.metrics) {
    if (options.chunk_size < 128) options.chunk_size = 128;
    if (options.chunk_size > 65536) options.chunk_size = 65536;
    options.channel.chunk_size = options.chunk_size;
    hub = std::make_unique<Hub>(options.channel);
    hub->on_drop = [this] {
      ++counters.player_drops;
      MetricHandles::inc(m.drops);
    };
    if (options.app.empty() || options.app.front() != '/') options.app.insert(options.app.begin(), '/');
  }

  void start();
  void stop();
  template <class F>
  auto call(F&& f) const -> decltype(f());

  void accept(tcp::acceptor& acceptor, bool tls);
  void on_accepted(tcp::socket socket, bool tls);
  void refused(Refusal r) {
    ++counters.refused;
    MetricHandles::inc(m.refused[static_cast<std::size_t>(r)]);
  }
  void remove(Connection* c);

  ServerOptions options;
  asio::io_context ioc;
  Strand strand;
  MetricHandles m;
  std::unique_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<tcp::acceptor> plain_acceptor, tls_acceptor;
  std::uint16_t plain_port = 0, tls_port = 0;
  std::unique_ptr<Hub> hub;
  std::set<std::shared_ptr<Connection>> connections;
  ServerCounters counters;  // strand only
  std::vector<std::thread> threads;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::atomic<bool> running{false};
  bool stopping = false;
};

// ---- a connection --------------------------------------------------------------------------------------

class Connection : public std::enable_shared_from_this<Connection>, public Subscriber {
 public:
  Connection(Server::Impl& srv, std::string remote, std::string remote_ip)
      : srv_(srv), remote_(std::move(remote)), remote_ip_(std::move(remote_ip)), timer_(srv.strand),
        reader_(srv.options.chunk_limits), rbuf_(k_read_buffer) {
    last_activity_ = Clock::now();
  }
  ~Connection() override = default;

  void start() {
    MetricHandles::add(srv_.m.connections, 1);
    tick();
    start_transport();
  }

  void close(std::string_view why);
  const std::string& remote() const { return remote_; }

  // Subscriber
  std::size_t queued_bytes() const override { return queued_bytes_; }
  void deliver(const PacketRef& p, std::uint32_t timestamp) override;
  void publisher_gone() override;

 protected:
  virtual void start_transport() = 0;  // then calls read()
  virtual void async_read_some(asio::mutable_buffer b) = 0;
  // Writes what the transport takes at once without blocking and returns that many bytes (0: it would
  // block, or the transport writes only asynchronously); an error is left in `ec`.
  virtual std::size_t write_now(std::span<const asio::const_buffer> b, boost::system::error_code& ec) = 0;
  // Writes all of `b` (kept valid by the caller), then calls on_written().
  virtual void async_write(std::span<const asio::const_buffer> b) = 0;
  virtual void close_transport() = 0;

  void read() {
    if (closed_) return;
    if (rlen_ == rbuf_.size()) {  // cannot happen: the reader leaves at most a header's bytes
      close("read buffer full");
      return;
    }
    async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_));
  }
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void on_written(const boost::system::error_code& ec, std::size_t n);

  Server::Impl& srv_;

 private:
  struct OutItem {
    std::vector<std::uint8_t> bytes;  // a serialised control/command message, or empty for media
    PacketRef packet;
    bool shared_wire = false;         // the packet's wire form as it is; else `headers` around its payload
    ChunkHeaders headers;
    std::uint32_t chunk_size = 0;
    std::size_t size() const { return packet ? packet->size() : bytes.size(); }  // counted against the budget
    std::size_t wire_size() const;
  };

  void tick();
  void process();
  void handle(Message& msg);
  void handle_command(const Message& msg, std::span<const std::uint8_t> body);
  void handle_data(const Message& msg, std::span<const std::uint8_t> body);
  void handle_aggregate(const Message& msg);
  void media(std::uint8_t type, std::uint32_t timestamp, Payload payload);

  void on_connect(double txn, const std::vector<Value>& args);
  void on_create_stream(double txn);
  void on_publish(const Message& msg, double txn, const std::vector<Value>& args);
  void on_play(const Message& msg, double txn, const std::vector<Value>& args);
  void stop_stream(std::uint32_t stream_id);
  void unpublish();
  void stop_playing();
  void refuse(Refusal r, std::uint32_t stream_id, const char* code, std::string description, std::string_view path);

  void send(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id, std::uint32_t ts,
            std::span<const std::uint8_t> payload);
  void send_control(std::uint8_t type, const std::vector<std::uint8_t>& payload) {
    send(k_csid_control, type, 0, 0, payload);
  }
  void send_command(std::uint32_t csid, std::uint32_t stream_id, std::initializer_list<Value> values) {
    const auto body = amf0::encode_all(values);
    send(csid, k_command_amf0, stream_id, 0, body);
  }
  void on_status(std::uint32_t stream_id, const char* level, const char* code, std::string description) {
    send_command(k_csid_stream, stream_id,
                 {Value::str("onStatus"), Value::num(0), Value::null(), status_info(level, code, std::move(description))});
  }
  void flush();
  std::size_t gather();
  void written(std::size_t n);
  void flush_accounting();

  std::string remote_, remote_ip_;
  asio::steady_timer timer_;
  Clock::time_point last_activity_;
  bool closed_ = false;

  Handshake handshake_;
  ChunkReader reader_;
  ChunkWriter writer_;
  std::vector<std::uint8_t> rbuf_;
  std::size_t rlen_ = 0;
  std::vector<Message> messages_;

  std::uint64_t rx_total_ = 0;
  std::uint64_t rx_since_ack_ = 0;
  std::uint32_t ack_window_ = 0;  // the client's Window Acknowledgement Size (0: never told)

  std::deque<OutItem> out_;
  std::size_t queued_bytes_ = 0;
  std::size_t front_written_ = 0;  // wire bytes of out_.front() already written
  bool writing_ = false;           // an asynchronous write is under way
  bool close_after_flush_ = false;
  std::array<asio::const_buffer, k_max_gather_buffers> gather_;

  bool connected_ = false;
  std::string app_;  // as the client sent it (may carry a token): never log it
  std::uint32_t streams_created_ = 0;

  // Publishing or playing (one role per connection, as upstream).
  std::shared_ptr<Channel> channel_;
  bool publishing_ = false, playing_ = false;
  std::uint32_t media_stream_id_ = 0;
  std::string path_, session_id_;
  bool session_open_ = false;
  std::uint64_t session_rx_ = 0, session_tx_ = 0;  // not yet booked
  std::uint64_t tx_total_ = 0;
};

namespace {

template <class Stream>
class StreamConnection final : public Connection {
 public:
  StreamConnection(Server::Impl& srv, Stream stream, std::string remote, std::string ip)
      : Connection(srv, std::move(remote), std::move(ip)), stream_(std::move(stream)) {}

 protected:
  void start_transport() override {
    boost::system::error_code ec;
    stream_.non_blocking(true, ec);  // write_now() must never block
    read();
  }
  void async_read_some(asio::mutable_buffer b) override {
    stream_.async_read_some(b, [self = shared_from_this(), this](const boost::system::error_code& ec, std::size_t n) {
      on_read(ec, n);
    });
  }
  std::size_t write_now(std::span<const asio::const_buffer> b, boost::system::error_code& ec) override {
    const std::size_t n = stream_.write_some(b, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) ec.clear();
    return n;
  }
  void async_write(std::span<const asio::const_buffer> b) override {
    asio::async_write(stream_, b, [self = shared_from_this(), this](const boost::system::error_code& ec, std::size_t n) {
      on_written(ec, n);
    });
  }
  void close_transport() override {
    boost::system::error_code ec;
    stream_.shutdown(tcp::socket::shutdown_both, ec);
    stream_.close(ec);
  }

 private:
  Stream stream_;
};

class TlsConnection final : public Connection {
 public:
  TlsConnection(Server::Impl& srv, tcp::socket socket, asio::ssl::context& ctx, std::string remote, std::string ip)
      : Connection(srv, std::move(remote), std::move(ip)), stream_(std::move(socket), ctx) {}

 protected:
  void start_transport() override {
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this(), this](const boost::system::error_code& ec) {
                              if (ec) {
                                close(std::string("TLS handshake failed: ") + ec.message());
                                return;
                              }
                              read();
                            });
  }
  void async_read_some(asio::mutable_buffer b) override {
    stream_.async_read_some(b, [self = shared_from_this(), this](const boost::system::error_code& ec, std::size_t n) {
      on_read(ec, n);
    });
  }
  std::size_t write_now(std::span<const asio::const_buffer>, boost::system::error_code&) override {
    return 0;  // records are written asynchronously only
  }
  // Asio's SSL stream turns each buffer of a sequence into its own TLS record: one contiguous copy per
  // write instead (this player's bytes are encrypted for it alone anyway).
  void async_write(std::span<const asio::const_buffer> b) override {
    scratch_.resize(asio::buffer_size(b));
    asio::buffer_copy(asio::buffer(scratch_), b);
    asio::async_write(stream_, asio::buffer(scratch_),
                      [self = shared_from_this(), this](const boost::system::error_code& ec, std::size_t n) {
                        on_written(ec, n);
                      });
  }
  void close_transport() override {
    boost::system::error_code ec;
    stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
    stream_.lowest_layer().close(ec);
  }

 private:
  asio::ssl::stream<tcp::socket> stream_;
  std::vector<std::uint8_t> scratch_;
};

}  // namespace

void Connection::tick() {
  timer_.expires_after(k_tick);
  timer_.async_wait([self = shared_from_this(), this](const boost::system::error_code& ec) {
    if (ec || closed_) return;
    flush_accounting();
    if (Clock::now() - last_activity_ > srv_.options.idle_timeout) {
      if (!close_after_flush_) log::info(k_component, "Connection idle, closing", {{"remote", remote_}});
      close("idle timeout");
      return;
    }
    tick();
  });
}

void Connection::flush_accounting() {
  auto& c = srv_.options.collector;
  if (!c || !session_open_) {
    session_rx_ = session_tx_ = 0;
    return;
  }
  if (session_rx_) c->ingress(session_id_, session_rx_);
  if (session_tx_) c->egress(session_id_, session_tx_);
  session_rx_ = session_tx_ = 0;
}

void Connection::close(std::string_view why) {
  if (closed_) return;
  closed_ = true;
  log::debug(k_component, "Connection closed", {{"remote", remote_}, {"reason", std::string(why)}});
  timer_.cancel();
  if (publishing_) unpublish();
  if (playing_) stop_playing();
  close_transport();
  out_.clear();
  queued_bytes_ = 0;
  front_written_ = 0;
  MetricHandles::add(srv_.m.connections, -1);
  srv_.remove(this);
}

// ---- reading -------------------------------------------------------------------------------------------

void Connection::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (closed_) return;
  if (ec) {
    close(ec == asio::error::eof ? "closed by peer" : ec.message());
    return;
  }
  rlen_ += n;
  rx_total_ += n;
  rx_since_ack_ += n;
  session_rx_ += n;
  srv_.counters.rx_bytes += n;
  MetricHandles::inc(srv_.m.rx_bytes, n);
  last_activity_ = Clock::now();
  process();
  if (closed_) return;
  if (ack_window_ && rx_since_ack_ >= ack_window_) {
    rx_since_ack_ = 0;
    send_control(k_acknowledgement, control_u32(static_cast<std::uint32_t>(rx_total_)));
  }
  read();
}

void Connection::process() {
  std::size_t used = 0;
  if (!handshake_.done()) {
    used = handshake_.feed({rbuf_.data(), rlen_});
    if (handshake_.failed()) {
      log::info(k_component, "Handshake failed", {{"remote", remote_}, {"error", handshake_.error()}});
      srv_.refused(Refusal::Protocol);
      close("handshake failed");
      return;
    }
    if (!handshake_.output().empty()) {
      OutItem item;
      item.bytes = handshake_.take_output();
      queued_bytes_ += item.bytes.size();
      out_.push_back(std::move(item));
      flush();
    }
  }
  if (handshake_.done() && used < rlen_) {
    messages_.clear();
    used += reader_.feed({rbuf_.data() + used, rlen_ - used}, messages_);
    for (auto& msg : messages_) {
      if (closed_ || close_after_flush_) break;
      handle(msg);
    }
    messages_.clear();
    if (reader_.failed() && !closed_) {
      log::info(k_component, "Protocol error", {{"remote", remote_}, {"error", reader_.error()}});
      srv_.refused(Refusal::Protocol);
      close("protocol error");
      return;
    }
  }
  if (used) {
    std::memmove(rbuf_.data(), rbuf_.data() + used, rlen_ - used);
    rlen_ -= used;
  }
}

void Connection::handle(Message& msg) {
  switch (msg.type) {
    case k_set_chunk_size:
    case k_abort:
    case k_acknowledgement:
    case k_set_peer_bandwidth:
      return;  // applied by the reader, or nothing to do
    case k_window_ack_size:
      if (msg.payload->size() >= 4) ack_window_ = read_be32(msg.payload->data());
      return;
    case k_user_control:
      if (msg.payload->size() >= 6 && msg.payload->at(0) == 0 && msg.payload->at(1) == k_ping_request)
        send_control(k_user_control, user_control(k_ping_response, read_be32(msg.payload->data() + 2)));
      return;
    case k_audio:
    case k_video:
      if (publishing_) media(msg.type, msg.timestamp, std::move(msg.payload));
      return;
    case k_aggregate:
      if (publishing_) handle_aggregate(msg);
      return;
    case k_command_amf0:
      handle_command(msg, msg.bytes());
      return;
    case k_command_amf3:  // AMF0 in an AMF3 envelope: a leading 0 byte
      if (!msg.payload->empty()) handle_command(msg, msg.bytes().subspan(1));
      return;
    case k_data_amf0:
      handle_data(msg, msg.bytes());
      return;
    case k_data_amf3:
      if (!msg.payload->empty()) handle_data(msg, msg.bytes().subspan(1));
      return;
    default:
      return;  // shared objects and unknown types: ignored
  }
}

void Connection::media(std::uint8_t type, std::uint32_t timestamp, Payload payload) {
  if (!channel_) return;
  channel_->publish(make_packet(type, timestamp, std::move(payload)));
}

void Connection::handle_aggregate(const Message& msg) {
  // FLV tags back to back: type(1) size(3) timestamp(3+1) stream id(3) data(size) previous size(4).
  const auto b = msg.bytes();
  std::size_t off = 0;
  bool have_first = false;
  std::uint32_t first_ts = 0;
  while (b.size() - off >= 11) {
    const std::uint8_t type = b[off];
    const std::uint32_t size = read_be24(&b[off + 1]);
    const std::uint32_t ts = read_be24(&b[off + 4]) | (std::uint32_t{b[off + 7]} << 24);
    if (b.size() - off - 11 < size) break;
    if (!have_first) {
      have_first = true;
      first_ts = ts;
    }
    if (type == k_audio || type == k_video) {
      auto payload = std::make_shared<std::vector<std::uint8_t>>(b.begin() + static_cast<std::ptrdiff_t>(off + 11),
                                                                 b.begin() + static_cast<std::ptrdiff_t>(off + 11 + size));
      media(type, msg.timestamp + (ts - first_ts), std::move(payload));
    }
    off += 11 + size;
    if (b.size() - off < 4) break;
    off += 4;
  }
}

void Connection::handle_data(const Message& msg, std::span<const std::uint8_t> body) {
  if (!publishing_ || !channel_) return;
  amf0::Decoder d(body);
  auto first = d.next();
  if (!first) return;
  std::span<const std::uint8_t> rest = body;
  if (first->is_string() && first->string == "@setDataFrame") {
    rest = body.subspan(d.position());
    amf0::Decoder d2(rest);
    first = d2.next();
    if (!first) return;
  }
  auto payload = std::make_shared<std::vector<std::uint8_t>>(rest.begin(), rest.end());
  auto p = make_packet(k_data_amf0, msg.timestamp, std::move(payload));
  if (first->is_string() && first->string == "onMetaData") {
    channel_->set_metadata(p);
  } else {
    channel_->publish(p);
  }
}

void Connection::handle_command(const Message& msg, std::span<const std::uint8_t> body) {
  std::string error;
  auto values = amf0::decode_all(body, &error);
  if (!values || values->empty() || !values->front().is_string()) {
    log::info(k_component, "Malformed command", {{"remote", remote_}, {"error", values ? "no command name" : error}});
    srv_.refused(Refusal::Protocol);
    close("malformed command");
    return;
  }
  const std::string& name = values->front().string;
  const double txn = values->size() > 1 && (*values)[1].is_number() ? (*values)[1].number : 0;
  std::vector<Value> args(values->begin() + std::min<std::ptrdiff_t>(2, static_cast<std::ptrdiff_t>(values->size())),
                          values->end());

  if (name == "connect") {
    on_connect(txn, args);
    return;
  }
  if (!connected_) {
    log::info(k_component, "Command before connect", {{"remote", remote_}, {"command", name.substr(0, 64)}});
    srv_.refused(Refusal::Protocol);
    close("command before connect");
    return;
  }
  if (name == "createStream") {
    on_create_stream(txn);
  } else if (name == "publish") {
    on_publish(msg, txn, args);
  } else if (name == "play") {
    on_play(msg, txn, args);
  } else if (name == "releaseStream" || name == "FCSubscribe" || name == "_checkbw" || name == "checkBandwidth") {
    if (txn != 0) send_command(k_csid_command, 0, {Value::str("_result"), Value::num(txn), Value::null(), Value::undefined()});
  } else if (name == "FCPublish") {
    const std::string stream = args.size() > 1 && args[1].is_string() ? args[1].string : std::string{};
    if (txn != 0) send_command(k_csid_command, 0, {Value::str("_result"), Value::num(txn), Value::null(), Value::undefined()});
    send_command(k_csid_command, 0,
                 {Value::str("onFCPublish"), Value::num(0), Value::null(),
                  status_info("status", "NetStream.Publish.Start", "FCPublish")});
    (void)stream;
  } else if (name == "FCUnpublish") {
    if (txn != 0) send_command(k_csid_command, 0, {Value::str("_result"), Value::num(txn), Value::null(), Value::undefined()});
    if (publishing_) {
      send_command(k_csid_command, 0,
                   {Value::str("onFCUnpublish"), Value::num(0), Value::null(),
                    status_info("status", "NetStream.Unpublish.Success", "FCUnpublish")});
      unpublish();
    }
  } else if (name == "deleteStream") {
    const std::uint32_t sid =
        args.size() > 1 && args[1].is_number() && args[1].number >= 0 && args[1].number < 4294967296.0
            ? static_cast<std::uint32_t>(args[1].number)
            : msg.stream_id;
    stop_stream(sid);
  } else if (name == "closeStream") {
    stop_stream(msg.stream_id);
  } else if (name == "getStreamLength") {
    send_command(k_csid_command, 0, {Value::str("_result"), Value::num(txn), Value::null(), Value::num(0)});
  } else if (name == "_result" || name == "_error" || name == "onBWDone" || name == "onStatus" || name == "pause" ||
             name == "receiveAudio" || name == "receiveVideo" || name == "seek") {
    // Replies to us, or controls a live relay does not offer: nothing to do.
  } else if (txn != 0) {
    send_command(k_csid_command, 0,
                 {Value::str("_error"), Value::num(txn), Value::null(),
                  status_info("error", "NetConnection.Call.Failed", "Method not found")});
  }
}

void Connection::on_connect(double txn, const std::vector<Value>& args) {
  if (connected_) {
    srv_.refused(Refusal::Protocol);
    close("second connect");
    return;
  }
  connected_ = true;
  double encoding = 0;
  if (!args.empty() && args[0].is_object()) {
    if (const Value* app = args[0].get("app"); app && app->is_string()) app_ = app->string;
    if (app_.empty())
      if (const Value* tc = args[0].get("tcUrl"); tc && tc->is_string()) app_ = app_from_tc_url(tc->string);
    if (const Value* enc = args[0].get("objectEncoding"); enc && enc->is_number()) encoding = enc->number;
  }
  send_control(k_window_ack_size, control_u32(srv_.options.window_ack_size));
  send_control(k_set_peer_bandwidth, peer_bandwidth(srv_.options.window_ack_size, 2));
  send_control(k_set_chunk_size, control_u32(srv_.options.chunk_size));
  writer_.set_chunk_size(srv_.options.chunk_size);
  Value info = status_info("status", "NetConnection.Connect.Success", "Connection succeeded.");
  info.set("objectEncoding", Value::num(encoding));
  send_command(k_csid_command, 0,
               {Value::str("_result"), Value::num(txn),
                Value::object({{"fmsVer", Value::str("FMS/3,0,1,123")}, {"capabilities", Value::num(31)}}), info});
}

void Connection::on_create_stream(double txn) {
  if (streams_created_ >= srv_.options.max_streams_per_connection) {
    send_command(k_csid_command, 0,
                 {Value::str("_error"), Value::num(txn), Value::null(),
                  status_info("error", "NetConnection.Call.Failed", "Too many streams")});
    return;
  }
  ++streams_created_;
  send_command(k_csid_command, 0, {Value::str("_result"), Value::num(txn), Value::null(), Value::num(streams_created_)});
}

void Connection::refuse(Refusal r, std::uint32_t stream_id, const char* code, std::string description,
                        std::string_view path) {
  log::warn(k_component, "Request refused",
            {{"remote", remote_}, {"path", std::string(path)}, {"reason", std::string(refusal_name(r))},
             {"detail", description}});
  srv_.refused(r);
  on_status(stream_id, "error", code, std::move(description));
  close_after_flush_ = true;
  flush();
}

void Connection::on_publish(const Message& msg, double, const std::vector<Value>& args) {
  const std::uint32_t sid = msg.stream_id;
  if (publishing_ || playing_) {
    refuse(Refusal::Protocol, sid, "NetStream.Publish.BadName", "Connection already publishing or playing", path_);
    return;
  }
  const std::string name = args.size() > 1 && args[1].is_string() ? args[1].string : std::string{};
  const bool need_token = !srv_.options.token.empty();
  auto target = resolve_target(app_, name, need_token);
  if (target.path.empty()) {
    refuse(Refusal::Protocol, sid, "NetStream.Publish.BadName", "Invalid stream name: " + target.error, "");
    return;
  }
  if (need_token && (!target.has_token || !token_equal(target.token, srv_.options.token))) {
    refuse(Refusal::Token, sid, "NetStream.Publish.Denied",
           target.has_token ? "Invalid token" : "Token required", target.path);
    return;
  }
  if (!app_matches(target.path, srv_.options.app)) {
    refuse(Refusal::App, sid, "NetStream.Publish.Denied", "Publishing is only allowed under " + srv_.options.app,
           target.path);
    return;
  }
  auto channel = srv_.hub->publish(target.path, remote_);
  if (!channel) {
    refuse(Refusal::Conflict, sid, "NetStream.Publish.BadName", "Stream already publishing", target.path);
    return;
  }
  channel_ = std::move(channel);
  publishing_ = true;
  media_stream_id_ = sid;
  path_ = target.path;
  MetricHandles::add(srv_.m.publishers, 1);
  if (auto& c = srv_.options.collector; c && c->collectable(remote_ip_)) {
    session_id_ = path_;
    const auto a = c->open(session_id_, session_reference(path_, srv_.options.app), "publish:" + path_, remote_);
    session_open_ = a == session::Admission::Ok;
  }
  log::info(k_component, "Publishing started", {{"remote", remote_}, {"path", path_}});
  send_control(k_user_control, user_control(k_stream_begin, sid));
  on_status(sid, "status", "NetStream.Publish.Start", path_ + " is now published.");
}

void Connection::on_play(const Message& msg, double, const std::vector<Value>& args) {
  const std::uint32_t sid = msg.stream_id;
  if (publishing_ || playing_) {
    refuse(Refusal::Protocol, sid, "NetStream.Play.Failed", "Connection already publishing or playing", path_);
    return;
  }
  const std::string name = args.size() > 1 && args[1].is_string() ? args[1].string : std::string{};
  const bool need_token = !srv_.options.token.empty();
  auto target = resolve_target(app_, name, need_token);
  if (target.path.empty()) {
    refuse(Refusal::Protocol, sid, "NetStream.Play.StreamNotFound", "Invalid stream name: " + target.error, "");
    return;
  }
  if (need_token && (!target.has_token || !token_equal(target.token, srv_.options.token))) {
    refuse(Refusal::Token, sid, "NetStream.Play.Failed", target.has_token ? "Invalid token" : "Token required",
           target.path);
    return;
  }
  auto channel = srv_.hub->find(target.path);
  if (!channel) {
    refuse(Refusal::NotFound, sid, "NetStream.Play.StreamNotFound", "Stream not found", target.path);
    return;
  }
  playing_ = true;
  media_stream_id_ = sid;
  path_ = target.path;
  MetricHandles::add(srv_.m.players, 1);
  if (auto& c = srv_.options.collector; c && c->collectable(remote_ip_)) {
    session_id_ = remote_;
    const auto a = c->open(session_id_, session_reference(path_, srv_.options.app), "play:" + path_, remote_);
    session_open_ = a == session::Admission::Ok;
  }
  log::info(k_component, "Playing started", {{"remote", remote_}, {"path", path_}});
  send_control(k_user_control, user_control(k_stream_begin, sid));
  on_status(sid, "status", "NetStream.Play.Reset", "Playing and resetting " + path_ + ".");
  on_status(sid, "status", "NetStream.Play.Start", "Started playing " + path_ + ".");
  const auto access = amf0::encode_all({Value::str("|RtmpSampleAccess"), Value::boolean_of(true), Value::boolean_of(true)});
  send(k_csid_stream, k_data_amf0, sid, 0, access);
  // No "onStatus NetStream.Data.Start" data message (FMS sends one): FFmpeg's FLV demuxer turns any
  // data message it does not know into an extra data stream, which breaks "-map 0" and stream counts.
  channel_ = std::move(channel);
  channel_->add_player(this);
}

void Connection::stop_stream(std::uint32_t stream_id) {
  if (stream_id != media_stream_id_) return;
  if (publishing_) {
    on_status(stream_id, "status", "NetStream.Unpublish.Success", path_ + " is now unpublished.");
    unpublish();
  } else if (playing_) {
    stop_playing();
  }
}

void Connection::unpublish() {
  if (!publishing_) return;
  publishing_ = false;
  MetricHandles::add(srv_.m.publishers, -1);
  log::info(k_component, "Publishing stopped", {{"remote", remote_}, {"path", path_}});
  auto channel = std::move(channel_);
  channel_.reset();
  srv_.hub->unpublish(channel);  // players are told and close themselves
  flush_accounting();
  if (session_open_ && srv_.options.collector) srv_.options.collector->close(session_id_);
  session_open_ = false;
}

void Connection::stop_playing() {
  if (!playing_) return;
  playing_ = false;
  MetricHandles::add(srv_.m.players, -1);
  if (channel_) channel_->remove_player(this);
  channel_.reset();
  flush_accounting();
  if (session_open_ && srv_.options.collector) srv_.options.collector->close(session_id_);
  session_open_ = false;
}

// ---- writing -------------------------------------------------------------------------------------------

void Connection::send(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id, std::uint32_t ts,
                      std::span<const std::uint8_t> payload) {
  if (closed_) return;
  OutItem item;
  writer_.write(csid, type, stream_id, ts, payload, item.bytes);
  queued_bytes_ += item.bytes.size();
  out_.push_back(std::move(item));
  flush();
}

void Connection::deliver(const PacketRef& p, std::uint32_t timestamp) {
  if (closed_ || !playing_) return;
  OutItem item;
  item.packet = p;
  const std::uint32_t csid = p->type == k_audio ? k_csid_audio : p->type == k_video ? k_csid_video : k_csid_stream;
  const auto length = static_cast<std::uint32_t>(p->size());
  item.shared_wire = !p->wire.empty() && writer_.continues_with(csid, p->type, media_stream_id_, timestamp, length,
                                                                p->wire_delta, p->wire_chunk_size);
  if (!item.shared_wire) {
    item.headers = writer_.headers(csid, p->type, media_stream_id_, timestamp, length);
    item.chunk_size = writer_.chunk_size();
  }
  queued_bytes_ += p->size();
  out_.push_back(std::move(item));
  flush();
}

void Connection::publisher_gone() {
  if (closed_ || !playing_) return;
  const std::uint32_t sid = media_stream_id_;
  channel_.reset();  // the hub removed us already
  stop_playing();
  send_control(k_user_control, user_control(k_stream_eof, sid));
  on_status(sid, "status", "NetStream.Play.UnpublishNotify", path_ + " is now unpublished.");
  close_after_flush_ = true;
  flush();
}

std::size_t Connection::OutItem::wire_size() const {
  if (!packet) return bytes.size();
  if (shared_wire) return packet->wire.size();
  const std::size_t n = packet->size();
  const std::size_t continuations = n > chunk_size ? (n - 1) / chunk_size : 0;
  return headers.first_len + n + continuations * headers.cont_len;
}

// Fills gather_ with the wire bytes queued, from what out_.front() has left on, as far as it has room.
std::size_t Connection::gather() {
  std::size_t count = 0;
  std::size_t skip = front_written_;
  const auto add = [&](const std::uint8_t* p, std::size_t n) {
    if (skip >= n) {
      skip -= n;
      return;
    }
    if (count < gather_.size()) gather_[count++] = asio::const_buffer(p + skip, n - skip);
    skip = 0;
  };
  for (const auto& item : out_) {
    if (count == gather_.size()) break;
    if (!item.packet) {
      add(item.bytes.data(), item.bytes.size());
    } else if (item.shared_wire) {
      add(item.packet->wire.data(), item.packet->wire.size());
    } else {
      const auto& h = item.headers;
      const auto& payload = *item.packet->payload;
      add(h.first, h.first_len);
      std::size_t off = 0;
      do {
        if (off) add(h.cont, h.cont_len);
        const std::size_t n = std::min<std::size_t>(item.chunk_size, payload.size() - off);
        if (n) add(payload.data() + off, n);
        off += n;
      } while (off < payload.size());
    }
  }
  return count;
}

// Writes inline while the socket takes it (the common case: no handler round trip per message); what it
// does not take goes out asynchronously, and a slow player only ever waits on its own socket.
void Connection::flush() {
  if (closed_ || writing_) return;
  while (!out_.empty()) {
    const std::span<const asio::const_buffer> buffers(gather_.data(), gather());
    boost::system::error_code ec;
    const std::size_t n = write_now(buffers, ec);
    if (n) written(n);
    if (ec || n < asio::buffer_size(buffers)) {
      // The rest goes the asynchronous way; so does an error, for on_written() to close on: this may run
      // inside a publisher's fan-out, where closing is not safe.
      writing_ = true;
      async_write({gather_.data(), gather()});
      return;
    }
  }
  if (close_after_flush_) close("done");
}

void Connection::written(std::size_t n) {
  tx_total_ += n;
  session_tx_ += n;
  srv_.counters.tx_bytes += n;
  MetricHandles::inc(srv_.m.tx_bytes, n);
  if (playing_ && channel_) channel_->add_tx_bytes(n);
  last_activity_ = Clock::now();
  while (n && !out_.empty()) {
    const std::size_t left = out_.front().wire_size() - front_written_;
    if (n < left) {
      front_written_ += n;
      return;
    }
    n -= left;
    front_written_ = 0;
    queued_bytes_ -= out_.front().size();
    out_.pop_front();
  }
}

void Connection::on_written(const boost::system::error_code& ec, std::size_t n) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    close(ec.message());
    return;
  }
  written(n);
  flush();
}

// ---- the server ----------------------------------------------------------------------------------------

void Server::Impl::remove(Connection* c) {
  for (auto it = connections.begin(); it != connections.end(); ++it) {
    if (it->get() == c) {
      connections.erase(it);  // the connection lives on in its pending handlers until they finish
      counters.connections = connections.size();
      return;
    }
  }
}

void Server::Impl::on_accepted(tcp::socket socket, bool tls) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return;
  const std::string ip = ep.address().to_string();
  const std::string remote = ep.address().is_v6() ? "[" + ip + "]:" + std::to_string(ep.port())
                                                  : ip + ":" + std::to_string(ep.port());
  if (options.max_connections && connections.size() >= options.max_connections) {
    refused(Refusal::Limit);
    log::warn(k_component, "Connection refused: too many connections",
              {{"remote", remote}, {"max_connections", options.max_connections}});
    socket.close(ec);
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  ++counters.accepted;
  std::shared_ptr<Connection> c;
  if (tls) {
    c = std::make_shared<TlsConnection>(*this, std::move(socket), *tls_context, remote, ip);
  } else {
    c = std::make_shared<StreamConnection<tcp::socket>>(*this, std::move(socket), remote, ip);
  }
  connections.insert(c);
  counters.connections = connections.size();
  c->start();
}

void Server::Impl::accept(tcp::acceptor& acceptor, bool tls) {
  acceptor.async_accept(strand, [this, &acceptor, tls](const boost::system::error_code& ec, tcp::socket socket) {
    if (stopping) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      log::warn(k_component, "Accept failed", {{"error", ec.message()}});
      // Out of descriptors and the like: try again a little later.
      auto t = std::make_shared<asio::steady_timer>(strand, std::chrono::milliseconds(100));
      t->async_wait([this, &acceptor, tls, t](const boost::system::error_code& e) {
        if (!e && !stopping) accept(acceptor, tls);
      });
      return;
    }
    on_accepted(std::move(socket), tls);
    accept(acceptor, tls);
  });
}

namespace {

std::unique_ptr<tcp::acceptor> listen(asio::io_context& ioc, Strand& strand, const std::string& address,
                                      std::uint16_t& bound) {
  const Endpoint e = parse_address(address);
  boost::system::error_code ec;
  asio::ip::address addr = e.host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                          : asio::ip::make_address(e.host, ec);
  if (ec) {
    // A host name: resolve it.
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
    if (ec || results.empty()) throw std::runtime_error("RTMP address \"" + address + "\": cannot resolve host");
    addr = results.begin()->endpoint().address();
  }
  auto acceptor = std::make_unique<tcp::acceptor>(strand);
  tcp::endpoint ep(addr, e.port);
  acceptor->open(ep.protocol(), ec);
  if (ec && e.host.empty()) {  // no IPv6 on this host: all IPv4 interfaces
    ec.clear();
    ep = tcp::endpoint(asio::ip::address_v4::any(), e.port);
    acceptor->open(ep.protocol(), ec);
  }
  if (!ec && ep.address().is_v6() && e.host.empty()) acceptor->set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("RTMP: cannot listen on \"" + address + "\": " + ec.message());
  bound = acceptor->local_endpoint().port();
  return acceptor;
}

}  // namespace

void Server::Impl::start() {
  if (running) return;
  stopping = false;
  if (!options.tls_address.empty()) {
    tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                             asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                             asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    boost::system::error_code ec;
    tls_context->use_certificate_chain_file(options.tls_cert_file, ec);
    if (ec) throw std::runtime_error("RTMPS: cannot load certificate \"" + options.tls_cert_file + "\": " + ec.message());
    tls_context->use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("RTMPS: cannot load key \"" + options.tls_key_file + "\": " + ec.message());
  }
  if (options.plain_enable) plain_acceptor = listen(ioc, strand, options.address, plain_port);
  if (tls_context) {
    try {
      tls_acceptor = listen(ioc, strand, options.tls_address, tls_port);
    } catch (...) {
      plain_acceptor.reset();
      plain_port = 0;
      throw;
    }
  }
  ioc.restart();
  guard.emplace(ioc.get_executor());
  asio::post(strand, [this] {
    if (plain_acceptor) accept(*plain_acceptor, false);
    if (tls_acceptor) accept(*tls_acceptor, true);
  });
  const std::size_t n = std::max<std::size_t>(1, options.threads);
  for (std::size_t i = 0; i < n; ++i) threads.emplace_back([this] { ioc.run(); });
  running = true;
  log::info(k_component, "RTMP server started",
            {{"address", plain_acceptor ? options.address : std::string{}},
             {"tls_address", tls_acceptor ? options.tls_address : std::string{}},
             {"port", plain_port}, {"tls_port", tls_port}, {"app", options.app}, {"token", !options.token.empty()}});
}

void Server::Impl::stop() {
  if (!running) return;
  std::promise<void> done;
  asio::post(strand, [this, &done] {
    stopping = true;
    boost::system::error_code ec;
    if (plain_acceptor) plain_acceptor->close(ec);
    if (tls_acceptor) tls_acceptor->close(ec);
    // Players first learn that their streams end; then everything is closed.
    hub->clear();
    auto all = connections;
    for (const auto& c : all) c->close("server stopping");
    connections.clear();
    counters.connections = 0;
    done.set_value();
  });
  done.get_future().wait();
  guard.reset();
  for (auto& t : threads) t.join();
  threads.clear();
  plain_acceptor.reset();
  tls_acceptor.reset();
  plain_port = tls_port = 0;
  running = false;
  log::info(k_component, "RTMP server stopped");
}

template <class F>
auto Server::Impl::call(F&& f) const -> decltype(f()) {
  using R = decltype(f());
  if (!running || strand.running_in_this_thread()) return f();
  std::promise<R> p;
  asio::post(strand, [&] { p.set_value(f()); });
  return p.get_future().get();
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() { stop(); }
void Server::start() { impl_->start(); }
void Server::stop() { impl_->stop(); }
bool Server::running() const { return impl_->running; }
std::uint16_t Server::port() const { return impl_->plain_port; }
std::uint16_t Server::tls_port() const { return impl_->tls_port; }

std::vector<std::string> Server::channels() const {
  return impl_->call([this] { return impl_->hub->paths(); });
}
std::vector<ChannelStats> Server::stats() const {
  return impl_->call([this] { return impl_->hub->stats(); });
}
ServerCounters Server::counters() const {
  return impl_->call([this] { return impl_->counters; });
}

}  // namespace dragon::rtmp
