#include "util/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace agentlog {
namespace {

TEST(Sha256, MatchesFips180TestVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, HashesEmbeddedNulBytes) {
  EXPECT_NE(sha256_hex(std::string_view("a\0b", 3)), sha256_hex("a"));
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "Secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("secret", ""));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
}

TEST(ApiSecret, IsAlPrefixAndFortyBase62Characters) {
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    const std::string s = generate_api_secret();
    ASSERT_EQ(s.size(), 43u) << s;
    EXPECT_EQ(s.substr(0, 3), "al_");
    for (char c : s.substr(3)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << s;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 500u);
}

TEST(RandomBytes, FillsTheWholeBuffer) {
  unsigned char a[64] = {}, b[64] = {};
  random_bytes(a, sizeof a);
  random_bytes(b, sizeof b);
  EXPECT_NE(std::string(reinterpret_cast<char*>(a), sizeof a),
            std::string(reinterpret_cast<char*>(b), sizeof b));
  // The last bytes are written too (all zero by chance: 2^-64).
  EXPECT_NE(std::string(reinterpret_cast<char*>(a) + 56, 8), std::string(8, '\0'));
}

}  // namespace
}  // namespace agentlog
