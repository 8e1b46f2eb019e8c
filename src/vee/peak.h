// The peak period T1 and T2 are learned from (SPEC 1.1/1.2, seed 003 claim 2): one or several
// ranges, each absolute (FROM..TO, dates or timestamps) or yearly (MM-DD..MM-DD, every year),
// e.g. July–September every year plus a holiday week of one year.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "core/zone.h"

namespace mh::vee {

// One absolute range: readings with from < t <= to (SPEC 1.3).
struct PeakPeriod {
  int64_t from = 0;
  int64_t to = 0;
  bool Contains(int64_t t) const { return from < t && t <= to; }
  bool operator==(const PeakPeriod&) const = default;
};

// A range that comes back every year: from 00:00 of from_md to the end of to_md (month*100+day),
// local time; to_md < from_md wraps over New Year (12-20..01-05).
struct YearlyRange {
  int from_md = 0;
  int to_md = 0;
  bool operator==(const YearlyRange&) const = default;
};

class Peak {
 public:
  Peak() = default;
  Peak(const PeakPeriod& p) : absolute_{p} {}  // NOLINT: one range is a peak (today's single-range syntax)
  Peak(std::vector<PeakPeriod> absolute, std::vector<YearlyRange> yearly, const TimeZone& tz)
      : absolute_(std::move(absolute)), yearly_(std::move(yearly)), tz_(tz) {}

  bool empty() const { return absolute_.empty() && yearly_.empty(); }
  // Whether t lies in a range (from < t <= to).
  bool Contains(int64_t t) const;
  // Whether the span (start, end] lies inside ONE occurrence of a range (a whole sub-period).
  bool Covers(int64_t start, int64_t end) const;
  // The occurrences that ended before `until` (to < until), by start: every absolute range, and
  // the latest occurrence of each yearly one. What the daemon learns from at time `until`.
  std::vector<PeakPeriod> EndedBefore(int64_t until) const;
  // The end of the last absolute range; nullopt when a yearly range makes the peak unbounded.
  std::optional<int64_t> LastEnd() const;
  // The occurrence holding t, if any (adjacent peak readings pair only within one).
  std::optional<PeakPeriod> OccurrenceOf(int64_t t) const;

  // The same ranges with the yearly ones in the zone `tz` (a meter's own, when it is not the zone
  // the configuration was read in); absolute ranges are instants and stay as they are.
  Peak InZone(const TimeZone& tz) const {
    Peak p = *this;
    p.tz_ = tz;
    return p;
  }
  const TimeZone& zone() const { return tz_; }

  const std::vector<PeakPeriod>& absolute() const { return absolute_; }
  const std::vector<YearlyRange>& yearly() const { return yearly_; }

 private:
  // The occurrence of yearly range r starting in local year y.
  PeakPeriod Occurrence(const YearlyRange& r, int y) const;
  int LocalYear(int64_t t) const;

  std::vector<PeakPeriod> absolute_;
  std::vector<YearlyRange> yearly_;
  TimeZone tz_ = TimeZone::Fixed(0);  // the zone of the yearly ranges' local dates (an IANA zone follows DST)
};

// "FROM..TO" (SPEC 1.3): ISO dates or timestamps in the zone `tz` unless they carry an offset; a
// date FROM means its 00:00, a date TO the end of that day (the next day's 00:00, in tz).
Result<PeakPeriod> ParsePeakPeriod(std::string_view text, const TimeZone& tz);

// Several ranges, each "FROM..TO" as above or yearly "MM-DD..MM-DD"; a text may also hold several
// ranges separated by commas ("07-01..09-30, 2020-10-01..2020-10-07"). Empty list = no peak.
Result<std::optional<Peak>> ParsePeak(const std::vector<std::string>& texts, const TimeZone& tz);

// A stable fingerprint of a span list (EndedBefore's result): the daemon relearns T1/T2 when it
// changes (a new occurrence ended, or the meter's peak definition changed). 0 = nothing.
uint64_t PeakFingerprint(const std::vector<PeakPeriod>& spans);

}  // namespace mh::vee
