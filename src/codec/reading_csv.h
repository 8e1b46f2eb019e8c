// Readings in CSV (SPEC 0.2): header `meter_id,timestamp,value`, timestamp ISO-8601 or epoch
// seconds, value decimal; an optional fourth column `channel` (issue 16, docs/channels.md) names
// the register, empty = the meter's billing channel. An empty or unparseable value is kept as text (judged `null` later);
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
  std::string field;       // "meter_id" | "timestamp" | "value" | "channel" | "" (row structure)
  std::string message;     // what was wrong
  std::string text;        // the offending line, as received (truncated to 200 bytes)
};

using ReadingFn = std::function<void(const Reading& reading, int64_t line)>;
using IssueFn = std::function<void(const RowIssue& issue)>;

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

// Fast decimal parse of a value field; nullopt for empty, "NaN", text.
std::optional<double> ParseValue(std::string_view s);

// Longest text kept in RowIssue::text and Reading::raw_value; longer text is cut.
inline constexpr size_t kMaxRawTextBytes = 200;

// `s` cut to at most `max_bytes`, never inside a UTF-8 multi-byte sequence.
std::string TruncateUtf8(std::string_view s, size_t max_bytes);

}  // namespace mh::codec
