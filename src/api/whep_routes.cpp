// WHEP (RFC 9725) for processes with webrtc.enabled: POST an offer, PATCH trickle/ICE restart,
// DELETE the session; OPTIONS for CORS preflights (Accept-Post). POST takes the API JWT or the
// viewer token webrtc.token; PATCH and DELETE are authorised by the unguessable resource URL.
#include <openssl/crypto.h>

#include "api/context.hpp"
#include "metrics/registry.hpp"
#include "restream/registry.hpp"
#include "util/strings.hpp"
#include "webrtc/server.hpp"

namespace dragon::api {

namespace {

constexpr std::size_t k_max_offer = 64 * 1024;
constexpr const char* k_whep_methods = "OPTIONS, POST";
constexpr const char* k_resource_methods = "OPTIONS, PATCH, DELETE";

// WHEP answers by status code (bounded: the codes this file produces).
class WhepErrorCounter {
 public:
  explicit WhepErrorCounter(metrics::Registry* registry) {
    if (!registry) return;
    family_ = &registry->counter("dragonfork_webrtc_errors_total", "WHEP requests answered with an error, by status",
                                 {"code"});
    for (const char* code : {"400", "401", "404", "406", "412", "415", "503", "504"}) family_->with({code});
  }
  void count(int status) const {
    if (family_ && status >= 400) family_->with({std::to_string(status)})->inc();
  }

