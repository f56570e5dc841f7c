#pragma once
// The installed FFmpeg's capabilities, detected at start and on GET /api/v3/skills/reload.
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "ffmpeg/skills.hpp"

namespace dragon::api {

class SkillsState {
 public:
  explicit SkillsState(std::string binary) : binary_(std::move(binary)) {}
  // Runs the detection; false (and `error`) when the binary's version cannot be read.
  bool detect(std::string& error);
  nlohmann::ordered_json json() const;
  std::string version() const;  // "5.1.9"
  const std::string& binary() const { return binary_; }

 private:
  std::string binary_;
  mutable std::mutex mu_;
  nlohmann::ordered_json json_ = nlohmann::ordered_json::object();
  std::string version_;
};

}  // namespace dragon::api
