// Store: the config file plus the environment. The file holds the un-merged values (env overrides live
// in memory only, as upstream); every change is written atomically (temp file, fsync, rename).
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "config/config.hpp"
#include "util/random.hpp"
#include "config/internal.hpp"
#include "log/log.hpp"
#include "util/atomic_file.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace dragon::config {

namespace {

namespace fs = std::filesystem;

// Creates the directories of the Dir keys (upstream's MustDir).
Errors create_dirs(const Config& c) {
  Errors errors;
  for (const auto& k : keys()) {
    if (k.type != Type::Dir) continue;
    const auto dir = c.get_string(k.json_path);
    if (dir.empty()) continue;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      errors.push_back({k.var_name, fmt::format("cannot create directory \"{}\": {}", dir, ec.message())});
    } else if (!fs::is_directory(dir, ec)) {
      errors.push_back({k.var_name, fmt::format("\"{}\" is not a directory", dir)});
    }
  }
  return errors;
}

// nlohmann reports the byte offset; people want line and column.
std::string syntax_error(const std::string& path, const std::string& text, const Json::parse_error& e) {
  std::size_t line = 1, col = 0;
  const std::size_t end = std::min<std::size_t>(e.byte, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 0;
    } else {
      ++col;
    }
  }
  std::string reason = e.what();
  if (const auto c = reason.find("column "); c != std::string::npos) {
    if (const auto colon = reason.find(": ", c); colon != std::string::npos) reason = reason.substr(colon + 2);
  }
  return fmt::format("invalid JSON in config file \"{}\" at line {}, column {}: {}", path, line, std::max<std::size_t>(col, 1),
                     reason);
}

std::string format_time(std::chrono::system_clock::time_point t) {
  return t == std::chrono::system_clock::time_point{} ? std::string(detail::k_zero_time) : util::rfc3339_nano(t);
}

}  // namespace

Store::Store(std::string path, Environment env) : path_(std::move(path)), env_(std::move(env)) {
  auto initial = std::make_shared<const Config>(Config::defaults());
  stored_ = initial;
  active_ = initial;
  merged_ = initial;
}

void Store::write_file(const Config& c) {
  const auto parent = fs::path(path_).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  util::write_file_atomic(path_, c.to_json().dump(4, ' ', false, Json::error_handler_t::replace) + "\n", 0600);
}

Errors Store::load() {
  std::lock_guard lock(mu_);
  created_ = false;
  std::optional<std::string> text;
  try {
    text = util::read_file(path_);
  } catch (const std::exception& e) {
    return {{"", fmt::format("cannot read config file \"{}\": {}", path_, e.what())}};
  }

  Config stored = Config::defaults();
  if (!text || util::trim(*text).empty()) {
    created_ = true;  // as upstream, an empty file counts as absent
  } else {
    Json doc;
    try {
      doc = Json::parse(*text);
    } catch (const Json::parse_error& e) {
      return {{"", syntax_error(path_, *text, e)}};  // the file is left as it is
    }
    if (auto errors = stored.overlay(doc); !errors.empty()) return errors;
  }

  // Write back in the current layout (migrated, every key present) unless it already is.
  const auto current = stored.to_json().dump(4, ' ', false, Json::error_handler_t::replace) + "\n";
  if (!text || *text != current) {
    try {
      write_file(stored);
    } catch (const std::exception& e) {
      // A read-only config (e.g. a mounted file) still works; only the rewrite is lost.
      log::warn("Config", "cannot write config file", {{"path", path_}, {"error", e.what()}});
    }
  }
  stored_ = std::make_shared<const Config>(stored);

  Config merged = stored;
  if (auto errors = merged.apply_env(env_); !errors.empty()) return errors;
  // Auth is never silently off: with auth on and no password anywhere, generate one and store it
  // (the app prints it once).
  generated_password_.reset();
  if (merged.get_bool("api.auth.enable") && merged.get_string("api.auth.password").empty()) {
    const auto password = util::random_alnum(24);
    stored.set("api.auth.password", password);
    merged.set("api.auth.password", password);
    try {
      write_file(stored);
    } catch (const std::exception& e) {
      return {{"api.auth.password", fmt::format("no password is set and the generated one cannot be stored in "
                                                "\"{}\": {}", path_, e.what())}};
    }
    stored_ = std::make_shared<const Config>(stored);
    generated_password_ = password;
  }
  auto errors = merged.validate();
  if (errors.empty()) errors = create_dirs(merged);
  if (!errors.empty()) return errors;
  active_ = merged_ = std::make_shared<const Config>(std::move(merged));
  loaded_at_ = std::chrono::system_clock::now();
  return {};
}

