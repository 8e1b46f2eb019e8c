#include "billing/tariff.h"

#include <algorithm>

#include "base/number_text.h"
#include "core/time.h"

namespace mh::billing {
namespace {

constexpr int kDay = 86400;

std::string At(const std::string& key, size_t i) { return key + "[" + std::to_string(i) + "]"; }

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "MM-DD" → month*100+day (02-29 allowed: a leap year's date).
std::optional<int> MonthDay(std::string_view s) {
  if (s.size() != 5 || s[2] != '-' || !AllDigits(s.substr(0, 2)) || !AllDigits(s.substr(3))) return std::nullopt;
  const int m = (s[0] - '0') * 10 + (s[1] - '0'), d = (s[3] - '0') * 10 + (s[4] - '0');
  if (!IsValidCivilTime(2000, m, d, 0, 0, 0)) return std::nullopt;
  return m * 100 + d;
}

// "YYYY-MM-DD" → days since 1970-01-01.
std::optional<int64_t> Date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) ||
      !AllDigits(s.substr(8)))
    return std::nullopt;
  const int y = std::stoi(std::string(s.substr(0, 4))), m = std::stoi(std::string(s.substr(5, 2))),
            d = std::stoi(std::string(s.substr(8)));
  if (!IsValidCivilTime(y, m, d, 0, 0, 0)) return std::nullopt;
  return DaysFromCivil(y, m, d);
}

// "HH:MM" → seconds after midnight (00:00..23:59).
std::optional<int> TimeOfDay(std::string_view s) {
  if (s.size() != 5 || s[2] != ':' || !AllDigits(s.substr(0, 2)) || !AllDigits(s.substr(3))) return std::nullopt;
  const int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 3600 + m * 60;
}

int Weekday(int64_t day) {  // 0 = Monday; 1970-01-01 was a Thursday
  return static_cast<int>(((day + 3) % 7 + 7) % 7);
}

}  // namespace

TariffCalendar TariffCalendar::Single(const std::string& band) {
  TariffCalendar c;
  c.bands_ = {band};
  c.schedules_ = {{{0, 0}}};
  std::fill(std::begin(c.week_.day), std::end(c.week_.day), 0);
  return c;
}

