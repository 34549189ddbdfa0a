// Password hashing for dashboard users: argon2id (libargon2, the reference
// implementation) in the PHC string format, so parameters can be raised later without
// invalidating stored hashes.
#pragma once

#include <string>
#include <string_view>

namespace agentlog {

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~30 ms on one core).
std::string hash_password(std::string_view password);
// Constant-time in the password; false for malformed hashes.
bool verify_password(std::string_view password, const std::string& phc);

}  // namespace agentlog
