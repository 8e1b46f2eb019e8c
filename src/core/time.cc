#include "core/time.h"

#include <charconv>
#include <cstdio>

namespace mh {
namespace {

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

bool IsValidCivilTime(int y, int mo, int d, int hh, int mm, int ss) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0)) return false;
  if (hh == 24) return mm == 0 && ss == 0;
  return hh >= 0 && hh <= 23 && mm >= 0 && mm <= 59 && ss >= 0 && ss <= 60;
}

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

Result<int32_t> ParseUtcOffset(std::string_view s) {
  if (s == "Z" || s == "z" || s == "UTC" || s == "utc") return 0;
  if (s.starts_with("UTC") || s.starts_with("utc")) s.remove_prefix(3);
  if (s.empty() || (s[0] != '+' && s[0] != '-')) return InvalidArgument("bad UTC offset '" + std::string(s) + "'");
  int sign = s[0] == '-' ? -1 : 1;
  s.remove_prefix(1);
  int h = 0, m = 0;
  if (s.size() == 5 && s[2] == ':') {
    if (!ParseInt(s.substr(0, 2), &h) || !ParseInt(s.substr(3, 2), &m)) return InvalidArgument("bad UTC offset");
  } else if (s.size() == 4 && AllDigits(s)) {
    ParseInt(s.substr(0, 2), &h);
    ParseInt(s.substr(2, 2), &m);
  } else if ((s.size() == 1 || s.size() == 2) && AllDigits(s)) {
    ParseInt(s, &h);
  } else {
    return InvalidArgument("bad UTC offset '" + std::string(s) + "' (expected +HH:MM)");
  }
  if (h > 14 || m > 59) return InvalidArgument("UTC offset out of range");
  return sign * (h * 3600 + m * 60);
}

std::string FormatUtcOffset(int32_t offset_s) {
  if (offset_s == 0) return "Z";
  char buf[16];
  int a = offset_s < 0 ? -offset_s : offset_s;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset_s < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
  return buf;
}

Result<WrittenTime> ParseWrittenTime(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.empty()) return InvalidArgument("empty timestamp");
  // Epoch seconds (optionally with a fraction, which is dropped).
  {
    std::string_view whole = s.substr(0, s.find('.'));
    bool neg = !whole.empty() && whole[0] == '-';
    if (AllDigits(neg ? whole.substr(1) : whole) && whole.size() != 8) {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), v);
      if (ec == std::errc() && (s.size() == whole.size() || AllDigits(s.substr(whole.size() + 1)))) return WrittenTime{v, 0};
    }
  }
  // YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH:MM]
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return InvalidArgument("bad timestamp '" + std::string(s) + "'");
  int y, mo, d;
  if (!ParseInt(s.substr(0, 4), &y) || !ParseInt(s.substr(5, 2), &mo) || !ParseInt(s.substr(8, 2), &d) ||
      !IsValidCivilTime(y, mo, d, 0, 0, 0))
    return InvalidArgument("bad date in timestamp '" + std::string(s) + "'");
  int hh = 0, mm = 0, ss = 0;
  std::string_view rest = s.substr(10);
  if (!rest.empty()) {
    if (rest[0] != 'T' && rest[0] != ' ' && rest[0] != 't') return InvalidArgument("bad timestamp '" + std::string(s) + "'");
    rest.remove_prefix(1);
    if (rest.size() < 5 || rest[2] != ':' || !ParseInt(rest.substr(0, 2), &hh) || !ParseInt(rest.substr(3, 2), &mm))
      return InvalidArgument("bad time in timestamp '" + std::string(s) + "'");
    rest.remove_prefix(5);
    if (!rest.empty() && rest[0] == ':') {
      if (rest.size() < 3 || !ParseInt(rest.substr(1, 2), &ss)) return InvalidArgument("bad seconds in '" + std::string(s) + "'");
      rest.remove_prefix(3);
      if (!rest.empty() && rest[0] == '.') {
        rest.remove_prefix(1);
        while (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') rest.remove_prefix(1);
      }
    }
    if (!IsValidCivilTime(y, mo, d, hh, mm, ss)) return InvalidArgument("time out of range in '" + std::string(s) + "'");
  }
  WrittenTime w;
  if (!rest.empty()) {
    auto off = ParseUtcOffset(rest);
    if (!off.ok()) return InvalidArgument("bad offset in timestamp '" + std::string(s) + "'");
    w.offset_s = *off;
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  w.clock_s = days * 86400 + hh * 3600 + mm * 60 + ss;
  return w;
}

Result<int64_t> ParseTimestamp(std::string_view s, int32_t default_offset_s) {
  MH_ASSIGN_OR_RETURN(WrittenTime w, ParseWrittenTime(s));
  return w.clock_s - w.offset_s.value_or(default_offset_s);
}

std::string FormatIsoOffset(int64_t epoch_s, int32_t offset_s) {
  int64_t local = epoch_s + offset_s;
  int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  int64_t sod = local - days * 86400;
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d%s", y, m, d, static_cast<int>(sod / 3600),
                static_cast<int>((sod % 3600) / 60), static_cast<int>(sod % 60), FormatUtcOffset(offset_s).c_str());
  return buf;
}

