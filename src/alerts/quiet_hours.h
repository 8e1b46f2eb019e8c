// Quiet hours (issue 17 item 6, seed 003 claim 7): a daily span of local time, e.g. 22:00-07:00,
// in which alerts wait — a night-time SMS is not welcome — and after which they are delivered.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "core/zone.h"

namespace mh::alerts {

struct QuietHours {
  int from_minute = 0;  // minutes after local midnight; from > to wraps over midnight
  int to_minute = 0;

  // Whether the local time of `ts` in the meter's zone `tz` falls inside [from, to).
  bool Contains(int64_t ts, const TimeZone& tz) const;
  // The first moment at or after ts outside the quiet hours (ts itself when outside).
  int64_t NextAllowed(int64_t ts, const TimeZone& tz) const;
};

// "22:00-07:00" (HH:MM-HH:MM, 24 h); from == to is refused (that would be always or never).
Result<QuietHours> ParseQuietHours(std::string_view text);

}  // namespace mh::alerts
