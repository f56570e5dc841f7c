// GET /api/v3/session, GET /api/v3/session/active (upstream http/handler/api/session.go) and the
// public GET /api/v3/widget/process/{id} (http/handler/api/widget.go), with upstream's shapes
// (http/api/session.go): kbit = bit/s / 1024, mbit = bit/s / 1024^2, mb = bytes / 1024^2.
#include <string>
#include <vector>

#include "api/context.hpp"
#include "api/json_body.hpp"
#include "ffmpeg/json_number.hpp"
#include "restream/registry.hpp"
#include "session/registry.hpp"

namespace dragon::api {

namespace {

using ojson = nlohmann::ordered_json;

// Upstream splits the query on ",": no query is one collector named "".
std::vector<std::string> collectors_of(const http::Request& req) {
  const std::string q = req.query_param("collectors").value_or("");
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const auto comma = q.find(',', pos);
    out.push_back(q.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

ojson session_json(const session::SessionInfo& s) {
  return ojson{{"id", s.id},
               {"reference", s.reference},
               {"created_at", std::chrono::duration_cast<std::chrono::seconds>(s.created_at.time_since_epoch()).count()},
               {"local", s.location},
               {"remote", s.peer},
               {"extra", s.extra},
               {"bytes_rx", s.rx_bytes},
               {"bytes_tx", s.tx_bytes},
               {"bandwidth_rx_kbit", ffmpeg::json_number(s.rx_bitrate / 1024)},
               {"bandwidth_tx_kbit", ffmpeg::json_number(s.tx_bitrate / 1024)}};
}

ojson stats_json(const session::Stats& s) {
  return ojson{{"sessions", s.sessions}, {"traffic_rx_mb", s.rx_bytes >> 20}, {"traffic_tx_mb", s.tx_bytes >> 20}};
}

ojson summary_json(const session::Summary& sum) {
  auto list = ojson::array();
  for (const auto& s : sum.active) list.push_back(session_json(s));
  auto peers = ojson::object();
  for (const auto& [peer, p] : sum.peers) {
    auto j = stats_json(p.stats);
    auto locations = ojson::object();
    for (const auto& [loc, st] : p.locations) locations[loc] = stats_json(st);
    j["local"] = std::move(locations);
    peers[peer] = std::move(j);
  }
  auto locations = ojson::object();
  for (const auto& [loc, st] : sum.locations) locations[loc] = stats_json(st);
  auto references = ojson::object();
  for (const auto& [ref, st] : sum.references) references[ref] = stats_json(st);
  constexpr double mbit = 1024.0 * 1024.0;
  ojson summary{{"remote", std::move(peers)}, {"local", std::move(locations)}, {"reference", std::move(references)}};
  const auto total = stats_json(sum.total);
  for (const auto& [k, v] : total.items()) summary[k] = v;
  return ojson{{"active",
                {{"list", std::move(list)},
                 {"sessions", sum.current_sessions},
                 {"bandwidth_rx_mbit", ffmpeg::json_number(sum.current_rx_bitrate / mbit)},
                 {"bandwidth_tx_mbit", ffmpeg::json_number(sum.current_tx_bitrate / mbit)},
                 {"max_sessions", sum.max_sessions},
                 {"max_bandwidth_rx_mbit", ffmpeg::json_number(sum.max_rx_bitrate / mbit)},
                 {"max_bandwidth_tx_mbit", ffmpeg::json_number(sum.max_tx_bitrate / mbit)}}},
               {"summary", std::move(summary)}};
}

http::Response ordered(const http::Request& req, const ojson& body) {
  return http::Response::json_text(200, body.dump(req.has_query_param("pretty") ? 2 : -1));
}

}  // namespace

void register_session_routes(http::Router& router, ApiContext& ctx) {
  session::Registry* sessions = ctx.sessions;  // null: every collector is unknown (empty answers)

  router.add(http::Method::Get, "/api/v3/session", [sessions](http::Request& req) {
    auto out = ojson::object();
    for (const auto& name : collectors_of(req)) {
      const auto c = sessions ? sessions->get(name) : nullptr;
      out[name] = summary_json(c ? c->summary() : session::Summary{});
    }
    return ordered(req, out);
  });

  router.add(http::Method::Get, "/api/v3/session/active", [sessions](http::Request& req) {
    auto out = ojson::object();
    for (const auto& name : collectors_of(req)) {
      auto list = ojson::array();
      if (const auto c = sessions ? sessions->get(name) : nullptr) {
        for (const auto& s : c->active()) list.push_back(session_json(s));
      }
      out[name] = std::move(list);
    }
    return ordered(req, out);
  });

  // Public: current and total HLS sessions whose reference starts with the process's reference
  // (upstream); a process without a reference matches by its id instead of matching everything.
  // WebRTC viewers of the process (reference = process id) count too.
  restream::Registry* processes = ctx.registry;
  router.add(
      http::Method::Get, "/api/v3/widget/process/{id}",
      [sessions, processes](http::Request& req) {
        const auto& id = req.param("id");
        const auto config = processes ? processes->config_json(id) : std::nullopt;
        const auto state = processes ? processes->state_json(id) : std::nullopt;
        if (!config || !state) return http::Response::error(404, "Unknown process ID", {"process not found: " + id});
        std::string prefix = config->value("reference", "");
        if (prefix.empty()) prefix = id;
        std::int64_t uptime = 0;
        if (state->value("exec", "") == "running") uptime = state->value("runtime_seconds", std::int64_t{0});
        std::uint64_t current = 0, total = 0;
        if (sessions) {
          if (const auto hls = sessions->get("hls")) {
            const auto sum = hls->summary();
            for (const auto& s : sum.active) {
              if (s.reference.starts_with(prefix)) ++current;
            }
            for (const auto& [ref, st] : sum.references) {
              if (ref.starts_with(prefix)) total += st.sessions;
            }
          }
          if (const auto webrtc = sessions->get("webrtc")) {
            const auto sum = webrtc->summary();
            for (const auto& s : sum.active) {
              if (s.reference == id) ++current;
            }
            if (auto it = sum.references.find(id); it != sum.references.end()) total += it->second.sessions;
          }
        }
        return ordered(req, ojson{{"current_sessions", current}, {"total_sessions", total}, {"uptime", uptime}});
      },
      {.access = http::Access::Public});
}

}  // namespace dragon::api
