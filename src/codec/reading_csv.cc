#include "codec/reading_csv.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "base/utf8.h"
#include "codec/text.h"
#include "core/time.h"

namespace mh::codec {
namespace {

using internal::EqualsIgnoreCase;
using internal::Trim;

// The columns a header may name, in any order; the first three are required.
enum Column { kMeterId, kTimestamp, kValue, kChannel, kQuality, kColumns };
constexpr std::string_view kColumnNames[kColumns] = {"meter_id", "timestamp", "value", "channel", "quality"};
constexpr uint64_t kProgressStep = 1 << 20;
// Longer than any timestamp ParseTimestamp accepts; keeps messages about garbage short.
constexpr size_t kMaxTimestampBytes = 64;

constexpr std::array<bool, 256> kMeterIdChar = [] {
  std::array<bool, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  t['_'] = t['-'] = true;
  return t;
}();

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

inline bool AllBlank(std::string_view s) {
  for (char c : s)
    if (!IsBlank(c)) return false;
  return true;
}

inline bool Digits2(const char* p, int* v) {
  unsigned a = static_cast<unsigned char>(p[0]) - '0', b = static_cast<unsigned char>(p[1]) - '0';
  if (a > 9 || b > 9) return false;
  *v = static_cast<int>(a * 10 + b);
  return true;
}

// Why a meter id is invalid, or nullptr when it is valid (SPEC 0.1).
const char* MeterIdProblem(std::string_view id) {
  if (id.empty()) return "empty meter id";
  if (id.size() > 32) return "meter id longer than 32 characters";
  for (char c : id)
    if (!kMeterIdChar[static_cast<unsigned char>(c)]) return "meter id has a character outside [A-Za-z0-9_-]";
  return nullptr;
}

inline std::optional<double> ParseValueInline(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  const char* p = s.data();
  const char* const e = p + s.size();
  bool neg = false;
  if (*p == '-') {
    neg = true;
    ++p;
  } else if (*p == '+') {
    ++p;
  }
  // Fast path (Clinger): up to 15 significant digits and a short fraction are exact in a double,
  // so one correctly rounded division gives the same result as from_chars.
  uint64_t m = 0;
  int digits = 0;
  const char* q = p;
  while (q < e && static_cast<unsigned>(*q - '0') <= 9) {
    m = m * 10 + static_cast<unsigned>(*q - '0');
    ++q;
    ++digits;
  }
  int frac = 0;
  if (q < e && *q == '.') {
    ++q;
    const char* f = q;
    while (q < e && static_cast<unsigned>(*q - '0') <= 9) {
      m = m * 10 + static_cast<unsigned>(*q - '0');
      ++q;
    }
    frac = static_cast<int>(q - f);
    digits += frac;
  }
  if (q == e && digits > 0 && digits <= 15) {
    double v = static_cast<double>(m);
    if (frac > 0) v /= kPow10[frac];
    return neg ? -v : v;
  }
  // General path: exponents, long mantissas. "+-1" is not a number.
  if (p < e && (*p == '-' || *p == '+')) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(p, e, v, std::chars_format::general);
  if (ec != std::errc() || end != e || !std::isfinite(v)) return std::nullopt;  // also NaN, inf, 1e400
  return neg ? -v : v;
}

}  // namespace

std::string TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t n = max_bytes;
  // Back off continuation bytes so a multi-byte character is not cut in half.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

std::optional<double> ParseValue(std::string_view s) { return ParseValueInline(s); }

namespace {

// Columns are matched by name (so `meterhub export --format csv` output reads back whatever the
// order); each known name at most once, the first three required, nothing else.
Result<CsvColumns> ColumnsOf(const std::string_view* f, int n) {
  if (n > kColumns) return InvalidArgument("more than " + std::to_string(kColumns) + " columns");
  int index[kColumns] = {-1, -1, -1, -1, -1};
  for (int i = 0; i < n; ++i) {
    const std::string_view name = Trim(f[i]);
    int c = 0;
    while (c < kColumns && !EqualsIgnoreCase(name, kColumnNames[c])) ++c;
    if (c == kColumns) return InvalidArgument("unknown column '" + TruncateUtf8(name, 40) + "'");
    if (index[c] >= 0) return InvalidArgument("column '" + std::string(kColumnNames[c]) + "' twice");
    index[c] = i;
  }
  for (int c = 0; c <= kValue; ++c) {
    if (index[c] < 0) return InvalidArgument("no column '" + std::string(kColumnNames[c]) + "'");
  }
  CsvColumns layout;
  layout.count = n;
  layout.meter_id = index[kMeterId];
  layout.timestamp = index[kTimestamp];
  layout.value = index[kValue];
  layout.channel = index[kChannel];
  layout.quality = index[kQuality];
  return layout;
}

// One pass over a CSV document; reuses one Reading so a row costs no allocation once the
// strings have grown to their working size.
class CsvParser {
 public:
  CsvParser(const ReadingFn& on_reading, const IssueFn& on_issue, const TimeZone& zone,
            const std::function<void(uint64_t, uint64_t)>* progress, const CsvRowFn* on_row = nullptr)
      : on_reading_(on_reading), on_row_(on_row), on_issue_(on_issue), zone_(zone), progress_(progress) {}

