#pragma once
// Transport-independent HTTP request and response: routing, middleware and handlers work on these,
// and only http/server.cpp knows Beast.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dragon::http {

enum class Method { Get, Head, Post, Put, Delete, Patch, Options, Other };
std::string_view method_name(Method m);
Method parse_method(std::string_view s);

// Case-insensitive header list; keeps insertion order and duplicates.
class Headers {
 public:
  std::optional<std::string_view> get(std::string_view name) const;
  void set(std::string_view name, std::string value);  // replaces all of that name
  void add(std::string_view name, std::string value);
  void remove(std::string_view name);
  bool has(std::string_view name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  Method method = Method::Get;
  std::string target;  // as received: path and query, still encoded
  std::string path;    // percent-decoded path, without query
  std::string query;   // raw query string (after '?'), still encoded
  int version = 11;    // 10 or 11
  Headers headers;
  std::string body;

  std::string remote_ip;  // peer address (never taken from proxy headers)
  std::uint16_t remote_port = 0;
  bool tls = false;

  // Filled by the router and the auth middleware.
  std::map<std::string, std::string, std::less<>> params;
  std::string auth_subject;     // authenticated user ("" when none)
  bool authenticated = false;   // a valid token, or auth not required (disabled, localhost exemption)

  std::optional<std::string> query_param(std::string_view name) const;
  bool has_query_param(std::string_view name) const;
  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  const std::string& param(std::string_view name) const;
};

// A file sent from disk (large bodies are not loaded into memory).
struct FileBody {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// A slice of an immutable in-memory file (memfs, the disk cache) sent without copying it.
struct SharedBody {
  std::shared_ptr<const std::string> data;
  std::size_t offset = 0;
  std::size_t length = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  std::optional<FileBody> file;
  std::optional<SharedBody> shared;
  // Sent only after this delay (e.g. failed logins), without blocking a thread.
  std::chrono::milliseconds delay{0};
  // When set, the server runs this on its blocking-work pool and sends what it returns instead
  // (for handlers that wait on processes or disks). The Request outlives this work.
  std::function<Response()> offload;
  // Connection: close after this response.
  bool close = false;

  static Response json(int status, const nlohmann::json& body, bool pretty = false);
  // Already serialised JSON (e.g. an ordered_json dump); adds the trailing newline upstream sends.
  static Response json_text(int status, std::string body, bool add_newline = true);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // Upstream's error body {"code","message","details"}; message defaults to the status text.
  static Response error(int status, std::string message = {}, std::vector<std::string> details = {});
  static Response error_detail(int status, const std::string& detail) { return error(status, {}, {detail}); }
  static Response empty(int status);
  static Response deferred(std::function<Response()> work);

  // Bytes of the body as sent (whichever of body, file or shared carries it).
  std::uint64_t body_size() const {
    if (file) return file->length;
    if (shared) return shared->length;
    return body.size();
  }
};

std::string_view status_text(int status);

}  // namespace dragon::http
