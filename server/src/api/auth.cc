#include "api/auth.h"

#include <algorithm>

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
      principal = Principal{key->project_id, key->id, false, std::nullopt, {}};
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

std::optional<Principal> Authenticator::authenticate_login(std::string_view token) {
  if (token.empty() || token.size() > 256) return std::nullopt;
  const std::string hash = sha256_hex(token);
  const Micros now = clock_.now();
  {
    std::lock_guard lock(mu_);
    if (auto it = logins_.find(hash); it != logins_.end() && it->second.expires_at > now) return it->second.principal;
  }
  std::optional<Principal> principal;
  int64_t project;
  {
    std::lock_guard lock(mu_);
    project = default_project_;
  }
  if (project == 0) {
    auto p = store_.find_project("default");
    if (!p.is_ok()) return std::nullopt;
    project = p->id;
    std::lock_guard lock(mu_);
    default_project_ = project;
  }
  if (auto found = store_.find_login(hash, now); found.is_ok()) {
    auto& [login, user] = *found;
    principal = Principal{project, 0, false, std::move(user), std::move(login.csrf_token)};
  }
  std::lock_guard lock(mu_);
  if (logins_.size() > 10000) logins_.clear();
  logins_[hash] = Entry{principal, now + kCacheTtl};
  return principal;
}

void Authenticator::forget_login(std::string_view token) {
  std::lock_guard lock(mu_);
  logins_.erase(sha256_hex(token));
}

int64_t LoginLimiter::wait(const std::unordered_map<std::string, Window>& m, const std::string& key, int limit,
                           Micros now) const {
  auto it = m.find(key);
  if (it == m.end() || it->second.failures < limit || now - it->second.start >= kWindow) return 0;
  return (it->second.start + kWindow - now + 999999) / 1000000;
}

int64_t LoginLimiter::retry_after(std::string_view remote, std::string_view email, Micros now) {
  std::lock_guard lock(mu_);
  return std::max(wait(by_address_, std::string(remote), kPerAddress, now),
                  wait(by_email_, std::string(email), kPerEmail, now));
}

void LoginLimiter::failed(std::string_view remote, std::string_view email, Micros now) {
  std::lock_guard lock(mu_);
  for (auto* m : {&by_address_, &by_email_}) {
    if (m->size() > 100000) m->clear();  // bounded against floods of made-up e-mails
    Window& w = (*m)[std::string(m == &by_address_ ? remote : email)];
    if (now - w.start >= kWindow) w = Window{now, 0};
    ++w.failures;
  }
}

void LoginLimiter::succeeded(std::string_view email) {
  std::lock_guard lock(mu_);
  by_email_.erase(std::string(email));
}

}  // namespace agentlog::api
