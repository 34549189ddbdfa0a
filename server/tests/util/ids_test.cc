#include "util/ids.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "testing/fake_clock.h"

namespace agentlog {
namespace {

using test::FakeClock;
using test::kT0;

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// 8-4-4-4-12 lowercase hex, version 7, RFC 9562 variant (10xx).
void expect_uuid_v7(const std::string& id) {
  ASSERT_EQ(id.size(), 36u) << id;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      EXPECT_TRUE(is_lower_hex(id[i])) << id;
    }
  }
  EXPECT_EQ(id[14], '7') << id;
  EXPECT_NE(std::string_view("89ab").find(id[19]), std::string_view::npos) << id;
}

uint64_t unix_ms_of(const std::string& id) {
  return std::stoull(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
}

TEST(UuidV7, HasTheRfc9562Layout) {
  FakeClock clock(kT0 + 123456);
  UuidV7Generator ids(clock);
  const std::string id = ids.next();
  expect_uuid_v7(id);
  EXPECT_EQ(unix_ms_of(id), static_cast<uint64_t>((kT0 + 123456) / 1000))
      << "48-bit Unix milliseconds";
}

TEST(UuidV7, SortsInCreationOrderWithinOneMillisecond) {
  FakeClock clock;  // never moves: more ids than the 12-bit counter holds in one millisecond
  UuidV7Generator ids(clock);
  std::string prev = ids.next();
  for (int i = 0; i < 10000; ++i) {
    const std::string id = ids.next();
    ASSERT_LT(prev, id) << "after " << i << " ids";
    prev = id;
  }
  expect_uuid_v7(prev);
}

TEST(UuidV7, SortsInCreationOrderWhenTheClockGoesBack) {
  FakeClock clock;
  UuidV7Generator ids(clock);
  const std::string before = ids.next();
  clock.advance(-5 * test::kSecond);
  const std::string after = ids.next();
  EXPECT_LT(before, after);
  clock.advance(10 * test::kSecond);
  const std::string later = ids.next();
  EXPECT_LT(after, later);
  EXPECT_EQ(unix_ms_of(later), static_cast<uint64_t>((kT0 + 5 * test::kSecond) / 1000));
}

TEST(UuidV7, IsUniqueAndOrderedPerThreadUnderConcurrency) {
  FakeClock clock;
  UuidV7Generator ids(clock);
  constexpr int kThreads = 4, kPerThread = 3000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        made[t].push_back(ids.next());
        if (i % 500 == 0) clock.advance(test::kMilli);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : made) {
    for (size_t i = 1; i < v.size(); ++i) EXPECT_LT(v[i - 1], v[i]);
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(Base64Url, MatchesRfc4648TestVectorsWithoutPadding) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(plain), encoded);
    EXPECT_EQ(base64url_decode(encoded), plain);
  }
  // The two characters that differ from standard base64 ('+' and '/').
  EXPECT_EQ(base64url_encode("\xFB\xFF"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xFB\xFF"));
}

TEST(Base64Url, RoundTripsEveryByteAtEveryLength) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= bytes.size(); n += 7) {
    const std::string in = bytes.substr(bytes.size() - n);
    const std::string enc = base64url_encode(in);
    for (char c : enc)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << enc;
    EXPECT_EQ(base64url_decode(enc), in);
  }
}

TEST(Base64Url, RejectsCharactersOutsideTheAlphabet) {
  for (const char* text : {"Zm9v+", "Zm9v/", "Zm 9v", "Zm9v!", "\xC3\xA9"}) {
    EXPECT_EQ(base64url_decode(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace agentlog
