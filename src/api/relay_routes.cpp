// GET /api/v3/rtmp (publishing channels) and GET /api/v3/srt (channels, connections, statistics),
// registered only while that server runs, as upstream does.
#include "api/context.hpp"
#include "api/json_body.hpp"

namespace dragon::api {

void register_relay_routes(http::Router& router, ApiContext& ctx) {
  if (ctx.rtmp_channels) {
    router.add(http::Method::Get, "/api/v3/rtmp",
               [channels = ctx.rtmp_channels](http::Request& req) { return json_response(req, 200, channels()); });
  }
  if (ctx.srt_channels) {
    router.add(http::Method::Get, "/api/v3/srt",
               [channels = ctx.srt_channels](http::Request& req) { return json_response(req, 200, channels()); });
  }
}

}  // namespace dragon::api
