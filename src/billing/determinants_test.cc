#include "billing/determinants.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace mh::billing {
namespace {

// China-style peak / flat / valley with weekends and holidays on the rest-day schedule.
TariffSpec ChinaSpec() {
  TariffSpec s;
  s.bands = {"peak", "flat", "valley"};
  s.days["workday"] = {"00:00 valley", "08:00 peak", "11:00 flat", "18:00 peak", "21:00 flat"};
  s.days["restday"] = {"00:00 valley", "08:00 flat"};
  s.week = {"workday", "workday", "workday", "workday", "workday", "restday", "restday"};
  s.holidays = {"10-01"};
  s.holiday = "restday";
  return s;
}

int64_t T(const char* iso) { return *ParseTimestamp(iso); }

std::vector<Interval> Hourly(int64_t from, int64_t to, double kwh) {
  std::vector<Interval> out;
  for (int64_t t = from; t < to; t += 3600) out.push_back({t, t + 3600, kwh, false});
  return out;
}

const BandTotal& Band(const std::vector<BandTotal>& totals, const std::string& name) {
  for (const auto& b : totals)
    if (b.band == name) return b;
  ADD_FAILURE() << "no band " << name;
  return totals.front();
}

// The hand-computed week: Mon 2024-09-30 .. Sun 2024-10-06 in +08:00, 1 kWh every hour; Tuesday
// 10-01 is a holiday. Workday (Mon, Wed, Thu, Fri): valley 00-08 = 8, peak 08-11 + 18-21 = 6,
// flat 11-18 + 21-24 = 10. Rest day (Tue, Sat, Sun): valley 8, flat 16.
// valley = 7 x 8 = 56, peak = 4 x 6 = 24, flat = 4 x 10 + 3 x 16 = 88.
TEST(Determinants, HandComputedWeekWithHolidayAndMidnightChange) {
  auto cal = TariffCalendar::Parse(ChinaSpec());
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  const TimeZone cn = TimeZone::Fixed(8 * 3600);
  auto iv = Hourly(T("2024-09-30T00:00:00+08:00"), T("2024-10-07T00:00:00+08:00"), 1.0);
  // Wednesday 09:00-10:00 (peak) was estimated at 2 kWh: peak 25 of which 2 estimated.
  for (auto& i : iv)
    if (i.end == T("2024-10-02T10:00:00+08:00")) i = {i.start, i.end, 2.0, true};
  auto totals = SplitIntoBands(iv, *cal, cn);
  ASSERT_EQ(totals.size(), 3u);
  EXPECT_EQ(totals[0].band, "peak");  // the calendar's order
  EXPECT_DOUBLE_EQ(Band(totals, "peak").kwh, 25);
  EXPECT_DOUBLE_EQ(Band(totals, "peak").estimated_kwh, 2);
  EXPECT_DOUBLE_EQ(Band(totals, "flat").kwh, 88);
  EXPECT_DOUBLE_EQ(Band(totals, "valley").kwh, 56);
  EXPECT_DOUBLE_EQ(Band(totals, "valley").estimated_kwh, 0);
}

// The reading at 00:00 closes 23:00-24:00 (the day's flat); 00:00-01:00 is the next day's valley.
// An interval over midnight is split by its time in each band.
TEST(Determinants, BandChangeAtMidnight) {
  auto cal = TariffCalendar::Parse(ChinaSpec());
  ASSERT_TRUE(cal.ok());
  const TimeZone cn = TimeZone::Fixed(8 * 3600);
  auto at_midnight = SplitIntoBands({{T("2024-10-02T23:00:00+08:00"), T("2024-10-03T00:00:00+08:00"), 3, false}}, *cal, cn);
  EXPECT_DOUBLE_EQ(Band(at_midnight, "flat").kwh, 3);
  EXPECT_DOUBLE_EQ(Band(at_midnight, "valley").kwh, 0);
  auto across = SplitIntoBands({{T("2024-10-02T23:00:00+08:00"), T("2024-10-03T01:00:00+08:00"), 4, true}}, *cal, cn);
  EXPECT_DOUBLE_EQ(Band(across, "flat").kwh, 2);
  EXPECT_DOUBLE_EQ(Band(across, "valley").kwh, 2);
  EXPECT_DOUBLE_EQ(Band(across, "valley").estimated_kwh, 2);
  // Into the holiday: Monday 30 Sep 21:00 .. Tuesday 1 Oct 09:00 = flat 3 + valley 8 + (holiday) flat 1.
  auto holiday = SplitIntoBands(Hourly(T("2024-09-30T21:00:00+08:00"), T("2024-10-01T09:00:00+08:00"), 1), *cal, cn);
  EXPECT_DOUBLE_EQ(Band(holiday, "flat").kwh, 4);
  EXPECT_DOUBLE_EQ(Band(holiday, "valley").kwh, 8);
  EXPECT_DOUBLE_EQ(Band(holiday, "peak").kwh, 0);
}

// Night 22:00-06:00, day 06:00-22:00 in Berlin. On 2024-03-31 (23 h) the night before 06:00 has
// 5 hours; on 2024-10-27 (25 h) it has 7. One kWh per real hour, 15-minute intervals.
TEST(Determinants, DaylightSavingDaysInBerlin) {
  TariffSpec s;
  s.bands = {"day", "night"};
  s.days["all"] = {"00:00 night", "06:00 day", "22:00 night"};
  auto cal = TariffCalendar::Parse(s);
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  auto berlin = TimeZone::Parse("Europe/Berlin");
  if (!berlin.ok()) GTEST_SKIP() << "no tzdata for Europe/Berlin: " << berlin.status().ToString();
  auto quarter_hours = [](int64_t from, int64_t to) {
    std::vector<Interval> out;
    for (int64_t t = from; t < to; t += 900) out.push_back({t, t + 900, 0.25, false});
    return out;
  };
  auto spring = SplitIntoBands(quarter_hours(T("2024-03-31T00:00:00+01:00"), T("2024-04-01T00:00:00+02:00")), *cal, *berlin);
  EXPECT_DOUBLE_EQ(Band(spring, "night").kwh, 5 + 2);
  EXPECT_DOUBLE_EQ(Band(spring, "day").kwh, 16);
  auto autumn = SplitIntoBands(quarter_hours(T("2024-10-27T00:00:00+02:00"), T("2024-10-28T00:00:00+01:00")), *cal, *berlin);
  EXPECT_DOUBLE_EQ(Band(autumn, "night").kwh, 7 + 2);
  EXPECT_DOUBLE_EQ(Band(autumn, "day").kwh, 16);
  // One daily interval (00:00 to 00:00) over the 25-hour day: 9/25 of it is night.
  auto daily = SplitIntoBands({{T("2024-10-27T00:00:00+02:00"), T("2024-10-28T00:00:00+01:00"), 25, false}}, *cal, *berlin);
  EXPECT_NEAR(Band(daily, "night").kwh, 9, 1e-9);
}

// A band boundary inside the repeated hour of a fall-back change (02:30 in Berlin, 2024-10-27):
// both occurrences of 02:00-02:30 are "a", both of 02:30-03:00 are "b".
TEST(Determinants, BoundaryInsideRepeatedHour) {
  TariffSpec s;
  s.bands = {"a", "b"};
  s.days["all"] = {"00:00 a", "02:30 b", "03:00 a"};
  auto cal = TariffCalendar::Parse(s);
  ASSERT_TRUE(cal.ok());
  auto berlin = TimeZone::Parse("Europe/Berlin");
  if (!berlin.ok()) GTEST_SKIP() << "no tzdata for Europe/Berlin";
  const int64_t from = T("2024-10-27T02:00:00+02:00"), to = T("2024-10-27T03:00:00+01:00");  // two real hours
  auto totals = SplitIntoBands({{from, to, 4, false}}, *cal, *berlin);
  EXPECT_DOUBLE_EQ(Band(totals, "a").kwh, 2);
  EXPECT_DOUBLE_EQ(Band(totals, "b").kwh, 2);
}

TEST(Determinants, SingleBandTakesEverything) {
  auto totals = SplitIntoBands({{0, 900, 1.5, false}, {900, 1800, 0.5, true}}, TariffCalendar::Single("all"), TimeZone::Fixed(0));
  ASSERT_EQ(totals.size(), 1u);
  EXPECT_DOUBLE_EQ(totals[0].kwh, 2);
  EXPECT_DOUBLE_EQ(totals[0].estimated_kwh, 0.5);
}

}  // namespace
}  // namespace mh::billing
