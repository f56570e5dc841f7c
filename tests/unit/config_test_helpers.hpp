#pragma once
// Shared helpers for the config module's tests.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "config/config.hpp"

namespace dragon::config::testing {

// Defaults plus what the app generates at first start, so the config validates.
inline Config valid_config() {
  auto c = Config::defaults();
  c.set("api.auth.password", "test-password-1");
  return c;
}

inline bool has_error(const Errors& errors, std::string_view var, std::string_view fragment = "") {
  return std::any_of(errors.begin(), errors.end(), [&](const VarError& e) {
    return e.var == var && e.message.find(fragment) != std::string::npos;
  });
}

// A fresh directory under the test temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dragon-config-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

}  // namespace dragon::config::testing
