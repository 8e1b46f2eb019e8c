#include "meter/night_schedule.h"

#include <gtest/gtest.h>

namespace mh::meter {
namespace {

TEST(NightScheduleTest, SubPeriodsAreTheRegionsAllocation) {
  auto s = NightSchedule::Create("abc", SlotOptions{}, 8 * 3600);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->slot_count(), 72);
  EXPECT_EQ(s->sub_periods(), AllocateSlots("abc", 72, 4));
  SlotOptions bad;
  bad.slot_minutes = 7;  // 360 is not a multiple of 7
  EXPECT_FALSE(NightSchedule::Create("abc", bad, 0).ok());
}

TEST(NightScheduleTest, ReportHasALevelPerAllocatedSubPeriod) {
  auto s = NightSchedule::Create("abc", SlotOptions{}, 0);
  ASSERT_TRUE(s.ok());
  std::vector<DetectionPoint> points;
  for (int m = 0; m < 360; ++m) points.push_back({m, 1.0 + (m % 5 == 0 ? 1.0 : 0.0)});
  auto report = s->Report(points);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*report)[i].sub_period, s->sub_periods()[i]);
}

TEST(NightScheduleTest, TargetTimesInLocalTime) {
  auto s = NightSchedule::Create("abc", SlotOptions{}, 8 * 3600);  // UTC+8, window 00:00-06:00 local
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->NextTarget(0).has_value());
  EXPECT_FALSE(s->SetTarget(72).ok());
  ASSERT_TRUE(s->SetTarget(17).ok());  // 01:25-01:30 local = 17:25-17:30 UTC the day before
  const int64_t day = 1603900800;      // 2020-10-29T00:00:00+08:00 = 2020-10-28T16:00:00Z
  auto next = s->NextTarget(day);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->first, day + 85 * 60);
  EXPECT_EQ(next->second, day + 90 * 60);
  EXPECT_TRUE(s->InTarget(day + 85 * 60));
  EXPECT_TRUE(s->InTarget(day + 90 * 60 - 1));
  EXPECT_FALSE(s->InTarget(day + 90 * 60));
  auto after = s->NextTarget(day + 90 * 60);  // the next night's
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->first, day + 86400 + 85 * 60);
}

TEST(NightScheduleTest, WindowWrappingPastMidnight) {
  SlotOptions o;
  ASSERT_TRUE(ParseWindow("22:00-02:00", &o).ok());
  auto s = NightSchedule::Create("abc", o, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->slot_count(), 48);
  ASSERT_TRUE(s->SetTarget(30).ok());  // 22:00 + 150 min = 00:30 the next day
  const int64_t day = 86400 * 100;
  auto next = s->NextTarget(day + 10 * 60);  // 00:10: yesterday's window is still running
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->first, day + 30 * 60);
}

// SPEC 2.1 (issue 11, item 8): the window and sub-period length of the head-end's relay_target
// replace the meter's own; N, the allocation and the target's times follow them.
TEST(NightScheduleTest, TheServersAllocationRuleIsApplied) {
  auto s = NightSchedule::Create("abc", SlotOptions{}, 0);  // the meter's default: 00:00-06:00, 5 min, N = 72
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->sub_periods(), AllocateSlots("abc", 72, 4));
  TargetAssignment a;
  ASSERT_TRUE(ParseWindow("22:00-02:00", &a.slots).ok());
  a.slots.slot_minutes = 10;  // N = 24
  a.slots.slots_per_region = 3;
  a.sub_period = 23;          // outside the old allocation's range would be fine too; 23 < 24
  a.fanout = Fanout::kFirst;
  ASSERT_TRUE(s->Apply(a).ok());
  EXPECT_EQ(s->slot_count(), 24);
  EXPECT_EQ(s->options().window_start_min, 22 * 60);
  EXPECT_EQ(s->options().slot_minutes, 10);
  EXPECT_EQ(s->sub_periods(), AllocateSlots("abc", 24, 3));
  EXPECT_EQ(s->target(), 23);
  // 22:00 + 23 × 10 min = 01:50 the next day, for 10 minutes.
  const int64_t day = 86400 * 200;
  auto next = s->NextTarget(day + 12 * 3600);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->first, day + 86400 + 110 * 60);
  EXPECT_EQ(next->second, day + 86400 + 120 * 60);
  // The next report covers the server's allocation.
  std::vector<DetectionPoint> points;
  for (int m = 0; m < 240; ++m) points.push_back({m, 1.0});
  auto report = s->Report(points);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->size(), 3u);
  EXPECT_EQ((*report)[0].sub_period, s->sub_periods()[0]);

  // Refused, and nothing changes: a target outside the server's N, a window not whole slots.
  TargetAssignment bad = a;
  bad.sub_period = 24;
  EXPECT_EQ(s->Apply(bad).code(), StatusCode::kInvalidArgument);
  bad = a;
  bad.slots.slot_minutes = 7;
  EXPECT_EQ(s->Apply(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->slot_count(), 24);
  EXPECT_EQ(s->target(), 23);
}

TEST(NightScheduleTest, FanoutNames) {
  EXPECT_EQ(ParseFanout("all"), Fanout::kAll);
  EXPECT_EQ(ParseFanout("first"), Fanout::kFirst);
  EXPECT_FALSE(ParseFanout("some").has_value());
  EXPECT_STREQ(FanoutName(Fanout::kFirst), "first");
  EXPECT_STREQ(FanoutName(Fanout::kAll), "all");
}

}  // namespace
}  // namespace mh::meter
