// GET /whep-player.html: the zero-dependency WHEP test player, served from the binary unless the
// disk filesystem (mounted at /) has a file of that name.
#include "api/context.hpp"
#include "api/file_serving.hpp"
#include "fs/registry.hpp"
#include "util/embedded_assets.hpp"

namespace dragon::api {

void register_player_routes(http::Router& router, ApiContext& ctx) {
  router.add(
      http::Method::Get, "/whep-player.html",
      [&ctx](http::Request& req) {
        if (auto disk = ctx.filesystems ? ctx.filesystems->get("disk") : nullptr) {
          if (auto c = disk->read("/whep-player.html")) {
            return file_response(req, *c, "text/html; charset=utf-8");
          }
        }
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
