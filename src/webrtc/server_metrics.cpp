// The dragonfork_webrtc_* metric family. Values live in the server (its loop owns them, nothing is
// shared per packet); a collector reads them at scrape time, and setup durations observed since the
// last scrape go into the histogram then.
#include "webrtc/server_metrics.hpp"

#include "metrics/registry.hpp"

namespace dragon::webrtc {

using metrics::FamilyInfo;
using metrics::Type;

ServerMetrics::ServerMetrics(metrics::Registry& registry, Server& server) : registry_(registry) {
  auto& setup = registry.histogram("dragonfork_webrtc_setup_seconds",
                                   "Time from a WHEP POST to the first keyframe sent to that viewer", {},
                                   {0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10});
  auto setup_child = setup.with();
  const std::vector<FamilyInfo> families = {
      {"dragonfork_webrtc_sessions_active", "WHEP sessions (viewers) that exist now", Type::Gauge, {}},
      {"dragonfork_webrtc_sessions_total", "WHEP sessions by outcome of their setup", Type::Counter, {"outcome"}},
      {"dragonfork_webrtc_sessions_ended_total", "WHEP sessions that ended, by reason", Type::Counter, {"reason"}},
      {"dragonfork_webrtc_ice_failures_total", "Viewers whose ICE/DTLS did not complete in time", Type::Counter, {}},
      {"dragonfork_webrtc_packets_sent_total", "SRTP packets sent to viewers", Type::Counter, {}},
      {"dragonfork_webrtc_bytes_sent_total", "SRTP bytes sent to viewers", Type::Counter, {}},
      {"dragonfork_webrtc_nacks_received_total", "Sequence numbers viewers asked to resend (NACK)", Type::Counter, {}},
      {"dragonfork_webrtc_retransmits_total", "Packets resent from the history for NACKs", Type::Counter, {}},
      {"dragonfork_webrtc_plis_received_total", "Picture loss indications and FIRs from viewers", Type::Counter, {}},
      {"dragonfork_webrtc_gop_cache_total", "Viewers that started from the GOP cache (hit) or waited for a keyframe (miss)",
       Type::Counter, {"result"}},
      {"dragonfork_webrtc_send_drops_total", "Packets not sent because a viewer's socket buffer was full", Type::Counter, {}},
      {"dragonfork_webrtc_tcp_connections_active", "ICE-TCP connections open now", Type::Gauge, {}},
      {"dragonfork_webrtc_tcp_connections_total",
       "ICE-TCP connections accepted, refused (limit), or closed for a bad frame or a timeout", Type::Counter,
       {"result"}},
      {"dragonfork_webrtc_ingest_packets_total", "RTP packets received from FFmpeg's WebRTC legs", Type::Counter,
       {"result"}},
  };
  collector_ = registry.add_collector(families, [&server, setup_child](metrics::Sink& sink) {
    const auto c = server.counters();
    for (double s : c.setup_seconds) setup_child->observe(s);
    sink.add("dragonfork_webrtc_sessions_active", static_cast<double>(c.viewers_active));
    sink.add("dragonfork_webrtc_sessions_total", {"connected"}, static_cast<double>(c.sessions_connected));
    sink.add("dragonfork_webrtc_sessions_total", {"ice_failed"}, static_cast<double>(c.ended_ice_timeout));
    sink.add("dragonfork_webrtc_sessions_total", {"dtls_failed"}, static_cast<double>(c.ended_dtls_failed));
    sink.add("dragonfork_webrtc_sessions_ended_total", {"deleted"}, static_cast<double>(c.ended_deleted));
    sink.add("dragonfork_webrtc_sessions_ended_total", {"bye"}, static_cast<double>(c.ended_bye));
    sink.add("dragonfork_webrtc_sessions_ended_total", {"process_stopped"}, static_cast<double>(c.ended_process_stopped));
    sink.add("dragonfork_webrtc_sessions_ended_total", {"consent_expired"}, static_cast<double>(c.ended_consent_expired));
    sink.add("dragonfork_webrtc_sessions_ended_total", {"ice_timeout"}, static_cast<double>(c.ended_ice_timeout));
    sink.add("dragonfork_webrtc_sessions_ended_total", {"dtls_failed"}, static_cast<double>(c.ended_dtls_failed));
    sink.add("dragonfork_webrtc_ice_failures_total", static_cast<double>(c.ended_ice_timeout));
    sink.add("dragonfork_webrtc_packets_sent_total", static_cast<double>(c.packets_out));
    sink.add("dragonfork_webrtc_bytes_sent_total", static_cast<double>(c.bytes_out));
    sink.add("dragonfork_webrtc_nacks_received_total", static_cast<double>(c.nacks));
    sink.add("dragonfork_webrtc_retransmits_total", static_cast<double>(c.retransmits));
    sink.add("dragonfork_webrtc_plis_received_total", static_cast<double>(c.plis + c.firs));
    sink.add("dragonfork_webrtc_gop_cache_total", {"hit"}, static_cast<double>(c.gop_cache_hits));
    sink.add("dragonfork_webrtc_gop_cache_total", {"miss"}, static_cast<double>(c.gop_cache_misses));
    sink.add("dragonfork_webrtc_send_drops_total", static_cast<double>(c.send_drops));
    sink.add("dragonfork_webrtc_tcp_connections_active", static_cast<double>(c.tcp_active));
    sink.add("dragonfork_webrtc_tcp_connections_total", {"accepted"}, static_cast<double>(c.tcp_accepted));
    sink.add("dragonfork_webrtc_tcp_connections_total", {"refused"}, static_cast<double>(c.tcp_refused));
    sink.add("dragonfork_webrtc_tcp_connections_total", {"bad_frame"}, static_cast<double>(c.tcp_bad_frame));
    sink.add("dragonfork_webrtc_tcp_connections_total", {"timeout"}, static_cast<double>(c.tcp_timeout));
    sink.add("dragonfork_webrtc_ingest_packets_total", {"valid"}, static_cast<double>(c.ingest_packets));
    sink.add("dragonfork_webrtc_ingest_packets_total", {"invalid"}, static_cast<double>(c.ingest_invalid));
  });
}

ServerMetrics::~ServerMetrics() { registry_.remove_collector(collector_); }

}  // namespace dragon::webrtc
