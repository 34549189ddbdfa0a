#include <gtest/gtest.h>

#include "util/time.h"

namespace agentlog {
namespace {

TEST(Time, ParsesUtcAndOffsets) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.5Z"), 1500000);
  EXPECT_EQ(parse_rfc3339("1970-01-01T02:00:00+02:00"), 0);
  EXPECT_EQ(parse_rfc3339("2026-11-25T10:00:00.123456789Z"), 1795600800123456);
}

TEST(Time, RejectsMalformed) {
  for (const char* s : {"", "2026-11-25", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-25T10:00:00",
                        "2026-11-25T25:00:00Z", "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00Zjunk"}) {
    EXPECT_FALSE(parse_rfc3339(s).has_value()) << s;
  }
}

TEST(Time, FormatsWithMicroseconds) {
  EXPECT_EQ(format_rfc3339(1795600800123456), "2026-11-25T10:00:00.123456Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Time, EpochMillisAndParams) {
  EXPECT_EQ(from_epoch_millis(1.5), 1500);
  EXPECT_FALSE(from_epoch_millis(1e300).has_value());
  EXPECT_EQ(parse_time_param("1000"), 1000000);
  EXPECT_FALSE(parse_time_param("10abc").has_value());
}

}  // namespace
}  // namespace agentlog
