#pragma once
// Binary fixtures for the RTP, RTCP and H.264 tests: hex strings, and packet captures stored in
// tests/data/rtp/ as one hex packet per line (lines starting with '#' describe how they were made).
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::test {

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  int high = -1;
  for (const char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;  // spaces and separators are for the reader
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

inline std::vector<std::vector<std::uint8_t>> load_rtp_capture(const std::string& name) {
  const std::string path = std::string(DRAGON_SOURCE_DIR) + "/tests/data/rtp/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<std::vector<std::uint8_t>> packets;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    packets.push_back(from_hex(line));
  }
  return packets;
}

}  // namespace dragon::test