 private:
  metrics::CounterFamily* family_ = nullptr;
};

http::Response whep_error(int status, const std::string& message) {
  auto res = http::Response::text(status, message + "\n");
  if (status == 503) res.headers.set("Retry-After", "2");
  return res;
}

bool content_type_is(const http::Request& req, std::string_view type) {
  const auto ct = req.headers.get("Content-Type");
  if (!ct) return false;
  const auto semi = ct->find(';');
  return util::iequals(util::trim(ct->substr(0, semi)), type);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// RFC 9725 §4.4: one Link header per STUN/TURN URL, with the TURN credentials as attributes.
void add_ice_server_links(http::Response& res, const nlohmann::json& servers) {
  if (!servers.is_array()) return;
  for (const auto& s : servers) {
    if (!s.is_object()) continue;
    std::vector<std::string> urls;
    if (s.contains("urls") && s["urls"].is_string()) urls.push_back(s["urls"].get<std::string>());
    if (s.contains("urls") && s["urls"].is_array()) {
      for (const auto& u : s["urls"]) {
        if (u.is_string()) urls.push_back(u.get<std::string>());
      }
    }
    for (const auto& url : urls) {
      std::string link = "<" + url + ">; rel=\"ice-server\"";
      if (s.contains("username") && s["username"].is_string() && !s["username"].get<std::string>().empty()) {
        link += "; username=\"" + s["username"].get<std::string>() + "\"";
        link += "; credential=\"" + s.value("credential", std::string()) + "\"; credential-type=\"password\"";
      }
      res.headers.add("Link", link);
    }
  }
}

}  // namespace

void register_whep_routes(http::Router& router, ApiContext& ctx) {
  auto* server = ctx.webrtc;
  auto* reg = ctx.registry;
  const std::string viewer_token = ctx.config->get_string("webrtc.token");
  const nlohmann::json ice_servers = ctx.config->get("webrtc.ice_servers");
  const auto authorize = make_authorizer(ctx);
  const auto errors = std::make_shared<WhepErrorCounter>(ctx.metrics);

  // Preflights and capability discovery: public, as browsers send them without credentials.
  router.add(
      http::Method::Options, "/api/v3/whep/{id}",
      [](http::Request&) {
        auto res = http::Response::empty(204);
        res.headers.set("Accept-Post", "application/sdp");
        res.headers.set("Allow", k_whep_methods);
        return res;
      },
      {.access = http::Access::Public});
  router.add(
      http::Method::Options, "/api/v3/whep/{id}/{resource}",
      [](http::Request&) {
        auto res = http::Response::empty(204);
        res.headers.set("Accept-Patch", "application/trickle-ice-sdpfrag");
        res.headers.set("Allow", k_resource_methods);
        return res;
      },
      {.access = http::Access::Public});

  router.add(
      http::Method::Post, "/api/v3/whep/{id}",
      [server, reg, viewer_token, ice_servers, authorize, errors](http::Request& req) -> http::Response {
        auto failed = [&errors](http::Response r) {
          errors->count(r.status);
          return r;
        };
        // The viewer token is an alternative to a JWT, so a shared player link never holds admin rights.
        bool allowed = false;
        if (const auto h = req.headers.get("Authorization"); h && !viewer_token.empty() &&
                                                               util::starts_with_icase(*h, "Bearer ")) {
          allowed = constant_time_equal(util::trim(h->substr(7)), viewer_token);
        }
        if (!allowed) {
          if (auto denied = authorize(req, http::Access::Jwt)) return failed(std::move(*denied));
        }
        if (!content_type_is(req, "application/sdp")) {
          return failed(whep_error(415, "a WHEP offer must be sent as Content-Type: application/sdp"));
        }
        if (req.body.empty()) return failed(whep_error(400, "the request body holds no SDP offer"));
        const std::string id = req.param("id");
        if (!server) return failed(whep_error(503, "WebRTC is disabled on this server (webrtc.enable)"));
        const auto config = reg ? reg->config_json(id) : std::nullopt;
        if (!config) return failed(whep_error(404, "unknown process " + id));
        if (!config->contains("webrtc") || !(*config)["webrtc"].value("enabled", false)) {
          return failed(
              whep_error(404, "process " + id + " does not have WebRTC enabled (set \"webrtc\": {\"enabled\": true})"));
        }
        return http::Response::deferred([server, id, ice_servers, errors, &req]() -> http::Response {
          auto r = server->offer(id, req.body);
          errors->count(r.status);
          if (r.status != 201) return whep_error(r.status, r.body);
          auto res = http::Response::text(201, std::move(r.body), "application/sdp");
          res.headers.set("Location", "/api/v3/whep/" + id + "/" + r.resource_id);
          res.headers.set("ETag", r.etag);
          add_ice_server_links(res, ice_servers);
          return res;
        });
      },
      {.access = http::Access::Custom, .max_body = k_max_offer});

  router.add(
      http::Method::Patch, "/api/v3/whep/{id}/{resource}",
      [server, errors](http::Request& req) -> http::Response {
        if (!server) return whep_error(404, "WebRTC is disabled on this server");
        if (!content_type_is(req, "application/trickle-ice-sdpfrag")) {
          errors->count(415);
          return whep_error(415, "PATCH needs Content-Type: application/trickle-ice-sdpfrag");
        }
        const auto if_match = req.headers.get("If-Match");
        const auto r = server->patch(req.param("id"), req.param("resource"),
                                     if_match ? std::string(*if_match) : std::string(), req.body);
        if (r.status == 204) {
          auto res = http::Response::empty(204);
          res.headers.set("ETag", r.etag);
          return res;
        }
        if (r.status == 200) {
          auto res = http::Response::text(200, r.body, "application/trickle-ice-sdpfrag");
          res.headers.set("ETag", r.etag);
          return res;
        }
        errors->count(r.status);
        auto res = whep_error(r.status, r.body);
        if (r.status == 412 && !r.etag.empty()) res.headers.set("ETag", r.etag);
        return res;
      },
      {.access = http::Access::Public, .max_body = k_max_offer});

  router.add(
      http::Method::Delete, "/api/v3/whep/{id}/{resource}",
      [server](http::Request& req) {
        // Idempotent: a session that is already gone is as deleted as it gets.
        if (server) server->remove(req.param("id"), req.param("resource"));
        return http::Response::empty(204);
      },
      {.access = http::Access::Public});
}

}  // namespace dragon::api
