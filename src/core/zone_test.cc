#include "core/zone.h"

#include <gtest/gtest.h>

namespace mh {
namespace {

TimeZone Zone(const char* name) {
  auto z = TimeZone::Parse(name);
  EXPECT_TRUE(z.ok()) << name << ": " << z.status().message();
  return *z;
}

TEST(Zone, ReadingAtMidnightClosesThePreviousDay) {
  const TimeZone tz = TimeZone::Fixed(8 * 3600);
  int64_t midnight = *ParseTimestamp("2020-10-30T00:00:00+08:00");
  Period p = PeriodOf(midnight, PeriodKind::kDay, tz);
  EXPECT_EQ(p.start, *ParseTimestamp("2020-10-29T00:00:00+08:00"));
  EXPECT_EQ(p.end, midnight);
  Period q = PeriodOf(midnight + 1, PeriodKind::kDay, tz);
  EXPECT_EQ(q.start, midnight);
}

TEST(Zone, WeeksStartOnMonday) {
  // 2020-10-29 was a Thursday.
  Period w = PeriodOf(*ParseTimestamp("2020-10-29T12:00:00Z"), PeriodKind::kWeek, TimeZone::Fixed(0));
  EXPECT_EQ(FormatIsoUtc(w.start), "2020-10-26T00:00:00Z");
  EXPECT_EQ(FormatIsoUtc(w.end), "2020-11-02T00:00:00Z");
}

TEST(Zone, Months) {
  Period m = PeriodOf(*ParseTimestamp("2020-02-15T12:00:00+08:00"), PeriodKind::kMonth, TimeZone::Fixed(8 * 3600));
  EXPECT_EQ(FormatIsoOffset(m.start, 8 * 3600), "2020-02-01T00:00:00+08:00");
  EXPECT_EQ(FormatIsoOffset(m.end, 8 * 3600), "2020-03-01T00:00:00+08:00");
  Period dec = PeriodOf(*ParseTimestamp("2020-12-31T23:00:00Z"), PeriodKind::kMonth, TimeZone::Fixed(0));
  EXPECT_EQ(FormatIsoUtc(dec.end), "2021-01-01T00:00:00Z");
}

TEST(Zone, ParsesNamesAndOffsets) {
  EXPECT_TRUE(Zone("+08:00").is_fixed());
  EXPECT_EQ(Zone("+08:00").Name(), "+08:00");
  EXPECT_EQ(Zone("UTC").Name(), "Z");
  EXPECT_FALSE(Zone("Asia/Shanghai").is_fixed());
  EXPECT_EQ(Zone("Europe/Berlin").Name(), "Europe/Berlin");
  for (const char* bad : {"", "Mars/Olympus_Mons", "+25:00", "../../etc/passwd", "Europe/Berlin\n", "UTC+99"}) {
    auto z = TimeZone::Parse(bad);
    EXPECT_FALSE(z.ok()) << bad;
  }
  EXPECT_NE(TimeZone::Parse("Mars/Olympus_Mons").status().message().find("Mars/Olympus_Mons"), std::string::npos);
  EXPECT_EQ(Zone("Asia/Shanghai").OffsetAt(*ParseTimestamp("2024-07-01T00:00:00Z")), 8 * 3600);
}

// Berlin 2024: clocks went forward on 31 March (02:00 CET → 03:00 CEST) and back on 27 October
// (03:00 CEST → 02:00 CET). Each is one day, 23 and 25 hours long.
TEST(Zone, BerlinDstDaysAreOneDayEach) {
  const TimeZone berlin = Zone("Europe/Berlin");
  Period spring = PeriodOf(*ParseTimestamp("2024-03-31T12:00:00+02:00"), PeriodKind::kDay, berlin);
  EXPECT_EQ(FormatIsoUtc(spring.start), "2024-03-30T23:00:00Z");
  EXPECT_EQ(FormatIsoUtc(spring.end), "2024-03-31T22:00:00Z");
  EXPECT_EQ(spring.end - spring.start, 23 * 3600);
  EXPECT_EQ(FormatIsoIn(spring.start, berlin), "2024-03-31T00:00:00+01:00");
  EXPECT_EQ(FormatIsoIn(spring.end, berlin), "2024-04-01T00:00:00+02:00");
  Period autumn = PeriodOf(*ParseTimestamp("2024-10-27T12:00:00+01:00"), PeriodKind::kDay, berlin);
  EXPECT_EQ(FormatIsoUtc(autumn.start), "2024-10-26T22:00:00Z");
  EXPECT_EQ(FormatIsoUtc(autumn.end), "2024-10-27T23:00:00Z");
  EXPECT_EQ(autumn.end - autumn.start, 25 * 3600);
  // A reading at local midnight closes the previous day, DST or not.
  EXPECT_EQ(PeriodOf(spring.end, PeriodKind::kDay, berlin), spring);
  EXPECT_EQ(PeriodOf(spring.end + 1, PeriodKind::kDay, berlin).start, spring.end);
  // The week holding the spring change (Mon 25 – Sun 31 March) is 167 hours, the month of October 745.
  Period week = PeriodOf(spring.start + 3600, PeriodKind::kWeek, berlin);
  EXPECT_EQ(FormatIsoIn(week.start, berlin), "2024-03-25T00:00:00+01:00");
  EXPECT_EQ(week.end - week.start, 7 * 86400 - 3600);
  Period october = PeriodOf(autumn.start + 3600, PeriodKind::kMonth, berlin);
  EXPECT_EQ(FormatIsoIn(october.start, berlin), "2024-10-01T00:00:00+02:00");
  EXPECT_EQ(FormatIsoIn(october.end, berlin), "2024-11-01T00:00:00+01:00");
  EXPECT_EQ(october.end - october.start, 31 * 86400 + 3600);
}

// Sydney 2024 (southern hemisphere): clocks went back on 7 April (03:00 AEDT → 02:00 AEST) and
// forward on 6 October (02:00 AEST → 03:00 AEDT).
TEST(Zone, SydneyDstDaysAreOneDayEach) {
  const TimeZone sydney = Zone("Australia/Sydney");
  Period april = PeriodOf(*ParseTimestamp("2024-04-07T12:00:00+10:00"), PeriodKind::kDay, sydney);
  EXPECT_EQ(FormatIsoIn(april.start, sydney), "2024-04-07T00:00:00+11:00");
  EXPECT_EQ(FormatIsoIn(april.end, sydney), "2024-04-08T00:00:00+10:00");
  EXPECT_EQ(april.end - april.start, 25 * 3600);
  Period october = PeriodOf(*ParseTimestamp("2024-10-06T12:00:00+11:00"), PeriodKind::kDay, sydney);
  EXPECT_EQ(FormatIsoUtc(october.start), "2024-10-05T14:00:00Z");
  EXPECT_EQ(FormatIsoUtc(october.end), "2024-10-06T13:00:00Z");
  EXPECT_EQ(october.end - october.start, 23 * 3600);
  // Every 15-minute reading of those two days falls in exactly one day: 100 and 92 of them.
  for (const Period& day : {april, october}) {
    int n = 0;
    for (int64_t t = day.start + 900; t <= day.end; t += 900) {
      EXPECT_EQ(PeriodOf(t, PeriodKind::kDay, sydney), day);
      ++n;
    }
    EXPECT_EQ(n, (day.end - day.start) / 900);
  }
}

TEST(Zone, LocalTimesWithoutOffsetReadInTheZone) {
  const TimeZone berlin = Zone("Europe/Berlin");
  EXPECT_EQ(*ParseTimestampIn("2024-07-01T12:00:00", berlin), *ParseTimestamp("2024-07-01T10:00:00Z"));
  EXPECT_EQ(*ParseTimestampIn("2024-01-01T12:00:00", berlin), *ParseTimestamp("2024-01-01T11:00:00Z"));
  EXPECT_EQ(*ParseTimestampIn("2024-07-01T12:00:00Z", berlin), *ParseTimestamp("2024-07-01T12:00:00Z"));
  EXPECT_EQ(*ParseTimestampIn("1719835200", berlin), 1719835200);
  // 02:30 on 31 March did not happen: the change itself (03:00 CEST); 02:30 on 27 October
  // happened twice: the first (CEST).
  EXPECT_EQ(FormatIsoUtc(*ParseTimestampIn("2024-03-31T02:30:00", berlin)), "2024-03-31T01:00:00Z");
  EXPECT_EQ(FormatIsoUtc(*ParseTimestampIn("2024-10-27T02:30:00", berlin)), "2024-10-27T00:30:00Z");
  EXPECT_EQ(*ParseTimestampIn("2024-07-01T12:00:00", TimeZone::Fixed(8 * 3600)),
            *ParseTimestamp("2024-07-01T04:00:00Z"));
}

}  // namespace
}  // namespace mh
