#pragma once
// Registers the WebRTC server's dragonfork_webrtc_* metrics; unregisters them when destroyed (the
// metric registry outlives a server that is rebuilt at config reload).
#include <cstdint>

#include "webrtc/server.hpp"

namespace dragon::metrics {
class Registry;
}

namespace dragon::webrtc {

class ServerMetrics {
 public:
  ServerMetrics(metrics::Registry& registry, Server& server);
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

 private:
  metrics::Registry& registry_;
  std::uint64_t collector_ = 0;
};

}  // namespace dragon::webrtc
