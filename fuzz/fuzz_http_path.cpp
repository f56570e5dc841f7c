// Request targets: percent-decoding, query parsing and route matching on hostile paths.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/router.hpp"
#include "util/strings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static dragon::http::Router* router = [] {
    auto* r = new dragon::http::Router();
    auto h = [](dragon::http::Request&) { return dragon::http::Response::empty(200); };
    r->add(dragon::http::Method::Get, "/api/v3/process/{id}", h);
    r->add(dragon::http::Method::Get, "/api/v3/process/{id}/metadata/{key}", h);
    r->add(dragon::http::Method::Get, "/api/v3/fs/{name}/{path*}", h);
    r->add(dragon::http::Method::Get, "/memfs/{path*}", h);
    return r;
  }();
  const std::string target(reinterpret_cast<const char*>(data), size);
  std::string path;
  const auto q = target.find('?');
  if (!dragon::util::url_decode(std::string_view(target).substr(0, q), path)) return 0;
  (void)router->find(dragon::http::Method::Get, path);
  dragon::http::Request req;
  if (q != std::string::npos) req.query = target.substr(q + 1);
  (void)req.query_param("filter");
  return 0;
}
