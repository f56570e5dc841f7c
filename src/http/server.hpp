#pragma once
// HTTP/1.1 server (Boost.Beast, C++20 coroutines): keep-alive, header/body limits, read and idle
// timeouts, "Expect: 100-continue" decided by the pipeline before any body is read, optional TLS,
// and graceful shutdown (idle connections close at once, in-flight requests finish).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "http/service.hpp"
#include "net/loop_pool.hpp"

namespace dragon::http {

struct TlsFiles {
  std::string cert_file;  // PEM, may hold the chain
  std::string key_file;   // PEM
};

struct ServerOptions {
  std::string name = "HTTP";           // for logs: "HTTP", "HTTPS"
  std::string address = ":8080";       // "host:port", ":port" (all interfaces), "[v6]:port"
  std::optional<TlsFiles> tls;
  std::size_t header_limit = 64 * 1024;
  std::chrono::seconds read_header_timeout{10};  // from the first byte of a request to its last header byte
  std::chrono::seconds idle_timeout{120};        // waiting for the next request on a kept-alive connection
  std::chrono::seconds body_timeout{30};         // inactivity while a body is uploaded
  std::chrono::seconds write_timeout{60};        // inactivity while a response is sent
  std::size_t max_connections = 20000;
};

class Server {
 public:
  Server(net::LoopPool& loops, const Service& service, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Throws std::runtime_error naming the address on failure.
  void start();
  // Stops accepting, closes idle connections, lets in-flight requests finish; returns when all
  // connections are gone or `grace` has passed.
  void shutdown(std::chrono::milliseconds grace);
  // The bound address ("127.0.0.1:41234"), useful with port 0.
  std::string local_address() const;
  std::uint16_t local_port() const;
  std::size_t connection_count() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Splits "host:port", ":port", "[v6]:port" or a bare "port"; false when malformed.
bool split_host_port(std::string_view address, std::string& host, std::uint16_t& port);

}  // namespace dragon::http
