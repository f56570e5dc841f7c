#include "fs/s3.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "fs/glob.hpp"
#include "fs/s3_xml.hpp"
#include "log/log.hpp"
#include "util/strings.hpp"

namespace dragon::fs {
namespace {

constexpr std::size_t k_max_xml_body = 32u << 20;  // list pages and error bodies
constexpr std::size_t k_max_message = 400;
constexpr const char* k_empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(k_hex[md[i] >> 4]);
    out.push_back(k_hex[md[i] & 15]);
  }
  return out;
}

// RFC 3986 per segment; '/' separates segments and stays. This is also SigV4's canonical form, which
// curl 7.88 signs as given.
std::string encode_key(std::string_view key) {
  std::string out;
  std::size_t i = 0;
  while (true) {
    const auto j = key.find('/', i);
    out += util::url_encode(key.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    out += '/';
    i = j + 1;
  }
  return out;
}

bool dns_compatible_bucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return b.front() != '-' && b.back() != '-';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string clip(std::string s) {
  if (s.size() > k_max_message) {
    s.resize(k_max_message);
    s += "...";
  }
  for (auto& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

}  // namespace

struct S3Filesystem::Request {
  const char* method = "GET";  // GET HEAD PUT DELETE
  std::string key;             // "" = the bucket itself
  std::string query;           // canonical: sorted, encoded
  const std::string* body = nullptr;
  std::string content_type;
  std::size_t max_body = 0;  // 0 = unlimited
};

struct S3Filesystem::Response {
  CURLcode curl = CURLE_OK;
  std::string curl_error;
  long status = 0;
  std::string body;
  bool body_too_big = false;
  curl_off_t content_length = -1;
  long filetime = -1;
  // HEAD errors have no body; S3-compatible servers (s3rver, Ceph) name the error in headers.
  std::string header_code, header_message;

  bool ok() const { return curl == CURLE_OK && status >= 200 && status < 300; }
};

class S3Filesystem::Pool {
 public:
  explicit Pool(std::size_t max) : max_(max) {}
  ~Pool() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }
  CURL* acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    CURL* h = curl_easy_init();
    if (!h) throw std::runtime_error("curl_easy_init failed");
    return h;
  }
  void release(CURL* h) {
    // Reset drops the options, keeps the handle's live connections for the next request.
    curl_easy_reset(h);
    std::lock_guard lock(mu_);
    if (idle_.size() < max_) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

 private:
  std::mutex mu_;
  std::vector<CURL*> idle_;
  std::size_t max_;
};

S3Filesystem::S3Filesystem(std::string name, S3Options options) : name_(std::move(name)), opt_(std::move(options)) {
  if (name_.empty()) throw std::invalid_argument("S3 filesystem: the name is empty");
  const std::string which = fmt::format("S3 filesystem {}", name_);
  std::string endpoint = opt_.endpoint;
  if (util::starts_with_icase(endpoint, "http://")) endpoint = endpoint.substr(7);
  else if (util::starts_with_icase(endpoint, "https://")) endpoint = endpoint.substr(8);
  if (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (endpoint.empty()) throw std::invalid_argument(which + ": the endpoint is empty");
  if (endpoint.find_first_of("/?#@ \t\r\n") != std::string::npos) {
    throw std::invalid_argument(which + ": the endpoint must be host[:port], without a path");
  }
  if (opt_.bucket.empty()) throw std::invalid_argument(which + ": the bucket is empty");
  if (opt_.bucket.find_first_of("/?# \t\r\n") != std::string::npos) {
    throw std::invalid_argument(which + ": invalid bucket name");
  }
  if (opt_.region.empty()) opt_.region = "us-east-1";
  if (!std::all_of(opt_.region.begin(), opt_.region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      })) {
    throw std::invalid_argument(which + ": invalid region (letters, digits, '-' and '_' only)");
  }
  if (opt_.list_page_size == 0 || opt_.list_page_size > 1000) opt_.list_page_size = 1000;
  // The host without ":port" (and without the brackets of an IPv6 literal) decides the addressing.
  std::string host = util::to_lower(endpoint);
  if (const auto colon = host.rfind(':'); colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    host.resize(colon);
  }
  switch (opt_.addressing) {
    case S3Options::Addressing::Path: path_style_ = true; break;
    case S3Options::Addressing::VirtualHost: path_style_ = false; break;
    case S3Options::Addressing::Auto: {
      const bool known_vhost = ends_with(host, "amazonaws.com") || ends_with(host, "aliyuncs.com");
      path_style_ = !(known_vhost && dns_compatible_bucket(opt_.bucket));
      break;
    }
  }
  if (!path_style_ && !dns_compatible_bucket(opt_.bucket)) {
    throw std::invalid_argument(which + ": virtual-hosted addressing needs a DNS-compatible bucket name");
  }
  scheme_host_ = std::string(opt_.use_ssl ? "https://" : "http://") + (path_style_ ? "" : opt_.bucket + ".") + endpoint;
  sigv4_ = "aws:amz:" + opt_.region + ":s3";
  global_init();
  pool_ = std::make_unique<Pool>(opt_.max_pool);
}

S3Filesystem::~S3Filesystem() = default;

std::optional<std::string> S3Filesystem::key_for(std::string_view path) {
  auto p = clean_path(path);
  if (!p || *p == "/") return std::nullopt;
  return p->substr(1);
}

std::string S3Filesystem::list_prefix_for(std::string_view glob) {
  if (glob.empty() || glob.front() != '/') return {};
  const auto meta = glob.find_first_of("*?[{\\");
  const auto literal = std::string(glob.substr(1, meta == std::string_view::npos ? std::string_view::npos : meta - 1));
  // Only a prefix that cleaning leaves alone ("//a*", "/a/../b*" are not): names are clean paths.
  const std::string probe = "/" + literal + "x";
  if (clean_path(probe) != probe) return {};
  return std::string(literal);
}

std::string S3Filesystem::url_for(const std::string& key, const std::string& query) const {
  std::string url = scheme_host_;
  if (path_style_) {
    url += '/';
    url += util::url_encode(opt_.bucket);
    if (!key.empty()) url += '/';
  } else {
    url += '/';
  }
  url += encode_key(key);
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

S3Filesystem::Response S3Filesystem::perform(const Request& req) const {
  Response res;
  CURL* h = pool_->acquire();
  struct Release {
    Pool* pool;
    CURL* h;
    ~Release() { pool->release(h); }
  } release{pool_.get(), h};

  struct Sink {
    Response* res;
    std::size_t max;
  } sink{&res, req.max_body};
  struct Source {
    const std::string* data;
    std::size_t pos = 0;
  } source{req.body, 0};

  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string url = url_for(req.key, req.query);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opt_.request_timeout.count()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!opt_.verify_tls) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!opt_.access_key_id.empty() || !opt_.secret_access_key.empty()) {
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, opt_.access_key_id.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, opt_.secret_access_key.c_str());
  }
  curl_easy_setopt(
      h, CURLOPT_WRITEFUNCTION, +[](char* ptr, size_t size, size_t n, void* user) -> size_t {
        auto* s = static_cast<Sink*>(user);
        const std::size_t len = size * n;
        if (s->max && s->res->body.size() + len > s->max) {
          s->res->body_too_big = true;
          return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
        }
        s->res->body.append(ptr, len);
        return len;
      });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(
      h, CURLOPT_HEADERFUNCTION, +[](char* ptr, size_t size, size_t n, void* user) -> size_t {
        auto* r = static_cast<Response*>(user);
        const std::string_view line(ptr, size * n);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return size * n;
        const auto name = line.substr(0, colon);
        auto value = std::string(util::trim(line.substr(colon + 1)));
        if (util::iequals(name, "x-amz-error-code")) r->header_code = clip(std::move(value));
        if (util::iequals(name, "x-amz-error-message")) r->header_message = clip(std::move(value));
        return size * n;
      });
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &res);

  // Signed payload: curl 7.88 signs the x-amz-content-sha256 header we give it and uses its value
  // as the payload hash (it does not add one itself, and S3 requires it).
  curl_slist* headers = nullptr;
  const std::string payload_hash =
      fmt::format("x-amz-content-sha256: {}", req.body ? sha256_hex(*req.body) : std::string(k_empty_sha256));
  headers = curl_slist_append(headers, payload_hash.c_str());
  std::string content_type;
  if (req.body) {
    content_type = "Content-Type: " + (req.content_type.empty() ? std::string("application/data") : req.content_type);
    headers = curl_slist_append(headers, content_type.c_str());
  }
  struct FreeHeaders {
    curl_slist* l;
    ~FreeHeaders() { curl_slist_free_all(l); }
  } free_headers{headers};
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  if (std::strcmp(req.method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (std::strcmp(req.method, "PUT") == 0) {
    static const std::string k_none;
    if (!source.data) source.data = &k_none;
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(source.data->size()));
    curl_easy_setopt(
        h, CURLOPT_READFUNCTION, +[](char* buf, size_t size, size_t n, void* user) -> size_t {
          auto* s = static_cast<Source*>(user);
          const std::size_t len = std::min(size * n, s->data->size() - s->pos);
          std::memcpy(buf, s->data->data() + s->pos, len);
          s->pos += len;
          return len;
        });
    curl_easy_setopt(h, CURLOPT_READDATA, &source);
  } else if (std::strcmp(req.method, "DELETE") == 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }

  res.curl = curl_easy_perform(h);
  if (res.curl != CURLE_OK) {
    res.curl_error = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(res.curl));
    if (res.body_too_big) res.curl_error = "the response is too large";
    // Neither the URL nor the credentials are in curl's messages for these options.
    return res;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res.status);
  curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &res.content_length);
  curl_easy_getinfo(h, CURLINFO_FILETIME, &res.filetime);
  return res;
}