std::string FormatIsoUtc(int64_t epoch_s) { return FormatIsoOffset(epoch_s, 0); }

Result<int64_t> ParseDuration(std::string_view s) {
  if (s.empty()) return InvalidArgument("empty duration");
  int64_t mult = 1;
  char unit = s.back();
  if (unit < '0' || unit > '9') {
    switch (unit) {
      case 's': mult = 1; break;
      case 'm': mult = 60; break;
      case 'h': mult = 3600; break;
      case 'd': mult = 86400; break;
      case 'w': mult = 7 * 86400; break;
      default: return InvalidArgument("bad duration '" + std::string(s) + "' (use e.g. 90s, 15m, 1h, 1d)");
    }
    s.remove_suffix(1);
  }
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0)
    return InvalidArgument("bad duration '" + std::string(s) + "' (use e.g. 90s, 15m, 1h, 1d)");
  return v * mult;
}

Result<PeriodKind> ParsePeriodKind(std::string_view s) {
  if (s == "day") return PeriodKind::kDay;
  if (s == "week") return PeriodKind::kWeek;
  if (s == "month") return PeriodKind::kMonth;
  return InvalidArgument("bad period '" + std::string(s) + "' (expected day, week or month)");
}

const char* PeriodKindName(PeriodKind k) {
  switch (k) {
    case PeriodKind::kDay: return "day";
    case PeriodKind::kWeek: return "week";
    case PeriodKind::kMonth: return "month";
  }
  return "?";
}

namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

int64_t LocalPeriodStart(int64_t local_s, PeriodKind kind) {
  int64_t day = FloorDiv(local_s, 86400);
  switch (kind) {
    case PeriodKind::kDay: return day * 86400;
    case PeriodKind::kWeek: {
      // 1970-01-01 was a Thursday; Monday = day 4 mod 7 → shift.
      int64_t monday = day - ((day + 3) % 7 + 7) % 7;
      return monday * 86400;
    }
    case PeriodKind::kMonth: {
      int y;
      unsigned m, d;
      CivilFromDays(day, &y, &m, &d);
      return DaysFromCivil(y, m, 1) * 86400;
    }
  }
  return day * 86400;
}

int64_t LocalPeriodEnd(int64_t local_start, PeriodKind kind) {
  switch (kind) {
    case PeriodKind::kDay: return local_start + 86400;
    case PeriodKind::kWeek: return local_start + 7 * 86400;
    case PeriodKind::kMonth: {
      int y;
      unsigned m, d;
      CivilFromDays(FloorDiv(local_start, 86400), &y, &m, &d);
      if (++m > 12) { m = 1; ++y; }
      return DaysFromCivil(y, m, 1) * 86400;
    }
  }
  return local_start + 86400;
}

}  // namespace mh
