#include "alerts/quiet_hours.h"

#include <gtest/gtest.h>

#include "core/time.h"
#include "core/zone.h"

namespace mh::alerts {
namespace {

const TimeZone kTz = TimeZone::Fixed(8 * 3600);
int64_t Ts(const char* s) { return *ParseTimestampIn(s, kTz); }

TEST(QuietHours, NightSpanWrapsOverMidnight) {
  auto q = ParseQuietHours("22:00-07:00");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_FALSE(q->Contains(Ts("2020-10-30T21:59:59"), kTz));
  EXPECT_TRUE(q->Contains(Ts("2020-10-30T22:00:00"), kTz));
  EXPECT_TRUE(q->Contains(Ts("2020-10-31T03:00:00"), kTz));
  EXPECT_FALSE(q->Contains(Ts("2020-10-31T07:00:00"), kTz));
  // An alert at 23:10 waits for 07:00 the next morning, one at 03:00 for 07:00 that morning.
  EXPECT_EQ(q->NextAllowed(Ts("2020-10-30T23:10:00"), kTz), Ts("2020-10-31T07:00:00"));
  EXPECT_EQ(q->NextAllowed(Ts("2020-10-31T03:00:00"), kTz), Ts("2020-10-31T07:00:00"));
  EXPECT_EQ(q->NextAllowed(Ts("2020-10-31T12:00:00"), kTz), Ts("2020-10-31T12:00:00"));
  // The zone is the meter's: 23:10 in UTC+8 is 15:10 UTC, outside the span there.
  EXPECT_FALSE(q->Contains(Ts("2020-10-30T23:10:00"), TimeZone::Fixed(0)));
}

TEST(QuietHours, DaySpanAndBadTexts) {
  auto q = ParseQuietHours("12:00-14:00");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->Contains(Ts("2020-10-30T13:00:00"), kTz));
  EXPECT_EQ(q->NextAllowed(Ts("2020-10-30T13:00:00"), kTz), Ts("2020-10-30T14:00:00"));
  EXPECT_FALSE(ParseQuietHours("22:00").ok());
  EXPECT_FALSE(ParseQuietHours("25:00-07:00").ok());
  EXPECT_FALSE(ParseQuietHours("07:00-07:00").ok());
  EXPECT_FALSE(ParseQuietHours("7:00-8:00").ok());
}

// An IANA zone: in Berlin the night of 26/27 October 2024 ends at 07:00 CET (06:00 UTC), after
// the clocks went back; an alert at 23:00 CEST (21:00 UTC) waits 9 hours, not 8.
TEST(QuietHours, FollowTheMetersIanaZoneAcrossDst) {
  auto berlin = TimeZone::Parse("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status().message();
  auto q = ParseQuietHours("22:00-07:00");
  ASSERT_TRUE(q.ok());
  const int64_t at = *ParseTimestamp("2024-10-26T21:00:00Z", 0);
  EXPECT_TRUE(q->Contains(at, *berlin));
  EXPECT_EQ(q->NextAllowed(at, *berlin), *ParseTimestamp("2024-10-27T06:00:00Z", 0));
  EXPECT_FALSE(q->Contains(*ParseTimestamp("2024-10-27T06:00:00Z", 0), *berlin));
}

}  // namespace
}  // namespace mh::alerts
