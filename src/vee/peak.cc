#include "vee/peak.h"

#include <algorithm>

#include "base/number_text.h"
#include "core/time.h"
#include "core/zone.h"

namespace mh::vee {
namespace {

// "MM-DD" → month*100+day; nullopt when the text is not of that shape.
std::optional<int> MonthDay(std::string_view s) {
  s = TrimBlanks(s);
  if (s.size() != 5 || s[2] != '-') return std::nullopt;
  for (size_t i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  return ((s[0] - '0') * 10 + (s[1] - '0')) * 100 + (s[3] - '0') * 10 + (s[4] - '0');
}

Result<YearlyRange> ParseYearly(std::string_view text, std::string_view from_s, std::string_view to_s) {
  std::optional<int> from = MonthDay(from_s), to = MonthDay(to_s);
  if (!from || !to) return InvalidArgument("bad yearly peak range '" + std::string(text) + "' (expected MM-DD..MM-DD)");
  for (int md : {*from, *to}) {
    // 2000 is a leap year: 02-29 is a valid yearly date (in other years it means 03-01).
    if (!IsValidCivilTime(2000, md / 100, md % 100, 0, 0, 0))
      return InvalidArgument("yearly peak range '" + std::string(text) + "': no such date");
  }
  return YearlyRange{*from, *to};
}

}  // namespace

Result<PeakPeriod> ParsePeakPeriod(std::string_view text, const TimeZone& tz) {
  size_t dots = text.find("..");
  if (dots == std::string_view::npos)
    return InvalidArgument("bad peak period '" + std::string(text) + "' (expected FROM..TO, e.g. 2020-06-01..2020-10-31)");
  auto span = ParseFromTo(TrimBlanks(text.substr(0, dots)), TrimBlanks(text.substr(dots + 2)), tz);
  if (!span.ok()) return span.status().WithContext("peak period");
  PeakPeriod p{span->start, span->end};
  return p;
}

Result<std::optional<Peak>> ParsePeak(const std::vector<std::string>& texts, const TimeZone& tz) {
  std::vector<PeakPeriod> absolute;
  std::vector<YearlyRange> yearly;
  for (const std::string& whole : texts) {
    std::string_view rest = whole;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view text = TrimBlanks(rest.substr(0, comma));
      if (!text.empty()) {
        size_t dots = text.find("..");
        if (dots != std::string_view::npos && MonthDay(text.substr(0, dots)) && MonthDay(text.substr(dots + 2))) {
          MH_ASSIGN_OR_RETURN(YearlyRange y, ParseYearly(text, text.substr(0, dots), text.substr(dots + 2)));
          yearly.push_back(y);
        } else {
          MH_ASSIGN_OR_RETURN(PeakPeriod p, ParsePeakPeriod(text, tz));
          absolute.push_back(p);
        }
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (absolute.empty() && yearly.empty()) return std::optional<Peak>();
  std::sort(absolute.begin(), absolute.end(), [](const PeakPeriod& a, const PeakPeriod& b) { return a.from < b.from; });
  return std::optional<Peak>(Peak(std::move(absolute), std::move(yearly), tz));
}

int Peak::LocalYear(int64_t t) const {
  int y = 0;
  unsigned m = 0, d = 0;
  int64_t local = t + tz_.OffsetAt(t);
  int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  CivilFromDays(days, &y, &m, &d);
  return y;
}

PeakPeriod Peak::Occurrence(const YearlyRange& r, int y) const {
  const int to_year = r.to_md < r.from_md ? y + 1 : y;
  // DaysFromCivil normalises 02-29 of a common year to 03-01.
  const int64_t from = DaysFromCivil(y, static_cast<unsigned>(r.from_md / 100), static_cast<unsigned>(r.from_md % 100)) * 86400;
  const int64_t to = (DaysFromCivil(to_year, static_cast<unsigned>(r.to_md / 100), static_cast<unsigned>(r.to_md % 100)) + 1) * 86400;
  // Local midnights to UTC in the meter's zone: a range across a DST change is 1 h shorter/longer.
  return PeakPeriod{tz_.ToUtc(from), tz_.ToUtc(to)};
}

std::optional<PeakPeriod> Peak::OccurrenceOf(int64_t t) const {
  for (const PeakPeriod& p : absolute_)
    if (p.Contains(t)) return p;
  if (yearly_.empty()) return std::nullopt;
  const int y = LocalYear(t - 1);  // t at the end's 00:00 still belongs to the day before
  for (const YearlyRange& r : yearly_) {
    for (int yy : {y, y - 1}) {
      PeakPeriod p = Occurrence(r, yy);
      if (p.Contains(t)) return p;
    }
  }
  return std::nullopt;
}

bool Peak::Contains(int64_t t) const { return OccurrenceOf(t).has_value(); }

bool Peak::Covers(int64_t start, int64_t end) const {
  if (end <= start) return false;
  for (const PeakPeriod& a : absolute_)
    if (start >= a.from && end <= a.to) return true;
  const int y = LocalYear(start);
  for (const YearlyRange& r : yearly_) {
    for (int yy : {y, y - 1}) {
      const PeakPeriod o = Occurrence(r, yy);
      if (start >= o.from && end <= o.to) return true;
    }
  }
  return false;
}

std::vector<PeakPeriod> Peak::EndedBefore(int64_t until) const {
  std::vector<PeakPeriod> out;
  for (const PeakPeriod& p : absolute_)
    if (p.to < until) out.push_back(p);
  const int y = LocalYear(until);
  for (const YearlyRange& r : yearly_) {
    for (int yy : {y, y - 1, y - 2}) {
      PeakPeriod o = Occurrence(r, yy);
      if (o.to < until) {
        out.push_back(o);
        break;
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const PeakPeriod& a, const PeakPeriod& b) { return a.from < b.from; });
  return out;
}

std::optional<int64_t> Peak::LastEnd() const {
  if (!yearly_.empty()) return std::nullopt;
  int64_t end = INT64_MIN;
  for (const PeakPeriod& p : absolute_) end = std::max(end, p.to);
  return end;
}

uint64_t PeakFingerprint(const std::vector<PeakPeriod>& spans) {
  if (spans.empty()) return 0;
  // FNV-1a over the bounds: stable across builds and platforms (it is persisted).
  uint64_t h = 1469598103934665603ull;
  for (const PeakPeriod& p : spans) {
    for (int64_t v : {p.from, p.to}) {
      for (int i = 0; i < 8; ++i) {
        h ^= static_cast<uint64_t>(v >> (8 * i)) & 0xff;
        h *= 1099511628211ull;
      }
    }
  }
  return h == 0 ? 1 : h;
}

}  // namespace mh::vee