namespace {

const char* reason_phrase(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace

std::string S3Filesystem::describe(const std::string& op, const Response& res) {
  if (res.curl != CURLE_OK) return clip(fmt::format("{}: {}", op, res.curl_error));
  std::string msg = fmt::format("{}: HTTP {}", op, res.status);
  std::string code = res.header_code, text = res.header_message;
  if (const auto e = s3xml::parse_error(res.body)) {
    if (!e->code.empty()) code = e->code;
    if (!e->message.empty()) text = e->message;
  }
  if (!code.empty()) {
    msg += " " + code;
    if (!text.empty()) msg += ": " + text;
  } else if (*reason_phrase(res.status)) {
    msg += std::string(" ") + reason_phrase(res.status);
  }
  return clip(std::move(msg));
}

void S3Filesystem::note_error(const std::string& op, const std::string& message) const {
  {
    std::lock_guard lock(mu_);
    last_error_ = message;
  }
  log::warn("S3", message, {{"fs", name_}, {"op", op}});
}

std::string S3Filesystem::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

S3Filesystem::Head S3Filesystem::head(const std::string& key, FileInfo& info, std::string& error) const {
  Request req;
  req.method = "HEAD";
  req.key = key;
  const Response res = perform(req);
  if (res.curl == CURLE_OK && res.status == 404) return Head::Missing;
  if (!res.ok()) {
    error = describe(fmt::format("S3 HEAD {}/{}", opt_.bucket, key), res);
    return res.curl == CURLE_OK ? Head::HttpError : Head::NetworkError;
  }
  info.name = "/" + key;
  info.size = res.content_length > 0 ? static_cast<std::uint64_t>(res.content_length) : 0;
  info.mtime = res.filetime >= 0 ? Clock::from_time_t(static_cast<std::time_t>(res.filetime)) : Clock::time_point{};
  return Head::Exists;
}

std::optional<FileInfo> S3Filesystem::stat(std::string_view path) const {
  const auto key = key_for(path);
  if (!key) return std::nullopt;
  FileInfo info;
  std::string error;
  const Head r = head(*key, info, error);
  if (r == Head::Exists) return info;
  if (r != Head::Missing) note_error("stat", error);
  return std::nullopt;
}

std::optional<FileContent> S3Filesystem::read(std::string_view path) const {
  const auto key = key_for(path);
  if (!key) return std::nullopt;
  Request req;
  req.method = "GET";
  req.key = *key;
  Response res = perform(req);
  if (res.curl == CURLE_OK && res.status == 404) return std::nullopt;
  if (!res.ok()) {
    note_error("read", describe(fmt::format("S3 GET {}/{}", opt_.bucket, *key), res));
    return std::nullopt;
  }
  FileContent c;
  c.info.name = "/" + *key;
  c.info.size = res.body.size();
  c.info.mtime = res.filetime >= 0 ? Clock::from_time_t(static_cast<std::time_t>(res.filetime)) : Clock::time_point{};
  c.data = std::make_shared<const std::string>(std::move(res.body));
  return c;
}

WriteResult S3Filesystem::write(std::string_view path, std::string data) {
  WriteResult r;
  const auto key = key_for(path);
  if (!key) {
    r.error = WriteError::InvalidPath;
    r.message = "invalid path";
    return r;
  }
  FileInfo existing;
  std::string error;
  // An HTTP error on HEAD (e.g. 403 for credentials that may put but not get) leaves it open whether
  // the object exists: the PUT still runs and reports its own error, which has a body to quote.
  const Head exists = head(*key, existing, error);
  if (exists == Head::NetworkError) {
    r.error = WriteError::Io;
    r.message = error;
    note_error("write", error);
    return r;
  }
  Request req;
  req.method = "PUT";
  req.key = *key;
  req.body = &data;
  req.content_type = opt_.content_type ? opt_.content_type("/" + *key) : std::string("application/data");
  req.max_body = k_max_xml_body;
  const Response res = perform(req);
  if (!res.ok()) {
    r.message = describe(fmt::format("S3 PUT {}/{}", opt_.bucket, *key), res);
    r.error = res.body.find("<Code>EntityTooLarge</Code>") != std::string::npos ? WriteError::TooBig : WriteError::Io;
    note_error("write", r.message);
    return r;
  }
  r.created = exists != Head::Exists;  // unknown after an HTTP error: reported as created
  return r;
}

bool S3Filesystem::remove(std::string_view path) {
  const auto key = key_for(path);
  if (!key) return false;
  FileInfo existing;
  std::string error;
  const Head exists = head(*key, existing, error);
  if (exists == Head::Missing) return false;
  if (exists == Head::NetworkError) {
    note_error("remove", error);
    return false;
  }
  // Exists, or unknown after an HTTP error on HEAD: the DELETE decides (and names its error).
  Request req;
  req.method = "DELETE";
  req.key = *key;
  req.max_body = k_max_xml_body;
  const Response res = perform(req);
  if (!res.ok()) {
    note_error("remove", describe(fmt::format("S3 DELETE {}/{}", opt_.bucket, *key), res));
    return false;
  }
  return true;
}

std::optional<std::vector<FileInfo>> S3Filesystem::list_all(const std::string& prefix, std::string& error) const {
  std::vector<FileInfo> out;
  std::string token;
  for (std::size_t page_no = 0;; ++page_no) {
    // Query parameters in SigV4 canonical order (sorted by name), values RFC 3986-encoded.
    std::string query;
    if (!token.empty()) query += "continuation-token=" + util::url_encode(token) + "&";
    query += fmt::format("list-type=2&max-keys={}", opt_.list_page_size);
    if (!prefix.empty()) query += "&prefix=" + util::url_encode(prefix);
    Request req;
    req.method = "GET";
    req.query = std::move(query);
    req.max_body = k_max_xml_body;
    const Response res = perform(req);
    const std::string op = fmt::format("S3 list {} (page {})", opt_.bucket, page_no + 1);
    if (!res.ok()) {
      error = describe(op, res);
      return std::nullopt;
    }
    auto page = s3xml::parse_list_objects(res.body);
    if (!page) {
      error = op + ": the response is not a ListBucketResult";
      return std::nullopt;
    }
    for (auto& o : page->objects) {
      if (o.key.empty()) continue;
      std::string name = "/" + o.key;
      // Keys no fs path maps to (written by other clients): "a//b", "a/../b", "dir/".
      const auto clean = clean_path(name);
      if (!clean || *clean != name) continue;
      out.push_back({std::move(name), o.size, o.last_modified});
    }
    if (!page->is_truncated) break;
    if (page->next_continuation_token.empty() || page->next_continuation_token == token) {
      error = op + ": a truncated listing without a new continuation token";
      return std::nullopt;
    }
    token = std::move(page->next_continuation_token);
  }
  return out;
}

std::vector<FileInfo> S3Filesystem::list(std::string_view glob) const {
  std::optional<Glob> g;
  if (!glob.empty()) {
    g = Glob::compile(glob);
    if (!g) return {};
  }
  std::string error;
  auto all = list_all(list_prefix_for(glob), error);
  if (!all) {
    note_error("list", error);
    return {};
  }
  if (g) {
    all->erase(std::remove_if(all->begin(), all->end(), [&](const FileInfo& f) { return !g->match(f.name); }),
               all->end());
  }
  return std::move(*all);
}

Usage S3Filesystem::usage() const {
  const auto now = Clock::now();
  {
    std::lock_guard lock(mu_);
    if (usage_ && now - usage_at_ < opt_.usage_cache && now >= usage_at_) return *usage_;
  }
  std::string error;
  const auto all = list_all({}, error);
  if (!all) {
    note_error("usage", error);
    std::lock_guard lock(mu_);
    return usage_.value_or(Usage{});
  }
  Usage u;
  u.files = all->size();
  for (const auto& f : *all) u.bytes += f.size;
  std::lock_guard lock(mu_);
  usage_ = u;
  usage_at_ = now;
  return u;
}

std::string S3Filesystem::ensure_bucket() {
  Request head_req;
  head_req.method = "HEAD";
  const Response head_res = perform(head_req);
  if (head_res.ok()) return {};
  if (head_res.curl != CURLE_OK || head_res.status != 404) {
    auto msg = describe(fmt::format("S3 HEAD bucket {}", opt_.bucket), head_res);
    note_error("ensure_bucket", msg);
    return msg;
  }
  Request req;
  req.method = "PUT";
  std::string body;
  if (opt_.region != "us-east-1") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        opt_.region);
  }
  req.body = &body;
  req.content_type = "application/xml";
  req.max_body = k_max_xml_body;
  const Response res = perform(req);
  if (res.ok()) {
    log::info("S3", "Created bucket", {{"fs", name_}, {"bucket", opt_.bucket}});
    return {};
  }
  auto msg = describe(fmt::format("S3 create bucket {}", opt_.bucket), res);
  note_error("ensure_bucket", msg);
  return msg;
}

}  // namespace dragon::fs
