// Readings in CSV (SPEC 0.2): header `meter_id,timestamp,value`, timestamp ISO-8601 or epoch
// seconds, value decimal; optional columns `channel` (issue 16, docs/channels.md: the register,
// empty = the meter's billing channel) and `quality` (a NEM12-style flag, as `meterhub export`
// writes). Columns are matched by the header's names, in any order. An empty or unparseable value is kept as text (judged `null` later);
// a row whose structure is wrong (field count, meter id, timestamp) is reported with its line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "core/reading.h"
#include "core/zone.h"

namespace mh::codec {

struct RowIssue {
  int64_t line = 0;        // 1-based line number in the input (the header is line 1)
  std::string field;       // "meter_id" | "timestamp" | "value" | "channel" | "quality" | "" (row structure)
  std::string message;     // what was wrong
  std::string text;        // the offending line, as received (truncated to 200 bytes)
};

using ReadingFn = std::function<void(const Reading& reading, int64_t line)>;
using IssueFn = std::function<void(const RowIssue& issue)>;
// A row with its quality flag ("" when the file has no `quality` column or the field is empty).
using CsvRowFn = std::function<void(const Reading& reading, std::string_view quality, int64_t line)>;

// Parses `text` (a whole CSV document). Every good row goes to on_reading, every bad one to
// on_issue, in input order. Returns an error only when the document itself is unusable (no or
// wrong header). Timestamps without an offset are read in `zone` (wall-clock time there).
// Tolerated: a UTF-8 BOM, CRLF, blank lines, spaces around fields, RFC 4180 quoted fields (within
// one line). A bad row yields one issue (its first problem). The Reading passed to on_reading is
// reused by the parser: it is valid only during the call (copy it to keep it). A callback may throw
// to stop early: the exception propagates and nothing leaks (the file is unmapped).
Status ParseReadingCsv(std::string_view text, const ReadingFn& on_reading, const IssueFn& on_issue,
                       const TimeZone& zone = TimeZone::Fixed(0));

// The same over a file, read through mmap; `progress` (may be empty) is called with bytes done.
Status ParseReadingCsvFile(const std::string& path, const ReadingFn& on_reading, const IssueFn& on_issue,
                           const std::function<void(uint64_t bytes_done, uint64_t bytes_total)>& progress = {},
                           const TimeZone& zone = TimeZone::Fixed(0));

// The same, handing each row's quality flag too (meterhub import keeps it; the others ignore it).
Status ParseReadingCsvRows(std::string_view text, const CsvRowFn& on_row, const IssueFn& on_issue,
                           const TimeZone& zone = TimeZone::Fixed(0));
Status ParseReadingCsvFileRows(const std::string& path, const CsvRowFn& on_row, const IssueFn& on_issue,
                               const std::function<void(uint64_t bytes_done, uint64_t bytes_total)>& progress = {},
                               const TimeZone& zone = TimeZone::Fixed(0));

// Where each column sits in a row: the header's layout (-1 = no such column).
struct CsvColumns {
  int count = 3;  // fields per row
  int meter_id = 0, timestamp = 1, value = 2, channel = -1, quality = -1;
  // meter_id,timestamp,value as the first three of three fields (the SPEC 0.2 form).
  bool plain() const { return count == 3 && meter_id == 0 && timestamp == 1 && value == 2; }
};
// The layout a header line names: columns matched by name (case-insensitive, blanks trimmed), each
// at most once, meter_id, timestamp and value required. InvalidArgument names what is wrong.
Result<CsvColumns> ParseReadingCsvHeader(std::string_view line);

// Fast decimal parse of a value field; nullopt for empty, "NaN", text.
std::optional<double> ParseValue(std::string_view s);

// Longest text kept in RowIssue::text and Reading::raw_value; longer text is cut.
inline constexpr size_t kMaxRawTextBytes = 200;

// `s` cut to at most `max_bytes`, never inside a UTF-8 multi-byte sequence.
std::string TruncateUtf8(std::string_view s, size_t max_bytes);

}  // namespace mh::codec
