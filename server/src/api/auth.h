// Authentication: API keys (SHA-256 of the presented secret looked up in the store) and
// the dashboard's log-in cookies, both with a short-lived cache so hot paths don't hit the
// database on every request; and the log-in rate limiter.
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
  int64_t key_id = 0;  // 0 for a logged-in user
  bool touch = false;  // true when last_used_at is due for an update (at most once a minute)
  std::optional<model::User> user;  // set for a log-in cookie
  std::string csrf_token;           // the log-in's; writes must echo it in X-CSRF-Token
};

inline constexpr std::string_view kSessionCookie = "agentlog_session";
// Log-in cookies are valid this long.
inline constexpr Micros kLoginTtl = 7LL * 24 * 3600 * 1000000;

class Authenticator {
 public:
  // Revocations made by another process (the CLI) take effect within this long.
  static constexpr Micros kCacheTtl = 1000000;

  Authenticator(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Thread-safe. nullopt for unknown, revoked or malformed secrets.
  std::optional<Principal> authenticate(std::string_view secret);
  // The log-in cookie's token; nullopt when unknown, expired or logged out. Cookie users
  // act on the `default` project.
  std::optional<Principal> authenticate_login(std::string_view token);
  // After log-out: the token stops working at once on this server.
  void forget_login(std::string_view token);

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
  std::unordered_map<std::string, Entry> logins_;  // by token hash
  int64_t default_project_ = 0;
};

// Slows password guessing: after too many failures from one address or for one e-mail
// within a window, attempts are refused (429) until the window ends.
class LoginLimiter {
 public:
  static constexpr Micros kWindow = 5LL * 60 * 1000000;
  static constexpr int kPerAddress = 20, kPerEmail = 5;

  // Seconds until another attempt is allowed; 0 if it is allowed now.
  int64_t retry_after(std::string_view remote, std::string_view email, Micros now);
  void failed(std::string_view remote, std::string_view email, Micros now);
  void succeeded(std::string_view email);

 private:
  struct Window {
    Micros start = 0;
    int failures = 0;
  };
  int64_t wait(const std::unordered_map<std::string, Window>& m, const std::string& key, int limit, Micros now) const;
  std::mutex mu_;
  std::unordered_map<std::string, Window> by_address_, by_email_;
};

}  // namespace agentlog::api
