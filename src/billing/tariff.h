// A tariff calendar (issue 18 item 4): which time-of-use band (peak / flat / valley, ...) each
// instant of a meter's local time falls in — day schedules of bands by local time of day, a week of
// schedules, yearly seasons with their own week, and holidays that use a holiday schedule.
// Pure domain logic over plain text the configuration holds ([tariffs.NAME], docs/billing.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/zone.h"

namespace mh::billing {

// A calendar as written in the configuration (every field is text; Parse checks it).
struct TariffSpec {
  std::vector<std::string> bands;                         // every band, in report order
  std::map<std::string, std::vector<std::string>> days;   // schedule -> ["HH:MM BAND", ...], first at 00:00
  std::vector<std::string> week;                          // 7 schedules, Monday first (or 1 = every day)
  struct Season {
    std::vector<std::string> dates;                       // yearly "MM-DD..MM-DD" ranges
    std::vector<std::string> week;                        // as `week`
  };
  std::map<std::string, Season> seasons;                  // must not overlap
  std::vector<std::string> holidays;                      // "YYYY-MM-DD", "YYYY-MM-DD..YYYY-MM-DD", yearly "MM-DD"
  std::string holiday;                                    // the schedule holidays use
};

class TariffCalendar {
 public:
  // The calendar of a meter with no tariff: the whole day in one band `band`.
  static TariffCalendar Single(const std::string& band);
  // Checks every reference (bands, schedules, dates); errors name the key, e.g. "days.workday[2]".
  static Result<TariffCalendar> Parse(const TariffSpec& spec);

  const std::vector<std::string>& bands() const { return bands_; }
  // The band in force in the local second `local_s` (seconds since 1970-01-01T00:00 local), and
  // the local second at which that band's stretch ends (the next band start or midnight).
  int BandAtLocal(int64_t local_s, int64_t* stretch_end_local) const;

 private:
  struct Entry {
    int start_s;  // seconds after local midnight
    int band;     // index into bands_
  };
  using Schedule = std::vector<Entry>;
  struct Week {
    int day[7];   // schedule index per weekday, Monday first
  };
  struct Season {
    std::vector<std::pair<int, int>> ranges;  // month*100+day, inclusive; from > to wraps New Year
    Week week;
  };
  struct Holiday {
    int64_t from_day = 0, to_day = -1;  // absolute days since 1970-01-01, inclusive
    int month_day = 0;                  // yearly MM-DD (then from/to unused)
  };
  const Schedule& ScheduleOn(int64_t local_day) const;

  std::vector<std::string> bands_;
  std::vector<Schedule> schedules_;
  Week week_{};
  std::vector<Season> seasons_;
  std::vector<Holiday> holidays_;
  int holiday_schedule_ = -1;
};

// The calendars of a configuration: per meter group, and the default for the other meters.
struct TariffBook {
  std::map<std::string, TariffCalendar> by_group;
  std::optional<TariffCalendar> fallback;  // [billing] tariff
  // The group's calendar, else the default, else one band "all".
  const TariffCalendar& For(const std::string& group) const;
};

}  // namespace mh::billing
