// A meter's time zone: an IANA name ("Europe/Berlin", read from the system's tzdata through
// Howard Hinnant's date/tz) or a fixed UTC offset ("+08:00"), and the calendar periods of SPEC 1.2
// cut in it — a 23-hour or a 25-hour day across a daylight-saving change is one day.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "core/time.h"

namespace date {
class time_zone;
}

namespace mh {

class TimeZone {
 public:
  // A fixed offset, seconds east of UTC.
  static TimeZone Fixed(int32_t offset_s) { return TimeZone(nullptr, offset_s); }
  // "+08:00", "UTC+8", "Z" (anything ParseUtcOffset reads), or an IANA name of the system's tzdata.
  static Result<TimeZone> Parse(std::string_view text);

  // Seconds east of UTC in force at the UTC instant `utc_s`.
  int32_t OffsetAt(int64_t utc_s) const;
  // The UTC instant of a local wall-clock time (seconds since 1970-01-01T00:00 local). A time the
  // clocks skip (spring forward) maps to the change itself; one that happens twice (fall back) to
  // its first occurrence.
  int64_t ToUtc(int64_t local_s) const;

  // The IANA name, or the offset as "+08:00" / "Z".
  std::string Name() const;
  bool is_fixed() const { return zone_ == nullptr; }
  // A fixed zone's offset; for an IANA zone, its offset now (what an offset-only reader is given).
  int32_t FixedOffsetOrNow() const;

  bool operator==(const TimeZone& o) const { return zone_ == o.zone_ && (zone_ != nullptr || offset_s_ == o.offset_s_); }

 private:
  TimeZone(const date::time_zone* zone, int32_t offset_s) : zone_(zone), offset_s_(offset_s) {}
  const date::time_zone* zone_;  // owned by date's tz database, alive for the process
  int32_t offset_s_;
};

// The period of `kind` in `tz` that the reading at `t` belongs to (start < t <= end).
Period PeriodOf(int64_t t, PeriodKind kind, const TimeZone& tz);
// The period that starts at `start` (a period boundary).
Period PeriodStartingAt(int64_t start, PeriodKind kind, const TimeZone& tz);

// ParseTimestamp with times that carry no offset read as wall-clock time in `tz`.
Result<int64_t> ParseTimestampIn(std::string_view s, const TimeZone& tz);
// FROM and TO of a span (SPEC 1.3: readings with FROM < t <= TO): ISO dates or timestamps, in `tz`
// unless they carry an offset; a date FROM means its 00:00, a date TO the end of that day (the next
// day's 00:00 in tz). InvalidArgument naming FROM or TO, or when FROM is not before TO.
Result<Period> ParseFromTo(std::string_view from, std::string_view to, const TimeZone& tz);

// "2024-04-07T00:00:00+11:00": ISO-8601 with the offset in force at that instant.
std::string FormatIsoIn(int64_t epoch_s, const TimeZone& tz);

}  // namespace mh
