// Cryptographic primitives for API keys (OpenSSL underneath).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentlog {

void random_bytes(unsigned char* out, size_t n);
std::string sha256_hex(std::string_view data);
bool constant_time_equal(std::string_view a, std::string_view b);
// `al_` followed by 40 base62 characters (~238 bits of entropy).
std::string generate_api_secret();

}  // namespace agentlog
