// Peak periods of several ranges, absolute and yearly (issue 17 item 5).
#include "vee/peak.h"

#include <gtest/gtest.h>

#include "core/time.h"
#include "core/zone.h"

namespace mh::vee {
namespace {

const TimeZone kTz = TimeZone::Fixed(8 * 3600);
int64_t Ts(const char* s) { return *ParseTimestampIn(s, kTz); }

TEST(Peak, OneRangeAsToday) {
  auto p = ParsePeak({"2020-06-01..2020-10-31"}, kTz);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_TRUE(p->has_value());
  EXPECT_FALSE((*p)->Contains(Ts("2020-06-01T00:00:00")));  // from < t
  EXPECT_TRUE((*p)->Contains(Ts("2020-06-01T00:00:01")));
  EXPECT_TRUE((*p)->Contains(Ts("2020-11-01T00:00:00")));   // a date TO is the end of that day
  EXPECT_EQ((*p)->LastEnd(), Ts("2020-11-01T00:00:00"));
  auto none = ParsePeak({}, kTz);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(Peak, SeveralRangesAndYearly) {
  // The seed's example: July–September plus holidays.
  auto p = ParsePeak({"07-01..09-30", "2020-10-01..2020-10-07"}, kTz);
  ASSERT_TRUE(p.ok()) << p.status().message();
  const Peak& peak = **p;
  EXPECT_EQ(peak.yearly().size(), 1u);
  EXPECT_EQ(peak.absolute().size(), 1u);
  EXPECT_FALSE(peak.LastEnd().has_value());
  EXPECT_TRUE(peak.Contains(Ts("2019-07-15T12:00:00")));
  EXPECT_TRUE(peak.Contains(Ts("2021-10-01T00:00:00")));  // the end of 09-30
  EXPECT_FALSE(peak.Contains(Ts("2021-10-01T00:00:01")));
  EXPECT_TRUE(peak.Contains(Ts("2020-10-03T00:00:00")));
  EXPECT_FALSE(peak.Contains(Ts("2021-10-03T00:00:00")));  // the holiday range is 2020's only
  EXPECT_TRUE(peak.Covers(Ts("2020-07-01T00:00:00"), Ts("2020-07-02T00:00:00")));
  EXPECT_FALSE(peak.Covers(Ts("2020-06-30T00:00:00"), Ts("2020-07-01T00:00:01")));
  // A month lies inside the yearly range; a week across its end does not.
  EXPECT_TRUE(peak.Covers(Ts("2020-08-01T00:00:00"), Ts("2020-09-01T00:00:00")));
  EXPECT_FALSE(peak.Covers(Ts("2020-09-28T00:00:00"), Ts("2020-10-05T00:00:00")));

  // What the daemon learns from: ranges that ended, the latest occurrence of the yearly one.
  auto ended = peak.EndedBefore(Ts("2021-08-01T00:00:00"));
  ASSERT_EQ(ended.size(), 2u);
  EXPECT_EQ(ended[0].from, Ts("2020-07-01T00:00:00"));
  EXPECT_EQ(ended[1].from, Ts("2020-10-01T00:00:00"));
  auto later = peak.EndedBefore(Ts("2021-10-01T00:00:01"));
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[1].from, Ts("2021-07-01T00:00:00"));
  EXPECT_NE(PeakFingerprint(ended), PeakFingerprint(later));
  EXPECT_EQ(PeakFingerprint({}), 0u);
}

TEST(Peak, WrapsOverNewYearAndTakesCommaLists) {
  auto p = ParsePeak({"12-20..01-05, 2020-07-01..2020-07-02"}, kTz);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE((*p)->Contains(Ts("2021-01-03T10:00:00")));
  EXPECT_TRUE((*p)->Contains(Ts("2020-12-25T10:00:00")));
  EXPECT_FALSE((*p)->Contains(Ts("2021-01-07T10:00:00")));
  EXPECT_TRUE((*p)->Contains(Ts("2020-07-02T10:00:00")));
}

TEST(Peak, BadRangesAreNamed) {
  EXPECT_FALSE(ParsePeak({"13-01..09-30"}, kTz).ok());
  EXPECT_FALSE(ParsePeak({"02-30..03-01"}, kTz).ok());
  EXPECT_TRUE(ParsePeak({"02-29..03-01"}, kTz).ok());
  auto bad = ParsePeak({"07-01..09-30", "2020-10-07..2020-10-01"}, kTz);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("2020-10-07..2020-10-01"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(ParsePeak({"2020-07-01"}, kTz).ok());
}

// Yearly ranges are local dates of the meter's IANA zone: in Berlin a summer range starts at
// 22:00 UTC (CEST), a winter one at 23:00 UTC (CET).
TEST(Peak, YearlyRangesFollowTheMetersZone) {
  auto berlin = TimeZone::Parse("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status().message();
  auto p = ParsePeak({"07-01..09-30", "12-20..01-05"}, *berlin);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_FALSE((*p)->Contains(*ParseTimestamp("2024-06-30T22:00:00Z", 0)));
  EXPECT_TRUE((*p)->Contains(*ParseTimestamp("2024-06-30T22:00:01Z", 0)));
  EXPECT_TRUE((*p)->Contains(*ParseTimestamp("2024-09-30T22:00:00Z", 0)));
  EXPECT_FALSE((*p)->Contains(*ParseTimestamp("2024-09-30T22:00:01Z", 0)));
  EXPECT_FALSE((*p)->Contains(*ParseTimestamp("2024-12-19T23:00:00Z", 0)));
  EXPECT_TRUE((*p)->Contains(*ParseTimestamp("2024-12-19T23:00:01Z", 0)));
  EXPECT_TRUE((*p)->Contains(*ParseTimestamp("2025-01-05T23:00:00Z", 0)));
  EXPECT_FALSE((*p)->Contains(*ParseTimestamp("2025-01-05T23:00:01Z", 0)));
}

}  // namespace
}  // namespace mh::vee
