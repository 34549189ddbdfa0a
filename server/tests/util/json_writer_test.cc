#include "util/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

#include "testing/json.h"

namespace agentlog {
namespace {

using test::ParsedJson;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

std::string escaped(std::string_view s) {
  std::string out;
  JsonWriter::escape_into(out, s);
  return out;
}

// The string a JSON string literal stands for, read by an independent parser (which
// also rejects invalid UTF-8); nullopt if `json` is not a valid JSON string.
std::optional<std::string> decoded(const std::string& json) {
  const ParsedJson parsed(json);
  std::string_view s;
  if (!parsed.ok() || parsed.root().get_string().get(s)) return std::nullopt;
  return std::string(s);
}

std::string without_replacements(std::string s) {
  for (size_t at; (at = s.find(kReplacement)) != std::string::npos;)
    s.erase(at, kReplacement.size());
  return s;
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("plain"), R"("plain")");
  EXPECT_EQ(escaped("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(escaped("C:\\dir\\"), R"("C:\\dir\\")");
  EXPECT_EQ(escaped("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(escaped(std::string_view("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(escaped("\x01\x1f"), R"("\u0001\u001f")");
  EXPECT_EQ(escaped(""), R"("")");
}

TEST(JsonWriter, EveryAsciiCharacterRoundTrips) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  const std::string json = escaped(all);
  for (char c : json)
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in output";
  EXPECT_EQ(decoded(json), all);
}

// Plain text is scanned eight bytes at a time: a character that needs escaping, or a
// multibyte sequence, is found at every offset within and across those blocks.
TEST(JsonWriter, FindsEveryCharacterToEscapeAtEveryOffset) {
  for (const std::string_view special : std::initializer_list<std::string_view>{
           "\"", "\\", "\n", std::string_view("\0", 1), "\x1f", "\x7f", "\xC3\xA9", "\xE2\x9C\x93",
           "\xF0\x9D\x84\x9E", "\xFF"}) {
    for (size_t at = 0; at < 24; ++at) {
      const std::string s = std::string(at, 'a') + std::string(special) + std::string(23 - at, 'b');
      const std::string json = escaped(s);
      if (special == "\xFF") {
        EXPECT_EQ(decoded(json),
                  std::string(at, 'a') + std::string(kReplacement) + std::string(23 - at, 'b'));
      } else {
        EXPECT_EQ(decoded(json), s) << "at " << at;
      }
      for (char c : json)
        EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character at " << at;
    }
  }
  // Every byte just below and above the thresholds the block test uses.
  for (int c : {0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F}) {
    const std::string s = std::string(9, 'x') + static_cast<char>(c) + std::string(9, 'y');
    EXPECT_EQ(decoded(escaped(s)), s) << "byte " << c;
  }
}

TEST(JsonWriter, ValidMultibyteUtf8PassesThroughUntouched) {
  // Boundaries of each sequence length, the code points around the surrogate gap, U+10FFFF.
  for (const std::string s :
       {"h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9D\x84\x9E \xE6\x97\xA5\xE6\x9C\xAC", "\xC2\x80",
        "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF",
        "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "\xEF\xBF\xBD"}) {
    EXPECT_EQ(escaped(s), "\"" + s + "\"");
    EXPECT_EQ(decoded(escaped(s)), s);
  }
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacters) {
  const std::pair<const char*, std::string> cases[] = {
      {"lone continuation byte", "\x80"},
      {"lone high continuation byte", "\xBF"},
      {"overlong 2-byte slash", "\xC0\xAF"},
      {"overlong 2-byte C1", "\xC1\xBF"},
      {"overlong 3-byte", "\xE0\x80\xAF"},
      {"overlong 4-byte", "\xF0\x80\x80\xAF"},
      {"high surrogate U+D800", "\xED\xA0\x80"},
      {"low surrogate U+DFFF", "\xED\xBF\xBF"},
      {"surrogate pair as CESU-8", "\xED\xA0\xBD\xED\xB8\x80"},
      {"truncated 2-byte", "\xC3"},
      {"truncated 3-byte", "\xE2\x82"},
      {"truncated 4-byte", "\xF0\x9F\x98"},
      {"beyond U+10FFFF", "\xF4\x90\x80\x80"},
      {"F5 lead byte", "\xF5\x80\x80\x80"},
      {"FE", "\xFE"},
      {"FF", "\xFF"},
  };
  for (const auto& [what, bad] : cases) {
    SCOPED_TRACE(what);
    // (input, the characters that must survive)
    const std::pair<std::string, std::string> variants[] = {
        {bad, ""}, {"a" + bad + "z", "az"}, {bad + bad, ""}};
    for (const auto& [input, kept] : variants) {
      const std::string json = escaped(input);
      const auto text = decoded(json);
      ASSERT_TRUE(text.has_value()) << "not valid JSON: " << json;
      EXPECT_NE(text->find(kReplacement), std::string::npos) << json;
      EXPECT_EQ(without_replacements(*text), kept) << json;
    }
  }
}

TEST(JsonWriter, ValidCharacterAfterInvalidByteIsKept) {
  const auto text = decoded(escaped("\xFF\xC3\xA9\xE2\x82\xE2\x9C\x93"));
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(without_replacements(*text), "\xC3\xA9\xE2\x9C\x93");
}

TEST(JsonWriter, AnyBytesGiveValidJson) {
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 24, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? 0x80 + rng() % 0x80 : rng() % 0x100);
    std::string out;
    JsonWriter w(out);
    w.begin_object().field(s, s).end_object();
    ASSERT_TRUE(test::is_valid_json(out)) << out;
  }
}

TEST(JsonWriter, InsertsCommasAndColons) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("a", 1);
  w.key("b").begin_array().value(int64_t{1}).value("two").null().boolean(false).end_array();
  w.key("c").begin_object().end_object();
  w.key("d").begin_array().end_array();
  w.key("e").raw(R"({"pre":"serialized"})");
  w.field("f", true);
  w.end_object();
  EXPECT_EQ(out,
            R"({"a":1,"b":[1,"two",null,false],"c":{},"d":[],"e":{"pre":"serialized"},"f":true})");
}

TEST(JsonWriter, EscapesKeys) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("we\"ird\nkey", "v").end_object();
  EXPECT_EQ(out, R"({"we\"ird\nkey":"v"})");
}

