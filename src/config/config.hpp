#pragma once
// Dragon Core's configuration: one declarative table of every key (config/keys.cpp) drives defaults,
// environment binding, validation, redaction and docs/config.md. The document layout is upstream
// datarhei Core's config version 3 plus a "webrtc" block, so upstream config files load as they are.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dragon::config {

using Json = nlohmann::json;

// How a value is spelled in JSON and parsed from its environment variable.
enum class Type {
  Bool,        // true/false; env: 1,t,T,TRUE,true,True,0,f,F,FALSE,false,False (Go's ParseBool)
  Int,         // signed integer
  Uint,        // unsigned integer
  Float,       // number
  String,      // any string
  Address,     // "[host]:port"; a bare port "8080" is normalised to ":8080"
  Dir,         // directory path, created at start-up when missing
  File,        // path to a file that must exist when non-empty
  Exec,        // program name or path, must resolve in PATH
  AbsPath,     // absolute path
  StringList,  // JSON array of strings; env: split by `list_separator`
  StringMap,   // JSON object of strings; env: space-separated "from:to"
  JsonValue,   // arbitrary JSON (arrays of objects such as storage.s3); env: JSON text or a key-specific form
  Time,        // RFC 3339 timestamp string
};

struct Key {
  std::string json_path;         // "api.auth.enable"
  std::string var_name;          // name used in "overrides" and 409 bodies; equals json_path except upstream's exceptions
  std::vector<std::string> env;  // env[0] is canonical (CORE_...); the rest are deprecated alternatives (warned)
  Type type = Type::String;
  char list_separator = ',';
  std::function<Json()> default_value;  // called per use, so random defaults (id, secrets) differ per instance
  // Checks one value (already of the right JSON type); returns the reason when invalid.
  std::function<std::optional<std::string>(const Json&)> validate;
  std::string doc;                     // one line for docs/config.md
  bool secret = false;                 // redacted in GET /api/v3/config, never logged
  std::vector<std::string> secret_fields;  // for JsonValue arrays of objects: dotted fields to redact in each element
};

// The table, in document order.
const std::vector<Key>& keys();
const Key* find_key(std::string_view json_path);

// Replaces secrets in GET /api/v3/config; PUT treats it as "keep the current value".
inline constexpr std::string_view k_redacted = "********";

struct VarError {
  std::string var;      // var name of the key ("api.auth.enable"), or "" for document-level errors
  std::string message;  // why, e.g. "expected a boolean, got \"yes\""
};
using Errors = std::vector<VarError>;
// {"<var>": ["message", ...]} as upstream's 409 body.
Json errors_to_json(const Errors& errors);
std::string errors_to_string(const Errors& errors);  // "api.auth.enable: expected ...; address: ..."

using Environment = std::map<std::string, std::string>;
Environment process_environment();

class Config {
 public:
  // Every key at its default; random defaults (id, name, JWT secret, memfs password) freshly generated.
  static Config defaults();

  // Overlays a full or partial document (layout version 1, 2 or 3; 1 and 2 are migrated). Keys not in the
  // document keep their current values; unknown keys are ignored. On any error nothing changes.
  Errors overlay(const Json& doc);
  // Applies CORE_* variables (and alternatives) present in `env`; records their var names in overrides().
  // On any error nothing changes.
  Errors apply_env(const Environment& env);
  // Every per-key validator plus the cross-field rules (e.g. tls.enable needs cert+key unless tls.auto,
  // api.auth.enable needs username and password, playout min < max, metrics interval <= range).
  Errors validate() const;

  // The whole version-3 document.
  const Json& to_json() const { return data_; }
  // The same with every secret that is non-empty replaced by k_redacted.
  Json to_json_redacted() const;
  // In a document received from a client, replaces each k_redacted secret by this config's value.
  void unredact(Json& doc) const;

  const std::vector<std::string>& overrides() const { return overrides_; }

  // Typed access by JSON path; an unknown path or a type mismatch is a programming error (std::logic_error).
  const Json& get(std::string_view path) const;
  bool get_bool(std::string_view path) const;
  std::int64_t get_int(std::string_view path) const;
  std::uint64_t get_uint(std::string_view path) const;
  double get_float(std::string_view path) const;
  std::string get_string(std::string_view path) const;
  std::vector<std::string> get_strings(std::string_view path) const;
  // Sets a value without validation (used for generated first-start values and by tests).
  void set(std::string_view path, Json value);

 private:
  Json data_ = Json::object();
  std::vector<std::string> overrides_;
};

// Where the config file is: --config FILE, else $CORE_CONFIGFILE, else upstream's search list
// (the last existing of ~/.config/datarhei-core/config.js(on), ./config/config.js(on)), else ./config/config.json.
std::string locate_config_file(const std::optional<std::string>& flag, const Environment& env);

// The config file plus the environment. Thread-safe; readers take immutable snapshots.
class Store {
 public:
  Store(std::string path, Environment env);

  // Reads the file (creating it with defaults when absent), migrates it, writes it back in the current
  // layout, applies the environment, validates and creates the Dir keys' directories.
  // Returns the errors (start-up must stop on any).
  Errors load();

  // Candidate document from PUT /api/v3/config: overlaid on the stored config (partial update), secrets
  // unredacted, env merged on a copy and validated. On success written atomically and made the stored
  // config (active only after reload(), as upstream). On error nothing changes.
  Errors update(const Json& doc);
  // Makes the stored config active again (re-reads env). Used by GET /api/v3/config/reload.
  Errors reload();

  // Persists a stored-config change made by the server itself (e.g. the generated first-start password).
  void store_value(std::string_view path, Json value);

  std::shared_ptr<const Config> active() const;  // stored + env: what the server runs with
  std::shared_ptr<const Config> stored() const;  // what the file holds
  const std::string& path() const { return path_; }
  bool created_file() const { return created_; }
  // The password load() generated because auth was on and none was set (first start), if any.
  std::optional<std::string> generated_password() const { return generated_password_; }

  std::chrono::system_clock::time_point created_at() const;  // config's created_at
  std::chrono::system_clock::time_point loaded_at() const;
  std::chrono::system_clock::time_point updated_at() const;   // zero time when never updated via API

  // The GET /api/v3/config body: {created_at, loaded_at, updated_at, config (redacted), overrides}.
  Json api_view() const;

 private:
  void write_file(const Config& c);

  mutable std::mutex mu_;
  std::string path_;
  Environment env_;
  std::shared_ptr<const Config> active_;
  std::shared_ptr<const Config> stored_;
  std::shared_ptr<const Config> merged_;  // stored + env as last validated: what GET shows (upstream shows a PUT before reload)
  bool created_ = false;
  std::optional<std::string> generated_password_;
  std::chrono::system_clock::time_point loaded_at_{};
  std::chrono::system_clock::time_point updated_at_{};
};

// docs/config.md, generated from the table (dragon-core --print-config-doc).
std::string markdown_reference();

}  // namespace dragon::config
