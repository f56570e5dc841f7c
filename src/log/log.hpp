#pragma once
// Structured application log. Every entry has a component ("HTTP", "Config", "Process", ...), a message
// and key/value fields. Entries go to stderr (human-readable on a terminal, JSON lines otherwise) and
// into an in-memory ring that GET /api/v3/log serves in upstream's console or raw format.
// Never pass secrets as fields.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dragon::log {

enum class Level { Silent = 0, Error = 1, Warn = 2, Info = 3, Debug = 4 };

using Fields = std::vector<std::pair<std::string, nlohmann::json>>;

struct Entry {
  std::chrono::system_clock::time_point ts;
  Level level = Level::Info;
  std::string component;
  std::string message;
  Fields fields;
};

enum class Output { Auto, Human, Json };

struct Options {
  Level level = Level::Info;
  std::vector<std::string> topics;  // when non-empty, stderr shows only these components
  std::size_t max_lines = 1000;     // size of the ring for /api/v3/log
  Output output = Output::Auto;     // Auto: Human when stderr is a terminal, else Json
};

// Thread-safe; may be called again at config reload (the ring keeps its entries, resized).
void configure(const Options& options);

void write(Level level, std::string_view component, std::string_view message, Fields fields = {});
inline void error(std::string_view c, std::string_view m, Fields f = {}) { write(Level::Error, c, m, std::move(f)); }
inline void warn(std::string_view c, std::string_view m, Fields f = {}) { write(Level::Warn, c, m, std::move(f)); }
inline void info(std::string_view c, std::string_view m, Fields f = {}) { write(Level::Info, c, m, std::move(f)); }
inline void debug(std::string_view c, std::string_view m, Fields f = {}) { write(Level::Debug, c, m, std::move(f)); }

bool enabled(Level level);

// Oldest first.
std::vector<Entry> recent();

// Upstream's console line: ts=2026-11-25T09:07:22Z level=INFO component="Core" msg="Read config" path="/x"
// (field keys sorted, strings quoted).
std::string format_console(const Entry& e);
// Upstream's raw object: the fields plus "ts", "component", "message" (no level).
nlohmann::json format_raw(const Entry& e);
// One JSON line for stderr when not on a terminal: {"ts","level","component","msg",...fields}.
std::string format_json_line(const Entry& e);
// Human line for terminals: "2026-11-25 09:07:22 INFO  [Core] Read config path=/x".
std::string format_human(const Entry& e);

std::string_view level_name(Level level);  // "ERROR", "WARN", "INFO", "DEBUG"
// "silent", "error", "warn", "info", "debug" (case-insensitive); false when unknown.
bool parse_level(std::string_view s, Level& out);

}  // namespace dragon::log
