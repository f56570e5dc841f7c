#pragma once
// The built-in SRT server (datarhei Core's srt.*, research/datarhei-core.md §6.2) on Debian's libsrt.
//
// One listener in live mode. Access is decided in libsrt's listen callback, before the handshake is
// answered, from the stream id (streamid.hpp): invalid ids, a wrong token, a second publisher of a
// resource, a request for a resource nobody publishes, and connections over max_connections are
// refused with an SRT reject code (SRT_REJX_*) that the caller sees. Encryption follows upstream:
// with a passphrase, the caller must be encrypted with it (libsrt refuses a missing or wrong one at
// the handshake, and the server re-checks the key state after accept); without one, encrypted
// callers are refused.
//
// One loop thread waits on srt_epoll over the listener and every connection (all non-blocking). A
// publisher's messages (1316-byte TS payloads) are sent to each of the resource's subscribers with a
// non-blocking srt_sendmsg2; when a subscriber's send buffer is full the message is dropped for that
// subscriber only (counted), so a slow subscriber never slows the publisher or the others. No
// allocation per message. When the publisher leaves, its subscribers are closed (readers see the end
// of the stream). A publisher that sends nothing for publisher_idle_timeout is closed.
//
// Public methods are thread-safe. srt_startup/srt_cleanup are reference-counted across servers, and
// libsrt's own log (warnings and errors) goes to our log under the component "SRT".
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace dragon::metrics {
class Registry;
}
namespace dragon::session {
class Collector;
}

namespace dragon::srt {

struct ServerOptions {
  std::string address = ":6000";  // UDP host:port; empty host = all interfaces (IPv6+IPv4); port 0 = any
  std::string passphrase;         // "" = unencrypted only; else 10..79 bytes (libsrt's limits)
  std::string token;              // "" = no token; else the stream id must carry exactly this token
  std::chrono::milliseconds latency{120};                  // SRTO_LATENCY of accepted sockets
  std::size_t max_connections = 1000;                      // publishers + subscribers + handshakes; 0 = unlimited
  std::chrono::milliseconds publisher_idle_timeout{10000};  // no data for this long: closed; 0 = never
  std::chrono::milliseconds handshake_timeout{5000};       // admitted but never accepted: reservation dropped
  std::size_t send_buffer_bytes = 0;  // SRTO_SNDBUF per subscriber; 0 = libsrt's default (8192 packets)

  // Optional hooks, owned by the caller and outliving the server (start() → stop()).
  // Sessions: publisher id = reference = resource, location "publish:<res>"; subscriber id = remote
  // "ip:port", reference = resource, location "play:<res>"; bytes are booked once per second.
  std::shared_ptr<session::Collector> sessions;
  // dragonfork_srt_* families are registered in the constructor.
  metrics::Registry* metrics = nullptr;
};

// What a connection attempt was refused for (the label of dragonfork_srt_connections_refused_total).
enum class Refusal { None, StreamId, Token, Passphrase, Conflict, NotFound, Limit };
std::string_view refusal_label(Refusal r);  // "streamid", "token", ...; "" for None
int refusal_code(Refusal r);                // the SRT_REJX_* code the caller sees

struct ServerCounters {
  std::uint64_t publishers = 0, subscribers = 0, pending = 0;  // now
  std::uint64_t rx_bytes = 0, tx_bytes = 0;                    // payload bytes since construction
  std::uint64_t subscriber_drops = 0;                          // messages dropped for full send buffers
  std::map<std::string, std::uint64_t> refused;                // by refusal_label
};

class Server {
 public:
  // Throws std::invalid_argument for a bad passphrase length.
  explicit Server(ServerOptions options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the loop. Throws std::runtime_error naming the address and libsrt's reason.
  void start();
  // Closes every connection and the listener and joins the loop. Idempotent.
  void stop();
  bool running() const;

  // The bound UDP port (after start(); useful with port 0), else 0.
  std::uint16_t port() const;

  // GET /api/v3/srt: upstream's SRTChannels object {"publisher":{res:socket},"subscriber":{res:[socket]},
  // "connections":{"<socket>":{"log":{},"stats":{SRTStatistics}}},"log":{}} with live libsrt statistics.
  nlohmann::json channels_json() const;

  ServerCounters counters() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dragon::srt
