#pragma once
// Request-body JSON as upstream binds it: only with a JSON Content-Type and a non-empty body, and
// errors worded like upstream's ("syntax error at line L, character C: ...").
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http/message.hpp"

namespace dragon::api {

struct JsonBody {
  std::optional<nlohmann::json> value;
  std::optional<http::Response> error;  // 400 "Invalid JSON" with the reason in details
};

JsonBody parse_json_body(const http::Request& req);

// "?pretty" asks for indented JSON, as upstream.
http::Response json_response(const http::Request& req, int status, const nlohmann::json& body);

}  // namespace dragon::api