TEST(JsonWriter, IntegersKeepEveryDigit) {
  for (const int64_t v :
       {int64_t{0}, int64_t{-1}, int64_t{9007199254740993}, std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::min()}) {
    std::string out;
    JsonWriter(out).number(v);
    EXPECT_EQ(out, std::to_string(v));
  }
}

TEST(JsonWriter, DoublesRoundTrip) {
  for (const double v : {0.0, 0.1, -2.5, 1.0 / 3.0, 123456789.123456789, 1e300, 1e-300, 5e-324,
                         2.2250738585072014e-308, std::numeric_limits<double>::max(),
                         -std::numeric_limits<double>::max(), 0.0012345}) {
    std::string out;
    JsonWriter(out).number(v);
    const ParsedJson parsed(out);
    ASSERT_TRUE(parsed.ok()) << out;
    double back = 0;
    ASSERT_EQ(parsed.root().get_double().get(back), simdjson::SUCCESS) << out;
    EXPECT_EQ(back, v) << out;
    EXPECT_EQ(std::strtod(out.c_str(), nullptr), v) << out;
  }
}

TEST(JsonWriter, NonFiniteNumbersBecomeNull) {
  for (const double v :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    std::string out;
    JsonWriter w(out);
    w.begin_array().number(v).number(v).end_array();
    EXPECT_EQ(out, "[null,null]");
  }
}

}  // namespace
}  // namespace agentlog
