#include "util/random.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include <fmt/format.h>

namespace dragon::util {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

namespace {
// Uniform pick from an alphabet by rejection sampling (no modulo bias).
std::string random_from(std::string_view alphabet, std::size_t n) {
  std::string out;
  out.reserve(n);
  const unsigned limit = 256 - (256 % alphabet.size());
  while (out.size() < n) {
    for (unsigned char c : random_bytes(n * 2)) {
      if (c >= limit) continue;
      out.push_back(alphabet[c % alphabet.size()]);
      if (out.size() == n) break;
    }
  }
  return out;
}
}  // namespace

std::string random_alnum(std::size_t n) {
  return random_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n);
}

std::string uuid_v4() {
  auto b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string hex;
  hex.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex.push_back('-');
    hex += fmt::format("{:02x}", static_cast<unsigned char>(b[i]));
  }
  return hex;
}

std::string short_uuid() {
  return random_from("23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", 22);
}

std::string random_instance_name() {
  static constexpr std::array adjectives{"calm", "bold", "bright", "quiet", "swift", "brave", "clever",
                                         "gentle", "proud", "lively", "silent", "wild", "young", "misty"};
  static constexpr std::array nouns{"sky", "river", "forest", "dragon", "stone", "wave", "field",
                                    "mountain", "cloud", "flame", "meadow", "harbor", "star", "wind"};
  const auto r = random_bytes(4);
  const auto a = static_cast<unsigned char>(r[0]) % adjectives.size();
  const auto n = static_cast<unsigned char>(r[1]) % nouns.size();
  const unsigned num = (static_cast<unsigned char>(r[2]) << 8 | static_cast<unsigned char>(r[3])) % 10000;
  return fmt::format("{}-{}-{:04}", adjectives[a], nouns[n], num);
}

}  // namespace dragon::util