Result<TariffCalendar> TariffCalendar::Parse(const TariffSpec& spec) {
  TariffCalendar c;
  if (spec.bands.empty()) return InvalidArgument("bands: list the tariff's bands, e.g. [\"peak\", \"flat\", \"valley\"]");
  for (size_t i = 0; i < spec.bands.size(); ++i) {
    const std::string& b = spec.bands[i];
    if (b.empty() || b.size() > 32 || b.find_first_of(" \t\"") != std::string::npos)
      return InvalidArgument(At("bands", i) + ": a band name of 1-32 characters without spaces");
    if (std::count(spec.bands.begin(), spec.bands.end(), b) > 1) return InvalidArgument(At("bands", i) + ": '" + b + "' twice");
  }
  c.bands_ = spec.bands;

  if (spec.days.empty()) return InvalidArgument("days: define at least one day schedule, e.g. days.workday = [\"00:00 valley\", \"08:00 peak\"]");
  std::map<std::string, int> schedule_index;
  for (const auto& [name, entries] : spec.days) {
    const std::string key = "days." + name;
    Schedule s;
    for (size_t i = 0; i < entries.size(); ++i) {
      std::string_view e = TrimBlanks(entries[i]);
      const size_t sp = e.find(' ');
      auto start = TimeOfDay(e.substr(0, std::min(sp, e.size())));
      if (sp == std::string_view::npos || !start)
        return InvalidArgument(At(key, i) + ": expected \"HH:MM BAND\" (the band in force from that local time), got '" +
                               std::string(e) + "'");
      const std::string band(TrimBlanks(e.substr(sp + 1)));
      auto it = std::find(c.bands_.begin(), c.bands_.end(), band);
      if (it == c.bands_.end()) return InvalidArgument(At(key, i) + ": band '" + band + "' is not in bands");
      if (s.empty() && *start != 0) return InvalidArgument(At(key, i) + ": a day schedule starts at 00:00");
      if (!s.empty() && *start <= s.back().start_s) return InvalidArgument(At(key, i) + ": times must increase");
      s.push_back({*start, static_cast<int>(it - c.bands_.begin())});
    }
    if (s.empty()) return InvalidArgument(key + ": empty day schedule");
    schedule_index[name] = static_cast<int>(c.schedules_.size());
    c.schedules_.push_back(std::move(s));
  }
  auto read_week = [&](const std::vector<std::string>& names, const std::string& key, Week* w) -> Status {
    if (names.size() != 1 && names.size() != 7)
      return InvalidArgument(key + ": 7 day schedules, Monday first (or one for every day), got " + std::to_string(names.size()));
    for (size_t i = 0; i < 7; ++i) {
      const std::string& n = names[names.size() == 1 ? 0 : i];
      auto it = schedule_index.find(n);
      if (it == schedule_index.end()) return InvalidArgument(At(key, names.size() == 1 ? 0 : i) + ": no day schedule days." + n);
      w->day[i] = it->second;
    }
    return Status::Ok();
  };
  if (spec.week.empty() && spec.days.size() == 1) {
    std::fill(std::begin(c.week_.day), std::end(c.week_.day), 0);
  } else {
    MH_RETURN_IF_ERROR(read_week(spec.week, "week", &c.week_));
  }

  std::vector<std::string> season_of(1232);  // month*100+day -> season (overlap check)
  for (const auto& [name, season] : spec.seasons) {
    const std::string key = "seasons." + name;
    Season s;
    MH_RETURN_IF_ERROR(read_week(season.week, key + ".week", &s.week));
    if (season.dates.empty()) return InvalidArgument(key + ".dates: yearly ranges MM-DD..MM-DD, e.g. \"07-01..08-31\"");
    for (size_t i = 0; i < season.dates.size(); ++i) {
      std::string_view d = TrimBlanks(season.dates[i]);
      const size_t dots = d.find("..");
      std::optional<int> from, to;
      if (dots != std::string_view::npos) {
        from = MonthDay(TrimBlanks(d.substr(0, dots)));
        to = MonthDay(TrimBlanks(d.substr(dots + 2)));
      }
      if (!from || !to) return InvalidArgument(At(key + ".dates", i) + ": expected MM-DD..MM-DD, got '" + std::string(d) + "'");
      s.ranges.push_back({*from, *to});
      for (int md = 101; md <= 1231; ++md) {
        if (!IsValidCivilTime(2000, md / 100, md % 100, 0, 0, 0)) continue;
        const bool in = *from <= *to ? (md >= *from && md <= *to) : (md >= *from || md <= *to);
        if (!in) continue;
        if (!season_of[md].empty() && season_of[md] != name)
          return InvalidArgument(At(key + ".dates", i) + ": overlaps season '" + season_of[md] + "'");
        season_of[md] = name;
      }
    }
    c.seasons_.push_back(std::move(s));
  }

  for (size_t i = 0; i < spec.holidays.size(); ++i) {
    std::string_view h = TrimBlanks(spec.holidays[i]);
    Holiday hd;
    const size_t dots = h.find("..");
    if (auto md = MonthDay(h)) {
      hd.month_day = *md;
    } else if (auto day = Date(h)) {
      hd.from_day = hd.to_day = *day;
    } else if (dots != std::string_view::npos && Date(TrimBlanks(h.substr(0, dots))) && Date(TrimBlanks(h.substr(dots + 2)))) {
      hd.from_day = *Date(TrimBlanks(h.substr(0, dots)));
      hd.to_day = *Date(TrimBlanks(h.substr(dots + 2)));
      if (hd.to_day < hd.from_day) return InvalidArgument(At("holidays", i) + ": the range ends before it starts");
    } else {
      return InvalidArgument(At("holidays", i) + ": expected YYYY-MM-DD, YYYY-MM-DD..YYYY-MM-DD or yearly MM-DD, got '" +
                             std::string(h) + "'");
    }
    c.holidays_.push_back(hd);
  }
  if (!spec.holiday.empty()) {
    auto it = schedule_index.find(spec.holiday);
    if (it == schedule_index.end()) return InvalidArgument("holiday: no day schedule days." + spec.holiday);
    c.holiday_schedule_ = it->second;
  }
  if (!c.holidays_.empty() && c.holiday_schedule_ < 0)
    return InvalidArgument("holiday: name the day schedule the holidays use (e.g. holiday = \"restday\")");
  return c;
}

const TariffCalendar::Schedule& TariffCalendar::ScheduleOn(int64_t local_day) const {
  int y;
  unsigned m, d;
  CivilFromDays(local_day, &y, &m, &d);
  const int md = static_cast<int>(m * 100 + d);
  for (const Holiday& h : holidays_) {
    if (h.month_day != 0 ? h.month_day == md : (local_day >= h.from_day && local_day <= h.to_day))
      return schedules_[holiday_schedule_];
  }
  const int wd = Weekday(local_day);
  for (const Season& s : seasons_) {
    for (const auto& [from, to] : s.ranges) {
      if (from <= to ? (md >= from && md <= to) : (md >= from || md <= to)) return schedules_[s.week.day[wd]];
    }
  }
  return schedules_[week_.day[wd]];
}

int TariffCalendar::BandAtLocal(int64_t local_s, int64_t* stretch_end_local) const {
  const int64_t day = local_s >= 0 ? local_s / kDay : -((-local_s + kDay - 1) / kDay);
  const int64_t sec = local_s - day * kDay;
  const Schedule& s = ScheduleOn(day);
  size_t i = 0;
  while (i + 1 < s.size() && s[i + 1].start_s <= sec) ++i;
  *stretch_end_local = day * kDay + (i + 1 < s.size() ? s[i + 1].start_s : kDay);
  return s[i].band;
}

const TariffCalendar& TariffBook::For(const std::string& group) const {
  static const TariffCalendar* const kAll = new TariffCalendar(TariffCalendar::Single("all"));
  if (auto it = by_group.find(group); it != by_group.end()) return it->second;
  return fallback ? *fallback : *kAll;
}

}  // namespace mh::billing
