#include "codec/nem12.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "codec/text.h"
#include "core/time.h"

namespace mh::codec {
namespace {

using internal::EqualsIgnoreCase;
using internal::Trim;

// Field positions of NEM12 records (AEMO "Meter Data File Format Specification NEM12 & NEM13").
namespace r100 {
constexpr size_t kVersion = 1;
}
namespace r200 {
constexpr size_t kNmi = 1, kSuffix = 4, kSerial = 6, kUom = 7, kIntervalLength = 8, kMinFields = 9;
}
namespace r300 {
constexpr size_t kDate = 1, kFirstValue = 2;
// After the N values: QualityMethod, ReasonCode, ReasonDescription, UpdateDateTime, MSATSLoadDateTime.
constexpr size_t kTrailing = 5;
}
namespace r400 {
constexpr size_t kStart = 1, kEnd = 2, kQuality = 3, kReasonCode = 4, kReasonDescription = 5, kMinFields = 4;
}

bool IsAlnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllAlnum(std::string_view s) {
  for (char c : s)
    if (!IsAlnum(c)) return false;
  return true;
}

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// YYYYMMDD, a real calendar date → days since 1970-01-01.
bool ParseDate8(std::string_view s, int64_t* days) {
  if (s.size() != 8) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int m = (s[4] - '0') * 10 + (s[5] - '0');
  int d = (s[6] - '0') * 10 + (s[7] - '0');
  static constexpr int kDaysIn[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || m < 1 || m > 12 || d < 1 || d > kDaysIn[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m == 2 && d == 29 && !leap) return false;
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

// A quality method: the flag (A actual, E forward estimate, F final substitute, N null,
// S substitute, V variable) and an optional two-digit method number, e.g. "E52", "S14".
bool IsQualityMethod(std::string_view s) {
  if (s.empty() || s.size() > 3 || std::strchr("AEFNSV", s[0]) == nullptr) return false;
  for (char c : s.substr(1))
    if (!IsDigit(c)) return false;
  return true;
}

// Unit of measure → power of ten to the kilo unit (kWh, or kvarh / kVAh for reactive / apparent
// energy channels). Demand and instantaneous units are not interval energy.
bool UomExponent(std::string_view uom, int* exponent) {
  static constexpr struct {
    const char* name;
    int exponent;
  } kUnits[] = {{"WH", -3},   {"KWH", 0},  {"MWH", 3},  {"VARH", -3}, {"KVARH", 0},
                {"MVARH", 3}, {"VAH", -3}, {"KVAH", 0}, {"MVAH", 3}};
  for (const auto& u : kUnits) {
    if (EqualsIgnoreCase(uom, u.name)) {
      *exponent = u.exponent;
      return true;
    }
  }
  return false;
}

bool LooksNumeric(std::string_view s) {
  return !s.empty() && (IsDigit(s[0]) || s[0] == '.' || s[0] == '-' || s[0] == '+');
}

class Nem12Parser {
 public:
  Nem12Parser(const Nem12Handlers& h, int32_t offset_s) : h_(h), offset_s_(offset_s) {}

  Status Run(std::string_view text);

 private:
  struct Channel {  // the current 200 record
    bool valid = false;
    std::string why_not = "300 record before any 200 record";  // when not valid
    std::string nmi, suffix, serial, uom;
    int exponent = 0;
    int interval_min = 30;
  };
  struct Day {  // a 300 record, held until its 400 records are read
    bool active = false;
    int64_t line = 0;
    std::string text;       // the 300 record, cut to kMaxRawTextBytes
    int64_t start_utc = 0;  // 00:00 market time of the interval date
    std::string quality, reason_code;
    std::vector<double> values;
    std::vector<int> event_of;  // per interval: index into events, -1 when no 400 covers it
    std::vector<Nem12Event> events;
  };

  // An issue with the current record (or, with `text`, an earlier one).
  void Issue(int64_t line_no, const char* field, std::string message, const std::string* text = nullptr) {
    if (!h_.on_issue) return;
    RowIssue issue;
    issue.line = line_no;
    issue.field = field;
    issue.message = std::move(message);
    issue.text = text ? *text : TruncateUtf8(line_, kMaxRawTextBytes);
    h_.on_issue(issue);
  }
  Status First(int64_t line_no);
  void Record(int64_t line_no);
  void On100(int64_t line_no);
  void On200(int64_t line_no);
  void On300(int64_t line_no);
  void On400(int64_t line_no);
  void FlushDay();

  const Nem12Handlers& h_;
  const int32_t offset_s_;
  std::string_view line_;
  std::vector<std::string_view> f_;  // fields of the current record
  Channel channel_;
  Day day_;
  bool skip_400s_ = false;  // the 300 record they belong to was rejected
  Nem12Interval interval_;
};

Status Nem12Parser::First(int64_t line_no) {
  std::string_view type = f_[0];
  if (type == "100") {
    std::string_view version = f_.size() > r100::kVersion ? f_[r100::kVersion] : std::string_view();
    if (EqualsIgnoreCase(version, "NEM12")) return Status::Ok();
    if (EqualsIgnoreCase(version, "NEM13"))
      return InvalidArgument("line " + std::to_string(line_no) + ": a NEM13 (accumulated reads) file, not NEM12");
    return InvalidArgument("line " + std::to_string(line_no) + ": 100 header names version '" +
                           TruncateUtf8(version, 40) + "', expected NEM12");
  }
  if (type == "200") return Status::Ok();  // exports without a 100 header
  return InvalidArgument("line " + std::to_string(line_no) +
                         ": not a NEM12 file (expected a 100 header or a 200 record, got '" +
                         TruncateUtf8(line_, 60) + "')");
}

void Nem12Parser::On100(int64_t line_no) {
  channel_ = Channel();
  std::string_view version = f_.size() > r100::kVersion ? f_[r100::kVersion] : std::string_view();
  if (!EqualsIgnoreCase(version, "NEM12")) {
    Issue(line_no, "version", "100 header names version '" + TruncateUtf8(version, 40) + "', expected NEM12");
    channel_.why_not = "300 record skipped: its 100 header (line " + std::to_string(line_no) + ") is not NEM12";
  }
}

void Nem12Parser::On200(int64_t line_no) {
  channel_ = Channel();
  channel_.why_not = "300 record skipped: its 200 record (line " + std::to_string(line_no) + ") is invalid";
  if (f_.size() < r200::kMinFields) {
    Issue(line_no, "", "200 record has " + std::to_string(f_.size()) + " fields, expected at least 9");
    return;
  }
  std::string_view nmi = f_[r200::kNmi], suffix = f_[r200::kSuffix], uom = f_[r200::kUom];
  if (nmi.empty() || nmi.size() > 11 || !AllAlnum(nmi)) {
    Issue(line_no, "nmi", "NMI must be 1-11 letters or digits (10 in the NEM12 specification)");
    return;
  }
  if (suffix.empty() || suffix.size() > 3 || !AllAlnum(suffix)) {
    Issue(line_no, "nmi_suffix", "NMI suffix must be 1-3 letters or digits, e.g. E1");
    return;
  }
  int exponent = 0;
  if (!UomExponent(uom, &exponent)) {
    Issue(line_no, "uom", "unsupported unit of measure '" + TruncateUtf8(uom, 20) +
                              "' (expected an energy unit: WH, KWH, MWH, VARH, KVARH, MVARH, VAH, KVAH, MVAH)");
    return;
  }
  int minutes = 0;
  if (!ParseInt(f_[r200::kIntervalLength], &minutes) || minutes < 1 || minutes > 1440 || 1440 % minutes != 0) {
    Issue(line_no, "interval_length",
          "interval length must be minutes dividing a day (5, 15, 30), got '" +
              TruncateUtf8(f_[r200::kIntervalLength], 20) + "'");
    return;
  }
  channel_.valid = true;
  channel_.nmi.assign(nmi);
  channel_.suffix.assign(suffix);
  channel_.serial.assign(f_[r200::kSerial]);
  channel_.uom.assign(uom);
  channel_.exponent = exponent;
  channel_.interval_min = minutes;
}

void Nem12Parser::On300(int64_t line_no) {
  skip_400s_ = true;  // until this record proves good
  if (!channel_.valid) {
    Issue(line_no, "", channel_.why_not);
    return;
  }
  const size_t n = static_cast<size_t>(1440 / channel_.interval_min);
  const size_t q = r300::kFirstValue + n;  // position of the quality method
  // Too few values: the quality method sits among them; too many: a number where it belongs.
  if (f_.size() <= q || LooksNumeric(f_[q]) || IsQualityMethod(f_[q - 1])) {
    size_t found = 0;
    while (r300::kFirstValue + found < f_.size() && LooksNumeric(f_[r300::kFirstValue + found])) ++found;
    Issue(line_no, "interval_value",
          "expected " + std::to_string(n) + " interval values (" + std::to_string(channel_.interval_min) +
              "-minute intervals), found " + std::to_string(found));
    return;
  }
  for (size_t i = q + r300::kTrailing; i < f_.size(); ++i) {
    if (!f_[i].empty()) {
      Issue(line_no, "", "300 record has " + std::to_string(f_.size()) + " fields, expected " +
                             std::to_string(q + r300::kTrailing));
      return;
    }
  }
  int64_t days = 0;
  if (!ParseDate8(f_[r300::kDate], &days)) {
    Issue(line_no, "interval_date", "interval date must be YYYYMMDD, got '" + TruncateUtf8(f_[r300::kDate], 20) + "'");
    return;
  }
  if (!IsQualityMethod(f_[q])) {
    Issue(line_no, "quality_method", "bad quality method '" + TruncateUtf8(f_[q], 20) + "' (expected e.g. A, V, E52)");
    return;
  }
  day_.values.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::optional<double> v = ParseValue(f_[r300::kFirstValue + i]);
    if (!v || *v < 0) {
      Issue(line_no, "interval_value", "interval " + std::to_string(i + 1) + ": '" +
                                           TruncateUtf8(f_[r300::kFirstValue + i], 40) +
                                           "' is not a non-negative number");
      return;
    }
    day_.values[i] = *v;
  }
  skip_400s_ = false;
  day_.active = true;
  day_.line = line_no;
  day_.text = TruncateUtf8(line_, kMaxRawTextBytes);
  day_.start_utc = days * 86400 - offset_s_;
  day_.quality.assign(f_[q]);
  day_.reason_code.assign(f_.size() > q + 1 ? f_[q + 1] : std::string_view());
  day_.event_of.assign(n, -1);
  day_.events.clear();
}

void Nem12Parser::On400(int64_t line_no) {
  if (!day_.active) {
    if (!skip_400s_) Issue(line_no, "", "400 record without a preceding 300 record");
    return;
  }
  if (f_.size() < r400::kMinFields) {
    Issue(line_no, "", "400 record has " + std::to_string(f_.size()) + " fields, expected at least 4");
    return;
  }
  const int n = static_cast<int>(day_.values.size());
  int first = 0, last = 0;
  if (!ParseInt(f_[r400::kStart], &first) || first < 1 || first > n) {
    Issue(line_no, "start_interval", "start interval must be 1.." + std::to_string(n));
    return;
  }
  if (!ParseInt(f_[r400::kEnd], &last) || last < first || last > n) {
    Issue(line_no, "end_interval", "end interval must be " + std::to_string(first) + ".." + std::to_string(n));
    return;
  }
  std::string_view quality = f_[r400::kQuality];
  if (!IsQualityMethod(quality) || quality[0] == 'V') {
    Issue(line_no, "quality_method",
          "bad quality method '" + TruncateUtf8(quality, 20) + "' in a 400 record (expected e.g. A, S53; not V)");
    return;
  }
  const int64_t step = int64_t{channel_.interval_min} * 60;
  Nem12Event ev;
  ev.nmi = channel_.nmi;
  ev.channel = channel_.suffix;
  ev.from = day_.start_utc + (first - 1) * step;
  ev.to = day_.start_utc + last * step;
  ev.first_interval = first;
  ev.last_interval = last;
  ev.quality_method.assign(quality);
  if (f_.size() > r400::kReasonCode) ev.reason_code.assign(f_[r400::kReasonCode]);
  if (f_.size() > r400::kReasonDescription) ev.reason_description.assign(f_[r400::kReasonDescription]);
  ev.line = line_no;
  const int index = static_cast<int>(day_.events.size());
  for (int i = first - 1; i < last; ++i) day_.event_of[static_cast<size_t>(i)] = index;  // a later 400 wins
  day_.events.push_back(std::move(ev));
}

void Nem12Parser::FlushDay() {
  if (!day_.active) return;
  day_.active = false;
  const int64_t step = int64_t{channel_.interval_min} * 60;
  const size_t n = day_.values.size();
  if (day_.quality == "V") {
    for (size_t i = 0; i < n;) {
      if (day_.event_of[i] >= 0) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < n && day_.event_of[j] < 0) ++j;
      Issue(day_.line, "quality_method",
            "intervals " + std::to_string(i + 1) + "-" + std::to_string(j) +
                " of a V (variable quality) day have no 400 record; kept with quality V",
            &day_.text);
      i = j;
    }
  }
  interval_.nmi = channel_.nmi;
  interval_.channel = channel_.suffix;
  interval_.meter_serial = channel_.serial;
  interval_.uom = channel_.uom;
  interval_.interval_s = step;
  interval_.line = day_.line;
  if (h_.on_interval) {
    for (size_t i = 0; i < n; ++i) {
      interval_.interval_end = day_.start_utc + static_cast<int64_t>(i + 1) * step;
      double v = day_.values[i];
      interval_.kwh = channel_.exponent < 0 ? v / 1000 : channel_.exponent > 0 ? v * 1000 : v;
      int e = day_.event_of[i];
      if (e >= 0) {
        interval_.quality = day_.events[static_cast<size_t>(e)].quality_method;
        interval_.reason_code = day_.events[static_cast<size_t>(e)].reason_code;
      } else {
        interval_.quality = day_.quality;
        interval_.reason_code = day_.reason_code;
      }
      h_.on_interval(interval_);
    }
  }
  if (h_.on_event)
    for (const Nem12Event& ev : day_.events) h_.on_event(ev);
}

void Nem12Parser::Record(int64_t line_no) {
  std::string_view type = f_[0];
  if (type != "400") FlushDay();
  if (type == "300") {
    On300(line_no);
  } else if (type == "400") {
    On400(line_no);
  } else if (type == "200") {
    skip_400s_ = false;
    On200(line_no);
  } else if (type == "100") {
    skip_400s_ = false;
    On100(line_no);
  } else if (type == "500") {
    // B2B details of a meter reading (service order, index read): not needed for interval energy.
  } else if (type == "900") {
    skip_400s_ = false;
    channel_ = Channel();
    channel_.why_not = "300 record after the 900 end-of-data record (line " + std::to_string(line_no) + ")";
  } else {
    Issue(line_no, "record_type",
          "unknown record type '" + TruncateUtf8(type, 20) + "' (expected 100, 200, 300, 400, 500 or 900)");
  }
}

Status Nem12Parser::Run(std::string_view text) {
  internal::LineReader lines(text);
  std::string_view line;
  bool first = true;
  while (lines.Next(&line)) {
    const int64_t line_no = lines.line_no();
    if (Trim(line).empty()) continue;
    line_ = line;
    f_.clear();
    for (size_t start = 0;;) {
      size_t comma = line.find(',', start);
      f_.push_back(Trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (first) {
      MH_RETURN_IF_ERROR(First(line_no));
      first = false;
    }
    Record(line_no);
  }
  FlushDay();
  if (first) return InvalidArgument("empty file: not NEM12 (expected a 100 header or a 200 record)");
  return Status::Ok();
}

}  // namespace

Status ParseNem12(std::string_view text, const Nem12Handlers& handlers, int32_t offset_s) {
  Nem12Parser parser(handlers, offset_s);
  return parser.Run(text);
}

std::string Nem12MeterId(const std::string& nmi, const std::string& channel) {
  constexpr size_t kMaxId = 32, kMaxChannel = 8;
  auto clean = [](std::string_view s, size_t max) {
    std::string out;
    for (char c : s.substr(0, max)) out.push_back(IsAlnum(c) || c == '_' || c == '-' ? c : '_');
    return out;
  };
  std::string ch = clean(channel, kMaxChannel);
  std::string id = clean(nmi, kMaxId - 1 - ch.size());
  id += '-';
  id += ch;
  return id;
}

}  // namespace mh::codec

namespace mh::codec {
namespace {

std::string Date8(int64_t day) {
  int y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u", y, m, d);
  return buf;
}

// kWh with up to 6 decimals, trailing zeros dropped ("1.25", "0").
std::string Kwh(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

struct Slot {
  double kwh = 0;
  std::string quality = "N";  // a slot no interval filled is null
  std::string reason;
};

}  // namespace

std::string Nem12Header(int64_t created_at, int32_t offset_s) {
  const int64_t local = created_at + offset_s;
  const int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  const int64_t sec = local - day * 86400;
  char hhmm[8];
  std::snprintf(hhmm, sizeof hhmm, "%02d%02d", static_cast<int>(sec / 3600), static_cast<int>(sec / 60 % 60));
  return "100,NEM12," + Date8(day) + hhmm + ",MHUB,MHUB\r\n";
}

Result<std::string> Nem12ChannelRecords(const Nem12Series& series, int32_t offset_s) {
  if (series.nmi.empty() || series.nmi.size() > 10 || !AllAlnum(series.nmi))
    return InvalidArgument("NMI '" + series.nmi + "': NEM12 takes 1-10 letters or digits");
  if (series.channel.empty() || series.channel.size() > 3 || !AllAlnum(series.channel))
    return InvalidArgument("NMI suffix '" + series.channel + "': NEM12 takes 1-3 letters or digits");
  if (series.interval_s < 60 || series.interval_s % 60 != 0 || 86400 % series.interval_s != 0)
    return InvalidArgument("interval " + std::to_string(series.interval_s) + " s: NEM12 takes whole minutes dividing a day");
  const int64_t step = series.interval_s;
  const size_t n = static_cast<size_t>(86400 / step);
  std::string out = "200," + series.nmi + "," + series.channel + ",1," + series.channel + ",N1," + series.meter_serial +
                    ",KWH," + std::to_string(step / 60) + ",\r\n";
  std::vector<Slot> slots;
  int64_t day = INT64_MIN;
  auto flush = [&] {
    if (day == INT64_MIN) return;
    bool uniform = true;
    for (const Slot& s : slots) uniform = uniform && s.quality == slots[0].quality && s.reason == slots[0].reason;
    out += "300," + Date8(day);
    for (const Slot& s : slots) out += "," + Kwh(s.kwh);
    out += uniform ? "," + slots[0].quality + "," + slots[0].reason + ",,,\r\n" : ",V,,,,\r\n";
    if (uniform) return;
    for (size_t i = 0; i < n;) {
      size_t j = i;
      while (j + 1 < n && slots[j + 1].quality == slots[i].quality && slots[j + 1].reason == slots[i].reason) ++j;
      out += "400," + std::to_string(i + 1) + "," + std::to_string(j + 1) + "," + slots[i].quality + "," + slots[i].reason +
             ",\r\n";
      i = j + 1;
    }
  };
  for (const Nem12Interval& iv : series.intervals) {
    // The interval ending at local midnight is the last of the day before.
    const int64_t local_end = iv.interval_end + offset_s;
    const int64_t d = (local_end - 1 >= 0 ? (local_end - 1) / 86400 : (local_end - 86400) / 86400);
    const int64_t into = local_end - d * 86400;
    if (into % step != 0)
      return InvalidArgument("interval ending " + FormatIsoUtc(iv.interval_end) + " is not on the " +
                             std::to_string(step / 60) + "-minute grid of the market day");
    if (!(iv.kwh >= 0))
      return InvalidArgument("interval ending " + FormatIsoUtc(iv.interval_end) + ": " + Kwh(iv.kwh) +
                             " kWh (NEM12 values are non-negative)");
    if (d != day) {
      flush();
      day = d;
      slots.assign(n, Slot{});
    }
    Slot& s = slots[static_cast<size_t>(into / step - 1)];
    s.kwh = iv.kwh;
    s.quality = iv.quality.empty() || !IsQualityMethod(iv.quality) || iv.quality[0] == 'V' ? "A" : iv.quality;
    s.reason = s.quality == "A" ? "" : iv.reason_code;
  }
  flush();
  return out;
}

}  // namespace mh::codec