Errors Store::update(const Json& doc) {
  std::lock_guard lock(mu_);
  if (!doc.is_object()) return {{"", fmt::format("expected a JSON object, got {}", detail::describe(doc))}};
  if (detail::depth(doc, 32) > 32) return {{"", "document nested too deeply (more than 32 levels)"}};

  Json body = doc;  // bounded depth: the copy cannot recurse deeply
  stored_->unredact(body);
  Config candidate = *stored_;
  if (auto errors = candidate.overlay(body); !errors.empty()) return errors;
  const auto now = std::chrono::system_clock::now();
  candidate.set("created_at", util::rfc3339_nano(now));  // upstream stamps every PUT

  Config merged = candidate;
  if (auto errors = merged.apply_env(env_); !errors.empty()) return errors;
  auto errors = merged.validate();
  if (errors.empty()) errors = create_dirs(merged);
  if (!errors.empty()) return errors;

  try {
    write_file(candidate);
  } catch (const std::exception& e) {
    return {{"", fmt::format("cannot write config file \"{}\": {}", path_, e.what())}};
  }
  stored_ = std::make_shared<const Config>(std::move(candidate));
  merged_ = std::make_shared<const Config>(std::move(merged));
  updated_at_ = now;
  return {};
}

Errors Store::reload() {
  std::lock_guard lock(mu_);
  Config merged = *stored_;
  if (auto errors = merged.apply_env(env_); !errors.empty()) return errors;
  auto errors = merged.validate();
  if (errors.empty()) errors = create_dirs(merged);
  if (!errors.empty()) return errors;
  active_ = merged_ = std::make_shared<const Config>(std::move(merged));
  loaded_at_ = std::chrono::system_clock::now();
  return {};
}

void Store::store_value(std::string_view path, Json value) {
  std::lock_guard lock(mu_);
  Config stored = *stored_;
  stored.set(path, value);
  write_file(stored);  // throws on failure: the caller must not believe the value persisted
  stored_ = std::make_shared<const Config>(std::move(stored));

  // The running config sees the value too, unless the environment overrides it.
  const auto& var = find_key(path)->var_name;
  const auto& ov = merged_->overrides();
  if (std::find(ov.begin(), ov.end(), var) != ov.end()) return;
  for (auto* target : {&active_, &merged_}) {
    Config c = **target;
    c.set(path, value);
    *target = std::make_shared<const Config>(std::move(c));
  }
}

std::shared_ptr<const Config> Store::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

std::shared_ptr<const Config> Store::stored() const {
  std::lock_guard lock(mu_);
  return stored_;
}

std::chrono::system_clock::time_point Store::created_at() const {
  std::lock_guard lock(mu_);
  std::chrono::system_clock::time_point t{};
  if (!detail::parse_time(stored_->get_string("created_at"), t)) return {};
  return t;
}

std::chrono::system_clock::time_point Store::loaded_at() const {
  std::lock_guard lock(mu_);
  return loaded_at_;
}

std::chrono::system_clock::time_point Store::updated_at() const {
  std::lock_guard lock(mu_);
  return updated_at_;
}

Json Store::api_view() const {
  std::lock_guard lock(mu_);
  Json out = Json::object();
  out["created_at"] = merged_->get("created_at");
  out["loaded_at"] = format_time(loaded_at_);
  out["updated_at"] = format_time(updated_at_);
  out["config"] = merged_->to_json_redacted();
  out["overrides"] = merged_->overrides();
  return out;
}

}  // namespace dragon::config
