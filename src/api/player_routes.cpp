// GET /whep-player.html: the zero-dependency WHEP test player, served from the binary.
#include "api/context.hpp"
#include "util/embedded_assets.hpp"

namespace dragon::api {

void register_player_routes(http::Router& router, ApiContext&) {
  router.add(
      http::Method::Get, "/whep-player.html",
      [](http::Request&) {
        auto data = assets::find("whep-player.html");
        if (!data) return http::Response::error(404);
        http::Response res = http::Response::text(200, std::string(*data), "text/html; charset=utf-8");
        res.headers.set("Cache-Control", "no-cache");
        // The page talks to this server only; nothing else may load into it.
        res.headers.set("Content-Security-Policy",
                        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' "
                        "data:; media-src 'self' blob:; connect-src 'self' http: https:");
        return res;
      },
      {.access = http::Access::Public});
}

}  // namespace dragon::api
