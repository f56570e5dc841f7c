#include "http/message.hpp"

#include "util/strings.hpp"

namespace dragon::http {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::Get: return "GET";
    case Method::Head: return "HEAD";
    case Method::Post: return "POST";
    case Method::Put: return "PUT";
    case Method::Delete: return "DELETE";
    case Method::Patch: return "PATCH";
    case Method::Options: return "OPTIONS";
    case Method::Other: break;
  }
  return "OTHER";
}

Method parse_method(std::string_view s) {
  if (s == "GET") return Method::Get;
  if (s == "HEAD") return Method::Head;
  if (s == "POST") return Method::Post;
  if (s == "PUT") return Method::Put;
  if (s == "DELETE") return Method::Delete;
  if (s == "PATCH") return Method::Patch;
  if (s == "OPTIONS") return Method::Options;
  return Method::Other;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (util::iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

void Headers::set(std::string_view name, std::string value) {
  remove(name);
  items_.emplace_back(std::string(name), std::move(value));
}

void Headers::add(std::string_view name, std::string value) { items_.emplace_back(std::string(name), std::move(value)); }

void Headers::remove(std::string_view name) {
  std::erase_if(items_, [&](const auto& kv) { return util::iequals(kv.first, name); });
}

namespace {
// Iterates "a=1&b=2" pairs, decoded; stops early when f returns true.
template <typename F>
void for_each_query_pair(std::string_view query, F&& f) {
  for (const auto& part : util::split(query, '&')) {
    const auto eq = part.find('=');
    std::string key, value;
    if (!util::url_decode(std::string_view(part).substr(0, eq), key, true)) continue;
    if (eq != std::string::npos && !util::url_decode(std::string_view(part).substr(eq + 1), value, true)) continue;
    if (f(key, value)) return;
  }
}
}  // namespace

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::optional<std::string> out;
  for_each_query_pair(query, [&](const std::string& k, std::string& v) {
    if (k != name) return false;
    out = std::move(v);
    return true;
  });
  return out;
}

bool Request::has_query_param(std::string_view name) const { return query_param(name).has_value(); }

const std::string& Request::param(std::string_view name) const {
  static const std::string k_empty;
  auto it = params.find(name);
  return it == params.end() ? k_empty : it->second;
}

Response Response::json(int status, const nlohmann::json& body, bool pretty) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  // Upstream (Go's encoder) ends JSON bodies with a newline.
  r.body = (pretty ? body.dump(2) : body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) + "\n";
  return r;
}

Response Response::json_text(int status, std::string body, bool add_newline) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = std::move(body);
  if (add_newline) r.body += '\n';
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::error(int status, std::string message, std::vector<std::string> details) {
  if (message.empty()) message = std::string(status_text(status));
  nlohmann::json body = {{"code", status}, {"message", message}, {"details", details}};
  if (details.empty()) body["details"] = nlohmann::json::array();
  return json(status, body);
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  return r;
}

Response Response::deferred(std::function<Response()> work) {
  Response r;
  r.offload = std::move(work);
  return r;
}

std::string_view status_text(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    case 509: return "Bandwith limit exceeded";  // sic: upstream's text, clients may match it
    default: return "Unknown";
  }
}

}  // namespace dragon::http
