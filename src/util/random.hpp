#pragma once
// Cryptographically strong randomness (OpenSSL RAND_bytes) for ids, passwords and secrets.
#include <cstddef>
#include <string>

namespace dragon::util {

std::string random_bytes(std::size_t n);
// Letters and digits only: safe in URLs, config files and shells.
std::string random_alnum(std::size_t n);
// RFC 4122 version 4 UUID, lower case.
std::string uuid_v4();
// 22 characters of base57, the form upstream uses for generated process ids.
std::string short_uuid();
// "adjective-noun-NNNN", upstream's default instance name.
std::string random_instance_name();

}  // namespace dragon::util
