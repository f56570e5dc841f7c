#pragma once
// The built-in RTMP/RTMPS server (datarhei Core's rtmp.* behaviour, research/datarhei-core.md §6.1).
//
// Threads: the server owns an io_context and `threads` threads running it; every connection, the hub
// and its channels live on one strand, so the protocol state has no locks. Public methods are
// thread-safe (they post to the strand and wait), but must not be called from the server's own callbacks.
//
// Per connection: handshake (simple or digest) → chunk stream → AMF0 commands (connect, createStream,
// releaseStream, FCPublish, publish, play, deleteStream, FCUnpublish, closeStream, getStreamLength,
// _checkbw/checkBandwidth; unknown commands get _error when they carry a transaction id).
// Publish: the path must lie under `app`, carry the token when one is configured, and not be published
// already (else onStatus error: Denied/BadName, and the connection is closed). Play: the path must be
// published (else NetStream.Play.StreamNotFound and close). When the publisher leaves, every player gets
// StreamEOF + NetStream.Play.UnpublishNotify and is disconnected once that is sent.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rtmp/chunk.hpp"
#include "rtmp/hub.hpp"

namespace dragon::metrics {
class Registry;
}
namespace dragon::session {
class Collector;
}

namespace dragon::rtmp {

struct ServerOptions {
  std::string address = ":1935";    // plain RTMP, "host:port" (empty host = all interfaces, port 0 = any)
  bool plain_enable = true;
  // RTMPS: listens when tls_address is not empty; certificate chain and key as PEM files.
  std::string tls_address;
  std::string tls_cert_file, tls_key_file;

  std::string app = "/";            // publishing must happen under this path prefix
  std::string token;                // "" = none; else required for publish and play (query or last element)
  std::chrono::milliseconds idle_timeout{10000};  // no bytes in or out for this long closes a connection
  std::size_t max_connections = 1000;             // 0 = unlimited
  std::size_t threads = 1;

  std::uint32_t chunk_size = 4096;        // our out chunk size, announced after connect
  std::uint32_t window_ack_size = 2500000;
  ChunkLimits chunk_limits;               // what a client may send
  ChannelOptions channel;                 // GOP cache bound and per-player queue budget
  std::size_t max_streams_per_connection = 8;

  // Optional: the session registry's "rtmp" collector and the metric registry (must outlive the server).
  std::shared_ptr<session::Collector> collector;
  metrics::Registry* metrics = nullptr;
};

struct ServerCounters {
  std::uint64_t connections = 0;     // open now
  std::uint64_t accepted = 0;        // since start
  std::uint64_t refused = 0;         // connections refused or closed for a reason (token, conflict, ...)
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
  std::uint64_t player_drops = 0;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listeners and starts the threads. Throws std::runtime_error naming the address (or the
  // certificate file) on failure.
  void start();
  // Closes listeners and every connection (players are told the stream ended), joins the threads.
  void stop();
  bool running() const;

  std::uint16_t port() const;      // bound plain port (0 when not listening)
  std::uint16_t tls_port() const;  // bound RTMPS port (0 when not listening)

  // Paths currently published ("/live/foo"), sorted: GET /api/v3/rtmp.
  std::vector<std::string> channels() const;
  std::vector<ChannelStats> stats() const;
  ServerCounters counters() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dragon::rtmp
