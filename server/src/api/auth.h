// API key authentication: SHA-256 of the presented secret looked up in the store, with a
// short-lived cache so hot paths don't hit the database on every request.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/store.h"
#include "util/time.h"

namespace agentlog::api {

struct Principal {
  int64_t project_id = 0;
  int64_t key_id = 0;
  bool touch = false;  // true when last_used_at is due for an update (at most once a minute)
};

class Authenticator {
 public:
  // Revocations made by another process (the CLI) take effect within this long.
  static constexpr Micros kCacheTtl = 1000000;

  Authenticator(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Thread-safe. nullopt for unknown, revoked or malformed secrets.
  std::optional<Principal> authenticate(std::string_view secret);

 private:
  struct Entry {
    std::optional<Principal> principal;
    Micros expires_at = 0;
  };
  store::Store& store_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;  // by hash
  std::unordered_map<int64_t, Micros> last_touch_;
};

}  // namespace agentlog::api
