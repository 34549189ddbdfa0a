#include "util/time.h"

#include <charconv>
#include <chrono>
#include <cmath>

namespace agentlog {
namespace {

// Howard Hinnant's civil-date algorithms (public domain).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};
constexpr Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Years 0001..9999 keep every formatted timestamp 27 characters and sortable.
constexpr Micros kMinMicros = -62135596800LL * 1000000;  // 0001-01-01
constexpr Micros kMaxMicros = 253402300799LL * 1000000 + 999999;  // 9999-12-31T23:59:59.999999

}  // namespace

Micros SystemClock::now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<Micros> parse_rfc3339(std::string_view s) {
  int year, mon, day, hour, min, sec;
  if (s.size() < 20 || !digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, mon) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, min) || s[16] != ':' ||
      !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || mon < 1 || mon > 12 || day < 1 ||
      day > kDays[mon - 1] + (mon == 2 && is_leap(year) ? 1 : 0) || hour > 23 || min > 59 ||
      sec > 60) {
    return std::nullopt;
  }
  if (sec == 60) sec = 59;  // leap second: clamp rather than reject
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) frac = frac * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (size_t i = n; i < 6; ++i) frac *= 10;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t secs = days_from_civil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) * 86400 +
                       hour * 3600 + min * 60 + sec - offset_s;
  const Micros t = secs * 1000000 + frac;
  if (t < kMinMicros || t > kMaxMicros) return std::nullopt;
  return t;
}

std::optional<Micros> from_epoch_millis(double ms) {
  if (!std::isfinite(ms)) return std::nullopt;
  const double us = std::round(ms * 1000.0);
  if (us < static_cast<double>(kMinMicros) || us > static_cast<double>(kMaxMicros)) return std::nullopt;
  return static_cast<Micros>(us);
}

void format_rfc3339_into(std::string& out, Micros t) {
  int64_t secs = t / 1000000;
  int64_t us = t % 1000000;
  if (us < 0) {
    us += 1000000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  const Civil c = civil_from_days(days);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                              static_cast<long long>(c.y), c.m, c.d, static_cast<long long>(rem / 3600),
                              static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                              static_cast<long long>(us));
  out.append(buf, static_cast<size_t>(n));
}

std::string format_rfc3339(Micros t) {
  std::string s;
  format_rfc3339_into(s, t);
  return s;
}

std::optional<Micros> parse_time_param(std::string_view s) {
  if (auto t = parse_rfc3339(s)) return t;
  double ms = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return from_epoch_millis(ms);
}

}  // namespace agentlog
