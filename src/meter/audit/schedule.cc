#include "meter/audit/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/time.h"

namespace mh::meter::audit {

double RegionMean(const std::vector<double>& others) {
  if (others.empty()) return 0;
  double sum = 0;
  for (double v : others) sum += v;
  return sum / static_cast<double>(others.size());
}

Result<int> CycleLength(double e_h, double e_mean, double q, const CycleOptions& o) {
  if (!std::isfinite(e_h) || !std::isfinite(e_mean) || !std::isfinite(q) || !std::isfinite(o.time_weight)) {
    return InvalidArgument("cycle length: a non-finite input");
  }
  if (q <= 0) return InvalidArgument("cycle length: Q must be > 0");
  if (o.time_weight <= 0) return InvalidArgument("cycle length: w must be > 0");
  if (o.d_min < 1 || o.d_min > o.d_max) return InvalidArgument("cycle length: need 1 <= D_min <= D_max");
  const double deviation = std::fabs(e_h - e_mean) / std::max(e_mean, o.epsilon);
  const double raw = o.time_weight * q / (1.0 + deviation);
  const long d = std::lround(raw);
  return static_cast<int>(std::clamp<long>(d, o.d_min, o.d_max));
}

int AdjustedCycleLength(int start_labels, int end_labels, const AdjustOptions& o) {
  const double raw = o.cycle_constant / (1.0 + o.label_weight * (start_labels + end_labels));
  return static_cast<int>(std::max<long>(1, std::lround(raw)));
}

WindowSpan WindowOf(int window, int d) {
  return {(window - 1) * kDaySeconds / d, window * kDaySeconds / d};
}

int Cycle::WindowOnDay(int64_t day) const {
  if (day < first_day || day >= first_day + d) return 0;
  return static_cast<int>(day - first_day) + 1;
}

int64_t Cycle::WindowStartUtc(int window) const {
  return DayOfWindow(window) * kDaySeconds - tz_offset_s + WindowOf(window, d).start;
}

int64_t Cycle::WindowEndUtc(int window) const {
  return DayOfWindow(window) * kDaySeconds - tz_offset_s + WindowOf(window, d).end;
}

int64_t LocalDay(int64_t utc_s, int32_t tz_offset_s) {
  const int64_t local = utc_s + tz_offset_s;
  return local >= 0 ? local / kDaySeconds : -((-local + kDaySeconds - 1) / kDaySeconds);
}

std::string FormatDay(int64_t day) {
  int y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(day, &y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

Result<int64_t> ParseDay(const std::string& text) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
      text[4] != '-' || text[7] != '-' || !IsValidCivilTime(y, m, d, 0, 0, 0)) {
    return InvalidArgument("'" + text + "' is not a date YYYY-MM-DD");
  }
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

}  // namespace mh::meter::audit
