// Layout versions 1 and 2 → 3, following upstream's config/v2/data.go (v1 → v2) and config/data.go (v2 → v3).
// v2 differs from v3 only by: no tls.email, no debug.memory_limit_mbytes, no storage.s3, and
// storage.disk.cache.types being a flat list (v3's types.allow). v1 differs from v2 only in rtmp:
// no address_tls, and enable_tls meant "RTMPS instead of RTMP" on rtmp.address.
// A key that a layout does not have keeps its current value (its default when loading a file).
#include <fmt/format.h>

#include "config/internal.hpp"

namespace dragon::config::detail {

std::optional<std::string> source_path(const Key& k, int version) {
  if (version >= 3) return k.json_path;
  const auto& p = k.json_path;
  if (p == "tls.email" || p == "debug.memory_limit_mbytes" || p == "storage.s3" ||
      p == "storage.disk.cache.types.block") {
    return std::nullopt;
  }
  if (p == "storage.disk.cache.types.allow") return std::string("storage.disk.cache.types");
  if (version == 1 && p == "rtmp.address_tls") return std::nullopt;
  return p;
}

void migrate_v1_rtmp(const Json& doc, Json& next, Errors& errors) {
  Json* app = lookup(next, "rtmp.app");
  if (app && app->is_string() && (app->get<std::string>().empty() || app->get<std::string>().front() != '/')) {
    *app = "/" + app->get<std::string>();
  }
  const Json* enable_tls = lookup(doc, "rtmp.enable_tls");
  if (!enable_tls || !enable_tls->is_boolean() || !enable_tls->get<bool>()) return;

  // v1 served RTMPS instead of RTMP on rtmp.address: keep RTMPS there and put plain RTMP one port below.
  const auto address = lookup(next, "rtmp.address")->get<std::string>();
  const auto colon = address.rfind(':');
  unsigned long port = 0;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    std::size_t used = 0;
    port = std::stoul(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1 || port < 2 || port > 65535) throw std::invalid_argument("bad port");
  } catch (const std::exception&) {
    errors.push_back({"rtmp.address", fmt::format("migrating rtmp.address \"{}\" to rtmp.address_tls failed: "
                                                  "expected host:port",
                                                  address)});
    return;
  }
  assign(next, "rtmp.enable", true);
  assign(next, "rtmp.address_tls", address);
  assign(next, "rtmp.address", fmt::format("{}:{}", address.substr(0, colon), port - 1));
}

}  // namespace dragon::config::detail
