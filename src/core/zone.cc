#include "core/zone.h"

#include <chrono>
#include <stdexcept>

#include <date/tz.h>

namespace mh {

Result<TimeZone> TimeZone::Parse(std::string_view text) {
  if (auto off = ParseUtcOffset(text); off.ok()) return Fixed(*off);
  const bool looks_like_offset = !text.empty() && (text[0] == '+' || text[0] == '-' || text.starts_with("UTC"));
  if (text.empty() || text.size() > 64 || looks_like_offset)
    return InvalidArgument("bad time zone '" + std::string(text.substr(0, 64)) +
                           "' (expected an IANA name such as Europe/Berlin, or a UTC offset such as +08:00)");
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
                    c == '_' || c == '-' || c == '+';
    if (!ok) return InvalidArgument("bad time zone '" + std::string(text) + "': not an IANA name");
  }
  try {
    return TimeZone(date::locate_zone(text), 0);
  } catch (const std::exception&) {
    return InvalidArgument("unknown time zone '" + std::string(text) +
                           "' (not in the system's tzdata: an IANA name such as Europe/Berlin, or a UTC offset)");
  }
}

int32_t TimeZone::OffsetAt(int64_t utc_s) const {
  if (zone_ == nullptr) return offset_s_;
  const auto info = zone_->get_info(date::sys_seconds{std::chrono::seconds{utc_s}});
  return static_cast<int32_t>(info.offset.count());
}

int64_t TimeZone::ToUtc(int64_t local_s) const {
  if (zone_ == nullptr) return local_s - offset_s_;
  const auto sys = zone_->to_sys(date::local_seconds{std::chrono::seconds{local_s}}, date::choose::earliest);
  return sys.time_since_epoch().count();
}

std::string TimeZone::Name() const { return zone_ == nullptr ? FormatUtcOffset(offset_s_) : zone_->name(); }

int32_t TimeZone::FixedOffsetOrNow() const {
  if (zone_ == nullptr) return offset_s_;
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return OffsetAt(now.time_since_epoch().count());
}

Period PeriodOf(int64_t t, PeriodKind kind, const TimeZone& tz) {
  // start < t <= end: the instant just before t decides. Boundaries are cut on the local calendar
  // and each converted back with the offset in force there, so a DST day is 23 or 25 hours long.
  const int64_t local_start = LocalPeriodStart(t - 1 + tz.OffsetAt(t - 1), kind);
  return {tz.ToUtc(local_start), tz.ToUtc(LocalPeriodEnd(local_start, kind))};
}

Period PeriodStartingAt(int64_t start, PeriodKind kind, const TimeZone& tz) { return PeriodOf(start + 1, kind, tz); }

Result<int64_t> ParseTimestampIn(std::string_view s, const TimeZone& tz) {
  if (tz.is_fixed()) return ParseTimestamp(s, tz.OffsetAt(0));
  MH_ASSIGN_OR_RETURN(WrittenTime w, ParseWrittenTime(s));
  if (w.offset_s) return w.clock_s - *w.offset_s;
  return tz.ToUtc(w.clock_s);
}

std::string FormatIsoIn(int64_t epoch_s, const TimeZone& tz) { return FormatIsoOffset(epoch_s, tz.OffsetAt(epoch_s)); }

Result<Period> ParseFromTo(std::string_view from_s, std::string_view to_s, const TimeZone& tz) {
  auto from = ParseTimestampIn(from_s, tz);
  if (!from.ok()) return from.status().WithContext("FROM");
  auto to = ParseTimestampIn(to_s, tz);
  if (!to.ok()) return to.status().WithContext("TO");
  Period p{*from, *to};
  const bool to_is_date = to_s.size() == 10 && to_s[4] == '-' && to_s[7] == '-';
  if (to_is_date) p.end = PeriodOf(p.end + 1, PeriodKind::kDay, tz).end;  // a date TO: the end of that day
  if (p.start >= p.end)
    return InvalidArgument("'" + std::string(from_s) + ".." + std::string(to_s) + "' is empty (FROM must be before TO)");
  return p;
}

}  // namespace mh
