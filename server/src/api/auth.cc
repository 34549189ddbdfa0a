#include "api/auth.h"

#include "util/crypto.h"

namespace agentlog::api {

std::optional<Principal> Authenticator::authenticate(std::string_view secret) {
  if (secret.empty() || secret.size() > 256) return std::nullopt;
  const std::string hash = sha256_hex(secret);
  const Micros now = clock_.now();
  std::optional<Principal> principal;
  bool cached = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(hash); it != cache_.end() && it->second.expires_at > now) {
      principal = it->second.principal;
      cached = true;
    }
  }
  if (!cached) {
    auto key = store_.find_key_by_hash(hash);
    // The lookup is by hash; comparing again in constant time keeps timing independent of
    // how much of a guessed hash matched.
    if (key.is_ok() && !key->revoked_at && constant_time_equal(key->hash, hash)) {
      principal = Principal{key->project_id, key->id, false};
    }
    std::lock_guard lock(mu_);
    if (cache_.size() > 10000) cache_.clear();  // bounded against floods of random keys
    cache_[hash] = Entry{principal, now + kCacheTtl};
  }
  if (principal) {
    std::lock_guard lock(mu_);
    Micros& last = last_touch_[principal->key_id];
    if (now - last >= 60 * 1000000LL) {
      last = now;
      principal->touch = true;
    }
  }
  return principal;
}

}  // namespace agentlog::api
