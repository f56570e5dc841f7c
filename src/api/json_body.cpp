#include "api/json_body.hpp"

#include "util/strings.hpp"

namespace dragon::api {

namespace {
// 1-based line and character of a byte offset, as upstream reports JSON errors.
std::pair<std::size_t, std::size_t> line_col(const std::string& text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}
}  // namespace

JsonBody parse_json_body(const http::Request& req) {
  JsonBody out;
  const auto ct = req.headers.get("Content-Type");
  if (req.body.empty()) {
    out.error = http::Response::error(400, "Invalid JSON", {"request doesn't contain any content"});
    return out;
  }
  if (!ct || !util::starts_with_icase(*ct, "application/json")) {
    out.error = http::Response::error(400, "Invalid JSON", {"request doesn't contain JSON content"});
    return out;
  }
  try {
    out.value = nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::parse_error& e) {
    const auto [line, col] = line_col(req.body, e.byte == 0 ? 0 : e.byte - 1);
    std::string what = e.what();
    // nlohmann's text starts with "[json.exception.parse_error.101] parse error at line ..., column ...: ".
    if (auto pos = what.find(": "); pos != std::string::npos && what.find("parse error") != std::string::npos) {
      what = what.substr(pos + 2);
    }
    out.error = http::Response::error(
        400, "Invalid JSON",
        {"syntax error at line " + std::to_string(line) + ", character " + std::to_string(col) + ": " + what});
  }
  return out;
}

http::Response json_response(const http::Request& req, int status, const nlohmann::json& body) {
  return http::Response::json(status, body, req.has_query_param("pretty"));
}

}  // namespace dragon::api
