// Time at the edges: ISO-8601 and epoch parsing, durations ("15m"), fixed UTC offsets, and the
// local calendar periods (day / week from Monday / month) of SPEC 1.2 (core/zone.h cuts them in a zone).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mh {

// "2020-10-29T15:00:00Z", "2020-10-29T15:00:00+08:00", "2020-10-29 15:00:00" (UTC unless an offset
// is given; `default_offset_s` applies to times without one), a date "2020-10-29" (its 00:00), or
// epoch seconds "1603983600".
Result<int64_t> ParseTimestamp(std::string_view s, int32_t default_offset_s = 0);

// A timestamp as written: its wall-clock reading (seconds since 1970-01-01T00:00 on that clock)
// and the offset it carried (epoch seconds and "Z" carry 0; none when it named no offset).
struct WrittenTime {
  int64_t clock_s = 0;
  std::optional<int32_t> offset_s;
};
Result<WrittenTime> ParseWrittenTime(std::string_view s);

// Formats as "2020-10-29T15:00:00Z".
std::string FormatIsoUtc(int64_t epoch_s);
// Formats in a fixed offset: "2020-10-29T23:00:00+08:00".
std::string FormatIsoOffset(int64_t epoch_s, int32_t offset_s);

// "90s", "15m", "1h", "1d", "1w"; a bare number is seconds.
Result<int64_t> ParseDuration(std::string_view s);

// "+08:00", "-05:30", "Z", "UTC", "UTC+8" → seconds east of UTC.
Result<int32_t> ParseUtcOffset(std::string_view s);
std::string FormatUtcOffset(int32_t offset_s);

// Whether a civil date and time exist: the day within its month (leap years counted), hours
// 0–23 (or 24:00:00, the end of the day), minutes 0–59, seconds 0–60 (a leap second).
bool IsValidCivilTime(int y, int mo, int d, int hh, int mm, int ss);

// Days since 1970-01-01 for a civil date, and back (proleptic Gregorian).
int64_t DaysFromCivil(int y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d);

enum class PeriodKind { kDay, kWeek, kMonth };
Result<PeriodKind> ParsePeriodKind(std::string_view s);
const char* PeriodKindName(PeriodKind k);

// A half-open-on-the-left calendar period (start, end]: a reading at t belongs to the period with
// start < t <= end (a reading at 00:00 closes the previous day).
struct Period {
  int64_t start = 0;
  int64_t end = 0;
  bool operator==(const Period&) const = default;
};

// On the local calendar (seconds since 1970-01-01T00:00 local): the start of the period of `kind`
// holding the local instant `local_s` (inclusive here), and the end of the one starting at
// `local_start`. core/zone.h turns them into UTC periods of a meter's zone (PeriodOf).
int64_t LocalPeriodStart(int64_t local_s, PeriodKind kind);
int64_t LocalPeriodEnd(int64_t local_start, PeriodKind kind);

}  // namespace mh
