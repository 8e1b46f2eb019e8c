#include "alerts/quiet_hours.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace mh::alerts {
namespace {

constexpr int32_t kTz = 8 * 3600;
int64_t Ts(const char* s) { return *ParseTimestamp(s, kTz); }

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
  EXPECT_FALSE(q->Contains(Ts("2020-10-30T23:10:00"), 0));
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

}  // namespace
}  // namespace mh::alerts