  Status Run(std::string_view text);
  Status CheckHeader(std::string_view line, int64_t line_no);
  const CsvColumns& columns() const { return layout_; }

 private:
  // Splits on commas without unquoting; returns the field count (fields past the fifth are
  // only counted) and whether a quote was seen (then SplitQuoted decides).
  static int SplitPlain(std::string_view line, std::string_view f[kColumns], bool* quoted);
  // RFC 4180 within one line; nullptr on success, else what is malformed.
  const char* SplitQuoted(std::string_view line, std::string_view f[kColumns], int* count);
  void Row(std::string_view line, int64_t line_no);
  bool FastIso(std::string_view s, int64_t* out);
  void Issue(int64_t line_no, const char* field, std::string message, std::string_view line);

  const ReadingFn& on_reading_;
  const CsvRowFn* on_row_;  // when set, instead of on_reading_
  const IssueFn& on_issue_;
  const TimeZone zone_;
  const std::function<void(uint64_t, uint64_t)>* progress_;

  Reading reading_;
  std::string scratch_[kColumns + 1];  // unquoted fields of the current row (slow path only)
  CsvColumns layout_;                  // the header's
  std::string header_names_ = "meter_id,timestamp,value";
  char cached_date_[10] = {};
  int64_t cached_days_ = 0;
  bool have_cached_date_ = false;
};

void CsvParser::Issue(int64_t line_no, const char* field, std::string message, std::string_view line) {
  if (!on_issue_) return;
  RowIssue issue;
  issue.line = line_no;
  issue.field = field;
  issue.message = std::move(message);
  issue.text = ValidUtf8(TruncateUtf8(line, kMaxRawTextBytes));
  on_issue_(issue);
}

int CsvParser::SplitPlain(std::string_view line, std::string_view f[kColumns], bool* quoted) {
  const char* p = line.data();
  const char* const e = p + line.size();
  const char* start = p;
  int n = 0;
  bool q = false;
  for (; p < e; ++p) {
    char c = *p;
    if (c == ',') {
      if (n < kColumns) f[n] = std::string_view(start, static_cast<size_t>(p - start));
      ++n;
      start = p + 1;
    } else if (c == '"') {
      q = true;
    }
  }
  if (n < kColumns) f[n] = std::string_view(start, static_cast<size_t>(e - start));
  *quoted = q;
  return n + 1;
}

const char* CsvParser::SplitQuoted(std::string_view line, std::string_view f[kColumns], int* count) {
  size_t i = 0;
  int n = 0;
  for (;;) {
    size_t j = i;
    while (j < line.size() && IsBlank(line[j])) ++j;
    std::string_view field;
    if (j < line.size() && line[j] == '"') {
      std::string& buf = scratch_[n < kColumns ? n : kColumns];
      buf.clear();
      size_t k = j + 1;
      for (;;) {
        if (k >= line.size()) return "unterminated quoted field (a quoted field cannot span lines)";
        char c = line[k];
        if (c == '"') {
          if (k + 1 < line.size() && line[k + 1] == '"') {
            buf.push_back('"');
            k += 2;
            continue;
          }
          ++k;
          break;
        }
        buf.push_back(c);
        ++k;
      }
      while (k < line.size() && IsBlank(line[k])) ++k;
      if (k < line.size() && line[k] != ',') return "text after the closing quote of a field";
      field = buf;
      i = k;
    } else {
      size_t k = line.find(',', i);
      if (k == std::string_view::npos) k = line.size();
      field = line.substr(i, k - i);
      i = k;
    }
    if (n < kColumns) f[n] = field;
    ++n;
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  *count = n;
  return nullptr;
}

// "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS+HH:MM" exactly. Returns false (and the general
// parser decides) for anything else, including out-of-range parts, so both paths always agree.
bool CsvParser::FastIso(std::string_view s, int64_t* out) {
  int32_t offset = 0;
  if (s.size() == 25 && (s[19] == '+' || s[19] == '-') && s[22] == ':') {
    int oh, om;
    if (!Digits2(s.data() + 20, &oh) || !Digits2(s.data() + 23, &om) || oh > 14 || om > 59) return false;
    offset = (oh * 3600 + om * 60) * (s[19] == '-' ? -1 : 1);
  } else if (s.size() != 20 || s[19] != 'Z') {
    return false;
  }
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
  const char* p = s.data();
  int64_t days;
  if (have_cached_date_ && std::memcmp(p, cached_date_, 10) == 0) {
    days = cached_days_;
  } else {
    int y1, y2, mo, d;
    if (!Digits2(p, &y1) || !Digits2(p + 2, &y2) || !Digits2(p + 5, &mo) || !Digits2(p + 8, &d)) return false;
    if (!IsValidCivilTime(y1 * 100 + y2, mo, d, 0, 0, 0)) return false;
    days = DaysFromCivil(y1 * 100 + y2, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    std::memcpy(cached_date_, p, 10);
    cached_days_ = days;
    have_cached_date_ = true;
  }
  int hh, mm, ss;
  if (!Digits2(p + 11, &hh) || !Digits2(p + 14, &mm) || !Digits2(p + 17, &ss)) return false;
  if (hh > 23 || mm > 59 || ss > 60) {
    if (hh != 24 || mm != 0 || ss != 0) return false;  // 24:00:00 is the end of the day
  }
  *out = days * 86400 + hh * 3600 + mm * 60 + ss - offset;
  return true;
}

Status CsvParser::CheckHeader(std::string_view line, int64_t line_no) {
  std::string_view f[kColumns];
  bool quoted = false;
  int n = SplitPlain(line, f, &quoted);
  const char* malformed = quoted ? SplitQuoted(line, f, &n) : nullptr;
  Result<CsvColumns> layout = malformed != nullptr ? InvalidArgument(malformed) : ColumnsOf(f, n);
  if (layout.ok()) {
    layout_ = *layout;
    header_names_.clear();
    for (int i = 0; i < n; ++i) header_names_ += (i ? "," : "") + ToLower(Trim(f[i]));
    return Status::Ok();
  }
  std::string msg = "line " + std::to_string(line_no) + ": expected the header 'meter_id,timestamp,value', got '" +
                    TruncateUtf8(line, 80) + "'";
  if (malformed == nullptr && n == 3 && !MeterIdProblem(Trim(f[0])) && ParseTimestamp(Trim(f[1])).ok())
    msg += " (a data row: the header line is missing)";
  else if (n == 1 && line.find(';') != std::string_view::npos)
    msg += " (fields must be separated by ',')";
  else
    msg += " (" + layout.status().message() + ")";
  return InvalidArgument(std::move(msg));
}

// A quality flag as `meterhub export` writes it: NEM12's flag letter (A, E, F, N, S, V), then
// optionally its method and reason code ("E52", "S14:51"); empty = none.
bool IsQualityFlag(std::string_view q) {
  if (q.empty()) return true;
  if (q.size() > 16 || std::string_view("AEFNSV").find(q[0]) == std::string_view::npos) return false;
  for (char c : q.substr(1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ':')) return false;
  }
  return true;
}

void CsvParser::Row(std::string_view line, int64_t line_no) {
  std::string_view f[kColumns];
  bool quoted = false;
  int n = SplitPlain(line, f, &quoted);
  if (quoted) {
    if (const char* malformed = SplitQuoted(line, f, &n)) {
      Issue(line_no, "", malformed, line);
      return;
    }
  }
  if (n != layout_.count) {
    Issue(line_no, "",
          "expected " + std::to_string(layout_.count) + " fields (" + header_names_ + "), found " + std::to_string(n), line);
    return;
  }
  std::string_view channel = layout_.channel >= 0 ? Trim(f[layout_.channel]) : std::string_view();
  std::string_view quality = layout_.quality >= 0 ? Trim(f[layout_.quality]) : std::string_view();
  if (!channel.empty() && !IsValidChannel(channel)) {
    Issue(line_no, "channel", "not a channel name (1-64 characters of [A-Za-z0-9_.:-])", line);
    return;
  }
  if (!IsQualityFlag(quality)) {
    Issue(line_no, "quality", "not a quality flag (A, E, F, N, S or V, optionally with method and reason: E52, S14:51)",
          line);
    return;
  }
  std::string_view id = Trim(f[layout_.meter_id]);
  if (const char* problem = MeterIdProblem(id)) {
    Issue(line_no, "meter_id", problem, line);
    return;
  }
  std::string_view ts = Trim(f[layout_.timestamp]);
  int64_t t;
  if (!FastIso(ts, &t)) {
    if (ts.size() > kMaxTimestampBytes) {
      Issue(line_no, "timestamp", "timestamp too long (" + std::to_string(ts.size()) + " bytes)", line);
      return;
    }
    Result<int64_t> parsed = ParseTimestampIn(ts, zone_);
    if (!parsed.ok()) {
      Issue(line_no, "timestamp", parsed.status().message() + " (expected ISO-8601 or epoch seconds)", line);
      return;
    }
    t = *parsed;
  }
  if (!IsReadingTimeInRange(t)) {
    Issue(line_no, "timestamp", "timestamp out of range (1970..9999): '" + std::string(ts.substr(0, 40)) + "'", line);
    return;
  }
  reading_.meter_id.assign(id);
  reading_.ts = t;
  reading_.channel.assign(channel);
  std::string_view value = Trim(f[layout_.value]);
  reading_.value = ParseValueInline(value);
  if (reading_.value) {
    reading_.raw_value.clear();
  } else {
    // Kept as text (judged null later, stored, shown as JSON): valid UTF-8 from here on.
    reading_.raw_value = ValidUtf8(TruncateUtf8(value, kMaxRawTextBytes));
  }
  if (on_row_) (*on_row_)(reading_, quality, line_no);
  else if (on_reading_) on_reading_(reading_, line_no);
}

Status CsvParser::Run(std::string_view text) {
  const uint64_t total = text.size();
  const char* const begin = text.data();
  uint64_t next_progress = kProgressStep;
  bool have_header = false;
  internal::LineReader lines(text);
  std::string_view line;
  while (lines.Next(&line)) {
    const int64_t line_no = lines.line_no();
    const char* p = lines.position();
    if (line.empty() || ((IsBlank(line.front()) || IsBlank(line.back())) && AllBlank(line))) continue;
    if (!have_header) {
      MH_RETURN_IF_ERROR(CheckHeader(line, line_no));
      have_header = true;
    } else {
      Row(line, line_no);
    }
    if (progress_ && static_cast<uint64_t>(p - begin) >= next_progress) {
      (*progress_)(static_cast<uint64_t>(p - begin), total);
      next_progress = static_cast<uint64_t>(p - begin) + kProgressStep;
    }
  }
  if (!have_header)
    return InvalidArgument("line 1: empty document, expected the header 'meter_id,timestamp,value'");
  if (progress_) (*progress_)(total, total);
  return Status::Ok();
}

// A read-only view of a whole file: mmap for regular files, a read loop for pipes and devices.
class FileView {
 public:
  ~FileView() {
    if (map_ != nullptr) munmap(map_, size_);
  }

  Status Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(path);
    struct stat st {};
    Status s;
    if (fstat(fd, &st) != 0) {
      s = ErrnoStatus(path);
    } else if (S_ISDIR(st.st_mode)) {
      s = InvalidArgument(path + ": is a directory");
    } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
      size_ = static_cast<size_t>(st.st_size);
      void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED) {
        s = ErrnoStatus(path);
        size_ = 0;
      } else {
        map_ = m;
        madvise(map_, size_, MADV_SEQUENTIAL);
      }
    } else if (!S_ISREG(st.st_mode)) {
      char buf[1 << 16];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          s = ErrnoStatus(path);
          break;
        }
        if (n == 0) break;
        copy_.append(buf, static_cast<size_t>(n));
      }
    }
    ::close(fd);
    return s;
  }

  std::string_view text() const {
    if (map_ != nullptr) return {static_cast<const char*>(map_), size_};
    return copy_;
  }

 private:
  static Status ErrnoStatus(const std::string& path) {
    int e = errno;
    std::string m = path + ": " + std::strerror(e);
    if (e == ENOENT) return NotFound(std::move(m));
    if (e == EACCES || e == EPERM) return PermissionDenied(std::move(m));
    return InvalidArgument(std::move(m));
  }

  void* map_ = nullptr;
  size_t size_ = 0;
  std::string copy_;
};

}  // namespace

