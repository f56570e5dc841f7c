#include "ffmpeg/access.hpp"

#include "util/strings.hpp"

namespace dragon::ffmpeg {
namespace {

std::optional<std::string> compile(const std::vector<std::string>& in, std::vector<std::regex>& out,
                                   std::string_view kind) {
  out.clear();
  for (const auto& raw : in) {
    std::string expr(util::trim(raw));
    if (expr.empty()) continue;
    auto flags = std::regex::ECMAScript | std::regex::optimize;
    std::string_view body = expr;
    if (body.starts_with("(?i)")) {
      flags |= std::regex::icase;
      body.remove_prefix(4);
    }
    try {
      out.emplace_back(std::string(body), flags);
    } catch (const std::regex_error& e) {
      return "invalid " + std::string(kind) + " expression: '" + expr + "' (" + e.what() + ")";
    }
  }
  return std::nullopt;
}

bool search(const std::regex& re, std::string_view s) {
  try {
    return std::regex_search(s.begin(), s.end(), re);
  } catch (const std::regex_error&) {
    return true;  // complexity/stack limits: treat as a match, so block lists fail closed
  }
}

}  // namespace

std::optional<std::string> AccessList::set(const std::vector<std::string>& allow,
                                           const std::vector<std::string>& block) {
  std::vector<std::regex> a, b;
  if (auto e = compile(allow, a, "allow")) return e;
  if (auto e = compile(block, b, "block")) return e;
  allow_ = std::move(a);
  block_ = std::move(b);
  return std::nullopt;
}

bool AccessList::allowed(std::string_view address) const {
  for (const auto& re : block_)
    if (search(re, address)) return false;
  if (allow_.empty()) return true;
  for (const auto& re : allow_) {
    // An allow match that blew a limit must not let the address through.
    try {
      if (std::regex_search(address.begin(), address.end(), re)) return true;
    } catch (const std::regex_error&) {
    }
  }
  return false;
}

}  // namespace dragon::ffmpeg
