#include "core/time.h"

#include <gtest/gtest.h>

namespace mh {
namespace {

TEST(Time, ParsesIsoAndEpoch) {
  EXPECT_EQ(*ParseTimestamp("2020-10-29T15:00:00Z"), 1603983600);
  EXPECT_EQ(*ParseTimestamp("1603983600"), 1603983600);
  EXPECT_EQ(*ParseTimestamp("2020-10-29T23:00:00+08:00"), 1603983600);
  EXPECT_EQ(*ParseTimestamp("2020-10-29 15:00:00"), 1603983600);
  EXPECT_EQ(*ParseTimestamp("2020-10-29"), 1603929600);
  EXPECT_EQ(*ParseTimestamp("2020-10-29T23:00:00", 8 * 3600), 1603983600);
  EXPECT_FALSE(ParseTimestamp("yesterday").ok());
  EXPECT_FALSE(ParseTimestamp("2020-13-01").ok());
  EXPECT_FALSE(ParseTimestamp("2020-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2021-02-29").ok());
  EXPECT_TRUE(ParseTimestamp("2020-02-29").ok());  // leap year
  EXPECT_FALSE(ParseTimestamp("2020-04-31").ok());
  EXPECT_FALSE(ParseTimestamp("2020-10-29T24:30:00Z").ok());
  EXPECT_EQ(*ParseTimestamp("2020-10-29T24:00:00Z"), *ParseTimestamp("2020-10-30T00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("").ok());
}

TEST(Time, FormatsIso) {
  EXPECT_EQ(FormatIsoUtc(1603983600), "2020-10-29T15:00:00Z");
  EXPECT_EQ(FormatIsoOffset(1603983600, 8 * 3600), "2020-10-29T23:00:00+08:00");
}

TEST(Time, Durations) {
  EXPECT_EQ(*ParseDuration("15m"), 900);
  EXPECT_EQ(*ParseDuration("1h"), 3600);
  EXPECT_EQ(*ParseDuration("30"), 30);
  EXPECT_FALSE(ParseDuration("1y").ok());
  EXPECT_FALSE(ParseDuration("-5m").ok());
}

TEST(Time, Offsets) {
  EXPECT_EQ(*ParseUtcOffset("+08:00"), 28800);
  EXPECT_EQ(*ParseUtcOffset("-05:30"), -19800);
  EXPECT_EQ(*ParseUtcOffset("UTC+8"), 28800);
  EXPECT_EQ(FormatUtcOffset(28800), "+08:00");
}

}  // namespace
}  // namespace mh
