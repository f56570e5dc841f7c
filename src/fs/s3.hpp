#pragma once
// An S3 bucket as a filesystem (upstream io/fs/s3.go, storage.s3 config items). fs path "/a/b.ts" is
// object key "a/b.ts"; paths are cleaned with clean_path first, so "..", NUL and overlong names never
// reach S3, and every other byte is percent-encoded into the request path.
//
// Requests go through libcurl with its AWS Signature V4 signer (CURLOPT_AWS_SIGV4, "aws:amz:<region>:s3";
// Debian's libs3 only signs V2); the payload is signed too (x-amz-content-sha256). Path-style URLs
// (http[s]://endpoint/bucket/key) except on AWS and Aliyun endpoints with a DNS-compatible bucket name,
// which get virtual-hosted URLs (bucket.endpoint/key), as minio-go (upstream's client) decides.
//
// Thread-safe: each call borrows a curl easy handle from a small pool (kept connections, keep-alive) and
// returns it. Every request has a connect and a total timeout. The secret never appears in a message or
// a log line (credentials go to curl as CURLOPT_USERNAME/PASSWORD, never in a URL).
//
// Errors: write() reports network and S3 errors in WriteResult::message ("S3 PUT dragon/a.ts: HTTP 403
// SignatureDoesNotMatch: ..."). The interface's other calls cannot carry an error: list() returns what it
// could not list as empty, stat()/read() return nullopt and remove() false; each logs a warning with the
// reason, and last_error() keeps the latest message for callers and tests.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fs/filesystem.hpp"

namespace dragon::fs {

struct S3Options {
  // storage.s3[i] items, 1:1
  std::string endpoint;  // "host[:port]" (a leading http:// or https:// is tolerated and dropped)
  std::string bucket;
  std::string region;  // empty = "us-east-1" (minio-go's default)
  std::string access_key_id;
  std::string secret_access_key;  // empty key and secret = anonymous (unsigned) requests
  bool use_ssl = false;

  enum class Addressing { Auto, Path, VirtualHost };
  Addressing addressing = Addressing::Auto;

  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  // Objects per ListObjectsV2 page (S3 caps it at 1000); smaller values make paging cheap to test.
  unsigned list_page_size = 1000;
  // usage() lists the whole bucket; its result is reused for this long.
  std::chrono::milliseconds usage_cache{5000};
  std::size_t max_pool = 8;  // idle curl handles kept for reuse
  // Content-Type of written objects by path; empty function = "application/data" (upstream's default).
  std::function<std::string(std::string_view path)> content_type;
  // Verify the server certificate (https). Off only for tests against self-signed servers.
  bool verify_tls = true;
};

class S3Filesystem final : public Filesystem {
 public:
  // Throws std::invalid_argument naming what is wrong (never the secret) for an empty name, endpoint
  // or bucket, an endpoint with a path, or a bucket name with '/'. Does no network I/O.
  S3Filesystem(std::string name, S3Options options);
  ~S3Filesystem() override;
  S3Filesystem(const S3Filesystem&) = delete;
  S3Filesystem& operator=(const S3Filesystem&) = delete;

  const std::string& name() const override { return name_; }
  std::string_view type() const override { return "s3"; }
  // ListObjectsV2 over the glob's literal prefix ("/seg_*.ts" lists prefix "seg_"), all pages, then the
  // glob filters. Keys that no fs path maps to ("a//b", "x/../y", "dir/") are left out.
  std::vector<FileInfo> list(std::string_view glob = {}) const override;
  std::optional<FileInfo> stat(std::string_view path) const override;  // HEAD
  std::optional<FileContent> read(std::string_view path) const override;  // GET, whole object
  // HEAD (to report created) then PUT. "/" and invalid paths: InvalidPath. When HEAD fails with an HTTP
  // error (write-only credentials get 403) the PUT still runs and `created` is reported true.
  WriteResult write(std::string_view path, std::string data) override;
  // HEAD then DELETE: false when there was no object (S3's DELETE succeeds either way).
  bool remove(std::string_view path) override;
  Usage usage() const override;  // files/bytes of the whole bucket (limit 0), cached usage_cache

  // Upstream creates the bucket at startup when it is missing: HEAD bucket, then PUT bucket (with a
  // LocationConstraint outside us-east-1). Empty string on success, else the error message.
  std::string ensure_bucket();

  // The latest error message of any call (empty when none yet). For logs, the API and tests.
  std::string last_error() const;

  // "/a/b c.ts" -> "a/b c.ts" (nullopt when the path is invalid or "/"); exposed for tests.
  static std::optional<std::string> key_for(std::string_view path);
  // The literal prefix of a glob as an object key prefix: "/a/seg_*.ts" -> "a/seg_". "" when none.
  static std::string list_prefix_for(std::string_view glob);

 private:
  struct Response;
  struct Request;
  class Pool;

  Response perform(const Request& req) const;
  std::string url_for(const std::string& key, const std::string& query) const;
  std::optional<std::vector<FileInfo>> list_all(const std::string& prefix, std::string& error) const;
  void note_error(const std::string& op, const std::string& message) const;
  enum class Head { Exists, Missing, HttpError, NetworkError };
  // HEAD of an object: info filled when it exists, `error` set on errors.
  Head head(const std::string& key, FileInfo& info, std::string& error) const;
  static std::string describe(const std::string& op, const Response& res);

  const std::string name_;
  S3Options opt_;
  std::string scheme_host_;  // "http://127.0.0.1:9000" or "https://bucket.s3.amazonaws.com"
  bool path_style_ = true;
  std::string sigv4_;        // "aws:amz:<region>:s3"
  std::unique_ptr<Pool> pool_;

  mutable std::mutex mu_;  // guards the members below
  mutable std::string last_error_;
  mutable Clock::time_point usage_at_{};
  mutable std::optional<Usage> usage_;
};

}  // namespace dragon::fs
