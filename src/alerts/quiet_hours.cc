#include "alerts/quiet_hours.h"

#include <string>

namespace mh::alerts {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Minutes after local midnight of a "HH:MM" text; -1 when malformed.
int Minutes(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (size_t i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9') return -1;
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

}  // namespace

bool QuietHours::Contains(int64_t ts, const TimeZone& tz) const {
  const int64_t local = ts + tz.OffsetAt(ts);
  const int minute = static_cast<int>((local - FloorDiv(local, 86400) * 86400) / 60);
  if (from_minute < to_minute) return minute >= from_minute && minute < to_minute;
  return minute >= from_minute || minute < to_minute;
}

int64_t QuietHours::NextAllowed(int64_t ts, const TimeZone& tz) const {
  if (!Contains(ts, tz)) return ts;
  const int64_t local = ts + tz.OffsetAt(ts);
  const int64_t midnight = FloorDiv(local, 86400) * 86400;
  int64_t end = midnight + static_cast<int64_t>(to_minute % (24 * 60)) * 60;
  if (end <= local) end += 86400;  // the span ends tomorrow morning
  // The wall-clock end in the meter's zone (a DST change during the night moves it by an hour).
  return tz.ToUtc(end);
}

Result<QuietHours> ParseQuietHours(std::string_view text) {
  const size_t dash = text.find('-');
  const int from = dash == std::string_view::npos ? -1 : Minutes(text.substr(0, dash));
  const int to = dash == std::string_view::npos ? -1 : Minutes(text.substr(dash + 1));
  if (from < 0 || to < 0)
    return InvalidArgument("quiet hours '" + std::string(text) + "': expected HH:MM-HH:MM, e.g. 22:00-07:00");
  if (from % (24 * 60) == to % (24 * 60))
    return InvalidArgument("quiet hours '" + std::string(text) + "': the span is empty or the whole day");
  return QuietHours{from % (24 * 60), to % (24 * 60)};
}

}  // namespace mh::alerts