Result<CsvColumns> ParseReadingCsvHeader(std::string_view line) {
  const ReadingFn none_reading;
  const IssueFn none_issue;
  CsvParser parser(none_reading, none_issue, TimeZone::Fixed(0), nullptr);
  MH_RETURN_IF_ERROR(parser.CheckHeader(line, 1));
  return parser.columns();
}

Status ParseReadingCsv(std::string_view text, const ReadingFn& on_reading, const IssueFn& on_issue,
                       const TimeZone& zone) {
  CsvParser parser(on_reading, on_issue, zone, nullptr);
  return parser.Run(text);
}

namespace {

// A whole file through one parser: `on_row` when set, else `on_reading`.
Status ParseFile(const std::string& path, const ReadingFn& on_reading, const CsvRowFn* on_row, const IssueFn& on_issue,
                 const std::function<void(uint64_t, uint64_t)>& progress, const TimeZone& zone) {
  FileView file;
  MH_RETURN_IF_ERROR(file.Open(path));
  CsvParser parser(on_reading, on_issue, zone, progress ? &progress : nullptr, on_row);
  return parser.Run(file.text()).WithContext(path);
}

}  // namespace

Status ParseReadingCsvFile(const std::string& path, const ReadingFn& on_reading, const IssueFn& on_issue,
                           const std::function<void(uint64_t bytes_done, uint64_t bytes_total)>& progress,
                           const TimeZone& zone) {
  return ParseFile(path, on_reading, nullptr, on_issue, progress, zone);
}

Status ParseReadingCsvRows(std::string_view text, const CsvRowFn& on_row, const IssueFn& on_issue, const TimeZone& zone) {
  const ReadingFn none;
  CsvParser parser(none, on_issue, zone, nullptr, &on_row);
  return parser.Run(text);
}

Status ParseReadingCsvFileRows(const std::string& path, const CsvRowFn& on_row, const IssueFn& on_issue,
                               const std::function<void(uint64_t bytes_done, uint64_t bytes_total)>& progress,
                               const TimeZone& zone) {
  return ParseFile(path, ReadingFn(), &on_row, on_issue, progress, zone);
}

}  // namespace mh::codec
