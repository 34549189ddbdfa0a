#include "util/password.h"

#include <argon2.h>

#include <array>
#include <stdexcept>

#include "util/crypto.h"

namespace agentlog {

namespace {
constexpr uint32_t kPasses = 2, kMemoryKiB = 19 * 1024, kLanes = 1;
constexpr size_t kSaltBytes = 16, kHashBytes = 32;
}  // namespace

std::string hash_password(std::string_view password) {
  std::array<unsigned char, kSaltBytes> salt{};
  random_bytes(salt.data(), salt.size());
  const size_t len = argon2_encodedlen(kPasses, kMemoryKiB, kLanes, kSaltBytes, kHashBytes, Argon2_id);
  std::string out(len, '\0');
  const int rc = argon2id_hash_encoded(kPasses, kMemoryKiB, kLanes, password.data(), password.size(), salt.data(),
                                       salt.size(), kHashBytes, out.data(), out.size());
  if (rc != ARGON2_OK) throw std::runtime_error(argon2_error_message(rc));
  out.resize(out.find('\0'));
  return out;
}

bool verify_password(std::string_view password, const std::string& phc) {
  if (phc.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(phc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace agentlog
