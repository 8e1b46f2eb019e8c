#include "billing/tariff.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace mh::billing {
namespace {

TariffSpec Base() {
  TariffSpec s;
  s.bands = {"peak", "offpeak"};
  s.days["weekday"] = {"00:00 offpeak", "07:00 peak", "23:00 offpeak"};
  s.days["weekend"] = {"00:00 offpeak"};
  s.week = {"weekday", "weekday", "weekday", "weekday", "weekday", "weekend", "weekend"};
  return s;
}

std::string BandOn(const TariffCalendar& c, int y, int m, int d, int hh) {
  int64_t end = 0;
  return c.bands()[c.BandAtLocal(DaysFromCivil(y, m, d) * 86400 + hh * 3600, &end)];
}

TEST(Tariff, WeekdayWeekendHolidayAndSeason) {
  TariffSpec s = Base();
  s.bands.push_back("sharp");
  s.days["summer"] = {"00:00 offpeak", "07:00 peak", "11:00 sharp", "12:00 peak", "23:00 offpeak"};
  s.seasons["summer"] = {{"07-01..08-31"}, {"summer", "summer", "summer", "summer", "summer", "weekend", "weekend"}};
  s.holidays = {"12-25", "2024-04-01", "2024-10-01..2024-10-07"};
  s.holiday = "weekend";
  auto c = TariffCalendar::Parse(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(BandOn(*c, 2024, 6, 3, 11), "peak");      // Monday
  EXPECT_EQ(BandOn(*c, 2024, 6, 3, 6), "offpeak");
  EXPECT_EQ(BandOn(*c, 2024, 6, 3, 23), "offpeak");
  EXPECT_EQ(BandOn(*c, 2024, 6, 8, 11), "offpeak");   // Saturday
  EXPECT_EQ(BandOn(*c, 2024, 7, 1, 11), "sharp");     // Monday in summer
  EXPECT_EQ(BandOn(*c, 2024, 7, 6, 11), "offpeak");   // Saturday in summer
  EXPECT_EQ(BandOn(*c, 2024, 12, 25, 11), "offpeak"); // yearly holiday (a Wednesday)
  EXPECT_EQ(BandOn(*c, 2025, 12, 25, 11), "offpeak");
  EXPECT_EQ(BandOn(*c, 2024, 4, 1, 11), "offpeak");   // one-off holiday (a Monday)
  EXPECT_EQ(BandOn(*c, 2025, 4, 1, 11), "peak");      // ... only that year
  EXPECT_EQ(BandOn(*c, 2024, 10, 7, 11), "offpeak");  // range, inclusive
  EXPECT_EQ(BandOn(*c, 2024, 10, 8, 11), "peak");
  int64_t end = 0;
  c->BandAtLocal(DaysFromCivil(2024, 6, 3) * 86400 + 8 * 3600, &end);
  EXPECT_EQ(end, DaysFromCivil(2024, 6, 3) * 86400 + 23 * 3600);
  c->BandAtLocal(DaysFromCivil(2024, 6, 3) * 86400 + 23 * 3600 + 5, &end);
  EXPECT_EQ(end, DaysFromCivil(2024, 6, 4) * 86400);
}

TEST(Tariff, ErrorsNameTheKey) {
  auto expect = [](TariffSpec s, const std::string& what) {
    auto c = TariffCalendar::Parse(s);
    ASSERT_FALSE(c.ok()) << what;
    EXPECT_NE(c.status().message().find(what), std::string::npos) << c.status().message();
  };
  TariffSpec s = Base();
  s.days["weekday"][1] = "07:00 peek";
  expect(s, "days.weekday[1]: band 'peek' is not in bands");
  s = Base();
  s.days["weekday"][0] = "01:00 offpeak";
  expect(s, "starts at 00:00");
  s = Base();
  s.days["weekday"] = {"00:00 offpeak", "23:00 peak", "07:00 offpeak"};
  expect(s, "times must increase");
  s = Base();
  s.days["weekday"][1] = "7:00 peak";
  expect(s, "expected \"HH:MM BAND\"");
  s = Base();
  s.week.pop_back();
  expect(s, "week: 7 day schedules");
  s = Base();
  s.week[6] = "sunday";
  expect(s, "week[6]: no day schedule days.sunday");
  s = Base();
  s.holidays = {"2024-02-30"};
  s.holiday = "weekend";
  expect(s, "holidays[0]");
  s = Base();
  s.holidays = {"01-01"};
  expect(s, "holiday: name the day schedule");
  s = Base();
  s.seasons["a"] = {{"06-01..08-31"}, {"weekday"}};
  s.seasons["b"] = {{"08-15..09-30"}, {"weekday"}};
  expect(s, "overlaps season");
  s = Base();
  s.bands.clear();
  expect(s, "bands");
}

TEST(Tariff, OneScheduleNeedsNoWeek) {
  TariffSpec s;
  s.bands = {"x"};
  s.days["all"] = {"00:00 x"};
  EXPECT_TRUE(TariffCalendar::Parse(s).ok());
}

}  // namespace
}  // namespace mh::billing
