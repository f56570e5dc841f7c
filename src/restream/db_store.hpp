#pragma once
// db.json in upstream's format (version 4), so an upstream Core's database loads as it is:
//   {"version":4,
//    "process":{"<id>":{"id","reference","config":<stored config>,"created_at","updated_at","order"}},
//    "metadata":{"system":{"<key>":any},"process":{"<id>":{"<key>":any}}}}
// The stored config is upstream's internal form (limit_* keys, memory in bytes, ffversion) plus our
// "webrtc" block. Written atomically after every change: a crash never loses or corrupts it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ffmpeg/process_config.hpp"

namespace dragon::restream {

struct StoredProcess {
  ffmpeg::ProcessConfig config;
  std::string ffversion;  // semver constraint "^MAJOR.MINOR.0" of the FFmpeg it was made with
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  bool order_start = false;  // "order": "start" | "stop"
};

struct Database {
  std::map<std::string, StoredProcess> processes;
  nlohmann::json system_metadata = nlohmann::json::object();
  std::map<std::string, nlohmann::json> process_metadata;  // id → object of key → value
};

// Internal (db.json) form of a process config and back.
nlohmann::ordered_json stored_config_to_json(const ffmpeg::ProcessConfig& c, const std::string& ffversion);
// Returns an error message when the document does not have upstream's shape.
std::optional<std::string> stored_config_from_json(const nlohmann::json& j, ffmpeg::ProcessConfig& out,
                                                   std::string& ffversion);

class DbStore {
 public:
  explicit DbStore(std::string path) : path_(std::move(path)) {}
  // A missing file is an empty database. Throws std::runtime_error naming the file and the reason
  // when it cannot be read or is not a version-4 database (the server must not start and then
  // overwrite a database it did not understand).
  Database load() const;
  // Atomic (temp file, fsync, rename, fsync of the directory). Throws std::runtime_error on failure.
  void save(const Database& db) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace dragon::restream
